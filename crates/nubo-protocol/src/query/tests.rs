use nubo_core::filter::Filter;
use nubo_core::{Error, Tag};
use proptest::prelude::*;

use super::{Params, TagSpecification};

fn p(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs.iter().copied())
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

#[test]
fn parse_decodes_plus_percent_and_bare_keys() {
    let params = Params::parse("Action=DescribeVpcs&Name=a+b%2Bc&Empty=&Bare&&=orphan&U=%C3%BC%2F")
        .expect("valid");
    assert_eq!(params.get("Action"), Some("DescribeVpcs"));
    assert_eq!(params.get("Name"), Some("a b+c"));
    assert_eq!(params.get("Empty"), Some(""));
    assert_eq!(params.get("Bare"), Some(""));
    assert_eq!(params.get("U"), Some("ü/"));
    assert_eq!(params.len(), 5, "empty segments and empty keys are skipped");
}

#[test]
fn parse_rejects_invalid_utf8() {
    assert!(matches!(
        Params::parse("Name=%FF%FE"),
        Err(Error::InvalidParameterValue(_))
    ));
    assert!(matches!(
        Params::parse("%C3=x"),
        Err(Error::InvalidParameterValue(_))
    ));
}

#[test]
fn merge_lets_the_body_win() {
    let mut params = Params::parse("Action=DescribeVpcs&Version=1").expect("valid");
    params.merge(Params::parse("Action=CreateVpc&CidrBlock=10.0.0.0%2F16").expect("valid"));
    assert_eq!(params.get("Action"), Some("CreateVpc"));
    assert_eq!(params.get("Version"), Some("1"));
    assert_eq!(params.get("CidrBlock"), Some("10.0.0.0/16"));
    assert_eq!(
        params.keys().collect::<Vec<_>>(),
        ["Action", "CidrBlock", "Version"]
    );
}

#[test]
fn required_treats_empty_as_missing() {
    let params = p(&[("VpcId", "vpc-1"), ("Empty", "")]);
    assert_eq!(params.required("VpcId"), Ok("vpc-1"));
    assert_eq!(
        params.required("Empty"),
        Err(Error::MissingParameter("Empty".into()))
    );
    assert_eq!(
        params.required("Absent"),
        Err(Error::MissingParameter("Absent".into()))
    );
    assert!(params.contains("Empty"));
    assert!(!params.contains("Absent"));
}

#[test]
fn bool_and_int_use_aws_messages() {
    let params = p(&[
        ("DryRun", "TRUE"),
        ("No", "false"),
        ("Bad", "yes"),
        ("Max", "-5"),
        ("X", "5x"),
    ]);
    assert_eq!(params.bool("DryRun"), Ok(Some(true)));
    assert_eq!(params.bool("No"), Ok(Some(false)));
    assert_eq!(params.bool("Absent"), Ok(None));
    assert_eq!(
        params.bool("Bad"),
        Err(Error::InvalidParameterValue(
            "Invalid value 'yes' for parameter Bad: must be a boolean".into()
        ))
    );
    assert_eq!(params.int("Max"), Ok(Some(-5)));
    assert_eq!(params.int("Absent"), Ok(None));
    assert_eq!(
        params.int("X"),
        Err(Error::InvalidParameterValue(
            "Invalid value '5x' for parameter X: must be an integer".into()
        ))
    );
}

#[test]
fn list_orders_numerically_and_allows_gaps() {
    let params = p(&[
        ("VpcId.10", "ten"),
        ("VpcId.9", "nine"),
        ("VpcId.1", "one"),
        ("VpcId.3", "three"),
        ("VpcIdX.2", "not mine"),
        ("VpcId", "not an item"),
        ("VpcId.4.Sub", "not an item"),
    ]);
    assert_eq!(
        params.list("VpcId").expect("valid"),
        ["one", "three", "nine", "ten"]
    );
    assert!(params.list("SubnetId").expect("valid").is_empty());
}

