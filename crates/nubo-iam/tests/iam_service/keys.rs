//! Access keys: what a user's key authenticates as, the two-keys quota (also
//! under concurrent creation), creation racing the user's deletion,
//! deactivation and deletion, and that only the owning identity's calls can
//! manage a key.

use nubo_core::Error;

use crate::harness::{assert_err, TestDb};
use crate::{account, account_id, service};

pub async fn user_keys_authenticate_as_the_user(db: &TestDb) {
    let iam = service(&db.store);
    let a = account(&iam, "acme").await;
    let aid = account_id(&a);
    let alice = iam.create_user(&aid, "alice", Some("/eng/")).await.unwrap();

    let key = iam.create_access_key(&aid, Some("alice")).await.unwrap();
    assert_eq!(key.row.user_name.as_deref(), Some("alice"));
    assert_eq!(key.row.account_id, aid.as_str());
    assert_eq!(key.row.status, "Active");
    assert!(key.row.access_key_id.starts_with("AKIA") && key.row.access_key_id.len() == 20);
    assert_eq!(key.secret_access_key.len(), 40);

    let (principal, secret) = iam.authenticate(&key.row.access_key_id).await.unwrap();
    assert_eq!(secret, key.secret_access_key);
    assert!(!principal.is_root());
    assert_eq!(principal.account_id, aid);
    assert_eq!(principal.user_name.as_deref(), Some("alice"));
    assert_eq!(principal.user_id, alice.user_id);
    assert_eq!(principal.arn, alice.arn);
    assert_eq!(principal.access_key_id, key.row.access_key_id);

    let listed = iam.list_access_keys(&aid, Some("alice")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].access_key_id, key.row.access_key_id);
    assert_eq!(listed[0].secret_ciphertext, key.row.secret_ciphertext);
    // Root's keys and a user's keys are listed apart.
    let root = iam.list_access_keys(&aid, None).await.unwrap();
    assert_eq!(root.len(), 1);
    assert_eq!(root[0].access_key_id, a.access_key_id);
}

