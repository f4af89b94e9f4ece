//! The STS Query API (version 2011-06-15): `GetCallerIdentity`, which AWS
//! allows every authenticated caller without any policy.

use nubo_core::Error;

use crate::call::Call;

/// Every STS action Nubo serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsAction {
    GetCallerIdentity,
}

impl StsAction {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "GetCallerIdentity" => Some(StsAction::GetCallerIdentity),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StsAction::GetCallerIdentity => "GetCallerIdentity",
        }
    }
}

pub async fn handle(call: &mut Call, action: StsAction) -> Result<String, Error> {
    match action {
        StsAction::GetCallerIdentity => {
            let mut w = call.response("GetCallerIdentity");
            w.leaf("Arn", &call.principal.arn)
                .leaf("UserId", &call.principal.user_id)
                .leaf("Account", &call.principal.account_id);
            Ok(call.finish(w))
        }
    }
}
