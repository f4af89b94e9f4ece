//! One authenticated API call as handlers see it: who, where, which action,
//! the decoded parameters, and the shared authorize-then-dry-run step.

use nubo_core::{Error, Principal};
use nubo_ec2::RequestScope;
use nubo_iam::authz::AuthzRequest;
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use crate::server::Api;

/// The AWS services served on the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Ec2,
    Iam,
    Sts,
}

impl Service {
    /// The service named in a SigV4 credential scope.
    pub fn from_scope(name: &str) -> Option<Service> {
        match name {
            "ec2" => Some(Service::Ec2),
            "iam" => Some(Service::Iam),
            "sts" => Some(Service::Sts),
            _ => None,
        }
    }

    /// The service whose Query API has this `Version`.
    pub fn from_version(version: &str) -> Option<Service> {
        match version {
            "2016-11-15" => Some(Service::Ec2),
            "2010-05-08" => Some(Service::Iam),
            "2011-06-15" => Some(Service::Sts),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }

    /// The XML namespace of the service's responses.
    pub fn xmlns(self) -> &'static str {
        match self {
            Service::Ec2 => "http://ec2.amazonaws.com/doc/2016-11-15/",
            Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }
}

/// An authenticated call on its way to a handler.
pub struct Call {
    pub request_id: String,
    pub service: Service,
    pub principal: Principal,
    pub scope: RequestScope,
    pub params: Params,
    /// The `Host` the client addressed, used where AWS reports endpoints.
    pub host: String,
    pub source_ip: Option<String>,
    /// IDs of the resources the call touched, for the audit record.
    pub touched: Vec<String>,
}

impl Call {
    /// Authorizes `action` (e.g. `ec2:CreateVpc`) on `resources`: every action
    /// passes through here before it changes or reveals anything.
    pub async fn authorize(
        &self,
        api: &Api,
        action: &str,
        resources: &[String],
    ) -> Result<(), Error> {
        let req = AuthzRequest {
            action,
            resources,
            region: &self.scope.region,
            source_ip: self.source_ip.as_deref(),
        };
        api.iam.authorize(&self.principal, &req).await
    }

    /// `arn:aws:ec2:<region>:<account>:<type>/<id>`.
    pub fn ec2_arn(&self, resource_type: &str, id: &str) -> String {
        format!(
            "arn:aws:ec2:{}:{}:{resource_type}/{id}",
            self.scope.region, self.scope.account
        )
    }

    /// Starts a success document: `<ActionResponse xmlns=…>` with the request ID
    /// in the service's place (`requestId` for EC2; IAM/STS put theirs in
    /// `ResponseMetadata`, written by [`Call::finish`]).
    pub fn response(&self, action: &str) -> XmlWriter {
        let mut w = XmlWriter::new();
        w.open_ns(&format!("{action}Response"), self.service.xmlns());
        match self.service {
            Service::Ec2 => {
                w.leaf("requestId", &self.request_id);
            }
            Service::Iam | Service::Sts => {
                w.open(&format!("{action}Result"));
            }
        }
        w
    }

    /// Ends a document started with [`Call::response`].
    pub fn finish(&self, mut w: XmlWriter) -> String {
        if self.service != Service::Ec2 {
            w.close();
            w.open("ResponseMetadata")
                .leaf("RequestId", &self.request_id)
                .close();
        }
        w.finish()
    }
}
