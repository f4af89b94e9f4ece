//! IAM users, access keys and inline policies.

use nubo_store::{AccessKeyRow, StoreError, UserPolicyRow, UserRow};

use crate::harness::{account, t, TestDb};

pub fn user(account_id: &str, name: &str, path: &str) -> UserRow {
    UserRow {
        account_id: account_id.into(),
        name: name.into(),
        user_id: format!("AIDA{account_id}{}", name.to_uppercase()),
        path: path.into(),
        arn: format!("arn:aws:iam::{account_id}:user{path}{name}"),
        created_at: t(1),
    }
}

pub fn key(id: &str, account_id: &str, user_name: Option<&str>) -> AccessKeyRow {
    AccessKeyRow {
        access_key_id: id.into(),
        account_id: account_id.into(),
        user_name: user_name.map(str::to_string),
        // Not UTF-8, with a NUL: ciphertext is arbitrary bytes.
        secret_ciphertext: vec![0, 159, 146, 150, 255, 1, 2, 3],
        status: "Active".into(),
        created_at: t(2),
    }
}

fn policy(account_id: &str, user: &str, name: &str, doc: &str) -> UserPolicyRow {
    UserPolicyRow {
        account_id: account_id.into(),
        user_name: user.into(),
        policy_name: name.into(),
        document: doc.into(),
    }
}

const A: &str = "111111111111";
const B: &str = "222222222222";

pub async fn user_crud_and_errors(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    let bob = user(A, "bob", "/eng/backend/");
    let alice = user(A, "alice", "/eng/");
    let zed = user(A, "Zed", "/");
    for u in [&bob, &zed, &alice] {
        s.create_user(u).await.unwrap();
    }
    assert_eq!(s.get_user(A, "bob").await.unwrap(), Some(bob.clone()));
    assert_eq!(s.get_user(A, "carol").await.unwrap(), None);
    // Bytewise order on both backends: upper case sorts first.
    assert_eq!(
        s.list_users(A, None).await.unwrap(),
        vec![zed.clone(), alice.clone(), bob.clone()]
    );
    assert_eq!(
        s.list_users(A, Some("/eng/")).await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );
    assert_eq!(
        s.list_users(A, Some("/eng/backend/")).await.unwrap(),
        vec![bob.clone()]
    );
    assert_eq!(s.list_users(A, Some("/e_g/")).await.unwrap(), vec![]);

    let mut dup = bob.clone();
    dup.user_id = "AIDAOTHER".into();
    assert!(matches!(
        s.create_user(&dup).await,
        Err(StoreError::AlreadyExists)
    ));
    // IAM names are unique without regard to case.
    let mut shout = user(A, "BOB", "/");
    shout.user_id = "AIDASHOUT".into();
    assert!(matches!(
        s.create_user(&shout).await,
        Err(StoreError::AlreadyExists)
    ));
    // No such account.
    assert!(matches!(
        s.create_user(&user(B, "bob", "/")).await,
        Err(StoreError::NotFound)
    ));

    s.delete_user(A, "bob").await.unwrap();
    assert_eq!(s.get_user(A, "bob").await.unwrap(), None);
    assert!(matches!(
        s.delete_user(A, "bob").await,
        Err(StoreError::NotFound)
    ));
    s.create_user(&shout).await.unwrap();
}

