//! VPC peering connections (control plane only; nothing forwards packets
//! yet): `CreateVpcPeeringConnection`, `AcceptVpcPeeringConnection`,
//! `RejectVpcPeeringConnection`, `DeleteVpcPeeringConnection`,
//! `DescribeVpcPeeringConnections`, `ModifyVpcPeeringConnectionOptions`
//! ([`options`]), the connection as a route target, and the peered VPCs'
//! security groups that rules may reference.
//!
//! **Storage across accounts.** A connection is one row in the *requester's*
//! account (its body holds both sides, tags included). When the accepter VPC
//! belongs to another account, a small *link row* in the accepter's account
//! (kind [`LINK_KIND`], ID `<pcx-id>.peer`, body: the owner's account) lets
//! the accepter find it by ID and list it; see [`access`]. Every read goes
//! through those two rows, so "another account's resource answers NotFound"
//! stays true for every account but the two parties. A failed request gets
//! no link row: AWS shows it to the requester only.
//!
//! Both parties see and filter on the connection's tags; only the requester
//! (the row's owner) can change them through `CreateTags`/`DeleteTags`
//! (AWS keeps a tag set per side; Nubo keeps one).
//!
//! States follow [`state`]: a request is stored `pending-acceptance` (the
//! create answer says `initiating-request`) or `failed` when the two VPCs'
//! CIDR blocks overlap or the peer VPC does not exist; `expired` is computed
//! on read from the stored expiration time; finished connections stay
//! visible for AWS's windows, then read as absent (their rows are kept).

pub mod access;
pub mod ops;
pub mod options;
pub mod state;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Error, Ipv4Cidr, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;
pub use state::{Party, PeeringState};

/// The store kind of a link row (not an EC2 resource kind: never listed,
/// tagged or described on its own).
pub const LINK_KIND: &str = "pcx-peer";

/// One side of a connection, as `accepterVpcInfo`/`requesterVpcInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerVpcInfo {
    pub owner_id: AccountId,
    pub vpc_id: ResourceId,
    pub region: String,
    /// The VPC's IPv4 blocks when the request was made, the primary first;
    /// empty when the VPC was not found.
    pub cidr_blocks: Vec<Ipv4Cidr>,
    #[serde(default)]
    pub allow_dns_resolution_from_remote_vpc: bool,
}

/// A VPC peering connection as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcPeeringConnection {
    pub id: ResourceId,
    pub requester: PeerVpcInfo,
    pub accepter: PeerVpcInfo,
    /// The stored state (see [`VpcPeeringConnection::seen_at`] for the one described).
    pub state: PeeringState,
    /// When the state last changed (milliseconds since the epoch).
    pub state_since_ms: i64,
    /// The party that deleted or rejected it.
    #[serde(default)]
    pub acted_by: Option<Party>,
    /// The account that deleted or rejected it (for the status message).
    #[serde(default)]
    pub acted_by_account: Option<AccountId>,
    /// When a pending request expires (milliseconds since the epoch).
    pub expiration_ms: i64,
    #[serde(default)]
    pub tags: TagSet,
}

impl Resource for VpcPeeringConnection {
    const KIND: ResourceKind = ResourceKind::VpcPeeringConnection;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl VpcPeeringConnection {
    /// Which side `account` is on, if any.
    pub fn party(&self, account: &AccountId) -> Option<Party> {
        match (
            &self.requester.owner_id == account,
            &self.accepter.owner_id == account,
        ) {
            (true, true) => Some(Party::Both),
            (true, false) => Some(Party::Requester),
            (false, true) => Some(Party::Accepter),
            (false, false) => None,
        }
    }

    /// The connection as described at `now_ms`: an unanswered request past
    /// its expiration time reads `expired` since that time.
    pub fn seen_at(mut self, now_ms: i64) -> Self {
        let state = state::effective_state(self.state, self.expiration_ms, now_ms);
        if state != self.state {
            self.state = state;
            self.state_since_ms = self.expiration_ms;
        }
        self
    }

    /// Whether `account` still sees it at `now_ms` (call on [`Self::seen_at`]'s result).
    pub fn visible_to(&self, account: &AccountId, now_ms: i64) -> bool {
        self.party(account).is_some_and(|viewer| {
            state::visible_to(
                self.state,
                self.state_since_ms,
                self.acted_by,
                viewer,
                now_ms,
            )
        })
    }

    /// The side whose VPC is `vpc_id` in `account`, if any.
    pub fn side_of(&self, account: &AccountId, vpc_id: &ResourceId) -> Option<&PeerVpcInfo> {
        [&self.requester, &self.accepter]
            .into_iter()
            .find(|s| &s.owner_id == account && &s.vpc_id == vpc_id)
    }

    /// `status.message`, worded as AWS words it.
    pub fn status_message(&self) -> String {
        let actor = self
            .acted_by_account
            .as_ref()
            .map(|a| a.to_string())
            .unwrap_or_default();
        match self.state {
            PeeringState::InitiatingRequest => {
                format!("Initiating Request to {}", self.accepter.owner_id)
            }
            PeeringState::PendingAcceptance => {
                format!("Pending Acceptance by {}", self.accepter.owner_id)
            }
            PeeringState::Active => "Active".into(),
            PeeringState::Rejected => format!("Rejected by {actor}"),
            PeeringState::Deleted => format!("Deleted by {actor}"),
            PeeringState::Failed => {
                "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range".into()
            }
            PeeringState::Expired => "Expired".into(),
        }
    }

    /// `expirationTime` is shown while the request waits for an answer.
    pub fn shows_expiration(&self) -> bool {
        matches!(
            self.state,
            PeeringState::InitiatingRequest | PeeringState::PendingAcceptance
        )
    }
}

/// Whether any block of `a` overlaps any block of `b` (AWS refuses to peer
/// such VPCs: the request fails).
pub fn cidrs_overlap(a: &[Ipv4Cidr], b: &[Ipv4Cidr]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x.overlaps(y)))
}

