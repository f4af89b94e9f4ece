//! The IMDS request handler: a pure function from (request, the caller's
//! metadata, the token key, now) to a response, following EC2's behaviour:
//!
//! - `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` in
//!   1..=21600 → 200 and a token (400 when the TTL is missing or out of range;
//!   403 when the request carries `X-Forwarded-For`, i.e. came through a proxy;
//!   405 for any other method). The response is sent with the instance's
//!   `HttpPutResponseHopLimit` as IP TTL ([`ImdsResponse::ip_ttl`]).
//! - Any other request must be GET (or HEAD; 405 otherwise). A request with
//!   `X-aws-ec2-metadata-token` is answered only when the token is valid, not
//!   expired and was issued to this instance (401 otherwise, even when tokens
//!   are optional); without a token it is answered only when `HttpTokens` is
//!   `optional` (401 otherwise).
//! - Directories list their entries one per line, subdirectories with a
//!   trailing `/`; a directory is listed with or without the trailing slash.
//!   Unknown paths are 404 with EC2's HTML page.
//! - An instance whose `HttpEndpoint` is disabled, or a caller that is no known
//!   instance, gets 404 for everything (the VPC's listener is shared, so the
//!   connection itself cannot be refused per instance).

use super::document::identity_document;
use super::token::{self, TokenKey};
use super::{HttpTokens, InstanceMetadata};

pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";

/// The metadata versions EC2 lists at `/`; each is served like `latest`.
pub const VERSIONS: &[&str] = &[
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
    "2011-01-01",
    "2011-05-01",
    "2012-01-12",
    "2014-02-25",
    "2014-11-05",
    "2015-10-20",
    "2016-04-19",
    "2016-06-30",
    "2016-09-02",
    "2018-03-28",
    "2018-08-17",
    "2018-09-24",
    "2019-10-01",
    "2020-10-27",
    "2021-01-03",
    "2021-03-23",
    "2021-07-15",
    "2022-09-24",
    "latest",
];

/// A request as the handler sees it.
#[derive(Debug, Clone, Default)]
pub struct ImdsRequest {
    pub method: String,
    /// Path and optional query (`/latest/meta-data/?x` → the query is ignored).
    pub path: String,
    /// Header names in any case.
    pub headers: Vec<(String, String)>,
}

