//! Unit tests of the IMDS handler: every path, token rule and error.
use super::super::{InterfaceMetadata, MetadataOptions};
use super::*;
use std::net::Ipv4Addr;

pub(crate) fn sample() -> InstanceMetadata {
    InstanceMetadata {
        ami_id: "ami-0aaaabbbbccccdddd".into(),
        ami_launch_index: 0,
        instance_id: "i-0123456789abcdef0".into(),
        instance_type: "t3.micro".into(),
        local_ipv4: Ipv4Addr::new(10, 0, 1, 5),
        local_hostname: "ip-10-0-1-5.ec2.internal".into(),
        public_ipv4: None,
        public_hostname: None,
        mac: "02:00:0a:00:01:05".into(),
        interfaces: vec![InterfaceMetadata {
            mac: "02:00:0a:00:01:05".into(),
            device_number: 0,
            interface_id: "eni-0123456789abcdef0".into(),
            local_hostname: "ip-10-0-1-5.ec2.internal".into(),
            local_ipv4s: vec![Ipv4Addr::new(10, 0, 1, 5)],
            subnet_id: "subnet-0123".into(),
            subnet_ipv4_cidr_block: "10.0.1.0/24".into(),
            vpc_id: "vpc-0123".into(),
            vpc_ipv4_cidr_blocks: vec!["10.0.0.0/16".into(), "10.1.0.0/16".into()],
            security_group_ids: vec!["sg-01".into(), "sg-02".into()],
            security_groups: vec!["default".into(), "web".into()],
            public_ipv4s: vec![],
            owner_id: "111122223333".into(),
        }],
        availability_zone: "us-east-1a".into(),
        region: "us-east-1".into(),
        account_id: "111122223333".into(),
        security_groups: vec!["default".into(), "web".into()],
        public_keys: vec![("my-key".into(), "ssh-ed25519 AAAAC3Nz my-key".into())],
        block_device_mapping: vec![
            ("ami".into(), "/dev/xvda".into()),
            ("root".into(), "/dev/xvda".into()),
        ],
        user_data: Some(b"#!/bin/sh\necho hi\n".to_vec()),
        reservation_id: "r-0123".into(),
        launch_time_iso: "2026-11-23T18:00:00Z".into(),
        architecture: "x86_64".into(),
        image_id: "ami-0aaaabbbbccccdddd".into(),
        options: MetadataOptions::default(),
        tags: vec![
            ("Name".into(), "web-1".into()),
            ("env".into(), "prod".into()),
        ],
    }
}

const NOW: u64 = 1_800_000_000;

fn key() -> TokenKey {
    TokenKey::from_bytes([3; 32])
}

fn get(md: &InstanceMetadata, path: &str) -> ImdsResponse {
    handle(&ImdsRequest::new("GET", path, &[]), Some(md), &key(), NOW)
}

