//! Authorization of callers as `authenticate` returns them, against the
//! policies stored for them: root's blanket allowance, the implicit deny, an
//! explicit deny beating any allow, and the request keys conditions and
//! policy variables see.

use nubo_core::{AccountId, Error, Principal};
use nubo_iam::authz::AuthzRequest;
use nubo_iam::IamService;

use crate::harness::{assert_err, TestDb};
use crate::users::ALLOW_DESCRIBE;
use crate::{account, account_id, service};

const ALLOW_ALL: &str = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

/// Creates user `name` with the given inline policies and returns the
/// principal its new access key authenticates as.
async fn user_with(
    iam: &IamService,
    account: &AccountId,
    name: &str,
    policies: &[&str],
) -> Principal {
    iam.create_user(account, name, None).await.unwrap();
    for (i, document) in policies.iter().enumerate() {
        iam.put_user_policy(account, name, &format!("p{i}"), document)
            .await
            .unwrap();
    }
    let key = iam.create_access_key(account, Some(name)).await.unwrap();
    iam.authenticate(&key.row.access_key_id).await.unwrap().0
}

async fn ask(
    iam: &IamService,
    who: &Principal,
    action: &str,
    resources: &[&str],
    region: &str,
    source_ip: Option<&str>,
) -> Result<(), Error> {
    let resources: Vec<String> = resources.iter().map(|r| r.to_string()).collect();
    iam.authorize(
        who,
        &AuthzRequest {
            action,
            resources: &resources,
            region,
            source_ip,
        },
    )
    .await
}

fn vpc_arn(account: &AccountId, vpc: &str) -> String {
    format!("arn:aws:ec2:us-east-1:{account}:vpc/{vpc}")
}

pub async fn root_may_do_anything(db: &TestDb) {
    let iam = service(&db.store);
    let a = account(&iam, "acme").await;
    let (root, _) = iam.authenticate(&a.access_key_id).await.unwrap();
    let vpc = vpc_arn(&account_id(&a), "vpc-1");
    for action in [
        "ec2:CreateVpc",
        "ec2:DeleteVpc",
        "iam:DeleteUser",
        "sts:GetCallerIdentity",
    ] {
        ask(&iam, &root, action, &["*"], "us-east-1", None)
            .await
            .unwrap();
        ask(&iam, &root, action, &[&vpc], "eu-west-1", Some("192.0.2.1"))
            .await
            .unwrap();
    }
}

pub async fn user_without_policies_is_denied(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    let nobody = user_with(&iam, &aid, "nobody", &[]).await;
    assert_err!(
        ask(&iam, &nobody, "ec2:DescribeVpcs", &["*"], "us-east-1", None).await,
        Error::Unauthorized(ref m)
            if m.contains(&nobody.arn)
                && m.contains("ec2:DescribeVpcs")
                && m.contains("because no identity-based policy allows the action")
    );
}

pub async fn allow_by_action_wildcard(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    let reader = user_with(&iam, &aid, "reader", &[ALLOW_DESCRIBE]).await;
    let vpc = vpc_arn(&aid, "vpc-1");

    for action in ["ec2:DescribeVpcs", "EC2:describevpcs", "ec2:Describe"] {
        ask(&iam, &reader, action, &["*"], "us-east-1", None)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e:?}"));
    }
    for action in [
        "ec2:CreateVpc",
        "ec2:DeleteVpc",
        "iam:ListUsers",
        // `*` may match nothing, but not less than the literal part.
        "ec2:Describ",
    ] {
        assert_err!(
            ask(&iam, &reader, action, &[&vpc], "us-east-1", None).await,
            Error::Unauthorized(ref m) if m.contains(action) && m.contains(&vpc)
        );
    }
}

