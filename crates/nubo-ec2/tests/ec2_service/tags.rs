//! `CreateTags`, `DeleteTags` and `DescribeTags`, including their
//! all-or-nothing behaviour across resources (races are in `concurrency`).

use nubo_core::filter::{Filter, Page};
use nubo_core::{Error, ResourceId};
use nubo_ec2::tags::TagKey;
use nubo_ec2::{Ec2Service, Limits, RequestScope};

use crate::harness::{assert_err, TestDb};
use crate::{
    create_vpc, describe_one, filter, generation, pairs, service, tag, tags_of, tenant, A,
};

fn key(k: &str) -> TagKey {
    TagKey {
        key: k.into(),
        value: None,
    }
}

fn key_value(k: &str, v: &str) -> TagKey {
    TagKey {
        key: k.into(),
        value: Some(v.into()),
    }
}

pub async fn create_overwrite_and_delete_tags(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let id = [vpc.id.to_string()];

    svc.create_tags(
        &a,
        &id,
        &[tag("team", "a"), tag("Name", "web"), tag("env", "prod")],
    )
    .await
    .unwrap();
    assert_eq!(
        tags_of(&svc, &a, &vpc.id).await,
        pairs(&[("Name", "web"), ("env", "prod"), ("team", "a")])
    );
    // Setting an existing key overwrites it; an empty value is a value.
    svc.create_tags(&a, &id, &[tag("env", "dev"), tag("empty", "")])
        .await
        .unwrap();
    assert_eq!(
        tags_of(&svc, &a, &vpc.id).await,
        pairs(&[
            ("Name", "web"),
            ("empty", ""),
            ("env", "dev"),
            ("team", "a")
        ])
    );

    // By key: whatever the value.
    svc.delete_tags(&a, &id, &[key("team")]).await.unwrap();
    // By key and value: only when the value matches.
    svc.delete_tags(&a, &id, &[key_value("env", "prod"), key_value("Name", "")])
        .await
        .unwrap();
    assert_eq!(
        tags_of(&svc, &a, &vpc.id).await,
        pairs(&[("Name", "web"), ("empty", ""), ("env", "dev")])
    );
    svc.delete_tags(&a, &id, &[key_value("env", "dev"), key_value("empty", "")])
        .await
        .unwrap();
    assert_eq!(tags_of(&svc, &a, &vpc.id).await, pairs(&[("Name", "web")]));
    // Deleting an absent key is not an error.
    svc.delete_tags(&a, &id, &[key("absent")]).await.unwrap();
    assert_eq!(tags_of(&svc, &a, &vpc.id).await, pairs(&[("Name", "web")]));

    // No keys at all: every tag goes.
    svc.create_tags(&a, &id, &[tag("x", "1"), tag("y", "2")])
        .await
        .unwrap();
    svc.delete_tags(&a, &id, &[]).await.unwrap();
    assert_eq!(tags_of(&svc, &a, &vpc.id).await, pairs(&[]));
    // The rest of the VPC is untouched by tagging.
    let mut untagged = describe_one(&svc, &a, &vpc.id).await;
    untagged.tags = vpc.tags.clone();
    assert_eq!(untagged, vpc);
}

pub async fn tag_limit_is_fifty_per_resource(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let id = [vpc.id.to_string()];
    let fifty: Vec<_> = (0..50).map(|i| tag(&format!("k{i:02}"), "v")).collect();

    svc.create_tags(&a, &id, &fifty).await.unwrap();
    assert_eq!(tags_of(&svc, &a, &vpc.id).await.len(), 50);
    assert_err!(
        svc.create_tags(&a, &id, &[tag("k50", "v")]).await,
        Error::Client {
            code: "TagLimitExceeded",
            ..
        }
    );
    assert_eq!(tags_of(&svc, &a, &vpc.id).await.len(), 50);
    // Overwriting at the limit adds nothing, so it is allowed.
    svc.create_tags(&a, &id, &[tag("k00", "changed")])
        .await
        .unwrap();
    let described = describe_one(&svc, &a, &vpc.id).await;
    assert_eq!(described.tags.get("k00"), Some("changed"));
    // Freeing one slot makes room for one.
    svc.delete_tags(&a, &id, &[key("k01")]).await.unwrap();
    svc.create_tags(&a, &id, &[tag("k50", "v")]).await.unwrap();
    assert_eq!(tags_of(&svc, &a, &vpc.id).await.len(), 50);

    // 51 at once on an untagged VPC: refused, nothing set.
    let other = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let fifty_one: Vec<_> = (0..51).map(|i| tag(&format!("k{i:02}"), "v")).collect();
    assert_err!(
        svc.create_tags(&a, &[other.id.to_string()], &fifty_one)
            .await,
        Error::Client {
            code: "TagLimitExceeded",
            ..
        }
    );
    assert_eq!(tags_of(&svc, &a, &other.id).await, pairs(&[]));
}

