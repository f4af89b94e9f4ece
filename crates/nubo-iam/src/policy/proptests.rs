//! Property tests: the parser is fed untrusted input and must never panic,
//! and the two invariants every caller leans on hold for any request — an
//! allow-all policy allows, and a matching `Deny` always wins.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{evaluate, Decision, PolicyDocument, RequestContext};

/// Words a policy is made of, so generated JSON reaches deep validation.
const VOCABULARY: &[&str] = &[
    "Version",
    "2012-10-17",
    "2008-10-17",
    "Statement",
    "Sid",
    "Effect",
    "Allow",
    "Deny",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "*",
    "ec2:*",
    "iam:Create?ser",
    "arn:aws:ec2:*:*:vpc/*",
    "${aws:username}",
    "${*}",
    "StringEquals",
    "ForAnyValue:StringLike",
    "NumericLessThanIfExists",
    "DateGreaterThan",
    "Bool",
    "IpAddress",
    "ArnLike",
    "Null",
    "aws:username",
    "aws:SourceIp",
    "10.0.0.0/8",
    "2020-01-01T00:00:00Z",
    "true",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(VOCABULARY).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Well-formed-looking policies with random parts, many of which parse, so
/// evaluation is exercised on every operator and element.
fn policy_like() -> impl Strategy<Value = Value> {
    let pick =
        |words: &'static [&'static str]| proptest::sample::select(words).prop_map(Value::from);
    let list = move |words: &'static [&'static str]| {
        prop::collection::vec(pick(words), 1..3).prop_map(Value::Array)
    };
    let condition = prop::collection::btree_map(
        proptest::sample::select(
            &[
                "StringEquals",
                "StringNotLike",
                "ForAllValues:StringEqualsIgnoreCase",
                "ForAnyValue:StringLike",
                "NumericLessThan",
                "NumericNotEqualsIfExists",
                "DateGreaterThan",
                "DateNotEquals",
                "Bool",
                "IpAddress",
                "NotIpAddressIfExists",
                "ArnLike",
                "ArnNotEquals",
                "Null",
            ][..],
        ),
        prop::collection::btree_map(
            proptest::sample::select(
                &[
                    "aws:username",
                    "aws:SourceIp",
                    "aws:CurrentTime",
                    "s3:max-keys",
                    "aws:PrincipalArn",
                ][..],
            ),
            list(&[
                "bob",
                "10",
                "2020-01-01T00:00:00Z",
                "true",
                "10.0.0.0/8",
                "arn:aws:iam::*:user/*",
                "${aws:username}",
                "*",
            ]),
            1..3,
        ),
        0..3,
    );
    let statement = (
        pick(&["Allow", "Deny"]),
        proptest::sample::select(&["Action", "NotAction"][..]),
        list(&[
            "*",
            "ec2:*",
            "iam:Create?ser",
            "EC2:describe*",
            "s3:GetObject",
        ]),
        proptest::sample::select(&["Resource", "NotResource"][..]),
        list(&[
            "*",
            "arn:aws:ec2:*:*:vpc/*",
            "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}",
            "arn:aws:s3:::b/${*}",
        ]),
        condition,
    )
        .prop_map(
            |(effect, action_key, actions, resource_key, resources, condition)| {
                let mut s = Map::new();
                s.insert("Effect".into(), effect);
                s.insert(action_key.into(), actions);
                s.insert(resource_key.into(), resources);
                let condition = condition
                    .into_iter()
                    .map(|(op, keys)| {
                        (
                            op.to_string(),
                            Value::Object(
                                keys.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                            ),
                        )
                    })
                    .collect();
                s.insert("Condition".into(), Value::Object(condition));
                Value::Object(s)
            },
        );
    (
        pick(&["2012-10-17", "2008-10-17"]),
        prop::collection::vec(statement, 1..4),
    )
        .prop_map(|(version, statements)| {
            let mut doc = Map::new();
            doc.insert("Version".into(), version);
            doc.insert("Statement".into(), Value::Array(statements));
            Value::Object(doc)
        })
}

/// Any `service:Operation` request action.
fn action() -> impl Strategy<Value = String> {
    ("[a-z0-9-]{1,10}", "[A-Za-z*?]{1,20}").prop_map(|(s, a)| format!("{s}:{a}"))
}

fn resources() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            Just("*".to_string()),
            "arn:aws:[a-z0-9]{1,5}:[a-z0-9-]{0,12}:[0-9]{0,12}:.{0,20}"
        ],
        0..4,
    )
}

fn condition_keys() -> impl Strategy<Value = BTreeMap<String, Vec<String>>> {
    let value = prop_oneof![
        word(),
        Just("10.1.2.3".to_string()),
        Just("2021-05-05T00:00:00Z".to_string()),
        Just("7".to_string()),
        Just("arn:aws:iam::1:user/bob".to_string()),
    ];
    prop::collection::btree_map(word(), prop::collection::vec(value, 0..3), 0..4)
}

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

proptest! {
    #[test]
    fn parse_never_panics_on_strings(text in any::<String>()) {
        let _ = PolicyDocument::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_json(value in json_value()) {
        let _ = PolicyDocument::parse(&value.to_string());
    }

    #[test]
    fn parsed_random_policies_evaluate_without_panicking(
        value in prop_oneof![json_value(), policy_like()],
        action in action(),
        resources in resources(),
        keys in condition_keys(),
    ) {
        if let Ok(doc) = PolicyDocument::parse(&value.to_string()) {
            let ctx = RequestContext { action: &action, resources: &resources, keys: &keys };
            let _ = evaluate(&[doc], &ctx);
        }
    }

    #[test]
    fn allow_all_allows_any_request(
        action in action(),
        resources in resources(),
        keys in condition_keys(),
    ) {
        let allow = PolicyDocument::parse(ALLOW_ALL).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ctx = RequestContext { action: &action, resources: &resources, keys: &keys };
        prop_assert_eq!(evaluate(&[allow], &ctx), Decision::Allow);
    }

    #[test]
    fn a_matching_deny_always_wins(
        action in action(),
        resources in resources(),
        keys in condition_keys(),
        deny_first in any::<bool>(),
        by_not_action in any::<bool>(),
    ) {
        let allow = PolicyDocument::parse(ALLOW_ALL).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // The request's own action, in another case, or everything but a
        // different service.
        let action_element = if by_not_action {
            r#""NotAction":"nosuchservice:*""#.to_string()
        } else {
            format!(r#""Action":{}"#, Value::from(action.to_uppercase()))
        };
        let deny = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Deny",{action_element},"Resource":"*"}}}}"#
        );
        let deny = PolicyDocument::parse(&deny).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let policies = if deny_first { vec![deny, allow] } else { vec![allow, deny] };
        let ctx = RequestContext { action: &action, resources: &resources, keys: &keys };
        prop_assert_eq!(evaluate(&policies, &ctx), Decision::ExplicitDeny);
    }
}