/// RFC 3339 with milliseconds, as EC2 renders timestamps.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Filterable for VpcPeeringConnection {
    const FILTERS: &'static [&'static str] = &[
        "accepter-vpc-info.cidr-block",
        "accepter-vpc-info.owner-id",
        "accepter-vpc-info.vpc-id",
        "expiration-time",
        "requester-vpc-info.cidr-block",
        "requester-vpc-info.owner-id",
        "requester-vpc-info.vpc-id",
        "status-code",
        "status-message",
        "vpc-peering-connection-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let cidrs = |s: &PeerVpcInfo| s.cidr_blocks.iter().map(|c| c.to_string()).collect();
        match name {
            "accepter-vpc-info.cidr-block" => cidrs(&self.accepter),
            "accepter-vpc-info.owner-id" => vec![self.accepter.owner_id.to_string()],
            "accepter-vpc-info.vpc-id" => vec![self.accepter.vpc_id.to_string()],
            "expiration-time" if self.shows_expiration() => vec![rfc3339(self.expiration_ms)],
            "requester-vpc-info.cidr-block" => cidrs(&self.requester),
            "requester-vpc-info.owner-id" => vec![self.requester.owner_id.to_string()],
            "requester-vpc-info.vpc-id" => vec![self.requester.vpc_id.to_string()],
            "status-code" => vec![self.state.as_str().to_string()],
            "status-message" => vec![self.status_message()],
            "vpc-peering-connection-id" => vec![self.id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Parses and validates a peering connection ID parameter.
pub fn parse_vpc_peering_connection_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::VpcPeeringConnection,
        "InvalidVpcPeeringConnectionID.Malformed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::filter::{self, Filter};

    fn side(account: &str, cidrs: &[&str]) -> PeerVpcInfo {
        PeerVpcInfo {
            owner_id: AccountId::parse(account).unwrap(),
            vpc_id: ResourceId::generate(ResourceKind::Vpc),
            region: "us-east-1".into(),
            cidr_blocks: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
            allow_dns_resolution_from_remote_vpc: false,
        }
    }

    fn pending(requester: PeerVpcInfo, accepter: PeerVpcInfo) -> VpcPeeringConnection {
        VpcPeeringConnection {
            id: ResourceId::generate(ResourceKind::VpcPeeringConnection),
            requester,
            accepter,
            state: PeeringState::PendingAcceptance,
            state_since_ms: 0,
            acted_by: None,
            acted_by_account: None,
            expiration_ms: state::EXPIRY_MS,
            tags: TagSet::new(),
        }
    }

    #[test]
    fn overlapping_blocks_are_found_in_any_pair() {
        let a: Vec<Ipv4Cidr> = vec![
            "10.0.0.0/16".parse().unwrap(),
            "10.5.0.0/16".parse().unwrap(),
        ];
        let b: Vec<Ipv4Cidr> = vec!["10.1.0.0/16".parse().unwrap()];
        let c: Vec<Ipv4Cidr> = vec!["10.5.128.0/17".parse().unwrap()];
        assert!(!cidrs_overlap(&a, &b));
        assert!(cidrs_overlap(&a, &c));
        assert!(cidrs_overlap(&a, &a));
        assert!(!cidrs_overlap(&a, &[]));
    }

    #[test]
    fn a_stale_request_reads_expired_and_filters_on_what_is_seen() {
        let c = pending(
            side("111111111111", &["10.0.0.0/16"]),
            side("222222222222", &["10.1.0.0/16"]),
        );
        let status = |v: &str| {
            [Filter {
                name: "status-code".into(),
                values: vec![v.into()],
            }]
        };
        let now = c.clone().seen_at(state::EXPIRY_MS - 1);
        assert!(filter::matches(&now, &status("pending-acceptance")));
        assert_eq!(now.status_message(), "Pending Acceptance by 222222222222");
        let later = c.seen_at(state::EXPIRY_MS + 1);
        assert!(filter::matches(&later, &status("expired")));
        assert!(later.filter_values("expiration-time").is_empty());
        let third = AccountId::parse("333333333333").unwrap();
        assert!(!later.visible_to(&third, state::EXPIRY_MS + 1));
        assert!(later.visible_to(&later.accepter.owner_id.clone(), state::EXPIRY_MS + 1));
    }

    #[test]
    fn parties_and_sides_follow_accounts() {
        let c = pending(
            side("111111111111", &["10.0.0.0/16"]),
            side("111111111111", &["10.1.0.0/16"]),
        );
        let a = c.requester.owner_id.clone();
        assert_eq!(c.party(&a), Some(Party::Both));
        assert_eq!(c.side_of(&a, &c.accepter.vpc_id), Some(&c.accepter));
        assert_eq!(
            c.side_of(&a, &ResourceId::generate(ResourceKind::Vpc)),
            None
        );
        assert!(parse_vpc_peering_connection_id(c.id.as_str()).is_ok());
        assert!(matches!(
            parse_vpc_peering_connection_id("pcx-nothex"),
            Err(Error::Client {
                code: "InvalidVpcPeeringConnectionID.Malformed",
                ..
            })
        ));
    }
}