impl ImdsRequest {
    pub fn new(method: &str, path: &str, headers: &[(&str, &str)]) -> Self {
        ImdsRequest {
            method: method.to_string(),
            path: path.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer, plus the IP TTL to send it with (the token PUT's hop limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdsResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub ip_ttl: Option<u8>,
}

impl ImdsResponse {
    fn text(status: u16, body: impl Into<Vec<u8>>) -> Self {
        ImdsResponse {
            status,
            headers: vec![
                ("Content-Type".into(), "text/plain".into()),
                ("Server".into(), "EC2ws".into()),
            ],
            body: body.into(),
            ip_ttl: None,
        }
    }

    fn error(status: u16) -> Self {
        let reason = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            _ => "Error",
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n\
             <!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\
             \t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n \
             <head>\n  <title>{status} - {reason}</title>\n </head>\n \
             <body>\n  <h1>{status} - {reason}</h1>\n </body>\n</html>\n"
        );
        let mut r = ImdsResponse::text(status, body);
        r.headers[0].1 = "text/html".into();
        r
    }

    fn header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }

    /// A header's value (first match, any case).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A node of the metadata tree.
enum Node {
    Leaf(Vec<u8>),
    /// (name, how the parent lists it, node)
    Dir(Vec<(String, String, Node)>),
}

fn leaf(v: impl Into<Vec<u8>>) -> Node {
    Node::Leaf(v.into())
}

fn lines<T: ToString>(items: &[T]) -> Vec<u8> {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// Builds a directory where each entry is listed by its name.
fn dir(entries: Vec<(&str, Node)>) -> Node {
    Node::Dir(
        entries
            .into_iter()
            .map(|(n, node)| (n.to_string(), n.to_string(), node))
            .collect(),
    )
}

fn interface_node(md: &InstanceMetadata, i: &super::InterfaceMetadata) -> Node {
    let mut e: Vec<(&str, Node)> = vec![
        ("device-number", leaf(i.device_number.to_string())),
        ("interface-id", leaf(i.interface_id.clone())),
    ];
    if let Some(public) = i.public_ipv4s.first() {
        let private = i
            .local_ipv4s
            .first()
            .map(|p| p.to_string())
            .unwrap_or_default();
        e.push((
            "ipv4-associations",
            Node::Dir(vec![(
                public.to_string(),
                public.to_string(),
                leaf(private),
            )]),
        ));
    }
    e.push(("local-hostname", leaf(i.local_hostname.clone())));
    e.push(("local-ipv4s", leaf(lines(&i.local_ipv4s))));
    e.push(("mac", leaf(i.mac.clone())));
    e.push(("owner-id", leaf(i.owner_id.clone())));
    if !i.public_ipv4s.is_empty() {
        if let (0, Some(h)) = (i.device_number, &md.public_hostname) {
            e.push(("public-hostname", leaf(h.clone())));
        }
        e.push(("public-ipv4s", leaf(lines(&i.public_ipv4s))));
    }
    e.push(("security-group-ids", leaf(lines(&i.security_group_ids))));
    e.push(("security-groups", leaf(lines(&i.security_groups))));
    e.push(("subnet-id", leaf(i.subnet_id.clone())));
    e.push((
        "subnet-ipv4-cidr-block",
        leaf(i.subnet_ipv4_cidr_block.clone()),
    ));
    e.push(("vpc-id", leaf(i.vpc_id.clone())));
    e.push((
        "vpc-ipv4-cidr-block",
        leaf(i.vpc_ipv4_cidr_blocks.first().cloned().unwrap_or_default()),
    ));
    e.push(("vpc-ipv4-cidr-blocks", leaf(lines(&i.vpc_ipv4_cidr_blocks))));
    dir(e)
}

fn meta_data(md: &InstanceMetadata) -> Node {
    let bdm = Node::Dir(
        md.block_device_mapping
            .iter()
            .map(|(n, d)| (n.clone(), n.clone(), leaf(d.clone())))
            .collect(),
    );
    let macs = Node::Dir(
        md.interfaces
            .iter()
            .map(|i| (i.mac.clone(), format!("{}/", i.mac), interface_node(md, i)))
            .collect(),
    );
    let network = dir(vec![("interfaces", dir(vec![("macs", macs)]))]);
    let placement = dir(vec![
        ("availability-zone", leaf(md.availability_zone.clone())),
        ("region", leaf(md.region.clone())),
    ]);
    let mut e: Vec<(&str, Node)> = vec![
        ("ami-id", leaf(md.ami_id.clone())),
        ("ami-launch-index", leaf(md.ami_launch_index.to_string())),
        ("ami-manifest-path", leaf("(unknown)")),
        ("block-device-mapping", bdm),
        ("hostname", leaf(md.local_hostname.clone())),
        ("instance-action", leaf("none")),
        ("instance-id", leaf(md.instance_id.clone())),
        ("instance-life-cycle", leaf("on-demand")),
        ("instance-type", leaf(md.instance_type.clone())),
        ("local-hostname", leaf(md.local_hostname.clone())),
        ("local-ipv4", leaf(md.local_ipv4.to_string())),
        ("mac", leaf(md.mac.clone())),
        ("network", network),
        ("placement", placement),
        ("profile", leaf("default-hvm")),
    ];
    if let Some(h) = &md.public_hostname {
        e.push(("public-hostname", leaf(h.clone())));
    }
    if let Some(ip) = md.public_ipv4 {
        e.push(("public-ipv4", leaf(ip.to_string())));
    }
    let mut entries: Vec<(String, String, Node)> = e
        .into_iter()
        .map(|(n, node)| (n.to_string(), n.to_string(), node))
        .collect();
    if !md.public_keys.is_empty() {
        let keys = Node::Dir(
            md.public_keys
                .iter()
                .enumerate()
                .map(|(i, (name, key))| {
                    (
                        i.to_string(),
                        format!("{i}={name}"),
                        dir(vec![("openssh-key", leaf(key.clone()))]),
                    )
                })
                .collect(),
        );
        entries.push(("public-keys".into(), "public-keys/".into(), keys));
    }
    entries.push((
        "reservation-id".into(),
        "reservation-id".into(),
        leaf(md.reservation_id.clone()),
    ));
    entries.push((
        "security-groups".into(),
        "security-groups".into(),
        leaf(lines(&md.security_groups)),
    ));
    entries.push((
        "services".into(),
        "services/".into(),
        dir(vec![
            ("domain", leaf("amazonaws.com")),
            ("partition", leaf("aws")),
        ]),
    ));
    if md.options.instance_metadata_tags {
        let tags = Node::Dir(
            md.tags
                .iter()
                .filter(|(k, _)| !k.contains('/') && !k.is_empty())
                .map(|(k, v)| (k.clone(), k.clone(), leaf(v.clone())))
                .collect(),
        );
        entries.push(("tags".into(), "tags/".into(), dir(vec![("instance", tags)])));
    }
    // Directories are listed with a trailing slash.
    Node::Dir(
        entries
            .into_iter()
            .map(|(n, listed, node)| {
                let listed = match (&node, listed.ends_with('/')) {
                    (Node::Dir(_), false) => format!("{listed}/"),
                    _ => listed,
                };
                (n, listed, node)
            })
            .collect(),
    )
}

fn version_root(md: &InstanceMetadata) -> Node {
    let dynamic = dir(vec![(
        "instance-identity",
        dir(vec![("document", leaf(identity_document(md)))]),
    )]);
    let mut entries = vec![
        ("dynamic".to_string(), "dynamic".to_string(), dynamic),
        (
            "meta-data".to_string(),
            "meta-data".to_string(),
            meta_data(md),
        ),
    ];
    if let Some(ud) = &md.user_data {
        entries.push(("user-data".into(), "user-data".into(), leaf(ud.clone())));
    }
    Node::Dir(entries)
}

fn render(node: &Node) -> Vec<u8> {
    match node {
        Node::Leaf(v) => v.clone(),
        Node::Dir(entries) => {
            let names: Vec<String> = entries
                .iter()
                .map(|(_, listed, n)| match n {
                    Node::Dir(_) if !listed.ends_with('/') && !listed.contains('=') => {
                        format!("{listed}/")
                    }
                    _ => listed.clone(),
                })
                .collect();
            names.join("\n").into_bytes()
        }
    }
}

fn walk<'a>(mut node: &'a Node, segments: &[&str]) -> Option<&'a Node> {
    for seg in segments {
        match node {
            Node::Dir(entries) => node = &entries.iter().find(|(n, _, _)| n == seg)?.2,
            Node::Leaf(_) => return None,
        }
    }
    Some(node)
}

/// Answers one request. `md` is the caller's metadata (`None`: not an instance
/// of this VPC on this host); `now` is Unix seconds.
pub fn handle(
    req: &ImdsRequest,
    md: Option<&InstanceMetadata>,
    key: &TokenKey,
    now: u64,
) -> ImdsResponse {
    let Some(md) = md.filter(|m| m.options.http_endpoint_enabled) else {
        return ImdsResponse::error(404);
    };
    let path = req.path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is_token_path = segments.len() == 3
        && VERSIONS.contains(&segments[0])
        && segments[1] == "api"
        && segments[2] == "token";
    if is_token_path {
        if req.method != "PUT" {
            return ImdsResponse::error(405).header("Allow", "OPTIONS, PUT".into());
        }
        if req.header("x-forwarded-for").is_some() {
            return ImdsResponse::error(403);
        }
        let Some(ttl) = req.header(TTL_HEADER).and_then(token::parse_ttl) else {
            return ImdsResponse::error(400);
        };
        let mut r = ImdsResponse::text(200, token::issue(key, &md.instance_id, now, ttl))
            .header("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl.to_string());
        r.ip_ttl = Some(md.options.http_put_response_hop_limit.max(1));
        return r;
    }
    if req.method != "GET" && req.method != "HEAD" {
        return ImdsResponse::error(405).header("Allow", "OPTIONS, GET, HEAD".into());
    }
    let remaining = match req.header(TOKEN_HEADER) {
        Some(t) => match token::verify(key, t, &md.instance_id, now) {
            Ok(left) => Some(left),
            Err(_) => return ImdsResponse::error(401),
        },
        None if md.options.http_tokens == HttpTokens::Required => return ImdsResponse::error(401),
        None => None,
    };
    let with_ttl = |r: ImdsResponse| match remaining {
        Some(left) => r.header("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", left.to_string()),
        None => r,
    };
    let Some((version, rest)) = segments.split_first() else {
        return with_ttl(ImdsResponse::text(200, VERSIONS.join("\n")));
    };
    if !VERSIONS.contains(version) {
        return with_ttl(ImdsResponse::error(404));
    }
    let root = version_root(md);
    match walk(&root, rest) {
        Some(node) => {
            let mut r = ImdsResponse::text(200, render(node));
            if rest == ["user-data"] {
                r.headers[0].1 = "application/octet-stream".into();
            }
            with_ttl(r)
        }
        None => with_ttl(ImdsResponse::error(404)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
}
