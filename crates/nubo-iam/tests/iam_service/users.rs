//! IAM users and their inline policies: CRUD, IAM's naming rules, the
//! DeleteConflict rule, policy validation and size quota, and isolation
//! between accounts.

use nubo_core::Error;
use nubo_iam::IamService;
use nubo_store::UserRow;

use crate::harness::{assert_err, TestDb};
use crate::{account, account_id, service};

pub const ALLOW_DESCRIBE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#;
const ALLOW_ALL: &str = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

fn names(users: &[UserRow]) -> Vec<&str> {
    users.iter().map(|u| u.name.as_str()).collect()
}

/// Everything a client sees of a user (the creation time is rendered in seconds).
fn visible(u: &UserRow) -> (&str, &str, &str, &str, &str) {
    (&u.account_id, &u.name, &u.user_id, &u.path, &u.arn)
}

pub async fn user_crud(db: &TestDb) {
    let iam = service(&db.store);
    let a = account(&iam, "acme").await;
    let aid = account_id(&a);

    let alice = iam.create_user(&aid, "alice", None).await.unwrap();
    assert_eq!(alice.path, "/");
    assert_eq!(alice.arn, format!("arn:aws:iam::{aid}:user/alice"));
    assert!(alice.user_id.starts_with("AIDA") && alice.user_id.len() == 21);
    let bob = iam.create_user(&aid, "bob", Some("/eng/")).await.unwrap();
    assert_eq!(bob.arn, format!("arn:aws:iam::{aid}:user/eng/bob"));
    iam.create_user(&aid, "carol", Some("/eng/backend/"))
        .await
        .unwrap();
    assert_ne!(alice.user_id, bob.user_id);

    assert_eq!(
        visible(&iam.get_user(&aid, "alice").await.unwrap()),
        visible(&alice)
    );
    assert_eq!(
        visible(&iam.get_user(&aid, "bob").await.unwrap()),
        visible(&bob)
    );
    let list = |prefix: Option<&'static str>| {
        let (iam, aid) = (&iam, &aid);
        async move { names(&iam.list_users(aid, prefix).await.unwrap()).join(",") }
    };
    assert_eq!(list(None).await, "alice,bob,carol");
    assert_eq!(list(Some("/")).await, "alice,bob,carol");
    assert_eq!(list(Some("/eng/")).await, "bob,carol");
    assert_eq!(list(Some("/eng/backend/")).await, "carol");
    assert_eq!(list(Some("/ops/")).await, "");

    // Names are unique regardless of case.
    for taken in ["alice", "ALICE", "Alice"] {
        assert_err!(
            iam.create_user(&aid, taken, Some("/other/")).await,
            Error::AlreadyExists {
                code: "EntityAlreadyExists",
                ..
            }
        );
    }
    assert_eq!(list(None).await, "alice,bob,carol");

    iam.delete_user(&aid, "bob").await.unwrap();
    assert_eq!(list(None).await, "alice,carol");
    assert_err!(
        iam.get_user(&aid, "bob").await,
        Error::NotFound { code: "NoSuchEntity", ref message } if message.contains("bob")
    );
    assert_err!(
        iam.delete_user(&aid, "bob").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    // A recreated user is a new identity.
    let bob_again = iam.create_user(&aid, "bob", None).await.unwrap();
    assert_ne!(bob_again.user_id, bob.user_id);
}

pub async fn user_names_and_paths_are_validated(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    for name in ["", "has space", "slash/name", "colon:name", &"u".repeat(65)] {
        assert_err!(
            iam.create_user(&aid, name, None).await,
            Error::Validation(_)
        );
    }
    for path in [
        "",
        "eng/",
        "/eng",
        "/has space/",
        &format!("/{}/", "p".repeat(511)),
    ] {
        assert_err!(
            iam.create_user(&aid, "valid", Some(path)).await,
            Error::Validation(_)
        );
    }
    assert!(iam.list_users(&aid, None).await.unwrap().is_empty());
    let longest = "u".repeat(64);
    iam.create_user(&aid, &longest, Some("/a/b/"))
        .await
        .unwrap();
    iam.create_user(&aid, "x+=,.@_-y", None).await.unwrap();
    assert_eq!(iam.list_users(&aid, None).await.unwrap().len(), 2);
}

