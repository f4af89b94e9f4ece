//! Timings of the store's hot paths on each backend: listing 1000 resources
//! of one kind, the per-request access-key lookup, a single-resource read and
//! a generation-guarded update transaction.
//!
//! `cargo run --release -p nubo-store --example store_bench`
//! (add `NUBO_TEST_POSTGRES_URL=postgres://…` to include PostgreSQL; the
//! benchmark creates and drops its own schema there).

use std::time::Instant;

use nubo_store::{now, AccessKeyRow, AccountRow, ResourceRow, Store, StoreError};
use sqlx::Connection;

const RESOURCES: usize = 1000;
const A: &str = "111111111111";

fn body(i: usize) -> String {
    // About the size of a described VPC with a few tags.
    format!(
        r#"{{"vpcId":"vpc-{i:017x}","cidrBlock":"10.{}.0.0/16","state":"available","dhcpOptionsId":"default","instanceTenancy":"default","isDefault":false,"cidrBlockAssociationSet":[{{"associationId":"vpc-cidr-assoc-{i:017x}","cidrBlock":"10.{}.0.0/16","state":"associated"}}],"tags":[{{"key":"Name","value":"bench-{i}"}},{{"key":"team","value":"networking"}},{{"key":"env","value":"prod"}}]}}"#,
        i % 256,
        i % 256
    )
}

async fn time<F, Fut>(label: &str, runs: u32, mut f: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    f().await?; // warm the statement cache
    let start = Instant::now();
    for _ in 0..runs {
        f().await?;
    }
    let per = start.elapsed() / runs;
    println!("  {label:<40} {:>10.3} ms", per.as_secs_f64() * 1e3);
    Ok(())
}

async fn bench(store: &Store) -> Result<(), StoreError> {
    let t = now();
    store
        .create_account(&AccountRow {
            id: A.into(),
            name: "bench".into(),
            created_at: t,
        })
        .await?;
    store
        .create_access_key(&AccessKeyRow {
            access_key_id: "AKIABENCH0000000001".into(),
            account_id: A.into(),
            user_name: None,
            secret_ciphertext: vec![7; 60],
            status: "Active".into(),
            created_at: t,
        })
        .await?;
    let start = Instant::now();
    let mut tx = store.begin().await?;
    for i in 0..RESOURCES {
        tx.insert_resource(&ResourceRow {
            account_id: A.into(),
            region: "us-east-1".into(),
            kind: "vpc".into(),
            id: format!("vpc-{i:017x}"),
            parent_id: None,
            generation: 1,
            body: body(i),
            created_at: t,
            updated_at: t,
        })
        .await?;
    }
    tx.commit().await?;
    println!(
        "  {:<40} {:>10.3} ms",
        format!("insert {RESOURCES} resources (one tx)"),
        start.elapsed().as_secs_f64() * 1e3
    );

    time(
        &format!("list_resources ({RESOURCES} rows)"),
        50,
        || async {
            let rows = store.list_resources(A, "us-east-1", "vpc").await?;
            assert_eq!(rows.len(), RESOURCES);
            Ok(())
        },
    )
    .await?;
    time("get_access_key", 2000, || async {
        store
            .get_access_key("AKIABENCH0000000001")
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(())
    })
    .await?;
    time("get_resource", 2000, || async {
        store.get_resource(A, "vpc-00000000000000010").await?;
        Ok(())
    })
    .await?;
    time("count_resources", 500, || async {
        store.count_resources(A, "us-east-1", "vpc").await?;
        Ok(())
    })
    .await?;
    time("tx: get + update + commit", 300, || async {
        let mut tx = store.begin().await?;
        let row = tx
            .get_resource(A, "vpc-00000000000000010")
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.update_resource(A, &row.id, row.generation, &row.body)
            .await?;
        tx.commit().await
    })
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("nubo_store_bench_{}.db", std::process::id()));
    println!("SQLite file ({})", path.display());
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    let result = bench(&store).await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    result?;

    println!("SQLite memory");
    let store = Store::open("sqlite::memory:").await?;
    bench(&store).await?;
    store.close().await;

    if let Ok(base) = std::env::var("NUBO_TEST_POSTGRES_URL") {
        println!("PostgreSQL");
        let schema = format!("nubo_bench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&base).await?;
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await?;
        let sep = if base.contains('?') { '&' } else { '?' };
        let store = Store::open(&format!("{base}{sep}options=-c%20search_path%3D{schema}")).await?;
        let result = bench(&store).await;
        store.close().await;
        sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await?;
        result?;
    }
    Ok(())
}
