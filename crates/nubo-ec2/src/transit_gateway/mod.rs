//! Transit gateways (model and control plane; nothing forwards packets yet):
//! the gateway and its options ([`gateway`]), VPC attachments
//! ([`attachment`]), transit gateway route tables ([`route_table`]), their
//! associations and propagations ([`propagation`]), static routes and
//! `SearchTransitGatewayRoutes` ([`routes`]), and the pure route planner that
//! derives a table's routes ([`planner`]).
//!
//! Storage: a gateway is a top-level row; its route tables are its children
//! (`parent_id`), so they go with it; a VPC attachment is a child of its VPC,
//! so `DeleteVpc` is refused while one exists, and it holds one private
//! address in each of its subnets (as AWS's attachment interfaces do), so
//! `DeleteSubnet` is refused too. An attachment records its one association;
//! a route table records the attachments propagating into it and its static
//! routes. Propagated routes are never stored: they are computed on every
//! read from the propagations and the attached VPCs' current CIDR blocks.
//!
//! Lifecycles: creations answer `pending` and store `available` (the control
//! plane has nothing to wait for); deletions answer `deleting` and remove the
//! row at once, so a deleted resource is not described afterwards.

pub mod attachment;
pub mod gateway;
pub mod modify;
pub mod planner;
pub mod propagation;
pub mod route_table;
pub mod routes;

use nubo_core::{Error, ResourceId, ResourceKind};
use serde::{Deserialize, Serialize};

/// The `enable`/`disable` value of every transit gateway option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Toggle {
    Enable,
    Disable,
}

impl Toggle {
    pub fn as_str(self) -> &'static str {
        match self {
            Toggle::Enable => "enable",
            Toggle::Disable => "disable",
        }
    }

    pub fn is_enabled(self) -> bool {
        self == Toggle::Enable
    }

    /// Parses the option `name`'s value as AWS spells it.
    pub fn parse(name: &str, value: &str) -> Result<Toggle, Error> {
        match value {
            "enable" => Ok(Toggle::Enable),
            "disable" => Ok(Toggle::Disable),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter {name} is invalid. Valid values: enable, disable"
            ))),
        }
    }
}

/// The creation time AWS reports, in the millisecond ISO-8601 form of the wire.
pub(crate) fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses a transit gateway ID parameter.
pub fn parse_transit_gateway_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::TransitGateway,
        "InvalidTransitGatewayID.Malformed",
    )
}

/// Parses a transit gateway attachment ID parameter.
pub fn parse_attachment_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::TransitGatewayAttachment,
        "InvalidTransitGatewayAttachmentID.Malformed",
    )
}

/// Parses a transit gateway route table ID parameter (AWS answers the same
/// codes as for VPC route tables).
pub fn parse_route_table_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(
        text,
        ResourceKind::TransitGatewayRouteTable,
        "InvalidRouteTableID.Malformed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_told_apart_by_prefix() {
        let tgw = ResourceId::generate(ResourceKind::TransitGateway);
        let attach = ResourceId::generate(ResourceKind::TransitGatewayAttachment);
        let rtb = ResourceId::generate(ResourceKind::TransitGatewayRouteTable);
        assert!(parse_transit_gateway_id(tgw.as_str()).is_ok());
        assert!(parse_attachment_id(attach.as_str()).is_ok());
        assert!(parse_route_table_id(rtb.as_str()).is_ok());
        let code = |r: Result<ResourceId, Error>| match r {
            Err(Error::Client { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(parse_transit_gateway_id(attach.as_str())),
            "InvalidTransitGatewayID.Malformed"
        );
        assert_eq!(
            code(parse_attachment_id(tgw.as_str())),
            "InvalidTransitGatewayAttachmentID.Malformed"
        );
        assert_eq!(
            code(parse_route_table_id("rtb-0123")),
            "InvalidRouteTableID.Malformed"
        );
        assert!(Toggle::parse("dnsSupport", "on").is_err());
        assert_eq!(Toggle::parse("x", "enable"), Ok(Toggle::Enable));
    }
}
