//! Migrations and accounts.

use nubo_store::{AccountRow, ResourceRow, Store, StoreError, UserPolicyRow};

use crate::harness::{account, t, Kind, Location, TestDb};
use crate::iam::{key, user};
use crate::resources::resource;

/// The newest embedded migration (2: the index for rows of one kind everywhere).
const NEWEST_SCHEMA: i64 = 2;

pub async fn migrations_are_idempotent(db: &TestDb) {
    assert_eq!(db.store.schema_version().await.unwrap(), NEWEST_SCHEMA);
    account(&db.store, "111111111111").await;
    if db.kind() == Kind::SqliteMemory {
        return; // a second open is a different database
    }
    // A restart re-runs the migrator over an up-to-date schema.
    let again = Store::open(&db.location.url).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), NEWEST_SCHEMA);
    assert!(again.get_account("111111111111").await.unwrap().is_some());
    again.close().await;
}

pub async fn concurrent_first_open_migrates_once(db: &TestDb) {
    if db.kind() == Kind::SqliteMemory {
        return;
    }
    // Several servers starting together on one empty database.
    let fresh = Location::new(db.kind()).await.unwrap();
    let opens = (0..4).map(|_| {
        let url = fresh.url.clone();
        tokio::spawn(async move { Store::open(&url).await })
    });
    let mut stores = Vec::new();
    for h in opens {
        stores.push(h.await.unwrap().unwrap());
    }
    for s in &stores {
        assert_eq!(s.schema_version().await.unwrap(), NEWEST_SCHEMA);
    }
    account(&stores[0], "222222222222").await;
    assert!(stores[3]
        .get_account("222222222222")
        .await
        .unwrap()
        .is_some());
    for s in stores {
        s.close().await;
    }
    fresh.remove().await;
}

pub async fn account_crud_and_errors(db: &TestDb) {
    let s = &db.store;
    assert_eq!(s.list_accounts().await.unwrap(), vec![]);
    let mk = |id: &str, name: &str, ms| AccountRow {
        id: id.into(),
        name: name.into(),
        created_at: t(ms),
    };
    // Listed by creation time, then ID — not by insertion order.
    let c = mk("333333333333", "carol", 5);
    let a = mk("111111111111", "alice", 10);
    let b = mk("222222222222", "bob", 10);
    for row in [&a, &b, &c] {
        s.create_account(row).await.unwrap();
    }
    assert_eq!(
        s.list_accounts().await.unwrap(),
        vec![c.clone(), a.clone(), b.clone()]
    );
    assert_eq!(
        s.get_account("111111111111").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(s.get_account_by_name("bob").await.unwrap(), Some(b.clone()));
    assert_eq!(s.get_account("999999999999").await.unwrap(), None);
    assert_eq!(s.get_account_by_name("nobody").await.unwrap(), None);

    let dup_id = mk("111111111111", "other", 1);
    assert!(matches!(
        s.create_account(&dup_id).await,
        Err(StoreError::AlreadyExists)
    ));
    let dup_name = mk("444444444444", "alice", 1);
    assert!(matches!(
        s.create_account(&dup_name).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(s.list_accounts().await.unwrap().len(), 3);

    s.delete_account("111111111111").await.unwrap();
    assert_eq!(s.get_account("111111111111").await.unwrap(), None);
    assert!(matches!(
        s.delete_account("111111111111").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.list_accounts().await.unwrap(), vec![c, b]);
    // The name is free again.
    s.create_account(&dup_name).await.unwrap();
}

pub async fn delete_account_removes_everything_it_owns(db: &TestDb) {
    let s = &db.store;
    for id in ["111111111111", "222222222222"] {
        account(s, id).await;
        s.create_user(&user(id, "alice", "/")).await.unwrap();
        s.create_access_key(&key(&format!("AKROOT{id}"), id, None))
            .await
            .unwrap();
        s.create_access_key(&key(&format!("AKUSER{id}"), id, Some("alice")))
            .await
            .unwrap();
        s.put_user_policy(&UserPolicyRow {
            account_id: id.into(),
            user_name: "alice".into(),
            policy_name: "p".into(),
            document: "{}".into(),
        })
        .await
        .unwrap();
        let mut tx = s.begin().await.unwrap();
        for (region, rid) in [("us-east-1", "vpc-a"), ("eu-west-1", "vpc-b")] {
            let r: ResourceRow = resource(id, region, "vpc", &format!("{rid}{id}"), None);
            tx.insert_resource(&r).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    s.delete_account("111111111111").await.unwrap();

    let gone = "111111111111";
    assert_eq!(s.get_account(gone).await.unwrap(), None);
    assert_eq!(s.list_users(gone, None).await.unwrap(), vec![]);
    assert_eq!(s.get_access_key("AKROOT111111111111").await.unwrap(), None);
    assert_eq!(s.get_access_key("AKUSER111111111111").await.unwrap(), None);
    assert_eq!(s.list_user_policies(gone, "alice").await.unwrap(), vec![]);
    assert_eq!(
        s.list_all_resources(gone, "us-east-1").await.unwrap(),
        vec![]
    );
    assert_eq!(
        s.list_all_resources(gone, "eu-west-1").await.unwrap(),
        vec![]
    );

    let kept = "222222222222";
    assert!(s.get_account(kept).await.unwrap().is_some());
    assert_eq!(s.list_users(kept, None).await.unwrap().len(), 1);
    assert!(s
        .get_access_key("AKROOT222222222222")
        .await
        .unwrap()
        .is_some());
    assert!(s
        .get_access_key("AKUSER222222222222")
        .await
        .unwrap()
        .is_some());
    assert_eq!(s.list_user_policies(kept, "alice").await.unwrap().len(), 1);
    assert_eq!(
        s.list_all_resources(kept, "us-east-1").await.unwrap().len(),
        1
    );
    assert_eq!(
        s.list_all_resources(kept, "eu-west-1").await.unwrap().len(),
        1
    );

    // The same IDs can be used again by a new account.
    account(s, gone).await;
    s.create_user(&user(gone, "alice", "/")).await.unwrap();
}
