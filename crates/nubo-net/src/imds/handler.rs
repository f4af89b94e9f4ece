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
    // render() adds the trailing slash of directories.
    Node::Dir(entries)
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
#[path = "handler_tests.rs"]
pub(crate) mod tests;