pub async fn tag_input_errors(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let vpc = create_vpc(&svc, &a, "10.0.0.0/16", &[tag("keep", "me")]).await;
    let id = [vpc.id.to_string()];

    assert_err!(
        svc.create_tags(&a, &id, &[]).await,
        Error::MissingParameter(ref p) if p == "Tag"
    );
    assert_err!(
        svc.create_tags(&a, &[], &[tag("k", "v")]).await,
        Error::MissingParameter(ref p) if p == "ResourceId"
    );
    assert_err!(
        svc.delete_tags(&a, &[], &[key("k")]).await,
        Error::MissingParameter(ref p) if p == "ResourceId"
    );
    for bad in [
        tag("aws:name", "x"),
        tag("AWS:Name", "x"),
        tag("", "x"),
        tag(&"k".repeat(129), "x"),
        tag("k", &"v".repeat(257)),
    ] {
        assert_err!(
            svc.create_tags(&a, &id, &[tag("fine", "x"), bad.clone()])
                .await,
            Error::InvalidParameterValue(_)
        );
    }
    assert_err!(
        svc.delete_tags(&a, &id, &[key("aws:cloudformation:stack-name")])
            .await,
        Error::InvalidParameterValue(_)
    );
    for malformed in ["not-an-id", "vpc-", "vpc-xyz", "nonsense-0123"] {
        assert_err!(
            svc.create_tags(&a, &[malformed.to_string()], &[tag("k", "v")])
                .await,
            Error::Client {
                code: "InvalidID",
                ..
            }
        );
    }
    // A well-formed ID of another kind that does not exist: that kind's NotFound.
    assert_err!(
        svc.create_tags(&a, &["subnet-0123456789abcdef0".into()], &[tag("k", "v")])
            .await,
        Error::NotFound {
            code: "InvalidSubnetID.NotFound",
            ..
        }
    );
    assert_eq!(tags_of(&svc, &a, &vpc.id).await, pairs(&[("keep", "me")]));
    assert_eq!(
        generation(&db.store, &vpc.id).await,
        1,
        "nothing was written"
    );
}

pub async fn multi_resource_tagging_is_all_or_nothing(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let v1 = create_vpc(&svc, &a, "10.0.0.0/16", &[]).await;
    let v2 = create_vpc(&svc, &a, "10.1.0.0/16", &[]).await;
    let both = [v1.id.to_string(), v2.id.to_string()];

    svc.create_tags(&a, &both, &[tag("env", "prod")])
        .await
        .unwrap();
    assert_eq!(tags_of(&svc, &a, &v1.id).await, pairs(&[("env", "prod")]));
    assert_eq!(tags_of(&svc, &a, &v2.id).await, pairs(&[("env", "prod")]));
    svc.delete_tags(&a, &both, &[key("env")]).await.unwrap();
    assert_eq!(tags_of(&svc, &a, &v1.id).await, pairs(&[]));
    assert_eq!(tags_of(&svc, &a, &v2.id).await, pairs(&[]));

    // A missing resource after an existing one: the existing one is untouched.
    let missing = "vpc-0123456789abcdef0".to_string();
    assert_err!(
        svc.create_tags(&a, &[v1.id.to_string(), missing.clone()], &[tag("k", "v")])
            .await,
        Error::NotFound { code: "InvalidVpcID.NotFound", ref message } if message.contains(&missing)
    );
    assert_eq!(tags_of(&svc, &a, &v1.id).await, pairs(&[]));

    // One resource over the limit fails the whole call.
    let fifty: Vec<_> = (0..50).map(|i| tag(&format!("k{i:02}"), "v")).collect();
    svc.create_tags(&a, &[v2.id.to_string()], &fifty)
        .await
        .unwrap();
    let before = generation(&db.store, &v1.id).await;
    assert_err!(
        svc.create_tags(&a, &both, &[tag("one-more", "v")]).await,
        Error::Client { code: "TagLimitExceeded", ref message } if message.contains(v2.id.as_str())
    );
    assert_eq!(tags_of(&svc, &a, &v1.id).await, pairs(&[]));
    assert_eq!(generation(&db.store, &v1.id).await, before);
}

