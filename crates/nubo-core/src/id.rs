//! Typed identifiers: account IDs and EC2-style resource IDs (`vpc-0a1b…`).

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The reserved account that owns the installation's own resources (its base
/// images). It has no account row and so no credentials; generated account
/// IDs never start with 0, and account creation refuses this one.
pub const SYSTEM_ACCOUNT_ID: &str = "000000000000";

/// A 12-digit AWS account ID; every account is a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Validates a 12-digit account ID.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(Error::invalid(format!(
                "Invalid account ID '{s}': an account ID is 12 digits"
            )))
        }
    }

    /// A fresh random account ID (never starting with 0, so it stays 12 digits as a number).
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        let first: u8 = rng.gen_range(1..=9);
        let rest: String = (0..11)
            .map(|_| char::from(b'0' + rng.gen_range(0..=9u8)))
            .collect();
        AccountId(format!("{first}{rest}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every kind of EC2 resource Nubo knows, with its ID prefix and the
/// `resource-type` name AWS uses in `DescribeTags` and `TagSpecification`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceKind {
    Vpc,
    VpcCidrAssociation,
    Subnet,
    RouteTable,
    RouteTableAssociation,
    InternetGateway,
    NatGateway,
    ElasticIp,
    ElasticIpAssociation,
    SecurityGroup,
    SecurityGroupRule,
    NetworkAcl,
    NetworkInterface,
    VpcPeeringConnection,
    TransitGateway,
    TransitGatewayAttachment,
    TransitGatewayRouteTable,
    FlowLog,
    Instance,
    Image,
    KeyPair,
    Volume,
    Snapshot,
}

impl ResourceKind {
    /// All kinds, for lookups by prefix or by resource-type name.
    pub const ALL: [ResourceKind; 23] = [
        ResourceKind::Vpc,
        ResourceKind::VpcCidrAssociation,
        ResourceKind::Subnet,
        ResourceKind::RouteTable,
        ResourceKind::RouteTableAssociation,
        ResourceKind::InternetGateway,
        ResourceKind::NatGateway,
        ResourceKind::ElasticIp,
        ResourceKind::ElasticIpAssociation,
        ResourceKind::SecurityGroup,
        ResourceKind::SecurityGroupRule,
        ResourceKind::NetworkAcl,
        ResourceKind::NetworkInterface,
        ResourceKind::VpcPeeringConnection,
        ResourceKind::TransitGateway,
        ResourceKind::TransitGatewayAttachment,
        ResourceKind::TransitGatewayRouteTable,
        ResourceKind::FlowLog,
        ResourceKind::Instance,
        ResourceKind::Image,
        ResourceKind::KeyPair,
        ResourceKind::Volume,
        ResourceKind::Snapshot,
    ];

    /// The ID prefix, without the dash (`vpc`, `subnet`, `eipalloc`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            ResourceKind::Vpc => "vpc",
            ResourceKind::VpcCidrAssociation => "vpc-cidr-assoc",
            ResourceKind::Subnet => "subnet",
            ResourceKind::RouteTable => "rtb",
            ResourceKind::RouteTableAssociation => "rtbassoc",
            ResourceKind::InternetGateway => "igw",
            ResourceKind::NatGateway => "nat",
            ResourceKind::ElasticIp => "eipalloc",
            ResourceKind::ElasticIpAssociation => "eipassoc",
            ResourceKind::SecurityGroup => "sg",
            ResourceKind::SecurityGroupRule => "sgr",
            ResourceKind::NetworkAcl => "acl",
            ResourceKind::NetworkInterface => "eni",
            ResourceKind::VpcPeeringConnection => "pcx",
            ResourceKind::TransitGateway => "tgw",
            ResourceKind::TransitGatewayAttachment => "tgw-attach",
            ResourceKind::TransitGatewayRouteTable => "tgw-rtb",
            ResourceKind::FlowLog => "fl",
            ResourceKind::Instance => "i",
            ResourceKind::Image => "ami",
            ResourceKind::KeyPair => "key",
            ResourceKind::Volume => "vol",
            ResourceKind::Snapshot => "snap",
        }
    }

    /// The `resource-type` name used by `DescribeTags` and `TagSpecification`.
    pub fn type_name(self) -> &'static str {
        match self {
            ResourceKind::Vpc => "vpc",
            ResourceKind::VpcCidrAssociation => "vpc-cidr-association",
            ResourceKind::Subnet => "subnet",
            ResourceKind::RouteTable => "route-table",
            ResourceKind::RouteTableAssociation => "route-table-association",
            ResourceKind::InternetGateway => "internet-gateway",
            ResourceKind::NatGateway => "natgateway",
            ResourceKind::ElasticIp => "elastic-ip",
            ResourceKind::ElasticIpAssociation => "elastic-ip-association",
            ResourceKind::SecurityGroup => "security-group",
            ResourceKind::SecurityGroupRule => "security-group-rule",
            ResourceKind::NetworkAcl => "network-acl",
            ResourceKind::NetworkInterface => "network-interface",
            ResourceKind::VpcPeeringConnection => "vpc-peering-connection",
            ResourceKind::TransitGateway => "transit-gateway",
            ResourceKind::TransitGatewayAttachment => "transit-gateway-attachment",
            ResourceKind::TransitGatewayRouteTable => "transit-gateway-route-table",
            ResourceKind::FlowLog => "vpc-flow-log",
            ResourceKind::Instance => "instance",
            ResourceKind::Image => "image",
            ResourceKind::KeyPair => "key-pair",
            ResourceKind::Volume => "volume",
            ResourceKind::Snapshot => "snapshot",
        }
    }

    /// The AWS error code for an ID of this kind that does not exist.
    pub fn not_found_code(self) -> &'static str {
        match self {
            ResourceKind::Vpc => "InvalidVpcID.NotFound",
            ResourceKind::VpcCidrAssociation => "InvalidVpcCidrBlockAssociationID.NotFound",
            ResourceKind::Subnet => "InvalidSubnetID.NotFound",
            ResourceKind::RouteTable => "InvalidRouteTableID.NotFound",
            ResourceKind::RouteTableAssociation => "InvalidAssociationID.NotFound",
            ResourceKind::InternetGateway => "InvalidInternetGatewayID.NotFound",
            ResourceKind::NatGateway => "NatGatewayNotFound",
            ResourceKind::ElasticIp => "InvalidAllocationID.NotFound",
            ResourceKind::ElasticIpAssociation => "InvalidAssociationID.NotFound",
            ResourceKind::SecurityGroup => "InvalidGroup.NotFound",
            ResourceKind::SecurityGroupRule => "InvalidSecurityGroupRuleId.NotFound",
            ResourceKind::NetworkAcl => "InvalidNetworkAclID.NotFound",
            ResourceKind::NetworkInterface => "InvalidNetworkInterfaceID.NotFound",
            ResourceKind::VpcPeeringConnection => "InvalidVpcPeeringConnectionID.NotFound",
            ResourceKind::TransitGateway => "InvalidTransitGatewayID.NotFound",
            ResourceKind::TransitGatewayAttachment => "InvalidTransitGatewayAttachmentID.NotFound",
            ResourceKind::TransitGatewayRouteTable => "InvalidRouteTableID.NotFound",
            ResourceKind::FlowLog => "InvalidFlowLogId.NotFound",
            ResourceKind::Instance => "InvalidInstanceID.NotFound",
            ResourceKind::Image => "InvalidAMIID.NotFound",
            ResourceKind::KeyPair => "InvalidKeyPair.NotFound",
            ResourceKind::Volume => "InvalidVolume.NotFound",
            ResourceKind::Snapshot => "InvalidSnapshot.NotFound",
        }
    }

    /// The kind whose `resource-type` name is `name`.
    pub fn from_type_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.type_name() == name)
    }

    /// The kind of a resource ID, judged by its prefix (longest prefix wins,
    /// so `tgw-attach-…` is an attachment, not a transit gateway).
    pub fn of_id(id: &str) -> Option<Self> {
        let (prefix, suffix) = id.rsplit_once('-')?;
        // AWS IDs carry 8 (older resources) or 17 hex digits; anything else
        // is malformed, not merely unknown.
        if !matches!(suffix.len(), 8 | 17) || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Self::ALL.into_iter().find(|k| k.prefix() == prefix)
    }
}

