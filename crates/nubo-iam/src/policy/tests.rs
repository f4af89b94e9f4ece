//! End-to-end tests of the engine: policy JSON in, [`Decision`] out, one test
//! per statement-level rule (precedence, `NotAction`/`NotResource`,
//! wildcards, variables). The helpers here are shared with
//! `condition_tests`, which covers the `Condition` operators.

use std::collections::BTreeMap;
use std::slice;

use super::{evaluate, Decision, PolicyDocument, RequestContext};

pub(super) const ALLOW_ALL: &str = r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#;
const VPC_ARN: &str = "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1";

pub(super) fn policy(statements: &str) -> PolicyDocument {
    let json = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    PolicyDocument::parse(&json).unwrap_or_else(|e| panic!("{json}: {e:?}"))
}

pub(super) fn keys(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        keys.entry(k.to_string()).or_default().push(v.to_string());
    }
    keys
}

pub(super) fn decide(
    policies: &[PolicyDocument],
    action: &str,
    resources: &[&str],
    pairs: &[(&str, &str)],
) -> Decision {
    let resources: Vec<String> = resources.iter().map(|r| r.to_string()).collect();
    let keys = keys(pairs);
    evaluate(
        policies,
        &RequestContext {
            action,
            resources: &resources,
            keys: &keys,
        },
    )
}

/// Decision of one statement for `ec2:CreateVpc` on `*` with the given keys.
pub(super) fn with_keys(statement: &str, pairs: &[(&str, &str)]) -> Decision {
    decide(&[policy(statement)], "ec2:CreateVpc", &["*"], pairs)
}

pub(super) fn allow_if(condition: &str) -> String {
    format!(r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}"#)
}

use Decision::{Allow, ExplicitDeny, ImplicitDeny};

#[test]
fn no_policies_is_implicit_deny() {
    assert_eq!(decide(&[], "ec2:CreateVpc", &["*"], &[]), ImplicitDeny);
}