#[test]
fn list_rejects_malformed_indexes() {
    for bad in [
        "VpcId.x",
        "VpcId.0",
        "VpcId.01",
        "VpcId.",
        "VpcId.-1",
        "VpcId.+1",
        "VpcId.99999999999",
    ] {
        let err = p(&[(bad, "v")]).list("VpcId").expect_err(bad);
        assert!(
            matches!(err, Error::InvalidParameterValue(ref m) if m.contains(bad)),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn member_list_reads_iam_lists() {
    let params = p(&[
        ("PolicyArns.member.2", "b"),
        ("PolicyArns.member.1", "a"),
        ("PolicyArns.member.11", "k"),
    ]);
    assert_eq!(
        params.member_list("PolicyArns").expect("valid"),
        ["a", "b", "k"]
    );
    assert!(p(&[("PolicyArns.member.one", "a")])
        .member_list("PolicyArns")
        .is_err());
}

#[test]
fn structs_group_by_index() {
    let params = p(&[
        ("Filter.2.Name", "c"),
        ("Filter.1.Name", "a"),
        ("Filter.1.Value.1", "b"),
        ("Filter.10.Name", "z"),
    ]);
    assert_eq!(
        params.structs("Filter").expect("valid"),
        [
            p(&[("Name", "a"), ("Value.1", "b")]),
            p(&[("Name", "c")]),
            p(&[("Name", "z")]),
        ]
    );
    assert!(p(&[("Filter.x.Name", "a")]).structs("Filter").is_err());
}

#[test]
fn filters_need_a_name() {
    let params = p(&[
        ("Filter.1.Name", "vpc-id"),
        ("Filter.1.Value.2", "vpc-2"),
        ("Filter.1.Value.1", "vpc-1"),
        ("Filter.2.Name", "tag:Env"),
    ]);
    assert_eq!(
        params.filters().expect("valid"),
        [
            Filter {
                name: "vpc-id".into(),
                values: vec!["vpc-1".into(), "vpc-2".into()],
            },
            Filter {
                name: "tag:Env".into(),
                values: vec![],
            },
        ]
    );
    assert_eq!(
        p(&[("Filter.3.Value.1", "x")]).filters(),
        Err(Error::MissingParameter("Filter.3.Name".into()))
    );
    assert!(p(&[("Filter.1.Name", "a"), ("Filter.1.Value.z", "x")])
        .filters()
        .is_err());
}

#[test]
fn tags_default_value_to_empty_and_need_a_key() {
    let params = p(&[
        ("Tag.1.Key", "Name"),
        ("Tag.1.Value", "web"),
        ("Tag.2.Key", "Flag"),
    ]);
    assert_eq!(
        params.tags("Tag").expect("valid"),
        [tag("Name", "web"), tag("Flag", "")]
    );
    assert_eq!(
        p(&[("Tag.2.Value", "orphan")]).tags("Tag"),
        Err(Error::MissingParameter("Tag.2.Key".into()))
    );
}

#[test]
fn tag_specifications_nest_tags() {
    let params = p(&[
        ("TagSpecification.1.ResourceType", "vpc"),
        ("TagSpecification.1.Tag.1.Key", "Name"),
        ("TagSpecification.1.Tag.1.Value", "main"),
        ("TagSpecification.1.Tag.2.Key", "Env"),
        ("TagSpecification.2.ResourceType", "subnet"),
    ]);
    assert_eq!(
        params.tag_specifications().expect("valid"),
        [
            TagSpecification {
                resource_type: "vpc".into(),
                tags: vec![tag("Name", "main"), tag("Env", "")],
            },
            TagSpecification {
                resource_type: "subnet".into(),
                tags: vec![],
            },
        ]
    );
    assert_eq!(
        p(&[("TagSpecification.1.Tag.1.Key", "k")]).tag_specifications(),
        Err(Error::MissingParameter(
            "TagSpecification.1.ResourceType".into()
        ))
    );
    assert_eq!(
        p(&[
            ("TagSpecification.1.ResourceType", "vpc"),
            ("TagSpecification.1.Tag.3.Value", "v")
        ])
        .tag_specifications(),
        Err(Error::MissingParameter(
            "TagSpecification.1.Tag.3.Key".into()
        ))
    );
}

proptest! {
    #[test]
    fn parse_never_panics(input in any::<String>()) {
        let _ = Params::parse(&input);
    }

    #[test]
    fn parse_never_panics_on_percent_soup(input in "[%+=&a-fA-F0-9.\\x00-\\x7f\u{80}-\u{10ffff}]{0,64}") {
        if let Ok(params) = Params::parse(&input) {
            let _ = params.list("a");
            let _ = params.filters();
            let _ = params.tag_specifications();
        }
    }

    #[test]
    fn encode_then_parse_round_trips(pairs in proptest::collection::btree_map(".+", any::<String>(), 0..8)) {
        let params = Params::from_pairs(pairs.clone());
        let parsed = Params::parse(&params.encode()).expect("encoded text parses");
        prop_assert_eq!(parsed, params);
    }

    #[test]
    fn list_is_ordered_by_numeric_index(indexes in proptest::collection::btree_set(1u32..100_000, 0..20)) {
        let params = Params::from_pairs(indexes.iter().map(|n| (format!("Id.{n}"), n.to_string())));
        let got: Vec<u32> = params
            .list("Id")
            .expect("valid")
            .iter()
            .map(|v| v.parse().expect("number"))
            .collect();
        let want: Vec<u32> = indexes.into_iter().collect();
        prop_assert_eq!(got, want);
    }
}