pub async fn access_key_crud_and_errors(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    s.create_user(&user(A, "alice", "/")).await.unwrap();
    let root = key("AKIAROOT0000000001", A, None);
    let mut k2 = key("AKIAUSER0000000002", A, Some("alice"));
    k2.created_at = t(10);
    let mut k1 = key("AKIAUSER0000000009", A, Some("alice"));
    k1.created_at = t(5);
    for k in [&root, &k2, &k1] {
        s.create_access_key(k).await.unwrap();
    }
    assert_eq!(
        s.get_access_key(&root.access_key_id).await.unwrap(),
        Some(root.clone())
    );
    assert_eq!(s.get_access_key("AKIANOPE").await.unwrap(), None);
    assert_eq!(
        s.list_access_keys(A, None).await.unwrap(),
        vec![root.clone()]
    );
    assert_eq!(
        s.list_access_keys(A, Some("alice")).await.unwrap(),
        vec![k1.clone(), k2.clone()]
    );
    assert_eq!(s.list_access_keys(A, Some("nobody")).await.unwrap(), vec![]);

    assert!(matches!(
        s.create_access_key(&root).await,
        Err(StoreError::AlreadyExists)
    ));
    let orphan = key("AKIAORPHAN", A, Some("nobody"));
    assert!(matches!(
        s.create_access_key(&orphan).await,
        Err(StoreError::NotFound)
    ));

    s.set_access_key_status(A, &k1.access_key_id, "Inactive")
        .await
        .unwrap();
    let got = s.get_access_key(&k1.access_key_id).await.unwrap().unwrap();
    assert_eq!(got.status, "Inactive");
    assert!(matches!(
        s.set_access_key_status(A, "AKIANOPE", "Inactive").await,
        Err(StoreError::NotFound)
    ));

    s.delete_access_key(A, &k1.access_key_id).await.unwrap();
    assert_eq!(s.get_access_key(&k1.access_key_id).await.unwrap(), None);
    assert!(matches!(
        s.delete_access_key(A, &k1.access_key_id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.list_access_keys(A, Some("alice")).await.unwrap(),
        vec![k2]
    );
}

pub async fn user_policy_crud_and_errors(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    s.create_user(&user(A, "alice", "/")).await.unwrap();
    let p2 = policy(A, "alice", "write", r#"{"Version":"2012-10-17"}"#);
    let p1 = policy(A, "alice", "read", r#"{"Statement":[]}"#);
    s.put_user_policy(&p2).await.unwrap();
    s.put_user_policy(&p1).await.unwrap();
    assert_eq!(
        s.list_user_policies(A, "alice").await.unwrap(),
        vec![p1.clone(), p2.clone()]
    );

    // Put replaces.
    let p1b = policy(A, "alice", "read", r#"{"Statement":[{"Effect":"Allow"}]}"#);
    s.put_user_policy(&p1b).await.unwrap();
    assert_eq!(
        s.get_user_policy(A, "alice", "read").await.unwrap(),
        Some(p1b.clone())
    );
    assert_eq!(s.list_user_policies(A, "alice").await.unwrap().len(), 2);
    assert_eq!(s.get_user_policy(A, "alice", "nope").await.unwrap(), None);

    // No such user.
    let orphan = policy(A, "nobody", "p", "{}");
    assert!(matches!(
        s.put_user_policy(&orphan).await,
        Err(StoreError::NotFound)
    ));

    s.delete_user_policy(A, "alice", "read").await.unwrap();
    assert!(matches!(
        s.delete_user_policy(A, "alice", "read").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.list_user_policies(A, "alice").await.unwrap(), vec![p2]);

    // Deleting the user takes its remaining keys and policies along.
    s.create_access_key(&key("AKIAALICE", A, Some("alice")))
        .await
        .unwrap();
    s.delete_user(A, "alice").await.unwrap();
    assert_eq!(s.list_user_policies(A, "alice").await.unwrap(), vec![]);
    assert_eq!(s.get_access_key("AKIAALICE").await.unwrap(), None);
}

pub async fn iam_rows_are_isolated_between_tenants(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    account(s, B).await;
    s.create_user(&user(A, "alice", "/")).await.unwrap();
    // The same user name in another account is a different user.
    s.create_user(&user(B, "alice", "/")).await.unwrap();
    s.create_access_key(&key("AKIAA", A, Some("alice")))
        .await
        .unwrap();
    s.create_access_key(&key("AKIAAROOT", A, None))
        .await
        .unwrap();
    s.put_user_policy(&policy(A, "alice", "p", "{}"))
        .await
        .unwrap();

    assert_eq!(s.list_access_keys(B, Some("alice")).await.unwrap(), vec![]);
    assert_eq!(s.list_access_keys(B, None).await.unwrap(), vec![]);
    assert_eq!(s.get_user_policy(B, "alice", "p").await.unwrap(), None);
    assert_eq!(s.list_user_policies(B, "alice").await.unwrap(), vec![]);
    assert!(matches!(
        s.set_access_key_status(B, "AKIAA", "Inactive").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_access_key(B, "AKIAAROOT").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_user_policy(B, "alice", "p").await,
        Err(StoreError::NotFound)
    ));
    s.delete_user(B, "alice").await.unwrap();
    // A's rows are untouched.
    assert_eq!(
        s.get_access_key("AKIAA").await.unwrap().unwrap().status,
        "Active"
    );
    assert!(s.get_access_key("AKIAAROOT").await.unwrap().is_some());
    assert!(s.get_user(A, "alice").await.unwrap().is_some());
    assert_eq!(s.list_user_policies(A, "alice").await.unwrap().len(), 1);
}