/// `(resource-id, key, value)` of each description, in answer order.
async fn described(
    svc: &Ec2Service,
    scope: &RequestScope,
    filters: &[Filter],
) -> Vec<(String, String, String)> {
    let (tags, next) = svc
        .describe_tags(scope, filters, &Page::default())
        .await
        .unwrap_or_else(|e| panic!("{filters:?}: {e:?}"));
    assert_eq!(next, None);
    assert!(tags.iter().all(|t| t.resource_type == "vpc"));
    tags.into_iter()
        .map(|t| (t.resource_id, t.key, t.value))
        .collect()
}

fn triples(items: &[(&ResourceId, &str, &str)]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = items
        .iter()
        .map(|(id, k, val)| (id.to_string(), k.to_string(), val.to_string()))
        .collect();
    v.sort();
    v
}

pub async fn describe_tags_filters(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let web = create_vpc(
        &svc,
        &a,
        "10.0.0.0/16",
        &[tag("Name", "web"), tag("env", "prod")],
    )
    .await;
    let data = create_vpc(
        &svc,
        &a,
        "10.1.0.0/16",
        &[tag("Name", "db"), tag("env", "dev"), tag("team", "data")],
    )
    .await;
    create_vpc(&svc, &a, "10.2.0.0/16", &[]).await;
    let (w, d) = (&web.id, &data.id);

    let everything = triples(&[
        (w, "Name", "web"),
        (w, "env", "prod"),
        (d, "Name", "db"),
        (d, "env", "dev"),
        (d, "team", "data"),
    ]);
    assert_eq!(
        described(&svc, &a, &[]).await,
        everything,
        "sorted by resource, then key"
    );
    assert_eq!(
        described(&svc, &a, &[filter("resource-type", &["vpc"])]).await,
        everything
    );
    assert_eq!(
        described(&svc, &a, &[filter("resource-type", &["subnet"])]).await,
        []
    );
    assert_eq!(
        described(&svc, &a, &[filter("resource-id", &[w.as_str()])]).await,
        triples(&[(w, "Name", "web"), (w, "env", "prod")])
    );
    assert_eq!(
        described(&svc, &a, &[filter("key", &["env"])]).await,
        triples(&[(w, "env", "prod"), (d, "env", "dev")])
    );
    assert_eq!(
        described(&svc, &a, &[filter("value", &["d*"])]).await,
        triples(&[(d, "Name", "db"), (d, "env", "dev"), (d, "team", "data")])
    );
    assert_eq!(
        described(
            &svc,
            &a,
            &[filter("key", &["Name"]), filter("value", &["d*", "w?b"])]
        )
        .await,
        triples(&[(w, "Name", "web"), (d, "Name", "db")])
    );
    // `tag:` filters select resources by their tags, then list all of their tags.
    assert_eq!(
        described(&svc, &a, &[filter("tag:team", &["data"])]).await,
        triples(&[(d, "Name", "db"), (d, "env", "dev"), (d, "team", "data")])
    );
    for bad in [filter("owner-id", &[A]), filter("key", &[])] {
        assert_err!(
            svc.describe_tags(&a, std::slice::from_ref(&bad), &Page::default())
                .await,
            Error::InvalidParameterValue(_)
        );
    }
}

pub async fn describe_tags_pagination_walks_every_tag_once(db: &TestDb) {
    let svc = service(&db.store, Limits::default());
    let a = tenant(&db.store, A).await;
    let mut expected = Vec::new();
    for i in 0..3 {
        let tags: Vec<_> = (0..4)
            .map(|k| tag(&format!("key{k}"), &format!("{i}")))
            .collect();
        let vpc = create_vpc(&svc, &a, &format!("10.{i}.0.0/16"), &tags).await;
        for t in &tags {
            expected.push((vpc.id.to_string(), t.key.clone()));
        }
    }
    expected.sort();

    let (mut seen, mut sizes, mut token) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let page = Page::new(Some(5), token.as_deref(), 5, 1000).unwrap();
        let (tags, next) = svc.describe_tags(&a, &[], &page).await.unwrap();
        sizes.push(tags.len());
        seen.extend(tags.into_iter().map(|t| (t.resource_id, t.key)));
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    // Pages of 5 over 3 × 4 tags split a resource's tags across pages.
    assert_eq!(sizes, [5, 5, 2]);
    assert_eq!(seen, expected);
}
