//! Key pairs through the store: create (RSA and ED25519) and import, names
//! unique per account and region (also under racing creates), describe by
//! name, ID and filter, delete by name or ID, dry runs and tenancy.

use nubo_core::Error;
use nubo_ec2::key_pair::{KeyFormat, KeyPair, KeyPairRef, KeyType};
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{filter, scope, service, tag, tenant, A, B};

// An ED25519 public key made with `ssh-keygen -t ed25519` (its fingerprint
// from `ssh-keygen -l -E sha256`).
const ED25519_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHp7Ven0DzY1rOn4SYadjwEgEWTyrdVdEuBemeccZOq fixture";
const ED25519_FINGERPRINT: &str = "AtJHrv7LjUoiehhOM5v/2dRHPYvREHj8M4oD+XVrg7Q=";

async fn import(svc: &Ec2Service, scope: &RequestScope, name: &str) -> Result<KeyPair, Error> {
    svc.import_key_pair(scope, name, ED25519_PUB.as_bytes(), &[])
        .await
}

async fn names(svc: &Ec2Service, scope: &RequestScope) -> Vec<String> {
    let mut names: Vec<String> = svc
        .describe_key_pairs(scope, &[], &[], &[])
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    names.sort();
    names
}

pub async fn key_pairs_create_import_describe_delete(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let rsa = svc
        .create_key_pair(
            &a,
            "deploy",
            KeyType::Rsa,
            KeyFormat::Pem,
            &[("key-pair".into(), vec![tag("env", "prod")])],
        )
        .await
        .unwrap();
    assert!(rsa
        .key_material
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(rsa.key_pair.id.as_str().starts_with("key-"));
    assert!(rsa.key_pair.public_key.starts_with("ssh-rsa AAAA"));
    // The private key is never stored.
    let stored = svc
        .describe_key_pairs(&a, &["deploy".into()], &[], &[])
        .await
        .unwrap();
    assert_eq!(stored, vec![rsa.key_pair.clone()]);
    let ed = svc
        .create_key_pair(&a, "edge", KeyType::Ed25519, KeyFormat::Pem, &[])
        .await
        .unwrap();
    assert!(ed
        .key_material
        .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let imported = import(&svc, &a, "laptop").await.unwrap();
    assert_eq!(imported.fingerprint, ED25519_FINGERPRINT);
    assert_eq!(imported.key_type, KeyType::Ed25519);
    assert_eq!(names(&svc, &a).await, ["deploy", "edge", "laptop"]);

    // Names are unique per account and region, whatever the key type.
    assert_err!(
        svc.create_key_pair(&a, "laptop", KeyType::Rsa, KeyFormat::Pem, &[])
            .await,
        Error::AlreadyExists {
            code: "InvalidKeyPair.Duplicate",
            ..
        }
    );
    assert_err!(
        import(&svc, &a, "deploy").await,
        Error::AlreadyExists {
            code: "InvalidKeyPair.Duplicate",
            ..
        }
    );
    // Bad input changes nothing.
    assert_err!(
        svc.create_key_pair(&a, "putty", KeyType::Rsa, KeyFormat::Ppk, &[])
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.import_key_pair(&a, "junk", b"ssh-rsa AAAA", &[]).await,
        Error::Client {
            code: "InvalidKey.Format",
            ..
        }
    );
    assert_err!(
        svc.create_key_pair(
            &a,
            "tagged",
            KeyType::Rsa,
            KeyFormat::Pem,
            &[("vpc".into(), vec![])]
        )
        .await,
        Error::InvalidParameterValue(_)
    );
    assert_eq!(names(&svc, &a).await, ["deploy", "edge", "laptop"]);

    // Describe by ID, name and filters.
    let by_id = svc
        .describe_key_pairs(&a, &[], std::slice::from_ref(&ed.key_pair.id), &[])
        .await
        .unwrap();
    assert_eq!(by_id, vec![ed.key_pair.clone()]);
    let pick = |filters: Vec<nubo_core::filter::Filter>| {
        let svc = svc.clone();
        let a = a.clone();
        async move {
            let mut found: Vec<String> = svc
                .describe_key_pairs(&a, &[], &[], &filters)
                .await
                .unwrap()
                .into_iter()
                .map(|k| k.name)
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(
        pick(vec![filter("key-type", &["ed25519"])]).await,
        ["edge", "laptop"]
    );
    assert_eq!(
        pick(vec![filter("fingerprint", &[ED25519_FINGERPRINT])]).await,
        ["laptop"]
    );
    assert_eq!(pick(vec![filter("tag:env", &["prod"])]).await, ["deploy"]);
    assert_eq!(pick(vec![filter("key-name", &["l*"])]).await, ["laptop"]);
    assert_eq!(
        pick(vec![filter("key-pair-id", &[rsa.key_pair.id.as_str()])]).await,
        ["deploy"]
    );
    assert_err!(
        svc.describe_key_pairs(&a, &[], &[], &[filter("colour", &["red"])])
            .await,
        Error::InvalidParameterValue(_)
    );
    assert_err!(
        svc.describe_key_pairs(&a, &["deploy".into(), "nope".into()], &[], &[])
            .await,
        Error::NotFound {
            code: "InvalidKeyPair.NotFound",
            ..
        }
    );

    // Tags on key pairs work through the generic tag operations.
    svc.create_tags(&a, &[imported.id.to_string()], &[tag("owner", "me")])
        .await
        .unwrap();
    assert_eq!(pick(vec![filter("tag-key", &["owner"])]).await, ["laptop"]);

    // Delete by name and by ID; a missing name is not an error (as AWS).
    let deleted = svc
        .delete_key_pair(&a, &KeyPairRef::Name("deploy".into()))
        .await
        .unwrap();
    assert_eq!(deleted, Some(rsa.key_pair.id.clone()));
    assert_eq!(
        svc.delete_key_pair(&a, &KeyPairRef::Name("deploy".into()))
            .await
            .unwrap(),
        None
    );
    svc.delete_key_pair(&a, &KeyPairRef::Id(ed.key_pair.id.clone()))
        .await
        .unwrap();
    assert_err!(
        svc.delete_key_pair(&a, &KeyPairRef::Id(ed.key_pair.id.clone()))
            .await,
        Error::NotFound {
            code: "InvalidKeyPair.NotFound",
            ..
        }
    );
    assert_err!(
        svc.describe_key_pairs(&a, &[], std::slice::from_ref(&rsa.key_pair.id), &[])
            .await,
        Error::NotFound {
            code: "InvalidKeyPair.NotFound",
            ..
        }
    );
    assert_eq!(names(&svc, &a).await, ["laptop"]);
    // A deleted name is free again.
    import(&svc, &a, "deploy").await.unwrap();
    assert_eq!(names(&svc, &a).await, ["deploy", "laptop"]);
}

pub async fn racing_creates_of_one_name_admit_one(db: &TestDb) {
    let replica = db.replica().await;
    let svcs = [
        service(&db.store, Limits::default()),
        service(&replica, Limits::default()),
    ];
    let a = tenant(&db.store, A).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (svc, a) = (svcs[i % 2].clone(), a.clone());
            tokio::spawn(async move { import(&svc, &a, "shared").await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::AlreadyExists {
                code: "InvalidKeyPair.Duplicate",
                ..
            }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(names(&svcs[0], &a).await, ["shared"]);
}

pub async fn key_pair_dry_runs_and_tenancy(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let b = tenant(&db.store, B).await;
    let mut dry = a.clone();
    dry.dry_run = true;
    assert_err!(
        svc.create_key_pair(&dry, "dry", KeyType::Ed25519, KeyFormat::Pem, &[])
            .await,
        Error::DryRunOperation
    );
    assert_err!(import(&svc, &dry, "dry").await, Error::DryRunOperation);
    assert!(names(&svc, &a).await.is_empty());

    let mine = import(&svc, &a, "mine").await.unwrap();
    assert_err!(
        svc.delete_key_pair(&dry, &KeyPairRef::Name("mine".into()))
            .await,
        Error::DryRunOperation
    );
    assert_eq!(names(&svc, &a).await, ["mine"]);

    // Another account sees nothing, cannot delete it, and may reuse the name.
    assert_err!(
        svc.describe_key_pairs(&b, &["mine".into()], &[], &[]).await,
        Error::NotFound {
            code: "InvalidKeyPair.NotFound",
            ..
        }
    );
    assert_err!(
        svc.delete_key_pair(&b, &KeyPairRef::Id(mine.id.clone()))
            .await,
        Error::NotFound {
            code: "InvalidKeyPair.NotFound",
            ..
        }
    );
    assert_eq!(
        svc.delete_key_pair(&b, &KeyPairRef::Name("mine".into()))
            .await
            .unwrap(),
        None
    );
    import(&svc, &b, "mine").await.unwrap();
    // So may another region of the same account.
    let west = scope(A, "us-west-2");
    assert!(names(&svc, &west).await.is_empty());
    assert_eq!(names(&svc, &a).await, ["mine"]);
}
