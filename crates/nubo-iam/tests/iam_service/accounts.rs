//! Accounts: creation with fixed or generated root credentials, what those
//! credentials authenticate as, refusals that leave nothing behind, deletion
//! of an account with everything it owns, and start-up bootstrapping.

use nubo_core::{AccountId, Error};
use nubo_iam::accounts::FixedIdentity;
use nubo_iam::{IamService, SecretBox};
use nubo_store::ResourceRow;

use crate::harness::{assert_err, TestDb};
use crate::{account, account_id, service};

const FIXED_ID: &str = "123456789012";
const FIXED_KEY: &str = "AKIAFIXEDTEST0000001";
const FIXED_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn fixed(id: Option<&str>, key: Option<&str>, secret: Option<&str>) -> FixedIdentity {
    FixedIdentity {
        account_id: id.map(String::from),
        access_key_id: key.map(String::from),
        secret_access_key: secret.map(String::from),
    }
}

/// The IDs of every account, oldest first.
async fn account_ids(iam: &IamService) -> Vec<String> {
    iam.list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect()
}

pub async fn create_with_fixed_identity_and_authenticate(db: &TestDb) {
    let iam = service(&db.store);
    let created = iam
        .create_account(
            "ops",
            &fixed(Some(FIXED_ID), Some(FIXED_KEY), Some(FIXED_SECRET)),
        )
        .await
        .unwrap();
    assert_eq!(
        (created.account.id.as_str(), created.account.name.as_str()),
        (FIXED_ID, "ops")
    );
    assert_eq!(created.access_key_id, FIXED_KEY);
    assert_eq!(created.secret_access_key, FIXED_SECRET);

    let (principal, secret) = iam.authenticate(FIXED_KEY).await.unwrap();
    assert_eq!(secret, FIXED_SECRET, "the original secret, for SigV4");
    assert!(principal.is_root());
    assert_eq!(principal.account_id.as_str(), FIXED_ID);
    assert_eq!(principal.user_name, None);
    assert_eq!(principal.user_id, FIXED_ID);
    assert_eq!(principal.arn, format!("arn:aws:iam::{FIXED_ID}:root"));
    assert_eq!(principal.access_key_id, FIXED_KEY);

    assert_eq!(account_ids(&iam).await, [FIXED_ID]);
    let keys = iam
        .list_access_keys(&account_id(&created), None)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].access_key_id, FIXED_KEY);
    assert_eq!(
        (keys[0].user_name.as_deref(), keys[0].status.as_str()),
        (None, "Active")
    );
    // The secret is sealed at rest.
    assert!(!keys[0]
        .secret_ciphertext
        .windows(FIXED_SECRET.len())
        .any(|w| w == FIXED_SECRET.as_bytes()));

    for unknown in ["AKIAUNKNOWNKEY000001", "akiafixedtest0000001", ""] {
        assert_err!(iam.authenticate(unknown).await, Error::InvalidClientTokenId);
    }
}

pub async fn create_with_generated_identity(db: &TestDb) {
    let iam = service(&db.store);
    let one = account(&iam, "one").await;
    let two = account(&iam, "two").await;
    for new in [&one, &two] {
        assert!(
            AccountId::parse(&new.account.id).is_ok(),
            "{}",
            new.account.id
        );
        assert!(new.access_key_id.starts_with("AKIA"));
        assert_eq!(new.access_key_id.len(), 20);
        assert_eq!(new.secret_access_key.len(), 40);
        let (principal, secret) = iam.authenticate(&new.access_key_id).await.unwrap();
        assert_eq!(principal.account_id.as_str(), new.account.id);
        assert!(principal.is_root());
        assert_eq!(secret, new.secret_access_key);
    }
    assert_ne!(one.account.id, two.account.id);
    assert_ne!(one.access_key_id, two.access_key_id);
    assert_ne!(one.secret_access_key, two.secret_access_key);
    assert_eq!(account_ids(&iam).await.len(), 2);
}