/// IAM refuses to delete a user that still has access keys or inline
/// policies (`DeleteConflict` on the wire), and the user stays intact.
pub async fn delete_user_conflicts_while_keys_or_policies_exist(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    iam.create_user(&aid, "alice", None).await.unwrap();

    let key = iam.create_access_key(&aid, Some("alice")).await.unwrap();
    assert_err!(
        iam.delete_user(&aid, "alice").await,
        Error::DependencyViolation(_)
    );
    let (principal, _) = iam.authenticate(&key.row.access_key_id).await.unwrap();
    assert_eq!(
        principal.user_name.as_deref(),
        Some("alice"),
        "key survives"
    );

    iam.delete_access_key(&aid, Some("alice"), &key.row.access_key_id)
        .await
        .unwrap();
    iam.put_user_policy(&aid, "alice", "p", ALLOW_ALL)
        .await
        .unwrap();
    assert_err!(
        iam.delete_user(&aid, "alice").await,
        Error::DependencyViolation(_)
    );
    assert_eq!(iam.list_user_policies(&aid, "alice").await.unwrap(), ["p"]);

    iam.delete_user_policy(&aid, "alice", "p").await.unwrap();
    iam.delete_user(&aid, "alice").await.unwrap();
    assert_err!(
        iam.get_user(&aid, "alice").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
}

pub async fn user_policy_crud(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    iam.create_user(&aid, "alice", None).await.unwrap();

    iam.put_user_policy(&aid, "alice", "ReadOnly", ALLOW_DESCRIBE)
        .await
        .unwrap();
    let got = iam
        .get_user_policy(&aid, "alice", "ReadOnly")
        .await
        .unwrap();
    assert_eq!(
        (
            got.user_name.as_str(),
            got.policy_name.as_str(),
            got.document.as_str()
        ),
        ("alice", "ReadOnly", ALLOW_DESCRIBE),
        "the document comes back byte for byte"
    );
    iam.put_user_policy(&aid, "alice", "Admin", ALLOW_ALL)
        .await
        .unwrap();
    assert_eq!(
        iam.list_user_policies(&aid, "alice").await.unwrap(),
        ["Admin", "ReadOnly"]
    );
    // Putting an existing name replaces the document.
    iam.put_user_policy(&aid, "alice", "ReadOnly", ALLOW_ALL)
        .await
        .unwrap();
    let got = iam
        .get_user_policy(&aid, "alice", "ReadOnly")
        .await
        .unwrap();
    assert_eq!(got.document, ALLOW_ALL);
    assert_eq!(
        iam.list_user_policies(&aid, "alice").await.unwrap().len(),
        2
    );

    assert_err!(
        iam.get_user_policy(&aid, "alice", "Nope").await,
        Error::NotFound { code: "NoSuchEntity", ref message } if message.contains("Nope")
    );
    assert_err!(
        iam.delete_user_policy(&aid, "alice", "Nope").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    // Every policy call on a missing user names the user.
    let no_user = |e: &Error| matches!(e, Error::NotFound { code: "NoSuchEntity", message } if message.contains("ghost"));
    let errors = [
        iam.put_user_policy(&aid, "ghost", "p", ALLOW_ALL)
            .await
            .unwrap_err(),
        iam.get_user_policy(&aid, "ghost", "p")
            .await
            .map(|_| ())
            .unwrap_err(),
        iam.list_user_policies(&aid, "ghost")
            .await
            .map(|_| ())
            .unwrap_err(),
        iam.delete_user_policy(&aid, "ghost", "p")
            .await
            .unwrap_err(),
    ];
    for e in &errors {
        assert!(no_user(e), "{e:?}");
    }

    iam.delete_user_policy(&aid, "alice", "Admin")
        .await
        .unwrap();
    assert_eq!(
        iam.list_user_policies(&aid, "alice").await.unwrap(),
        ["ReadOnly"]
    );
    assert_err!(
        iam.get_user_policy(&aid, "alice", "Admin").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
}

/// A policy whose Sid pads it to exactly `size` non-whitespace characters.
fn policy_of_size(size: usize) -> String {
    let doc = |sid: &str| {
        format!(
            r#"{{"Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}}]}}"#
        )
    };
    let base = doc("").len();
    doc(&"S".repeat(size - base))
}

pub async fn malformed_and_oversized_policies_are_refused(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    iam.create_user(&aid, "alice", None).await.unwrap();
    for malformed in [
        "not json",
        "{}",
        "[]",
        r#"{"Statement":[]}"#,
        r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"Describe","Resource":"*"}}"#,
        r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        r#"{"Statement":{"effect":"Allow","Action":"*","Resource":"*"}}"#,
    ] {
        assert_err!(
            iam.put_user_policy(&aid, "alice", "p", malformed).await,
            Error::MalformedPolicyDocument(_)
        );
    }
    assert_err!(
        iam.put_user_policy(&aid, "alice", "bad name", ALLOW_ALL)
            .await,
        Error::Validation(_)
    );
    assert!(iam
        .list_user_policies(&aid, "alice")
        .await
        .unwrap()
        .is_empty());

    // 2048 non-whitespace characters across a user's inline policies.
    iam.put_user_policy(&aid, "alice", "big", &policy_of_size(1500))
        .await
        .unwrap();
    assert_err!(
        iam.put_user_policy(&aid, "alice", "more", &policy_of_size(549))
            .await,
        Error::LimitExceeded {
            code: "LimitExceeded",
            ..
        }
    );
    assert_eq!(
        iam.list_user_policies(&aid, "alice").await.unwrap(),
        ["big"]
    );
    iam.put_user_policy(&aid, "alice", "more", &policy_of_size(548))
        .await
        .unwrap();
    // Replacing a policy counts its new size, not old plus new.
    iam.put_user_policy(&aid, "alice", "big", &policy_of_size(1500))
        .await
        .unwrap();
    // Whitespace does not count.
    let roomy = policy_of_size(548).replace(",", ",          ");
    iam.put_user_policy(&aid, "alice", "more", &roomy)
        .await
        .unwrap();
}

pub async fn users_are_isolated_between_accounts(db: &TestDb) {
    let iam: IamService = service(&db.store);
    let a = account_id(&account(&iam, "a").await);
    let b = account_id(&account(&iam, "b").await);
    let alice = iam.create_user(&a, "alice", None).await.unwrap();
    iam.put_user_policy(&a, "alice", "p", ALLOW_ALL)
        .await
        .unwrap();

    assert_err!(
        iam.get_user(&b, "alice").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    assert!(iam.list_users(&b, None).await.unwrap().is_empty());
    assert_err!(
        iam.delete_user(&b, "alice").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    assert_err!(
        iam.put_user_policy(&b, "alice", "p", ALLOW_ALL).await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    // Names are per account: B may have its own alice, a different identity.
    let b_alice = iam.create_user(&b, "alice", None).await.unwrap();
    assert_ne!(b_alice.arn, alice.arn);
    assert_ne!(b_alice.user_id, alice.user_id);
    assert_err!(
        iam.get_user_policy(&b, "alice", "p").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    iam.delete_user(&b, "alice").await.unwrap();
    assert_eq!(
        visible(&iam.get_user(&a, "alice").await.unwrap()),
        visible(&alice)
    );
    assert_eq!(iam.list_user_policies(&a, "alice").await.unwrap(), ["p"]);
}
