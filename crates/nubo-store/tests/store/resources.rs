//! Generic resources: CRUD, tenant isolation, generations, transactions.

use nubo_store::{ResourceRow, StoreError};

use crate::harness::{account, t, Kind, TestDb};

pub fn resource(
    account_id: &str,
    region: &str,
    kind: &str,
    id: &str,
    parent: Option<&str>,
) -> ResourceRow {
    ResourceRow {
        account_id: account_id.into(),
        region: region.into(),
        kind: kind.into(),
        id: id.into(),
        parent_id: parent.map(str::to_string),
        generation: 1,
        body: format!(r#"{{"id":"{id}","tags":[]}}"#),
        created_at: t(100),
        updated_at: t(100),
    }
}

const A: &str = "111111111111";
const B: &str = "222222222222";
const R: &str = "us-east-1";

async fn insert(db: &TestDb, rows: &[&ResourceRow]) {
    let mut tx = db.store.begin().await.unwrap();
    for r in rows {
        tx.insert_resource(r).await.unwrap();
    }
    tx.commit().await.unwrap();
}

pub async fn resource_insert_get_list(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    let vpc2 = resource(A, R, "vpc", "vpc-2", None);
    let vpc1 = resource(A, R, "vpc", "vpc-1", None);
    let sub_b = resource(A, R, "subnet", "subnet-b", Some("vpc-1"));
    let sub_a = resource(A, R, "subnet", "subnet-a", Some("vpc-1"));
    let elsewhere = resource(A, "eu-west-1", "vpc", "vpc-3", None);
    insert(db, &[&vpc2, &sub_b, &vpc1, &sub_a, &elsewhere]).await;

    assert_eq!(
        s.get_resource(A, "vpc-1").await.unwrap(),
        Some(vpc1.clone())
    );
    assert_eq!(s.get_resource(A, "vpc-9").await.unwrap(), None);
    assert_eq!(
        s.list_resources(A, R, "vpc").await.unwrap(),
        vec![vpc1.clone(), vpc2.clone()]
    );
    assert_eq!(
        s.list_resources(A, R, "subnet").await.unwrap(),
        vec![sub_a.clone(), sub_b.clone()]
    );
    assert_eq!(s.list_resources(A, R, "igw").await.unwrap(), vec![]);
    assert_eq!(s.count_resources(A, R, "vpc").await.unwrap(), 2);
    assert_eq!(s.count_resources(A, R, "igw").await.unwrap(), 0);
    assert_eq!(s.count_resources(A, "eu-west-1", "vpc").await.unwrap(), 1);
    assert_eq!(
        s.list_all_resources(A, R).await.unwrap(),
        vec![sub_a.clone(), sub_b.clone(), vpc1.clone(), vpc2.clone()]
    );
    assert_eq!(
        s.list_all_resources(A, "eu-west-1").await.unwrap(),
        vec![elsewhere]
    );
    assert_eq!(
        s.list_children(A, "vpc-1").await.unwrap(),
        vec![sub_a.clone(), sub_b.clone()]
    );
    assert_eq!(s.list_children(A, "vpc-2").await.unwrap(), vec![]);

    // The same reads inside a transaction.
    let mut tx = s.begin().await.unwrap();
    assert_eq!(
        tx.get_resource(A, "vpc-2").await.unwrap(),
        Some(vpc2.clone())
    );
    assert_eq!(
        tx.list_resources(A, R, "vpc").await.unwrap(),
        vec![vpc1, vpc2]
    );
    assert_eq!(
        tx.list_children(A, "vpc-1").await.unwrap(),
        vec![sub_a, sub_b]
    );
    tx.rollback().await.unwrap();
}

pub async fn resources_are_isolated_between_tenants(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    account(s, B).await;
    let vpc = resource(A, R, "vpc", "vpc-1", None);
    let sub = resource(A, R, "subnet", "subnet-1", Some("vpc-1"));
    insert(db, &[&vpc, &sub]).await;

    assert_eq!(s.get_resource(B, "vpc-1").await.unwrap(), None);
    assert_eq!(s.list_resources(B, R, "vpc").await.unwrap(), vec![]);
    assert_eq!(s.count_resources(B, R, "vpc").await.unwrap(), 0);
    assert_eq!(s.list_all_resources(B, R).await.unwrap(), vec![]);
    assert_eq!(s.list_children(B, "vpc-1").await.unwrap(), vec![]);
    let mut tx = s.begin().await.unwrap();
    assert_eq!(tx.get_resource(B, "vpc-1").await.unwrap(), None);
    assert_eq!(tx.list_children(B, "vpc-1").await.unwrap(), vec![]);
    assert!(matches!(
        tx.update_resource(B, "vpc-1", 1, "{}").await,
        Err(StoreError::NotFound)
    ));
    drop(tx);
    let mut tx = s.begin().await.unwrap();
    assert!(matches!(
        tx.delete_resource(B, "vpc-1", 1).await,
        Err(StoreError::NotFound)
    ));
    // IDs are global: another account cannot take an existing one.
    let clash = resource(B, R, "vpc", "vpc-1", None);
    assert!(matches!(
        tx.insert_resource(&clash).await,
        Err(StoreError::AlreadyExists)
    ));
    drop(tx);
    assert_eq!(s.get_resource(A, "vpc-1").await.unwrap(), Some(vpc));
}

pub async fn update_and_delete_are_generation_guarded(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    let vpc = resource(A, R, "vpc", "vpc-1", None);
    insert(db, &[&vpc]).await;

    let mut tx = s.begin().await.unwrap();
    assert_eq!(
        tx.update_resource(A, "vpc-1", 1, r#"{"v":2}"#)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        tx.update_resource(A, "vpc-1", 2, r#"{"v":3}"#)
            .await
            .unwrap(),
        3
    );
    tx.commit().await.unwrap();
    let got = s.get_resource(A, "vpc-1").await.unwrap().unwrap();
    assert_eq!((got.generation, got.body.as_str()), (3, r#"{"v":3}"#));
    assert_eq!(got.created_at, vpc.created_at);
    assert!(got.updated_at > vpc.updated_at);

    let mut tx = s.begin().await.unwrap();
    assert!(matches!(
        tx.update_resource(A, "vpc-1", 2, "{}").await,
        Err(StoreError::Conflict)
    ));
    drop(tx);
    let mut tx = s.begin().await.unwrap();
    assert!(matches!(
        tx.delete_resource(A, "vpc-1", 1).await,
        Err(StoreError::Conflict)
    ));
    drop(tx);
    let mut tx = s.begin().await.unwrap();
    assert!(matches!(
        tx.update_resource(A, "vpc-9", 1, "{}").await,
        Err(StoreError::NotFound)
    ));
    drop(tx);
    let mut tx = s.begin().await.unwrap();
    tx.delete_resource(A, "vpc-1", 3).await.unwrap();
    assert!(matches!(
        tx.delete_resource(A, "vpc-1", 3).await,
        Err(StoreError::NotFound)
    ));
    drop(tx); // rolled back: still there
    assert_eq!(
        s.get_resource(A, "vpc-1")
            .await
            .unwrap()
            .unwrap()
            .generation,
        3
    );
    let mut tx = s.begin().await.unwrap();
    tx.delete_resource(A, "vpc-1", 3).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s.get_resource(A, "vpc-1").await.unwrap(), None);
}

pub async fn stale_generation_from_second_transaction_conflicts(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    insert(db, &[&resource(A, R, "vpc", "vpc-1", None)]).await;
    // Two writers both read generation 1; the first to write wins.
    let read_gen = s
        .get_resource(A, "vpc-1")
        .await
        .unwrap()
        .unwrap()
        .generation;
    let mut first = s.begin().await.unwrap();
    assert_eq!(
        first
            .update_resource(A, "vpc-1", read_gen, r#"{"by":"first"}"#)
            .await
            .unwrap(),
        2
    );
    first.commit().await.unwrap();
    let mut second = s.begin().await.unwrap();
    assert!(matches!(
        second
            .update_resource(A, "vpc-1", read_gen, r#"{"by":"second"}"#)
            .await,
        Err(StoreError::Conflict)
    ));
    drop(second);
    assert_eq!(
        s.get_resource(A, "vpc-1").await.unwrap().unwrap().body,
        r#"{"by":"first"}"#
    );
}

pub async fn dropped_transaction_rolls_back(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    let vpc = resource(A, R, "vpc", "vpc-1", None);
    {
        let mut tx = s.begin().await.unwrap();
        tx.insert_resource(&vpc).await.unwrap();
        assert!(tx.get_resource(A, "vpc-1").await.unwrap().is_some());
    }
    assert_eq!(s.get_resource(A, "vpc-1").await.unwrap(), None);
    let mut tx = s.begin().await.unwrap();
    tx.insert_resource(&vpc).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(s.get_resource(A, "vpc-1").await.unwrap(), None);
    // The writer lock was released both times: a new transaction commits.
    insert(db, &[&vpc]).await;
    assert_eq!(s.get_resource(A, "vpc-1").await.unwrap(), Some(vpc));
}

pub async fn uncommitted_writes_are_invisible_outside(db: &TestDb) {
    if db.kind() == Kind::SqliteMemory {
        // A shared-cache memory database locks tables instead of keeping
        // snapshots: outside readers wait for the writer instead.
        return;
    }
    let s = &db.store;
    account(s, A).await;
    insert(db, &[&resource(A, R, "vpc", "vpc-1", None)]).await;
    let mut tx = s.begin().await.unwrap();
    tx.insert_resource(&resource(A, R, "vpc", "vpc-2", None))
        .await
        .unwrap();
    tx.update_resource(A, "vpc-1", 1, r#"{"new":true}"#)
        .await
        .unwrap();
    // Readers outside the transaction are not blocked and see the old state.
    assert_eq!(s.get_resource(A, "vpc-2").await.unwrap(), None);
    assert_eq!(
        s.get_resource(A, "vpc-1")
            .await
            .unwrap()
            .unwrap()
            .generation,
        1
    );
    assert_eq!(s.list_resources(A, R, "vpc").await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    assert_eq!(s.list_resources(A, R, "vpc").await.unwrap().len(), 2);
    assert_eq!(
        s.get_resource(A, "vpc-1")
            .await
            .unwrap()
            .unwrap()
            .generation,
        2
    );
}

pub async fn duplicate_insert_keeps_transaction_usable(db: &TestDb) {
    let s = &db.store;
    account(s, A).await;
    let vpc = resource(A, R, "vpc", "vpc-1", None);
    insert(db, &[&vpc]).await;
    // A caller may try an ID, get AlreadyExists, and carry on in the same
    // transaction (PostgreSQL would otherwise abort it).
    let mut tx = s.begin().await.unwrap();
    assert!(matches!(
        tx.insert_resource(&vpc).await,
        Err(StoreError::AlreadyExists)
    ));
    tx.insert_resource(&resource(A, R, "vpc", "vpc-2", None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s.list_resources(A, R, "vpc").await.unwrap().len(), 2);
}