pub async fn duplicates_are_refused_and_leave_nothing_behind(db: &TestDb) {
    let iam = service(&db.store);
    let alpha = iam
        .create_account("alpha", &fixed(Some(FIXED_ID), None, None))
        .await
        .unwrap();

    assert_err!(
        iam.create_account("alpha", &FixedIdentity::default()).await,
        Error::AlreadyExists {
            code: "EntityAlreadyExists",
            ..
        }
    );
    assert_err!(
        iam.create_account("beta", &fixed(Some(FIXED_ID), None, None))
            .await,
        Error::AlreadyExists {
            code: "EntityAlreadyExists",
            ..
        }
    );
    // The account row goes in before its key: a taken key ID must unwind it.
    assert_err!(
        iam.create_account("gamma", &fixed(None, Some(&alpha.access_key_id), None))
            .await,
        Error::AlreadyExists {
            code: "EntityAlreadyExists",
            ..
        }
    );
    assert_eq!(account_ids(&iam).await, [FIXED_ID]);
    let (principal, secret) = iam.authenticate(&alpha.access_key_id).await.unwrap();
    assert_eq!(principal.account_id.as_str(), FIXED_ID);
    assert_eq!(secret, alpha.secret_access_key, "alpha's key is untouched");
    // Nothing of the refused account is left to collide with.
    account(&iam, "gamma").await;
    account(&iam, "beta").await;
    assert_eq!(account_ids(&iam).await.len(), 3);
}

pub async fn invalid_identities_are_refused(db: &TestDb) {
    let iam = service(&db.store);
    for name in ["", "has space", "slash/name", &"n".repeat(51)] {
        assert_err!(
            iam.create_account(name, &FixedIdentity::default()).await,
            Error::InvalidParameterValue(_)
        );
    }
    for bad in [
        fixed(Some("12345"), None, None),
        fixed(Some("12345678901a"), None, None),
        fixed(None, Some("AKIASHORT"), None),
        fixed(None, Some("AKIA-WITH-DASHES-0001"), None),
        fixed(None, None, Some("too-short")),
        fixed(None, None, Some("a secret with spaces in it")),
        // Reserved for the installation's own (base) images.
        fixed(Some(nubo_core::SYSTEM_ACCOUNT_ID), None, None),
    ] {
        assert_err!(
            iam.create_account("fine", &bad).await,
            Error::InvalidParameterValue(_)
        );
    }
    assert!(account_ids(&iam).await.is_empty());
    account(&iam, &"n".repeat(50)).await;
}