fn body(md: &InstanceMetadata, path: &str) -> String {
    let r = get(md, path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    String::from_utf8(r.body).unwrap()
}

#[test]
fn meta_data_listing_marks_directories() {
    let md = sample();
    let listing = body(&md, "/latest/meta-data/");
    let names: Vec<&str> = listing.lines().collect();
    for want in [
        "ami-id",
        "ami-launch-index",
        "ami-manifest-path",
        "block-device-mapping/",
        "hostname",
        "instance-id",
        "instance-type",
        "local-hostname",
        "local-ipv4",
        "mac",
        "network/",
        "placement/",
        "public-keys/",
        "reservation-id",
        "security-groups",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(!names.contains(&"public-ipv4"));
    assert!(!names.contains(&"public-hostname"));
    assert!(!names.contains(&"tags/"));
    assert_eq!(listing, body(&md, "/latest/meta-data"));
    assert_eq!(body(&md, "/latest/"), "dynamic/\nmeta-data/\nuser-data");
    assert!(body(&md, "/").lines().any(|l| l == "latest"));
    assert_eq!(
        body(&md, "/2021-07-15/meta-data/instance-id"),
        md.instance_id
    );
}

#[test]
fn leaves_answer_the_instances_values() {
    let md = sample();
    assert_eq!(
        body(&md, "/latest/meta-data/ami-id"),
        "ami-0aaaabbbbccccdddd"
    );
    assert_eq!(body(&md, "/latest/meta-data/ami-launch-index"), "0");
    assert_eq!(
        body(&md, "/latest/meta-data/ami-manifest-path"),
        "(unknown)"
    );
    assert_eq!(
        body(&md, "/latest/meta-data/instance-id"),
        "i-0123456789abcdef0"
    );
    assert_eq!(body(&md, "/latest/meta-data/instance-type"), "t3.micro");
    assert_eq!(body(&md, "/latest/meta-data/local-ipv4"), "10.0.1.5");
    assert_eq!(
        body(&md, "/latest/meta-data/local-hostname"),
        "ip-10-0-1-5.ec2.internal"
    );
    assert_eq!(
        body(&md, "/latest/meta-data/hostname"),
        "ip-10-0-1-5.ec2.internal"
    );
    assert_eq!(body(&md, "/latest/meta-data/mac"), "02:00:0a:00:01:05");
    assert_eq!(body(&md, "/latest/meta-data/reservation-id"), "r-0123");
    assert_eq!(
        body(&md, "/latest/meta-data/security-groups"),
        "default\nweb"
    );
    assert_eq!(
        body(&md, "/latest/meta-data/block-device-mapping/"),
        "ami\nroot"
    );
    assert_eq!(
        body(&md, "/latest/meta-data/block-device-mapping/ami"),
        "/dev/xvda"
    );
    assert_eq!(
        body(&md, "/latest/meta-data/block-device-mapping/root"),
        "/dev/xvda"
    );
    assert_eq!(
        body(&md, "/latest/meta-data/placement/"),
        "availability-zone\nregion"
    );
    assert_eq!(
        body(&md, "/latest/meta-data/placement/availability-zone"),
        "us-east-1a"
    );
    assert_eq!(body(&md, "/latest/meta-data/placement/region"), "us-east-1");
    assert_eq!(
        body(&md, "/latest/meta-data/services/domain"),
        "amazonaws.com"
    );
}

#[test]
fn public_keys_are_listed_as_index_equals_name() {
    let md = sample();
    assert_eq!(body(&md, "/latest/meta-data/public-keys/"), "0=my-key");
    assert_eq!(body(&md, "/latest/meta-data/public-keys/0/"), "openssh-key");
    assert_eq!(
        body(&md, "/latest/meta-data/public-keys/0/openssh-key"),
        "ssh-ed25519 AAAAC3Nz my-key"
    );
    let mut none = sample();
    none.public_keys.clear();
    assert_eq!(get(&none, "/latest/meta-data/public-keys/").status, 404);
    assert!(!body(&none, "/latest/meta-data/").contains("public-keys"));
}

#[test]
fn network_interfaces_by_mac() {
    let md = sample();
    let base = "/latest/meta-data/network/interfaces/macs/";
    assert_eq!(body(&md, "/latest/meta-data/network/"), "interfaces/");
    assert_eq!(body(&md, "/latest/meta-data/network/interfaces/"), "macs/");
    assert_eq!(body(&md, base), "02:00:0a:00:01:05/");
    let m = format!("{base}02:00:0a:00:01:05/");
    let listing = body(&md, &m);
    assert_eq!(
        listing.lines().collect::<Vec<_>>(),
        vec![
            "device-number",
            "interface-id",
            "local-hostname",
            "local-ipv4s",
            "mac",
            "owner-id",
            "security-group-ids",
            "security-groups",
            "subnet-id",
            "subnet-ipv4-cidr-block",
            "vpc-id",
            "vpc-ipv4-cidr-block",
            "vpc-ipv4-cidr-blocks"
        ]
    );
    let leafs = [
        ("device-number", "0"),
        ("interface-id", "eni-0123456789abcdef0"),
        ("local-hostname", "ip-10-0-1-5.ec2.internal"),
        ("local-ipv4s", "10.0.1.5"),
        ("mac", "02:00:0a:00:01:05"),
        ("owner-id", "111122223333"),
        ("security-group-ids", "sg-01\nsg-02"),
        ("security-groups", "default\nweb"),
        ("subnet-id", "subnet-0123"),
        ("subnet-ipv4-cidr-block", "10.0.1.0/24"),
        ("vpc-id", "vpc-0123"),
        ("vpc-ipv4-cidr-block", "10.0.0.0/16"),
        ("vpc-ipv4-cidr-blocks", "10.0.0.0/16\n10.1.0.0/16"),
    ];
    for (name, want) in leafs {
        assert_eq!(body(&md, &format!("{m}{name}")), want, "{name}");
    }
    assert_eq!(get(&md, &format!("{m}public-ipv4s")).status, 404);
}

#[test]
fn public_address_appears_only_when_present() {
    let mut md = sample();
    md.public_ipv4 = Some(Ipv4Addr::new(198, 51, 100, 7));
    md.public_hostname = Some("ec2-198-51-100-7.compute-1.amazonaws.com".into());
    md.interfaces[0].public_ipv4s = vec![Ipv4Addr::new(198, 51, 100, 7)];
    assert_eq!(body(&md, "/latest/meta-data/public-ipv4"), "198.51.100.7");
    assert_eq!(
        body(&md, "/latest/meta-data/public-hostname"),
        "ec2-198-51-100-7.compute-1.amazonaws.com"
    );
    let m = "/latest/meta-data/network/interfaces/macs/02:00:0a:00:01:05/";
    assert_eq!(body(&md, &format!("{m}public-ipv4s")), "198.51.100.7");
    assert_eq!(
        body(&md, &format!("{m}ipv4-associations/198.51.100.7")),
        "10.0.1.5"
    );
    assert_eq!(get(&sample(), "/latest/meta-data/public-ipv4").status, 404);
    assert_eq!(
        get(&sample(), "/latest/meta-data/public-hostname").status,
        404
    );
}

#[test]
fn tags_only_when_enabled() {
    let mut md = sample();
    assert_eq!(get(&md, "/latest/meta-data/tags/instance/").status, 404);
    md.options.instance_metadata_tags = true;
    assert!(body(&md, "/latest/meta-data/")
        .lines()
        .any(|l| l == "tags/"));
    assert_eq!(body(&md, "/latest/meta-data/tags/"), "instance/");
    assert_eq!(body(&md, "/latest/meta-data/tags/instance"), "Name\nenv");
    assert_eq!(body(&md, "/latest/meta-data/tags/instance/Name"), "web-1");
}

#[test]
fn user_data_and_its_absence() {
    let md = sample();
    let r = get(&md, "/latest/user-data");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"#!/bin/sh\necho hi\n");
    assert_eq!(
        r.header_value("content-type"),
        Some("application/octet-stream")
    );
    let mut none = sample();
    none.user_data = None;
    assert_eq!(get(&none, "/latest/user-data").status, 404);
    assert_eq!(body(&none, "/latest/"), "dynamic/\nmeta-data/");
}

#[test]
fn identity_document_path() {
    let md = sample();
    assert_eq!(body(&md, "/latest/dynamic/"), "instance-identity/");
    assert_eq!(body(&md, "/latest/dynamic/instance-identity/"), "document");
    let doc = body(&md, "/latest/dynamic/instance-identity/document");
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v["instanceId"], md.instance_id);
}

