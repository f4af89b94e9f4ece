//! The one place where domain errors become AWS wire errors: HTTP status,
//! error code and the service's XML error envelope.

use nubo_core::Error;
use nubo_protocol::xml::XmlWriter;

use crate::call::Service;

/// The wire form of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// Maps a domain error to the status and code `service` would answer with.
pub fn to_wire(service: Service, err: &Error) -> WireError {
    let ec2 = service == Service::Ec2;
    let (status, code): (u16, &'static str) = match err {
        Error::InvalidParameterValue(_) if ec2 => (400, "InvalidParameterValue"),
        Error::InvalidParameterValue(_) => (400, "InvalidInput"),
        Error::MissingParameter(_) if ec2 => (400, "MissingParameter"),
        Error::MissingParameter(_) => (400, "ValidationError"),
        Error::InvalidParameterCombination(_) => (400, "InvalidParameterCombination"),
        Error::Validation(_) => (400, "ValidationError"),
        Error::InvalidAction(_) => (400, "InvalidAction"),
        Error::NotFound { code, .. } if ec2 => (400, code),
        Error::NotFound { code, .. } => (404, code),
        Error::AlreadyExists { code, .. } if ec2 => (400, code),
        Error::AlreadyExists { code, .. } => (409, code),
        Error::Client { code, .. } => (400, code),
        Error::DependencyViolation(_) if ec2 => (400, "DependencyViolation"),
        Error::DependencyViolation(_) => (409, "DeleteConflict"),
        Error::LimitExceeded { code, .. } if ec2 => (400, code),
        Error::LimitExceeded { code, .. } => (409, code),
        Error::DryRunOperation => (412, "DryRunOperation"),
        Error::Unauthorized(_) if ec2 => (403, "UnauthorizedOperation"),
        Error::Unauthorized(_) => (403, "AccessDenied"),
        Error::AuthFailure(_) if ec2 => (401, "AuthFailure"),
        Error::AuthFailure(_) => (403, "InvalidClientTokenId"),
        Error::SignatureDoesNotMatch(_) if ec2 => (401, "AuthFailure"),
        Error::SignatureDoesNotMatch(_) => (403, "SignatureDoesNotMatch"),
        Error::InvalidClientTokenId if ec2 => (401, "AuthFailure"),
        Error::InvalidClientTokenId => (403, "InvalidClientTokenId"),
        Error::MissingAuthenticationToken if ec2 => (401, "MissingAuthenticationToken"),
        Error::MissingAuthenticationToken => (403, "MissingAuthenticationToken"),
        Error::RequestExpired(_) => (400, "RequestExpired"),
        Error::IncompleteSignature(_) => (400, "IncompleteSignature"),
        Error::MalformedPolicyDocument(_) => (400, "MalformedPolicyDocument"),
        Error::Conflict(_) if ec2 => (409, "ConcurrentModification"),
        Error::Conflict(_) => (409, "ConcurrentModification"),
        Error::Internal(_) if ec2 => (500, "InternalError"),
        Error::Internal(_) => (500, "ServiceFailure"),
    };
    let message = match err {
        Error::InvalidClientTokenId if ec2 => {
            "AWS was not able to validate the provided access credentials".to_string()
        }
        other => other.to_string(),
    };
    WireError {
        status,
        code,
        message,
    }
}

/// The XML error document of `service`.
pub fn render(service: Service, err: &WireError, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    match service {
        Service::Ec2 => {
            w.open("Response");
            w.open("Errors")
                .open("Error")
                .leaf("Code", err.code)
                .leaf("Message", &err.message)
                .close()
                .close();
            w.leaf("RequestID", request_id);
        }
        Service::Iam | Service::Sts => {
            w.open_ns("ErrorResponse", service.xmlns());
            let kind = if err.status >= 500 {
                "Receiver"
            } else {
                "Sender"
            };
            w.open("Error")
                .leaf("Type", kind)
                .leaf("Code", err.code)
                .leaf("Message", &err.message)
                .close();
            w.leaf("RequestId", request_id);
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_table_is_pinned() {
        let cases: Vec<(Service, Error, u16, &str)> = vec![
            (
                Service::Ec2,
                Error::invalid("x"),
                400,
                "InvalidParameterValue",
            ),
            (
                Service::Ec2,
                Error::MissingParameter("VpcId".into()),
                400,
                "MissingParameter",
            ),
            (
                Service::Ec2,
                Error::not_found("InvalidVpcID.NotFound", "x"),
                400,
                "InvalidVpcID.NotFound",
            ),
            (Service::Ec2, Error::DryRunOperation, 412, "DryRunOperation"),
            (
                Service::Ec2,
                Error::Unauthorized("x".into()),
                403,
                "UnauthorizedOperation",
            ),
            (
                Service::Ec2,
                Error::InvalidClientTokenId,
                401,
                "AuthFailure",
            ),
            (
                Service::Ec2,
                Error::SignatureDoesNotMatch("x".into()),
                401,
                "AuthFailure",
            ),
            (
                Service::Ec2,
                Error::RequestExpired("x".into()),
                400,
                "RequestExpired",
            ),
            (
                Service::Ec2,
                Error::DependencyViolation("x".into()),
                400,
                "DependencyViolation",
            ),
            (
                Service::Ec2,
                Error::internal("db exploded"),
                500,
                "InternalError",
            ),
            (
                Service::Iam,
                Error::not_found("NoSuchEntity", "x"),
                404,
                "NoSuchEntity",
            ),
            (
                Service::Iam,
                Error::AlreadyExists {
                    code: "EntityAlreadyExists",
                    message: "x".into(),
                },
                409,
                "EntityAlreadyExists",
            ),
            (
                Service::Iam,
                Error::DependencyViolation("x".into()),
                409,
                "DeleteConflict",
            ),
            (
                Service::Iam,
                Error::Unauthorized("x".into()),
                403,
                "AccessDenied",
            ),
            (
                Service::Iam,
                Error::SignatureDoesNotMatch("x".into()),
                403,
                "SignatureDoesNotMatch",
            ),
            (
                Service::Sts,
                Error::InvalidClientTokenId,
                403,
                "InvalidClientTokenId",
            ),
            (
                Service::Iam,
                Error::MalformedPolicyDocument("x".into()),
                400,
                "MalformedPolicyDocument",
            ),
            (
                Service::Iam,
                Error::LimitExceeded {
                    code: "LimitExceeded",
                    message: "x".into(),
                },
                409,
                "LimitExceeded",
            ),
        ];
        for (service, err, status, code) in cases {
            let w = to_wire(service, &err);
            assert_eq!((w.status, w.code), (status, code), "{service:?} {err:?}");
        }
    }

    #[test]
    fn internal_details_never_reach_the_client() {
        let w = to_wire(Service::Ec2, &Error::internal("password=hunter2"));
        assert!(!w.message.contains("hunter2"));
    }

    #[test]
    fn envelopes_have_aws_shapes() {
        let e = WireError {
            status: 400,
            code: "X",
            message: "m".into(),
        };
        let ec2 = render(Service::Ec2, &e, "r1");
        assert!(ec2.contains("<Response><Errors><Error><Code>X</Code><Message>m</Message></Error></Errors><RequestID>r1</RequestID></Response>"));
        let iam = render(Service::Iam, &e, "r1");
        assert!(iam.contains("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>X</Code>"));
    }
}
