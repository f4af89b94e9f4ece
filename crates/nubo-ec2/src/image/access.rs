//! Who may see and launch an image, and which images a `DescribeImages`
//! selects: pure functions of the image, the caller and the request.
//!
//! An image is launchable by its owner, by everybody when public (group
//! `all`), and by the accounts it is shared with. `DescribeImages` answers
//! only launchable images, narrowed by `Owners` (`self`, `amazon`,
//! `aws-marketplace`, `aws-backup-vault`, account IDs) and `ExecutableBy`
//! (`self`, `all`, account IDs: *explicit* launch permissions).

use std::collections::BTreeSet;

use nubo_core::{AccountId, Error};
use serde::{Deserialize, Serialize};

/// An image's launch permission beyond its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchPermissions {
    /// Group `all`.
    #[serde(default)]
    pub public: bool,
    /// Accounts the image is shared with, in order.
    #[serde(default)]
    pub accounts: BTreeSet<AccountId>,
}

/// One `Owner` value of `DescribeImages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerSel {
    SelfOwned,
    Alias(String),
    Account(AccountId),
}

/// One `ExecutableBy` value of `DescribeImages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutableSel {
    SelfCaller,
    All,
    Account(AccountId),
}

fn malformed_user(text: &str) -> Error {
    Error::client(
        "InvalidUserID.Malformed",
        format!("Invalid user id: \"{text}\""),
    )
}

impl OwnerSel {
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "self" => Ok(OwnerSel::SelfOwned),
            "amazon" | "aws-marketplace" | "aws-backup-vault" => {
                Ok(OwnerSel::Alias(text.to_string()))
            }
            _ => AccountId::parse(text)
                .map(OwnerSel::Account)
                .map_err(|_| malformed_user(text)),
        }
    }
}

impl ExecutableSel {
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "self" => Ok(ExecutableSel::SelfCaller),
            "all" => Ok(ExecutableSel::All),
            _ => AccountId::parse(text)
                .map(ExecutableSel::Account)
                .map_err(|_| malformed_user(text)),
        }
    }
}

/// What [`selects`] needs of an image.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub owner: &'a AccountId,
    pub owner_alias: Option<&'a str>,
    pub permissions: &'a LaunchPermissions,
}

/// Whether `caller` may launch (and so see) the image.
pub fn can_launch(image: Holder<'_>, caller: &AccountId) -> bool {
    image.owner == caller || image.permissions.public || image.permissions.accounts.contains(caller)
}

/// Whether `DescribeImages` by `caller` with these `Owners` and
/// `ExecutableBy` values answers the image (an empty list selects all).
pub fn selects(
    image: Holder<'_>,
    caller: &AccountId,
    owners: &[OwnerSel],
    executable_by: &[ExecutableSel],
) -> bool {
    if !can_launch(image, caller) {
        return false;
    }
    let owner_ok = owners.is_empty()
        || owners.iter().any(|o| match o {
            OwnerSel::SelfOwned => image.owner == caller,
            OwnerSel::Alias(alias) => image.owner_alias == Some(alias.as_str()),
            OwnerSel::Account(id) => image.owner == id,
        });
    let explicit = |id: &AccountId| image.permissions.accounts.contains(id);
    let executable_ok = executable_by.is_empty()
        || executable_by.iter().any(|e| match e {
            ExecutableSel::SelfCaller => explicit(caller),
            ExecutableSel::All => image.permissions.public,
            ExecutableSel::Account(id) => explicit(id),
        });
    owner_ok && executable_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(n: u8) -> AccountId {
        AccountId::parse(&format!("{n}").repeat(12)).unwrap()
    }

    fn perms(public: bool, shared: &[u8]) -> LaunchPermissions {
        LaunchPermissions {
            public,
            accounts: shared.iter().map(|n| acct(*n)).collect(),
        }
    }

    #[test]
    fn launch_permission_is_owner_public_or_shared() {
        let owner = acct(1);
        let private = perms(false, &[]);
        let shared = perms(false, &[2]);
        let public = perms(true, &[]);
        let holder = |p| Holder {
            owner: &owner,
            owner_alias: None,
            permissions: p,
        };
        assert!(can_launch(holder(&private), &acct(1)));
        assert!(!can_launch(holder(&private), &acct(2)));
        assert!(can_launch(holder(&shared), &acct(2)));
        assert!(!can_launch(holder(&shared), &acct(3)));
        assert!(can_launch(holder(&public), &acct(3)));
    }

    #[test]
    fn owners_and_executable_by_narrow_the_visible_images() {
        let owner = acct(1);
        let system = AccountId::parse(nubo_core::SYSTEM_ACCOUNT_ID).unwrap();
        let shared = perms(false, &[2]);
        let public = perms(true, &[]);
        let mine = Holder {
            owner: &owner,
            owner_alias: None,
            permissions: &shared,
        };
        let base = Holder {
            owner: &system,
            owner_alias: Some("amazon"),
            permissions: &public,
        };
        let amazon = [OwnerSel::parse("amazon").unwrap()];
        let own = [OwnerSel::parse("self").unwrap()];
        let by_id = [OwnerSel::parse(owner.as_str()).unwrap()];
        let exec_self = [ExecutableSel::parse("self").unwrap()];
        let exec_all = [ExecutableSel::parse("all").unwrap()];
        let exec_two = [ExecutableSel::parse(acct(2).as_str()).unwrap()];

        // Nothing asked: everything launchable.
        assert!(selects(mine, &acct(1), &[], &[]));
        assert!(selects(mine, &acct(2), &[], &[]));
        assert!(!selects(mine, &acct(3), &[], &[]));
        assert!(selects(base, &acct(3), &[], &[]));
        // Owners.
        assert!(selects(base, &acct(1), &amazon, &[]));
        assert!(!selects(mine, &acct(1), &amazon, &[]));
        assert!(selects(mine, &acct(1), &own, &[]));
        assert!(!selects(mine, &acct(2), &own, &[]));
        assert!(selects(mine, &acct(2), &by_id, &[]));
        // ExecutableBy: explicit permissions only; own images are not "shared".
        assert!(selects(mine, &acct(2), &[], &exec_self));
        assert!(!selects(mine, &acct(1), &[], &exec_self));
        assert!(selects(mine, &acct(1), &[], &exec_two));
        assert!(selects(base, &acct(2), &[], &exec_all));
        assert!(!selects(mine, &acct(2), &[], &exec_all));
        // Both: AND.
        assert!(!selects(base, &acct(2), &amazon, &exec_self));
    }

    #[test]
    fn malformed_selectors() {
        for bad in ["me", "12345", "aws"] {
            match OwnerSel::parse(bad) {
                Err(Error::Client { code, .. }) => assert_eq!(code, "InvalidUserID.Malformed"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(ExecutableSel::parse("everyone").is_err());
        assert_eq!(ExecutableSel::parse("all").unwrap(), ExecutableSel::All);
    }
}