#[test]
fn explicit_deny_overrides_allow_across_policies() {
    let allow = policy(ALLOW_ALL);
    let deny = policy(r#"{"Effect":"Deny","Action":"ec2:CreateVpc","Resource":"*"}"#);
    assert_eq!(
        decide(slice::from_ref(&allow), "ec2:CreateVpc", &["*"], &[]),
        Allow
    );
    assert_eq!(
        decide(&[allow.clone(), deny.clone()], "ec2:CreateVpc", &["*"], &[]),
        ExplicitDeny
    );
    assert_eq!(
        decide(&[deny.clone(), allow.clone()], "ec2:CreateVpc", &["*"], &[]),
        ExplicitDeny
    );
    assert_eq!(decide(&[allow, deny], "ec2:DeleteVpc", &["*"], &[]), Allow);
}

#[test]
fn unmatched_action_is_implicit_deny() {
    let p = policy(r#"{"Effect":"Allow","Action":["ec2:Describe*","iam:GetUser"],"Resource":"*"}"#);
    assert_eq!(
        decide(slice::from_ref(&p), "ec2:DescribeVpcs", &["*"], &[]),
        Allow
    );
    assert_eq!(
        decide(slice::from_ref(&p), "iam:GetUser", &["*"], &[]),
        Allow
    );
    assert_eq!(decide(&[p], "ec2:CreateVpc", &["*"], &[]), ImplicitDeny);
}

#[test]
fn actions_are_case_insensitive_with_wildcards() {
    let p = policy(r#"{"Effect":"Allow","Action":"EC2:describe?pcs","Resource":"*"}"#);
    assert_eq!(
        decide(slice::from_ref(&p), "ec2:DescribeVpcs", &["*"], &[]),
        Allow
    );
    assert_eq!(
        decide(slice::from_ref(&p), "Ec2:DESCRIBEVPCS", &["*"], &[]),
        Allow
    );
    assert_eq!(decide(&[p], "ec2:DescribeVpcsX", &["*"], &[]), ImplicitDeny);
}

#[test]
fn not_action_allows_everything_but() {
    let p = policy(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#);
    assert_eq!(
        decide(slice::from_ref(&p), "ec2:CreateVpc", &["*"], &[]),
        Allow
    );
    assert_eq!(decide(&[p], "iam:CreateUser", &["*"], &[]), ImplicitDeny);
    let deny = policy(r#"{"Effect":"Deny","NotAction":"ec2:Describe*","Resource":"*"}"#);
    let both = [policy(ALLOW_ALL), deny];
    assert_eq!(decide(&both, "ec2:DescribeVpcs", &["*"], &[]), Allow);
    assert_eq!(decide(&both, "ec2:CreateVpc", &["*"], &[]), ExplicitDeny);
}

#[test]
fn resources_match_case_sensitively_with_wildcards() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"ec2:*","Resource":"arn:aws:ec2:*:123456789012:vpc/*"}"#,
    );
    assert_eq!(
        decide(slice::from_ref(&p), "ec2:DeleteVpc", &[VPC_ARN], &[]),
        Allow
    );
    let upper = "arn:aws:ec2:eu-west-1:123456789012:VPC/vpc-1";
    assert_eq!(
        decide(slice::from_ref(&p), "ec2:DeleteVpc", &[upper], &[]),
        ImplicitDeny
    );
    let other_account = "arn:aws:ec2:eu-west-1:999999999999:vpc/vpc-1";
    assert_eq!(
        decide(slice::from_ref(&p), "ec2:DeleteVpc", &[other_account], &[]),
        ImplicitDeny
    );
    // An action without resource-level targets needs `Resource: "*"`.
    assert_eq!(decide(&[p], "ec2:DescribeVpcs", &["*"], &[]), ImplicitDeny);
    let q = policy(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"arn:aws:ec2:eu-west-?:*"}"#);
    assert_eq!(decide(&[q], "ec2:DeleteVpc", &[VPC_ARN], &[]), Allow);
}

#[test]
fn not_resource_covers_everything_but() {
    let p = policy(r#"{"Effect":"Allow","Action":"ec2:*","NotResource":"arn:aws:ec2:*:*:vpc/*"}"#);
    assert_eq!(
        decide(
            slice::from_ref(&p),
            "ec2:DeleteSubnet",
            &["arn:aws:ec2:eu-west-1:1:subnet/s"],
            &[]
        ),
        Allow
    );
    assert_eq!(
        decide(slice::from_ref(&p), "ec2:DescribeVpcs", &["*"], &[]),
        Allow
    );
    assert_eq!(decide(&[p], "ec2:DeleteVpc", &[VPC_ARN], &[]), ImplicitDeny);
}

#[test]
fn every_resource_must_be_allowed_and_none_denied() {
    let subnet = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-1";
    let vpcs = policy(r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:ec2:*:*:vpc/*"}"#);
    let subnets =
        policy(r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:ec2:*:*:subnet/*"}"#);
    assert_eq!(
        decide(slice::from_ref(&vpcs), "ec2:X", &[VPC_ARN, subnet], &[]),
        ImplicitDeny
    );
    assert_eq!(
        decide(&[vpcs.clone(), subnets], "ec2:X", &[VPC_ARN, subnet], &[]),
        Allow
    );
    let deny_subnets =
        policy(r#"{"Effect":"Deny","Action":"*","Resource":"arn:aws:ec2:*:*:subnet/*"}"#);
    let all = [policy(ALLOW_ALL), deny_subnets];
    assert_eq!(decide(&all, "ec2:X", &[VPC_ARN, subnet], &[]), ExplicitDeny);
    assert_eq!(decide(&all, "ec2:X", &[VPC_ARN], &[]), Allow);
    // No resource at all is treated as the `*` of a resource-less action.
    assert_eq!(decide(&[vpcs], "ec2:X", &[], &[]), ImplicitDeny);
    assert_eq!(decide(&[policy(ALLOW_ALL)], "ec2:X", &[], &[]), Allow);
}

#[test]
fn resource_variables() {
    let own_user = r#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}"}"#;
    let p = policy(own_user);
    let bob = "arn:aws:iam::123456789012:user/bob";
    let me = [
        ("aws:username", "bob"),
        ("aws:PrincipalAccount", "123456789012"),
    ];
    assert_eq!(
        decide(slice::from_ref(&p), "iam:GetUser", &[bob], &me),
        Allow
    );
    let alice = [
        ("aws:username", "alice"),
        ("aws:PrincipalAccount", "123456789012"),
    ];
    assert_eq!(
        decide(slice::from_ref(&p), "iam:GetUser", &[bob], &alice),
        ImplicitDeny
    );
    // An unknown variable makes the entry match nothing.
    assert_eq!(
        decide(&[p], "iam:GetUser", &[bob], &[("aws:username", "bob")]),
        ImplicitDeny
    );
    // Version 2008 has no variables: the text is literal.
    let old = format!(r#"{{"Version":"2008-10-17","Statement":{own_user}}}"#);
    let old = PolicyDocument::parse(&old).unwrap();
    assert_eq!(
        decide(slice::from_ref(&old), "iam:GetUser", &[bob], &me),
        ImplicitDeny
    );
    let literal = "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}";
    assert_eq!(decide(&[old], "iam:GetUser", &[literal], &me), Allow);
}

#[test]
fn escaped_wildcards_are_literal() {
    let p = policy(r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::bucket/${*}"}"#);
    assert_eq!(
        decide(
            slice::from_ref(&p),
            "s3:GetObject",
            &["arn:aws:s3:::bucket/*"],
            &[]
        ),
        Allow
    );
    assert_eq!(
        decide(&[p], "s3:GetObject", &["arn:aws:s3:::bucket/key"], &[]),
        ImplicitDeny
    );
}

#[test]
fn not_resource_with_unknown_variable_fails_closed() {
    let allow =
        r#"{"Effect":"Allow","Action":"*","NotResource":"arn:aws:iam::*:user/${aws:username}"}"#;
    let bob = "arn:aws:iam::1:user/bob";
    assert_eq!(decide(&[policy(allow)], "iam:X", &[bob], &[]), ImplicitDeny);
    assert_eq!(
        decide(&[policy(allow)], "iam:X", &[bob], &[("aws:username", "al")]),
        Allow
    );
    let deny =
        r#"{"Effect":"Deny","Action":"*","NotResource":"arn:aws:iam::*:user/${aws:username}"}"#;
    assert_eq!(
        decide(&[policy(ALLOW_ALL), policy(deny)], "iam:X", &[bob], &[]),
        ExplicitDeny
    );
}
