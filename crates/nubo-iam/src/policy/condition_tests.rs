//! End-to-end tests of the `Condition` operators: each family, missing keys,
//! `IfExists`, `Null`, the set qualifiers and how operators, keys and values
//! combine.

use super::tests::{allow_if, decide, policy, with_keys, ALLOW_ALL};
use super::Decision::{Allow, ExplicitDeny, ImplicitDeny};

#[test]
fn string_conditions() {
    let eq = allow_if(r#"{"StringEquals":{"aws:RequestedRegion":["eu-west-1","eu-west-2"]}}"#);
    assert_eq!(
        with_keys(&eq, &[("aws:RequestedRegion", "eu-west-2")]),
        Allow
    );
    assert_eq!(
        with_keys(&eq, &[("aws:requestedregion", "eu-west-2")]),
        Allow
    );
    assert_eq!(
        with_keys(&eq, &[("aws:RequestedRegion", "EU-WEST-2")]),
        ImplicitDeny
    );
    assert_eq!(with_keys(&eq, &[]), ImplicitDeny);
    let ne = allow_if(r#"{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}"#);
    assert_eq!(
        with_keys(&ne, &[("aws:RequestedRegion", "eu-west-1")]),
        Allow
    );
    assert_eq!(
        with_keys(&ne, &[("aws:RequestedRegion", "us-east-1")]),
        ImplicitDeny
    );
    let ic = allow_if(r#"{"StringEqualsIgnoreCase":{"ec2:Region":"EU-West-1"}}"#);
    assert_eq!(with_keys(&ic, &[("ec2:Region", "eu-WEST-1")]), Allow);
    let nic = allow_if(r#"{"StringNotEqualsIgnoreCase":{"ec2:Region":"EU-West-1"}}"#);
    assert_eq!(
        with_keys(&nic, &[("ec2:Region", "eu-WEST-1")]),
        ImplicitDeny
    );
    let like = allow_if(r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/admin-*"}}"#);
    assert_eq!(
        with_keys(
            &like,
            &[("aws:PrincipalArn", "arn:aws:iam::1:user/admin-bob")]
        ),
        Allow
    );
    assert_eq!(
        with_keys(&like, &[("aws:PrincipalArn", "arn:aws:iam::1:user/bob")]),
        ImplicitDeny
    );
    let not_like = allow_if(r#"{"StringNotLike":{"aws:PrincipalArn":"*:user/admin-*"}}"#);
    assert_eq!(
        with_keys(
            &not_like,
            &[("aws:PrincipalArn", "arn:aws:iam::1:user/bob")]
        ),
        Allow
    );
    assert_eq!(
        with_keys(
            &not_like,
            &[("aws:PrincipalArn", "arn:aws:iam::1:user/admin-x")]
        ),
        ImplicitDeny
    );
}

#[test]
fn condition_value_variables() {
    let own = allow_if(
        r#"{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}"}}"#,
    );
    let bob = [
        ("aws:PrincipalArn", "arn:aws:iam::7:user/bob"),
        ("aws:PrincipalAccount", "7"),
        ("aws:username", "bob"),
    ];
    assert_eq!(with_keys(&own, &bob), Allow);
    assert_eq!(with_keys(&own, &bob[..2]), ImplicitDeny);
}

#[test]
fn missing_keys_satisfy_negated_operators_only() {
    for negated in [
        r#"{"StringNotEquals":{"aws:username":"bob"}}"#,
        r#"{"StringNotLike":{"aws:username":"b*"}}"#,
        r#"{"StringNotEqualsIgnoreCase":{"aws:username":"bob"}}"#,
        r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::1:user/bob"}}"#,
        r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}"#,
        r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
        r#"{"NumericNotEquals":{"s3:max-keys":10}}"#,
        r#"{"DateNotEquals":{"aws:CurrentTime":"2020-01-01"}}"#,
    ] {
        assert_eq!(with_keys(&allow_if(negated), &[]), Allow, "{negated}");
    }
    for positive in [
        r#"{"StringEquals":{"aws:username":"bob"}}"#,
        r#"{"StringLike":{"aws:username":"*"}}"#,
        r#"{"ArnLike":{"aws:PrincipalArn":"*"}}"#,
        r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#,
        r#"{"NumericLessThan":{"s3:max-keys":10}}"#,
        r#"{"DateLessThan":{"aws:CurrentTime":"2100-01-01"}}"#,
        r#"{"Bool":{"aws:SecureTransport":"false"}}"#,
    ] {
        assert_eq!(
            with_keys(&allow_if(positive), &[]),
            ImplicitDeny,
            "{positive}"
        );
    }
}

#[test]
fn if_exists_matches_absent_keys_only() {
    let p = allow_if(r#"{"StringEqualsIfExists":{"ec2:Region":"eu-west-1"}}"#);
    assert_eq!(with_keys(&p, &[]), Allow);
    assert_eq!(with_keys(&p, &[("ec2:Region", "eu-west-1")]), Allow);
    assert_eq!(with_keys(&p, &[("ec2:Region", "us-east-1")]), ImplicitDeny);
    let n = allow_if(r#"{"NumericLessThanIfExists":{"s3:max-keys":"10"}}"#);
    assert_eq!(with_keys(&n, &[]), Allow);
    assert_eq!(with_keys(&n, &[("s3:max-keys", "11")]), ImplicitDeny);
}

#[test]
fn null_checks_presence() {
    let absent = allow_if(r#"{"Null":{"aws:SourceIp":"true"}}"#);
    assert_eq!(with_keys(&absent, &[]), Allow);
    assert_eq!(
        with_keys(&absent, &[("aws:SourceIp", "1.2.3.4")]),
        ImplicitDeny
    );
    let present = allow_if(r#"{"Null":{"aws:SourceIp":false}}"#);
    assert_eq!(with_keys(&present, &[]), ImplicitDeny);
    assert_eq!(with_keys(&present, &[("aws:SourceIp", "1.2.3.4")]), Allow);
}

#[test]
fn numeric_date_bool_ip_and_arn_conditions() {
    let n = allow_if(
        r#"{"NumericGreaterThanEquals":{"s3:max-keys":10},"NumericLessThan":{"s3:max-keys":"20.5"}}"#,
    );
    assert_eq!(with_keys(&n, &[("s3:max-keys", "10")]), Allow);
    assert_eq!(with_keys(&n, &[("s3:max-keys", "20.5")]), ImplicitDeny);
    assert_eq!(with_keys(&n, &[("s3:max-keys", "many")]), ImplicitDeny);
    let d = allow_if(
        r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"DateLessThanEquals":{"aws:CurrentTime":1735689600}}"#,
    );
    assert_eq!(
        with_keys(&d, &[("aws:CurrentTime", "2022-06-01T12:00:00Z")]),
        Allow
    );
    assert_eq!(
        with_keys(&d, &[("aws:CurrentTime", "2025-01-01T00:00:00Z")]),
        Allow
    );
    assert_eq!(
        with_keys(&d, &[("aws:CurrentTime", "2025-01-01T00:00:01Z")]),
        ImplicitDeny
    );
    assert_eq!(
        with_keys(&d, &[("aws:CurrentTime", "2019-12-31")]),
        ImplicitDeny
    );
    let b = allow_if(r#"{"Bool":{"aws:SecureTransport":true}}"#);
    assert_eq!(with_keys(&b, &[("aws:SecureTransport", "true")]), Allow);
    assert_eq!(
        with_keys(&b, &[("aws:SecureTransport", "false")]),
        ImplicitDeny
    );
    let ip = allow_if(r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}"#);
    assert_eq!(with_keys(&ip, &[("aws:SourceIp", "10.9.8.7")]), Allow);
    assert_eq!(with_keys(&ip, &[("aws:SourceIp", "2001:db8::5")]), Allow);
    assert_eq!(
        with_keys(&ip, &[("aws:SourceIp", "192.168.0.1")]),
        ImplicitDeny
    );
    let not_ip = allow_if(r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#);
    assert_eq!(
        with_keys(&not_ip, &[("aws:SourceIp", "10.9.8.7")]),
        ImplicitDeny
    );
    assert_eq!(
        with_keys(&not_ip, &[("aws:SourceIp", "192.168.0.1")]),
        Allow
    );
    let arn = allow_if(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}"#);
    assert_eq!(
        with_keys(&arn, &[("aws:PrincipalArn", "arn:aws:iam::1:user/bob")]),
        Allow
    );
    assert_eq!(
        with_keys(&arn, &[("aws:PrincipalArn", "arn:aws:iam::1:role/r")]),
        ImplicitDeny
    );
    let arn_eq = allow_if(r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::1:user/bob"}}"#);
    assert_eq!(
        with_keys(&arn_eq, &[("aws:PrincipalArn", "arn:aws:iam::1:user/bob")]),
        Allow
    );
    assert_eq!(
        with_keys(
            &arn_eq,
            &[("aws:PrincipalArn", "arn:aws:iam::1:user/bobby")]
        ),
        ImplicitDeny
    );
}

#[test]
fn operators_and_keys_are_anded_values_ored() {
    let p = allow_if(
        r#"{"StringEquals":{"aws:username":["bob","alice"],"ec2:Region":"eu-west-1"},"Bool":{"aws:SecureTransport":"true"}}"#,
    );
    let all = [
        ("aws:username", "alice"),
        ("ec2:Region", "eu-west-1"),
        ("aws:SecureTransport", "true"),
    ];
    assert_eq!(with_keys(&p, &all), Allow);
    for missing in 0..all.len() {
        let mut some = all.to_vec();
        some.remove(missing);
        assert_eq!(with_keys(&p, &some), ImplicitDeny);
    }
}

#[test]
fn set_qualifiers() {
    let any = allow_if(r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}"#);
    let all = allow_if(r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}"#);
    let good = [("aws:TagKeys", "env"), ("aws:TagKeys", "team")];
    let mixed = [("aws:TagKeys", "env"), ("aws:TagKeys", "cost")];
    assert_eq!(with_keys(&any, &good), Allow);
    assert_eq!(with_keys(&any, &mixed), Allow);
    assert_eq!(with_keys(&any, &[("aws:TagKeys", "cost")]), ImplicitDeny);
    assert_eq!(with_keys(&any, &[]), ImplicitDeny);
    assert_eq!(with_keys(&all, &good), Allow);
    assert_eq!(with_keys(&all, &mixed), ImplicitDeny);
    assert_eq!(with_keys(&all, &[]), Allow);
    let none_of = allow_if(r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}"#);
    assert_eq!(with_keys(&none_of, &mixed), Allow);
    assert_eq!(
        with_keys(
            &none_of,
            &[("aws:TagKeys", "env"), ("aws:TagKeys", "secret")]
        ),
        ImplicitDeny
    );
    let some_not = allow_if(r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}"#);
    assert_eq!(with_keys(&some_not, &mixed), Allow);
    assert_eq!(
        with_keys(&some_not, &[("aws:TagKeys", "env")]),
        ImplicitDeny
    );
    assert_eq!(with_keys(&some_not, &[]), ImplicitDeny);
}

#[test]
fn conditional_deny_only_denies_when_it_holds() {
    let deny = policy(
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}"#,
    );
    let both = [policy(ALLOW_ALL), deny];
    assert_eq!(
        decide(
            &both,
            "ec2:CreateVpc",
            &["*"],
            &[("aws:RequestedRegion", "eu-west-1")]
        ),
        Allow
    );
    assert_eq!(
        decide(
            &both,
            "ec2:CreateVpc",
            &["*"],
            &[("aws:RequestedRegion", "us-east-1")]
        ),
        ExplicitDeny
    );
    assert_eq!(decide(&both, "ec2:CreateVpc", &["*"], &[]), ExplicitDeny);
}
