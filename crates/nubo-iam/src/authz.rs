//! Authentication support and authorization of every action.
//!
//! `authenticate` turns an access key ID into the calling [`Principal`] and
//! the secret the signature must be checked with; `authorize` evaluates the
//! caller's identity policies (root may do anything in its own account).

use std::collections::BTreeMap;

use nubo_core::{AccountId, Error, Principal};

use crate::policy::{evaluate, Decision, PolicyDocument, RequestContext};
use crate::IamService;

/// A request to authorize: the IAM action name and the ARNs it targets.
#[derive(Debug, Clone)]
pub struct AuthzRequest<'a> {
    /// `service:Action`, e.g. `ec2:CreateVpc`.
    pub action: &'a str,
    /// Target ARNs; a single `*` when the action has no resource-level target.
    pub resources: &'a [String],
    pub region: &'a str,
    pub source_ip: Option<&'a str>,
}

impl IamService {
    /// The caller behind `access_key_id` and its secret, for signature checks.
    /// Unknown and inactive keys are reported alike.
    pub async fn authenticate(&self, access_key_id: &str) -> Result<(Principal, String), Error> {
        let key = self
            .store
            .get_access_key(access_key_id)
            .await?
            .filter(|k| k.status == "Active")
            .ok_or(Error::InvalidClientTokenId)?;
        let account_id = AccountId::parse(&key.account_id)?;
        let secret = self.secrets.open(&key.secret_ciphertext)?;
        let principal = match &key.user_name {
            None => Principal {
                arn: format!("arn:aws:iam::{account_id}:root"),
                user_id: account_id.to_string(),
                user_name: None,
                account_id,
                access_key_id: key.access_key_id.clone(),
            },
            Some(name) => {
                let user = self
                    .store
                    .get_user(account_id.as_str(), name)
                    .await?
                    .ok_or(Error::InvalidClientTokenId)?;
                Principal {
                    arn: user.arn,
                    user_id: user.user_id,
                    user_name: Some(user.name),
                    account_id,
                    access_key_id: key.access_key_id.clone(),
                }
            }
        };
        Ok((principal, secret))
    }

    /// Allows or denies `req` for `principal`; a denial names the action and resource as AWS does.
    pub async fn authorize(
        &self,
        principal: &Principal,
        req: &AuthzRequest<'_>,
    ) -> Result<(), Error> {
        let Some(user) = &principal.user_name else {
            return Ok(());
        };
        let rows = self
            .store
            .list_user_policies(principal.account_id.as_str(), user)
            .await?;
        let policies: Vec<PolicyDocument> = rows
            .iter()
            .filter_map(|r| PolicyDocument::parse(&r.document).ok())
            .collect();
        let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
        keys.insert("aws:username".into(), vec![user.clone()]);
        keys.insert("aws:userid".into(), vec![principal.user_id.clone()]);
        keys.insert(
            "aws:PrincipalAccount".into(),
            vec![principal.account_id.to_string()],
        );
        keys.insert("aws:PrincipalArn".into(), vec![principal.arn.clone()]);
        keys.insert("aws:PrincipalType".into(), vec!["User".into()]);
        keys.insert("aws:RequestedRegion".into(), vec![req.region.to_string()]);
        keys.insert("ec2:Region".into(), vec![req.region.to_string()]);
        keys.insert("aws:SecureTransport".into(), vec!["false".into()]);
        keys.insert(
            "aws:CurrentTime".into(),
            vec![chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
        );
        keys.insert(
            "aws:EpochTime".into(),
            vec![chrono::Utc::now().timestamp().to_string()],
        );
        if let Some(ip) = req.source_ip {
            keys.insert("aws:SourceIp".into(), vec![ip.to_string()]);
        }
        let ctx = RequestContext {
            action: req.action,
            resources: req.resources,
            keys: &keys,
        };
        match evaluate(&policies, &ctx) {
            Decision::Allow => Ok(()),
            decision => {
                let resource = req.resources.first().map(String::as_str).unwrap_or("*");
                let why = if decision == Decision::ExplicitDeny {
                    "with an explicit deny"
                } else {
                    "because no identity-based policy allows the action"
                };
                Err(Error::Unauthorized(format!(
                    "User: {} is not authorized to perform: {} on resource: {resource} {why}",
                    principal.arn, req.action
                )))
            }
        }
    }
}