/// An EC2-style resource ID such as `vpc-0123456789abcdef0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceId(String);

impl ResourceId {
    /// A fresh ID of `kind`: the prefix, a dash and 17 lowercase hex digits, as AWS does.
    pub fn generate(kind: ResourceKind) -> Self {
        let mut rng = rand::thread_rng();
        let hex: String = (0..17)
            .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
            .collect();
        ResourceId(format!("{}-{hex}", kind.prefix()))
    }

    /// Wraps an ID that must be of `kind`; `code` is the AWS error code for a
    /// malformed ID of that kind (e.g. `InvalidVpcID.Malformed`).
    pub fn parse(s: &str, kind: ResourceKind, code: &'static str) -> Result<Self, Error> {
        match ResourceKind::of_id(s) {
            Some(k) if k == kind => Ok(ResourceId(s.to_string())),
            _ => Err(Error::client(code, format!("Invalid id: \"{s}\""))),
        }
    }

    /// Wraps a stored ID without validation (for values read back from the store).
    pub fn from_stored(s: impl Into<String>) -> Self {
        ResourceId(s.into())
    }

    pub fn kind(&self) -> Option<ResourceKind> {
        ResourceKind::of_id(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_round_trip_their_kind() {
        for kind in ResourceKind::ALL {
            let id = ResourceId::generate(kind);
            assert_eq!(id.kind(), Some(kind), "{id}");
            assert_eq!(id.as_str().len(), kind.prefix().len() + 18);
        }
    }

    #[test]
    fn malformed_ids_are_rejected_with_the_given_code() {
        let err =
            ResourceId::parse("vpc-xyz", ResourceKind::Vpc, "InvalidVpcID.Malformed").unwrap_err();
        assert!(matches!(
            err,
            Error::Client {
                code: "InvalidVpcID.Malformed",
                ..
            }
        ));
        assert!(ResourceId::parse("subnet-0123", ResourceKind::Vpc, "X").is_err());
        assert!(ResourceId::parse("vpc-0123abcd", ResourceKind::Vpc, "X").is_ok());
        assert!(ResourceId::parse("vpc-0123456789abcdef0", ResourceKind::Vpc, "X").is_ok());
        // AWS IDs have 8 or 17 hex digits; other lengths are malformed.
        for bad in [
            "vpc-0123abc",
            "vpc-0123abcde",
            "vpc-0123456789abcdef",
            "vpc-",
        ] {
            assert!(
                ResourceId::parse(bad, ResourceKind::Vpc, "X").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("123456789012").is_ok());
        assert!(AccountId::parse("12345678901").is_err());
        assert!(AccountId::parse("12345678901a").is_err());
        let generated = AccountId::generate();
        assert!(AccountId::parse(generated.as_str()).is_ok());
    }
}
