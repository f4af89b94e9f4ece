//! Many writers racing on one resource through optimistic retries.

use nubo_store::{Store, StoreError};

use crate::harness::{account, Kind, TestDb};
use crate::resources::resource;

const A: &str = "111111111111";
const R: &str = "us-east-1";
const TASKS: usize = 8;
const INCREMENTS: usize = 25;

/// Adds one to the counter in `ctr-1`'s body: read, compute, write with the
/// generation read, retry the whole step on Conflict. Returns the retries.
async fn increment(store: &Store) -> usize {
    let mut retries = 0;
    loop {
        match try_increment(store).await {
            Ok(()) => return retries,
            Err(StoreError::Conflict) => retries += 1,
            Err(e) => panic!("increment failed: {e:?}"),
        }
        if retries > 10_000 {
            panic!("no progress after {retries} retries");
        }
    }
}

async fn try_increment(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let row = tx
        .get_resource(A, "ctr-1")
        .await?
        .ok_or(StoreError::NotFound)?;
    let body: serde_json::Value = serde_json::from_str(&row.body).unwrap_or_default();
    let n = body["n"].as_i64().unwrap_or(0);
    let body = serde_json::json!({ "n": n + 1 }).to_string();
    tx.update_resource(A, "ctr-1", row.generation, &body)
        .await?;
    tx.commit().await
}

async fn setup(store: &Store) {
    account(store, A).await;
    let mut counter = resource(A, R, "counter", "ctr-1", None);
    counter.body = r#"{"n":0}"#.into();
    let mut tx = store.begin().await.unwrap();
    tx.insert_resource(&counter).await.unwrap();
    tx.commit().await.unwrap();
}

async fn race(stores: &[Store]) -> usize {
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move {
                let mut retries = 0;
                for _ in 0..INCREMENTS {
                    retries += increment(&store).await;
                }
                retries
            })
        })
        .collect();
    let mut retries = 0;
    for h in handles {
        retries += h.await.unwrap();
    }
    retries
}

async fn assert_count(store: &Store) {
    let row = store.get_resource(A, "ctr-1").await.unwrap().unwrap();
    let body: serde_json::Value = serde_json::from_str(&row.body).unwrap();
    let total = (TASKS * INCREMENTS) as i64;
    assert_eq!(body["n"].as_i64(), Some(total), "lost updates");
    assert_eq!(row.generation, total + 1);
}

pub async fn concurrent_increments_lose_no_update(db: &TestDb) {
    setup(&db.store).await;
    let retries = race(std::slice::from_ref(&db.store)).await;
    assert_count(&db.store).await;
    if db.store.backend() == nubo_store::Backend::Sqlite {
        // In-process writers queue on the writer lock instead of conflicting.
        assert_eq!(retries, 0);
    }
    eprintln!("{:?}: {retries} retries", db.kind());
}

pub async fn two_stores_on_one_database_lose_no_update(db: &TestDb) {
    if db.kind() == Kind::SqliteMemory {
        return; // a memory database cannot be opened by a second store
    }
    // Two processes (separate pools and writer locks) on one database.
    let other = Store::open(&db.location.url).await.unwrap();
    setup(&db.store).await;
    let retries = race(&[db.store.clone(), other.clone()]).await;
    assert_count(&other).await;
    eprintln!("{:?}: {retries} retries", db.kind());
    other.close().await;
}

pub async fn transaction_helper_retries_conflicts(db: &TestDb) {
    setup(&db.store).await;
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move {
                for _ in 0..INCREMENTS {
                    store
                        .transaction(|tx| {
                            Box::pin(async move {
                                let row = tx.get_resource(A, "ctr-1").await?;
                                let row = row.ok_or(StoreError::NotFound)?;
                                let body: serde_json::Value =
                                    serde_json::from_str(&row.body).unwrap();
                                let n = body["n"].as_i64().unwrap() + 1;
                                let body = serde_json::json!({ "n": n }).to_string();
                                tx.update_resource(A, "ctr-1", row.generation, &body).await
                            })
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    assert_count(&db.store).await;

    // Any other error ends the attempt at once, and its writes are rolled back.
    let mut calls = 0;
    let result: Result<(), StoreError> = db
        .store
        .transaction(|tx| {
            calls += 1;
            Box::pin(async move {
                tx.insert_resource(&resource(A, R, "vpc", "vpc-x", None))
                    .await?;
                Err(StoreError::NotFound)
            })
        })
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    assert_eq!(calls, 1);
    assert_eq!(db.store.get_resource(A, "vpc-x").await.unwrap(), None);
}
