//! The IAM Query API (version 2010-05-08): the action enum, the ARNs each
//! action is authorized against, list pagination (`Marker`/`MaxItems`) and
//! dispatch to the per-family handlers.

mod keys;
mod policies;
mod users;

use chrono::{DateTime, SecondsFormat, Utc};
use nubo_core::filter::Page;
use nubo_core::Error;
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use crate::call::Call;
use crate::server::Api;

macro_rules! iam_actions {
    ($($name:ident),* $(,)?) => {
        /// Every IAM action Nubo serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum IamAction { $($name),* }

        impl IamAction {
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(IamAction::$name),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $(IamAction::$name => stringify!($name),)*
                }
            }
        }
    };
}

iam_actions!(
    CreateUser,
    GetUser,
    ListUsers,
    DeleteUser,
    CreateAccessKey,
    ListAccessKeys,
    UpdateAccessKey,
    DeleteAccessKey,
    PutUserPolicy,
    GetUserPolicy,
    ListUserPolicies,
    DeleteUserPolicy,
);

impl IamAction {
    pub fn is_mutating(self) -> bool {
        !(self.name().starts_with("Get") || self.name().starts_with("List"))
    }
}

/// IAM's timestamp format.
pub fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The user an action is about: `UserName`, or the caller itself when absent
/// (`None` when the caller is the account root).
fn subject_user(call: &Call) -> Option<String> {
    call.params
        .get("UserName")
        .map(str::to_string)
        .or_else(|| call.principal.user_name.clone())
}

/// The ARN of `user` (with its path when it exists), or the account root's.
async fn user_arn(
    api: &Api,
    call: &Call,
    user: Option<&str>,
    path: Option<&str>,
) -> Result<String, Error> {
    let account = &call.scope.account;
    Ok(match user {
        None => format!("arn:aws:iam::{account}:root"),
        Some(name) => match api.iam.store().get_user(account.as_str(), name).await? {
            Some(u) => u.arn,
            None => format!("arn:aws:iam::{account}:user{}{name}", path.unwrap_or("/")),
        },
    })
}

async fn target_arns(api: &Api, call: &Call, action: IamAction) -> Result<Vec<String>, Error> {
    let arn = match action {
        IamAction::ListUsers => format!("arn:aws:iam::{}:user/*", call.scope.account),
        IamAction::CreateUser
        | IamAction::DeleteUser
        | IamAction::PutUserPolicy
        | IamAction::GetUserPolicy
        | IamAction::ListUserPolicies
        | IamAction::DeleteUserPolicy => {
            let name = call.params.required("UserName")?;
            user_arn(api, call, Some(name), call.params.get("Path")).await?
        }
        IamAction::GetUser
        | IamAction::CreateAccessKey
        | IamAction::ListAccessKeys
        | IamAction::UpdateAccessKey
        | IamAction::DeleteAccessKey => {
            user_arn(api, call, subject_user(call).as_deref(), None).await?
        }
    };
    Ok(vec![arn])
}

/// Authorizes and runs one IAM call; returns the response document.
pub async fn handle(api: &Api, call: &mut Call, action: IamAction) -> Result<String, Error> {
    let arns = target_arns(api, call, action).await?;
    call.authorize(api, &format!("iam:{}", action.name()), &arns)
        .await?;
    match action {
        IamAction::CreateUser => users::create_user(api, call).await,
        IamAction::GetUser => users::get_user(api, call).await,
        IamAction::ListUsers => users::list_users(api, call).await,
        IamAction::DeleteUser => users::delete_user(api, call).await,
        IamAction::CreateAccessKey => keys::create_access_key(api, call).await,
        IamAction::ListAccessKeys => keys::list_access_keys(api, call).await,
        IamAction::UpdateAccessKey => keys::update_access_key(api, call).await,
        IamAction::DeleteAccessKey => keys::delete_access_key(api, call).await,
        IamAction::PutUserPolicy => policies::put_user_policy(api, call).await,
        IamAction::GetUserPolicy => policies::get_user_policy(api, call).await,
        IamAction::ListUserPolicies => policies::list_user_policies(api, call).await,
        IamAction::DeleteUserPolicy => policies::delete_user_policy(api, call).await,
    }
}

/// IAM list pagination: `MaxItems` (1–1000, default 100) and `Marker`, a
/// position after which the page starts. Writes `IsTruncated`/`Marker`.
pub struct IamPage(Page);

impl IamPage {
    pub fn new(p: &Params) -> Result<Self, Error> {
        let max_items = match p.int("MaxItems")? {
            None => 100,
            Some(n) if (1..=1000).contains(&n) => n,
            Some(n) => {
                return Err(Error::Validation(format!(
                    "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
                )))
            }
        };
        // Markers are opaque, like EC2's NextToken: the same machinery serves both.
        Page::new(Some(max_items), p.get("Marker"), 1, 1000)
            .map(IamPage)
            .map_err(|_| {
                Error::Validation(
                    "The value of Marker is not valid; use the Marker of a previous response."
                        .into(),
                )
            })
    }

    /// Cuts the page out of `items` (sorted by `key`) and returns it with the next marker.
    pub fn apply<T>(&self, items: Vec<T>, key: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
        self.0.apply(items, key)
    }

    pub fn write(w: &mut XmlWriter, marker: Option<String>) {
        w.leaf("IsTruncated", marker.is_some());
        w.leaf_opt("Marker", marker);
    }
}