#[test]
fn unknown_paths_are_404_with_html() {
    let md = sample();
    for p in [
        "/latest/meta-data/nope",
        "/latest/meta-data/instance-id/more",
        "/latest/nope",
        "/1999-01-01/meta-data/",
        "/latest/meta-data/network/interfaces/macs/02:ff:ff:ff:ff:ff/",
    ] {
        let r = get(&md, p);
        assert_eq!(r.status, 404, "{p}");
        assert!(String::from_utf8_lossy(&r.body).contains("404 - Not Found"));
    }
    // the query string is ignored
    assert_eq!(
        body(&md, "/latest/meta-data/instance-id?x=1"),
        md.instance_id
    );
}

fn put_token(md: &InstanceMetadata, headers: &[(&str, &str)], now: u64) -> ImdsResponse {
    handle(
        &ImdsRequest::new("PUT", "/latest/api/token", headers),
        Some(md),
        &key(),
        now,
    )
}

#[test]
fn token_put_validates_ttl_and_sets_hop_limit() {
    let mut md = sample();
    md.options.http_put_response_hop_limit = 2;
    let r = put_token(
        &md,
        &[("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
        NOW,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.ip_ttl, Some(2));
    assert_eq!(
        r.header_value("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("21600")
    );
    assert!(!r.body.is_empty());
    for bad in ["0", "21601", "x", ""] {
        let r = put_token(&md, &[("X-aws-ec2-metadata-token-ttl-seconds", bad)], NOW);
        assert_eq!(r.status, 400, "{bad}");
    }
    assert_eq!(put_token(&md, &[], NOW).status, 400);
}

#[test]
fn token_put_through_a_proxy_is_forbidden() {
    let r = put_token(
        &sample(),
        &[
            ("X-aws-ec2-metadata-token-ttl-seconds", "60"),
            ("X-Forwarded-For", "10.0.0.9"),
        ],
        NOW,
    );
    assert_eq!(r.status, 403);
}

#[test]
fn wrong_methods_are_405() {
    let md = sample();
    let r = handle(
        &ImdsRequest::new("GET", "/latest/api/token", &[]),
        Some(&md),
        &key(),
        NOW,
    );
    assert_eq!(r.status, 405);
    let r = handle(
        &ImdsRequest::new("POST", "/latest/meta-data/", &[]),
        Some(&md),
        &key(),
        NOW,
    );
    assert_eq!(r.status, 405);
}

fn get_with(md: &InstanceMetadata, token: Option<&str>, now: u64) -> ImdsResponse {
    let headers: Vec<(&str, &str)> = token
        .map(|t| vec![("X-aws-ec2-metadata-token", t)])
        .unwrap_or_default();
    handle(
        &ImdsRequest::new("GET", "/latest/meta-data/instance-id", &headers),
        Some(md),
        &key(),
        now,
    )
}

#[test]
fn tokens_expire_and_are_checked_even_when_optional() {
    let md = sample();
    let t = String::from_utf8(
        put_token(&md, &[("X-aws-ec2-metadata-token-ttl-seconds", "10")], NOW).body,
    )
    .unwrap();
    let r = get_with(&md, Some(&t), NOW + 3);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header_value("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"),
        Some("7")
    );
    assert_eq!(get_with(&md, Some(&t), NOW + 10).status, 401);
    assert_eq!(get_with(&md, Some("garbage"), NOW).status, 401);
    assert_eq!(get_with(&md, None, NOW).status, 200); // v1 allowed
}

#[test]
fn required_tokens_refuse_v1() {
    let mut md = sample();
    md.options.http_tokens = HttpTokens::Required;
    assert_eq!(get_with(&md, None, NOW).status, 401);
    let t = String::from_utf8(
        put_token(&md, &[("X-aws-ec2-metadata-token-ttl-seconds", "60")], NOW).body,
    )
    .unwrap();
    assert_eq!(get_with(&md, Some(&t), NOW).status, 200);
}

#[test]
fn a_token_is_bound_to_the_instance_that_got_it() {
    let md = sample();
    let t = String::from_utf8(
        put_token(&md, &[("X-aws-ec2-metadata-token-ttl-seconds", "60")], NOW).body,
    )
    .unwrap();
    let mut other = sample();
    other.instance_id = "i-0ffffffffffffffff".into();
    assert_eq!(get_with(&other, Some(&t), NOW).status, 401);
}

#[test]
fn disabled_endpoint_and_unknown_callers_get_404() {
    let mut md = sample();
    md.options.http_endpoint_enabled = false;
    assert_eq!(get(&md, "/latest/meta-data/instance-id").status, 404);
    assert_eq!(
        put_token(&md, &[("X-aws-ec2-metadata-token-ttl-seconds", "60")], NOW).status,
        404
    );
    let r = handle(
        &ImdsRequest::new("GET", "/latest/meta-data/", &[]),
        None,
        &key(),
        NOW,
    );
    assert_eq!(r.status, 404);
}