pub async fn explicit_deny_on_a_vpc_wins_over_allow_all(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    let protected = vpc_arn(&aid, "vpc-0aaaaaaaaaaaaaaaa");
    let other = vpc_arn(&aid, "vpc-0bbbbbbbbbbbbbbbb");
    // The allow and the deny in separate policies: all of a user's policies count.
    let deny = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"ec2:DeleteVpc","Resource":"{protected}"}}]}}"#
    );
    let admin = user_with(&iam, &aid, "admin", &[ALLOW_ALL, &deny]).await;

    assert_err!(
        ask(&iam, &admin, "ec2:DeleteVpc", &[&protected], "us-east-1", None).await,
        Error::Unauthorized(ref m) if m.contains("with an explicit deny") && m.contains(&protected)
    );
    // One denied target denies the whole request.
    assert_err!(
        ask(&iam, &admin, "ec2:DeleteVpc", &[&other, &protected], "us-east-1", None).await,
        Error::Unauthorized(ref m) if m.contains("with an explicit deny")
    );
    ask(&iam, &admin, "ec2:DeleteVpc", &[&other], "us-east-1", None)
        .await
        .unwrap();
    ask(
        &iam,
        &admin,
        "ec2:CreateTags",
        &[&protected],
        "us-east-1",
        None,
    )
    .await
    .unwrap();
    // The root of the same account is not bound by a user's policies.
    let root = iam
        .authenticate(&iam.list_access_keys(&aid, None).await.unwrap()[0].access_key_id)
        .await
        .unwrap()
        .0;
    ask(
        &iam,
        &root,
        "ec2:DeleteVpc",
        &[&protected],
        "us-east-1",
        None,
    )
    .await
    .unwrap();
}

pub async fn conditions_and_variables_see_the_request(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);

    let regional = r#"{"Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*",
        "Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}}"#;
    let east = user_with(&iam, &aid, "east", &[regional]).await;
    ask(&iam, &east, "ec2:CreateVpc", &["*"], "us-east-1", None)
        .await
        .unwrap();
    assert_err!(
        ask(&iam, &east, "ec2:CreateVpc", &["*"], "eu-west-1", None).await,
        Error::Unauthorized(_)
    );

    let from_office = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*",
        "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}"#;
    let office = user_with(&iam, &aid, "office", &[from_office]).await;
    ask(
        &iam,
        &office,
        "ec2:CreateVpc",
        &["*"],
        "us-east-1",
        Some("10.1.2.3"),
    )
    .await
    .unwrap();
    for outside in [Some("192.168.1.1"), None] {
        assert_err!(
            ask(&iam, &office, "ec2:CreateVpc", &["*"], "us-east-1", outside).await,
            Error::Unauthorized(_)
        );
    }

    // `${aws:username}` is the caller's own name.
    let own_only = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"iam:*AccessKey*",
        "Resource":"arn:aws:iam::{aid}:user/${{aws:username}}"}}}}"#
    );
    let alice = user_with(&iam, &aid, "alice", &[&own_only]).await;
    let bob = user_with(&iam, &aid, "bob", &[&own_only]).await;
    ask(
        &iam,
        &alice,
        "iam:CreateAccessKey",
        &[&alice.arn],
        "us-east-1",
        None,
    )
    .await
    .unwrap();
    ask(
        &iam,
        &bob,
        "iam:CreateAccessKey",
        &[&bob.arn],
        "us-east-1",
        None,
    )
    .await
    .unwrap();
    assert_err!(
        ask(
            &iam,
            &alice,
            "iam:CreateAccessKey",
            &[&bob.arn],
            "us-east-1",
            None
        )
        .await,
        Error::Unauthorized(_)
    );
}

pub async fn policy_changes_apply_to_the_next_request(db: &TestDb) {
    let iam = service(&db.store);
    let aid = account_id(&account(&iam, "acme").await);
    let user = user_with(&iam, &aid, "alice", &[ALLOW_ALL]).await;
    let create = |iam: &IamService, who: &Principal| {
        let (iam, who) = (iam.clone(), who.clone());
        async move { ask(&iam, &who, "ec2:CreateVpc", &["*"], "us-east-1", None).await }
    };

    create(&iam, &user).await.unwrap();
    iam.put_user_policy(&aid, "alice", "p0", ALLOW_DESCRIBE)
        .await
        .unwrap();
    assert_err!(create(&iam, &user).await, Error::Unauthorized(_));
    iam.put_user_policy(&aid, "alice", "extra", ALLOW_ALL)
        .await
        .unwrap();
    create(&iam, &user).await.unwrap();
    iam.delete_user_policy(&aid, "alice", "extra")
        .await
        .unwrap();
    assert_err!(create(&iam, &user).await, Error::Unauthorized(_));
    // Another replica decides from the same stored policies.
    let replica = db.replica().await;
    assert_err!(
        create(&service(&replica), &user).await,
        Error::Unauthorized(_)
    );
    replica.close().await;
}