pub async fn two_keys_per_identity(db: &TestDb) {
    let iam = service(&db.store);
    let a = account(&iam, "acme").await;
    let aid = account_id(&a);
    iam.create_user(&aid, "alice", None).await.unwrap();

    let first = iam.create_access_key(&aid, Some("alice")).await.unwrap();
    let second = iam.create_access_key(&aid, Some("alice")).await.unwrap();
    assert_ne!(first.row.access_key_id, second.row.access_key_id);
    assert_err!(
        iam.create_access_key(&aid, Some("alice")).await,
        Error::LimitExceeded {
            code: "LimitExceeded",
            ..
        }
    );
    // Inactive keys still count.
    iam.update_access_key(&aid, Some("alice"), &first.row.access_key_id, "Inactive")
        .await
        .unwrap();
    assert_err!(
        iam.create_access_key(&aid, Some("alice")).await,
        Error::LimitExceeded {
            code: "LimitExceeded",
            ..
        }
    );
    assert_eq!(
        iam.list_access_keys(&aid, Some("alice"))
            .await
            .unwrap()
            .len(),
        2
    );
    iam.delete_access_key(&aid, Some("alice"), &first.row.access_key_id)
        .await
        .unwrap();
    iam.create_access_key(&aid, Some("alice")).await.unwrap();

    // The account root has the same quota, its creation key included.
    iam.create_access_key(&aid, None).await.unwrap();
    assert_err!(
        iam.create_access_key(&aid, None).await,
        Error::LimitExceeded {
            code: "LimitExceeded",
            ..
        }
    );
    assert_eq!(iam.list_access_keys(&aid, None).await.unwrap().len(), 2);

    assert_err!(
        iam.create_access_key(&aid, Some("ghost")).await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
}

/// The quota check and the insert must be atomic: callers racing on one
/// user, through two replicas, must not end up with more than two keys.
pub async fn concurrent_key_creation_respects_the_quota(db: &TestDb) {
    let replica = db.replica().await;
    let services = [service(&db.store), service(&replica)];
    let aid = account_id(&account(&services[0], "acme").await);
    services[0].create_user(&aid, "bob", None).await.unwrap();

    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (iam, aid) = (services[i % 2].clone(), aid.clone());
            tokio::spawn(async move { iam.create_access_key(&aid, Some("bob")).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::LimitExceeded {
                code: "LimitExceeded",
                ..
            }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let keys = services[0]
        .list_access_keys(&aid, Some("bob"))
        .await
        .unwrap();
    assert_eq!((created, keys.len()), (2, 2));
    replica.close().await;
}

/// DeleteUser's "no keys left" check and the delete are atomic with
/// CreateAccessKey's insert: whichever wins, no key is reported created and
/// then silently deleted with its user, and the loser gets an IAM error, never
/// an internal one (as a foreign-key violation used to surface).
pub async fn delete_user_racing_key_creation_loses_no_key(db: &TestDb) {
    let replica = db.replica().await;
    let services = [service(&db.store), service(&replica)];
    let aid = account_id(&account(&services[0], "acme").await);

    for round in 0..8 {
        let name = format!("racer{round}");
        services[0].create_user(&aid, &name, None).await.unwrap();
        let creates: Vec<_> = (0..2)
            .map(|i| {
                let (iam, aid, name) = (services[i].clone(), aid.clone(), name.clone());
                tokio::spawn(async move { iam.create_access_key(&aid, Some(&name)).await })
            })
            .collect();
        let delete = {
            let (iam, aid, name) = (services[round % 2].clone(), aid.clone(), name.clone());
            tokio::spawn(async move { iam.delete_user(&aid, &name).await })
        };

        let mut created = Vec::new();
        for t in creates {
            match t.await.unwrap() {
                Ok(key) => created.push(key.row.access_key_id),
                Err(Error::NotFound {
                    code: "NoSuchEntity",
                    ..
                }) => {}
                Err(other) => panic!("round {round}: create: unexpected {other:?}"),
            }
        }
        match delete.await.unwrap() {
            Ok(()) => {
                assert!(created.is_empty(), "round {round}: keys {created:?} lost");
                assert_err!(
                    services[0].get_user(&aid, &name).await,
                    Error::NotFound {
                        code: "NoSuchEntity",
                        ..
                    }
                );
            }
            Err(Error::DependencyViolation(_)) => {
                assert!(!created.is_empty(), "round {round}: refused without keys");
                let mut listed: Vec<_> = services[1]
                    .list_access_keys(&aid, Some(&name))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|k| k.access_key_id)
                    .collect();
                listed.sort();
                created.sort();
                assert_eq!(listed, created, "round {round}");
            }
            Err(other) => panic!("round {round}: delete: unexpected {other:?}"),
        }
        for id in &created {
            let (principal, _) = services[0].authenticate(id).await.unwrap();
            assert_eq!(principal.user_name.as_deref(), Some(name.as_str()));
        }
    }
    replica.close().await;
}

pub async fn inactive_and_deleted_keys_do_not_authenticate(db: &TestDb) {
    let iam = service(&db.store);
    let a = account(&iam, "acme").await;
    let aid = account_id(&a);
    iam.create_user(&aid, "alice", None).await.unwrap();
    let key = iam.create_access_key(&aid, Some("alice")).await.unwrap();
    let id = key.row.access_key_id.as_str();

    iam.update_access_key(&aid, Some("alice"), id, "Inactive")
        .await
        .unwrap();
    assert_err!(iam.authenticate(id).await, Error::InvalidClientTokenId);
    let listed = iam.list_access_keys(&aid, Some("alice")).await.unwrap();
    assert_eq!(listed[0].status, "Inactive");
    iam.update_access_key(&aid, Some("alice"), id, "Active")
        .await
        .unwrap();
    assert_eq!(iam.authenticate(id).await.unwrap().1, key.secret_access_key);
    for bad in ["Disabled", "active", ""] {
        assert_err!(
            iam.update_access_key(&aid, Some("alice"), id, bad).await,
            Error::Validation(_)
        );
    }
    assert!(
        iam.authenticate(id).await.is_ok(),
        "a refused update changes nothing"
    );

    iam.delete_access_key(&aid, Some("alice"), id)
        .await
        .unwrap();
    assert_err!(iam.authenticate(id).await, Error::InvalidClientTokenId);
    assert_err!(
        iam.delete_access_key(&aid, Some("alice"), id).await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    assert_err!(
        iam.update_access_key(&aid, Some("alice"), id, "Active")
            .await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );

    // Root keys too: one deactivated, the other still works.
    let spare = iam.create_access_key(&aid, None).await.unwrap();
    iam.update_access_key(&aid, None, &a.access_key_id, "Inactive")
        .await
        .unwrap();
    assert_err!(
        iam.authenticate(&a.access_key_id).await,
        Error::InvalidClientTokenId
    );
    let (root, _) = iam.authenticate(&spare.row.access_key_id).await.unwrap();
    assert!(root.is_root());
}

pub async fn keys_are_managed_only_by_their_owner(db: &TestDb) {
    let iam = service(&db.store);
    let a = account(&iam, "a").await;
    let aid = account_id(&a);
    let bid = account_id(&account(&iam, "b").await);
    iam.create_user(&aid, "alice", None).await.unwrap();
    iam.create_user(&aid, "bob", None).await.unwrap();
    iam.create_user(&bid, "alice", None).await.unwrap();
    let key = iam.create_access_key(&aid, Some("alice")).await.unwrap();
    let id = key.row.access_key_id.as_str();

    // Another user, the root, or the same name in another account: not theirs.
    let no_such_key = |e: &Error| matches!(e, Error::NotFound { code: "NoSuchEntity", message } if message.contains(id));
    for (account, user) in [
        (&aid, Some("bob")),
        (&aid, None),
        (&bid, Some("alice")),
        (&bid, None),
    ] {
        let update = iam.update_access_key(account, user, id, "Inactive").await;
        assert!(
            update.as_ref().is_err_and(no_such_key),
            "{account} {user:?}: {update:?}"
        );
        let delete = iam.delete_access_key(account, user, id).await;
        assert!(
            delete.as_ref().is_err_and(no_such_key),
            "{account} {user:?}: {delete:?}"
        );
    }
    // The root key, addressed as a user's, is not found either.
    assert_err!(
        iam.delete_access_key(&aid, Some("alice"), &a.access_key_id)
            .await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    // A missing user is reported as such.
    assert_err!(
        iam.update_access_key(&aid, Some("ghost"), id, "Inactive").await,
        Error::NotFound { code: "NoSuchEntity", ref message } if message.contains("ghost")
    );
    assert_err!(
        iam.list_access_keys(&aid, Some("ghost")).await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    assert!(iam
        .list_access_keys(&bid, Some("alice"))
        .await
        .unwrap()
        .is_empty());

    let (principal, _) = iam.authenticate(id).await.unwrap();
    assert_eq!(
        principal.account_id, aid,
        "alice's key is untouched and active"
    );
    assert!(iam.authenticate(&a.access_key_id).await.is_ok());
}