pub async fn delete_account_removes_everything_it_owns(db: &TestDb) {
    let iam = service(&db.store);
    let a = account(&iam, "doomed").await;
    let b = account(&iam, "survivor").await;
    let (aid, bid) = (account_id(&a), account_id(&b));

    let second_root = iam.create_access_key(&aid, None).await.unwrap();
    iam.create_user(&aid, "alice", None).await.unwrap();
    let alice_key = iam.create_access_key(&aid, Some("alice")).await.unwrap();
    let policy = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    iam.put_user_policy(&aid, "alice", "all", policy)
        .await
        .unwrap();
    let mut tx = db.store.begin().await.unwrap();
    tx.insert_resource(&ResourceRow {
        account_id: aid.to_string(),
        region: "us-east-1".into(),
        kind: "vpc".into(),
        id: "vpc-0123456789abcdef0".into(),
        parent_id: None,
        generation: 1,
        body: "{}".into(),
        created_at: nubo_store::now(),
        updated_at: nubo_store::now(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    iam.create_user(&bid, "bob", None).await.unwrap();
    let bob_key = iam.create_access_key(&bid, Some("bob")).await.unwrap();

    iam.delete_account(aid.as_str()).await.unwrap();

    for key in [
        &a.access_key_id,
        &second_root.row.access_key_id,
        &alice_key.row.access_key_id,
    ] {
        assert_err!(iam.authenticate(key).await, Error::InvalidClientTokenId);
    }
    assert_err!(
        iam.get_user(&aid, "alice").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
    assert!(db
        .store
        .list_users(aid.as_str(), None)
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .store
        .list_user_policies(aid.as_str(), "alice")
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .store
        .list_all_resources(aid.as_str(), "us-east-1")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(account_ids(&iam).await, [bid.to_string()]);
    assert_err!(
        iam.delete_account(aid.as_str()).await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );

    // The other tenant is untouched.
    assert_eq!(
        iam.authenticate(&b.access_key_id).await.unwrap().1,
        b.secret_access_key
    );
    let (bob, _) = iam.authenticate(&bob_key.row.access_key_id).await.unwrap();
    assert_eq!(bob.user_name.as_deref(), Some("bob"));

    // The name and the ID are free again, and the old keys stay dead.
    iam.create_account("doomed", &fixed(Some(aid.as_str()), None, None))
        .await
        .unwrap();
    assert_err!(
        iam.authenticate(&a.access_key_id).await,
        Error::InvalidClientTokenId
    );
    assert_err!(
        iam.get_user(&aid, "alice").await,
        Error::NotFound {
            code: "NoSuchEntity",
            ..
        }
    );
}

/// Replicas sharing a database must share the master key: with it they see
/// the same principals and secrets; without it no secret can be opened.
pub async fn replicas_share_credentials_only_with_the_master_key(db: &TestDb) {
    let replica = db.replica().await;
    let iam = service(&db.store);
    let same_key = service(&replica);
    let other_key = IamService::new(replica.clone(), SecretBox::from_key(&[8; 32]));

    let a = account(&iam, "shared").await;
    let (principal, secret) = same_key.authenticate(&a.access_key_id).await.unwrap();
    assert_eq!(
        principal,
        iam.authenticate(&a.access_key_id).await.unwrap().0
    );
    assert_eq!(secret, a.secret_access_key);
    same_key
        .create_user(&account_id(&a), "made-elsewhere", None)
        .await
        .unwrap();
    iam.get_user(&account_id(&a), "made-elsewhere")
        .await
        .unwrap();

    assert_err!(
        other_key.authenticate(&a.access_key_id).await,
        Error::Internal(_)
    );
    replica.close().await;
}

pub async fn bootstrap_creates_the_admin_once(db: &TestDb) {
    let iam = service(&db.store);
    let identity = fixed(Some(FIXED_ID), Some(FIXED_KEY), Some(FIXED_SECRET));
    let created = iam.bootstrap_admin("admin", &identity).await.unwrap();
    let created = created.unwrap_or_else(|| panic!("no admin created"));
    assert_eq!(created.account.id, FIXED_ID);
    assert_eq!(iam.authenticate(FIXED_KEY).await.unwrap().1, FIXED_SECRET);
    // A restart finds an account and creates nothing, whatever it is configured with.
    assert!(iam
        .bootstrap_admin("admin", &identity)
        .await
        .unwrap()
        .is_none());
    assert!(iam
        .bootstrap_admin("other", &FixedIdentity::default())
        .await
        .unwrap()
        .is_none());
    assert_eq!(account_ids(&iam).await, [FIXED_ID]);
}

/// Two replicas starting at once on a fresh database both bootstrap: one
/// creates the admin, the other must find it rather than fail to start.
pub async fn concurrent_bootstraps_create_one_admin(db: &TestDb) {
    let replica = db.replica().await;
    for identity in [
        fixed(Some(FIXED_ID), Some(FIXED_KEY), Some(FIXED_SECRET)),
        FixedIdentity::default(),
    ] {
        for a in db.store.list_accounts().await.unwrap() {
            db.store.delete_account(&a.id).await.unwrap();
        }
        let tasks: Vec<_> = [service(&db.store), service(&replica)]
            .into_iter()
            .map(|iam| {
                let identity = identity.clone();
                tokio::spawn(async move { iam.bootstrap_admin("admin", &identity).await })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(Some(_)) => created += 1,
                Ok(None) => {}
                Err(e) => panic!("a replica failed to start ({identity:?}): {e:?}"),
            }
        }
        assert_eq!(created, 1, "{identity:?}");
        assert_eq!(db.store.list_accounts().await.unwrap().len(), 1);
    }
    replica.close().await;
}
