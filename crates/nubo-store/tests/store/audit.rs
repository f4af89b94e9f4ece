//! The audit log.

use nubo_store::AuditRecord;

use crate::harness::{t, TestDb};

fn record(request_id: &str, account_id: Option<&str>, at_ms: i64) -> AuditRecord {
    AuditRecord {
        at: t(at_ms),
        request_id: request_id.into(),
        account_id: account_id.map(str::to_string),
        principal_arn: account_id.map(|a| format!("arn:aws:iam::{a}:root")),
        access_key_id: Some("AKIAEXAMPLE".into()),
        service: "ec2".into(),
        action: "CreateVpc".into(),
        resource_ids: vec!["vpc-1".into(), "subnet-\"2\"".into()],
        result: "Success".into(),
        http_status: 200,
        source_ip: Some("192.0.2.1".into()),
    }
}

const A: &str = "111111111111";
const B: &str = "222222222222";

pub async fn audit_is_newest_first_and_filtered(db: &TestDb) {
    let s = &db.store;
    let r1 = record("r1", Some(A), 10);
    let r2 = record("r2", Some(B), 20);
    let r3 = record("r3", Some(A), 30);
    // Same instant as r3, recorded later: listed first.
    let r4 = record("r4", Some(A), 30);
    let mut anon = record("r0", None, 40);
    anon.result = "AuthFailure".into();
    anon.http_status = 401;
    anon.resource_ids = vec![];
    anon.principal_arn = None;
    anon.source_ip = None;
    for r in [&r1, &r3, &r2, &r4, &anon] {
        s.record_audit(r).await.unwrap();
    }
    let ids = |v: Vec<AuditRecord>| v.into_iter().map(|r| r.request_id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_audit(Some(A), 10).await.unwrap()),
        ["r4", "r3", "r1"]
    );
    assert_eq!(ids(s.list_audit(Some(A), 2).await.unwrap()), ["r4", "r3"]);
    assert_eq!(ids(s.list_audit(Some(B), 10).await.unwrap()), ["r2"]);
    assert_eq!(
        ids(s.list_audit(None, 10).await.unwrap()),
        ["r0", "r4", "r3", "r2", "r1"]
    );
    assert_eq!(s.list_audit(None, 0).await.unwrap(), vec![]);
    // Every field round-trips.
    assert_eq!(s.list_audit(Some(B), 1).await.unwrap(), vec![r2]);
    assert_eq!(s.list_audit(None, 1).await.unwrap(), vec![anon]);
}

pub async fn audit_in_transaction_commits_with_it(db: &TestDb) {
    let s = &db.store;
    let mut tx = s.begin().await.unwrap();
    tx.record_audit(&record("rolled-back", Some(A), 1))
        .await
        .unwrap();
    drop(tx);
    let mut tx = s.begin().await.unwrap();
    tx.record_audit(&record("committed", Some(A), 2))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let got: Vec<_> = s.list_audit(Some(A), 10).await.unwrap();
    assert_eq!(got, vec![record("committed", Some(A), 2)]);
}
