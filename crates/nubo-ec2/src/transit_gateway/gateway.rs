//! The transit gateway itself: its options (with AWS's defaults), its
//! lifecycle, the filters `DescribeTransitGateways` understands, and
//! `CreateTransitGateway`, `DescribeTransitGateways`,
//! `DeleteTransitGateway`.
//!
//! `CreateTransitGateway` creates, in the same transaction, the default route
//! table when default association or propagation is enabled (AWS's
//! `AssociationDefaultRouteTableId`/`PropagationDefaultRouteTableId`).
//! `DeleteTransitGateway` is refused with `IncorrectState` while any
//! attachment exists, and deletes the gateway's route tables with it.

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::{AccountId, Error, Ipv4Cidr, ResourceId, ResourceKind, Tag, TagSet};
use serde::{Deserialize, Serialize};

use super::attachment::attachments_of_gateway_in_tx;
use super::route_table::{tables_of_gateway_in_tx, TransitGatewayRouteTable};
use super::{now_timestamp, Toggle};
use crate::resource::{
    self, get_in_tx, new_row, store_err, tags_for, Ec2Service, RequestScope, Resource, Versioned,
};
use crate::retry::with_retry;

/// AWS's default private ASN for the Amazon side of a transit gateway.
pub const DEFAULT_AMAZON_SIDE_ASN: i64 = 64512;
/// At most this many `TransitGatewayCidrBlocks`.
pub const MAX_CIDR_BLOCKS: usize = 5;

/// A transit gateway's lifecycle, as AWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransitGatewayState {
    Pending,
    Available,
    Modifying,
    Deleting,
    Deleted,
}

impl TransitGatewayState {
    pub const ALL: [TransitGatewayState; 5] = [
        TransitGatewayState::Pending,
        TransitGatewayState::Available,
        TransitGatewayState::Modifying,
        TransitGatewayState::Deleting,
        TransitGatewayState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransitGatewayState::Pending => "pending",
            TransitGatewayState::Available => "available",
            TransitGatewayState::Modifying => "modifying",
            TransitGatewayState::Deleting => "deleting",
            TransitGatewayState::Deleted => "deleted",
        }
    }

    /// Whether a gateway may move from `self` to `next`.
    pub fn can_become(self, next: TransitGatewayState) -> bool {
        use TransitGatewayState::*;
        match self {
            Pending => matches!(next, Available | Deleting),
            Available => matches!(next, Modifying | Deleting),
            Modifying => matches!(next, Available),
            Deleting => matches!(next, Deleted),
            Deleted => match next {
                Pending | Available | Modifying | Deleting | Deleted => false,
            },
        }
    }
}

/// The `TransitGatewayOptions` shape, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGatewayOptions {
    pub amazon_side_asn: i64,
    pub auto_accept_shared_attachments: Toggle,
    pub default_route_table_association: Toggle,
    pub association_default_route_table_id: Option<ResourceId>,
    pub default_route_table_propagation: Toggle,
    pub propagation_default_route_table_id: Option<ResourceId>,
    pub vpn_ecmp_support: Toggle,
    pub dns_support: Toggle,
    pub security_group_referencing_support: Toggle,
    pub multicast_support: Toggle,
    pub transit_gateway_cidr_blocks: Vec<Ipv4Cidr>,
}

/// The `TransitGatewayRequestOptions` of `CreateTransitGateway`, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransitGatewayRequestOptions {
    pub amazon_side_asn: Option<i64>,
    pub auto_accept_shared_attachments: Option<Toggle>,
    pub default_route_table_association: Option<Toggle>,
    pub default_route_table_propagation: Option<Toggle>,
    pub vpn_ecmp_support: Option<Toggle>,
    pub dns_support: Option<Toggle>,
    pub security_group_referencing_support: Option<Toggle>,
    pub multicast_support: Option<Toggle>,
    pub transit_gateway_cidr_blocks: Vec<String>,
}

/// AWS's private ASN ranges for the Amazon side.
pub fn validate_asn(asn: i64) -> Result<i64, Error> {
    if (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn) {
        Ok(asn)
    } else {
        Err(Error::invalid(format!(
            "Value ({asn}) for parameter amazonSideAsn is invalid. The ASN must be in the range 64512-65534 or 4200000000-4294967294."
        )))
    }
}

/// Parses `TransitGatewayCidrBlocks`: IPv4 blocks of /24 or larger that do not
/// overlap each other (IPv6 blocks are not offered).
pub fn parse_cidr_blocks(texts: &[String]) -> Result<Vec<Ipv4Cidr>, Error> {
    if texts.len() > MAX_CIDR_BLOCKS {
        return Err(Error::invalid(format!(
            "A transit gateway can have at most {MAX_CIDR_BLOCKS} CIDR blocks."
        )));
    }
    let mut blocks: Vec<Ipv4Cidr> = Vec::with_capacity(texts.len());
    for text in texts {
        let cidr: Ipv4Cidr = text.parse().map_err(|_| {
            Error::invalid(format!(
                "Value ({text}) for parameter transitGatewayCidrBlocks is invalid. This is not a valid IPv4 CIDR block."
            ))
        })?;
        if cidr.prefix() > 24 {
            return Err(Error::invalid(format!(
                "Value ({text}) for parameter transitGatewayCidrBlocks is invalid. An IPv4 block must be /24 or larger."
            )));
        }
        if let Some(other) = blocks.iter().find(|b| b.overlaps(&cidr)) {
            return Err(Error::invalid(format!(
                "Transit gateway CIDR block {cidr} overlaps {other}."
            )));
        }
        blocks.push(cidr);
    }
    Ok(blocks)
}

impl TransitGatewayOptions {
    /// The options a gateway gets from a request: AWS's defaults (ASN 64512,
    /// default association, propagation, VPN ECMP and DNS support enabled;
    /// auto-accept, security group referencing and multicast disabled) where
    /// the request is silent. The default table IDs are filled in by the
    /// creation. Pure, for unit tests.
    pub fn from_request(r: &TransitGatewayRequestOptions) -> Result<Self, Error> {
        Ok(TransitGatewayOptions {
            amazon_side_asn: validate_asn(r.amazon_side_asn.unwrap_or(DEFAULT_AMAZON_SIDE_ASN))?,
            auto_accept_shared_attachments: r
                .auto_accept_shared_attachments
                .unwrap_or(Toggle::Disable),
            default_route_table_association: r
                .default_route_table_association
                .unwrap_or(Toggle::Enable),
            association_default_route_table_id: None,
            default_route_table_propagation: r
                .default_route_table_propagation
                .unwrap_or(Toggle::Enable),
            propagation_default_route_table_id: None,
            vpn_ecmp_support: r.vpn_ecmp_support.unwrap_or(Toggle::Enable),
            dns_support: r.dns_support.unwrap_or(Toggle::Enable),
            security_group_referencing_support: r
                .security_group_referencing_support
                .unwrap_or(Toggle::Disable),
            multicast_support: r.multicast_support.unwrap_or(Toggle::Disable),
            transit_gateway_cidr_blocks: parse_cidr_blocks(&r.transit_gateway_cidr_blocks)?,
        })
    }

    /// Whether any default route table is wanted.
    pub fn wants_default_table(&self) -> bool {
        self.default_route_table_association.is_enabled()
            || self.default_route_table_propagation.is_enabled()
    }
}

/// A transit gateway as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGateway {
    pub id: ResourceId,
    pub arn: String,
    pub owner_id: AccountId,
    pub description: Option<String>,
    pub state: TransitGatewayState,
    pub creation_time: String,
    pub options: TransitGatewayOptions,
    #[serde(default)]
    pub tags: TagSet,
}

impl Resource for TransitGateway {
    const KIND: ResourceKind = ResourceKind::TransitGateway;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for TransitGateway {
    const FILTERS: &'static [&'static str] = &[
        "options.propagation-default-route-table-id",
        "options.amazon-side-asn",
        "options.association-default-route-table-id",
        "options.auto-accept-shared-attachments",
        "options.default-route-table-association",
        "options.default-route-table-propagation",
        "options.dns-support",
        "options.vpn-ecmp-support",
        "owner-id",
        "state",
        "transit-gateway-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let o = &self.options;
        let id = |v: &Option<ResourceId>| v.iter().map(|i| i.to_string()).collect();
        match name {
            "options.propagation-default-route-table-id" => {
                id(&o.propagation_default_route_table_id)
            }
            "options.amazon-side-asn" => vec![o.amazon_side_asn.to_string()],
            "options.association-default-route-table-id" => {
                id(&o.association_default_route_table_id)
            }
            "options.auto-accept-shared-attachments" => {
                vec![o.auto_accept_shared_attachments.as_str().into()]
            }
            "options.default-route-table-association" => {
                vec![o.default_route_table_association.as_str().into()]
            }
            "options.default-route-table-propagation" => {
                vec![o.default_route_table_propagation.as_str().into()]
            }
            "options.dns-support" => vec![o.dns_support.as_str().into()],
            "options.vpn-ecmp-support" => vec![o.vpn_ecmp_support.as_str().into()],
            "owner-id" => vec![self.owner_id.to_string()],
            "state" => vec![self.state.as_str().into()],
            "transit-gateway-id" => vec![self.id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Validated input of `CreateTransitGateway`.
#[derive(Debug, Clone, Default)]
pub struct CreateTransitGateway {
    pub description: Option<String>,
    pub options: TransitGatewayRequestOptions,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

impl Ec2Service {
    pub async fn create_transit_gateway(
        &self,
        scope: &RequestScope,
        input: CreateTransitGateway,
    ) -> Result<TransitGateway, Error> {
        with_retry(|| self.create_transit_gateway_once(scope, &input)).await
    }

    pub async fn delete_transit_gateway(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<TransitGateway, Error> {
        with_retry(|| self.delete_transit_gateway_once(scope, id)).await
    }

    pub(crate) async fn create_transit_gateway_once(
        &self,
        scope: &RequestScope,
        input: &CreateTransitGateway,
    ) -> Result<TransitGateway, Error> {
        let tags = tags_for(ResourceKind::TransitGateway, &input.tag_specifications)?;
        let mut options = TransitGatewayOptions::from_request(&input.options)?;
        if let Some(d) = &input.description {
            if d.chars().count() > 255 {
                return Err(Error::invalid(
                    "The description of a transit gateway is at most 255 characters.",
                ));
            }
        }
        let id = ResourceId::generate(ResourceKind::TransitGateway);
        let now = now_timestamp();
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut touched = vec![id.to_string()];
        if options.wants_default_table() {
            let table = TransitGatewayRouteTable {
                id: ResourceId::generate(ResourceKind::TransitGatewayRouteTable),
                transit_gateway_id: id.clone(),
                owner_id: scope.account.clone(),
                state: super::route_table::RouteTableState::Available,
                default_association_route_table: options
                    .default_route_table_association
                    .is_enabled(),
                default_propagation_route_table: options
                    .default_route_table_propagation
                    .is_enabled(),
                propagations: vec![],
                static_routes: vec![],
                creation_time: now.clone(),
                tags: TagSet::new(),
            };
            if table.default_association_route_table {
                options.association_default_route_table_id = Some(table.id.clone());
            }
            if table.default_propagation_route_table {
                options.propagation_default_route_table_id = Some(table.id.clone());
            }
            tx.insert_resource(&new_row(scope, &table)?)
                .await
                .map_err(store_err)?;
            touched.push(table.id.to_string());
        }
        let mut gateway = TransitGateway {
            arn: format!(
                "arn:aws:ec2:{}:{}:transit-gateway/{id}",
                scope.region, scope.account
            ),
            id,
            owner_id: scope.account.clone(),
            description: input.description.clone(),
            state: TransitGatewayState::Available,
            creation_time: now,
            options,
            tags,
        };
        tx.insert_resource(&new_row(scope, &gateway)?)
            .await
            .map_err(store_err)?;
        let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
        resource::commit(tx, scope, &touched).await?;
        // Stored `available`; the creation itself is answered `pending`, as AWS does.
        gateway.state = TransitGatewayState::Pending;
        Ok(gateway)
    }

    /// `DescribeTransitGateways`: explicit IDs must all exist; filters and pagination apply.
    pub async fn describe_transit_gateways(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<TransitGateway>, Option<String>), Error> {
        filter::validate::<TransitGateway>(filters)?;
        let mut gateways: Vec<TransitGateway> =
            resource::list_or_get(&self.store, scope, ids).await?;
        gateways.retain(|g| filter::matches(g, filters));
        Ok(page.apply(gateways, |g| g.id.as_str()))
    }

    pub(crate) async fn delete_transit_gateway_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<TransitGateway, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let gateway: Versioned<TransitGateway> = get_in_tx(&mut tx, scope, id).await?;
        let attachments = attachments_of_gateway_in_tx(&mut tx, scope, id).await?;
        if !attachments.is_empty() {
            let names: Vec<&str> = attachments.iter().map(|a| a.value.id.as_str()).collect();
            return Err(Error::client(
                "IncorrectState",
                format!(
                    "{id} has non-deleted Transit Gateway Attachments: {}",
                    names.join(", ")
                ),
            ));
        }
        for table in tables_of_gateway_in_tx(&mut tx, scope, id).await? {
            tx.delete_resource(
                scope.account.as_str(),
                table.value.id.as_str(),
                table.generation,
            )
            .await
            .map_err(store_err)?;
        }
        tx.delete_resource(scope.account.as_str(), id.as_str(), gateway.generation)
            .await
            .map_err(store_err)?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        let mut answer = gateway.value;
        answer.state = TransitGatewayState::Deleting;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_as_aws_does() {
        let o =
            TransitGatewayOptions::from_request(&TransitGatewayRequestOptions::default()).unwrap();
        assert_eq!(o.amazon_side_asn, 64512);
        assert_eq!(o.auto_accept_shared_attachments, Toggle::Disable);
        assert_eq!(o.default_route_table_association, Toggle::Enable);
        assert_eq!(o.default_route_table_propagation, Toggle::Enable);
        assert_eq!(o.vpn_ecmp_support, Toggle::Enable);
        assert_eq!(o.dns_support, Toggle::Enable);
        assert_eq!(o.security_group_referencing_support, Toggle::Disable);
        assert_eq!(o.multicast_support, Toggle::Disable);
        assert!(o.transit_gateway_cidr_blocks.is_empty());
        assert!(o.wants_default_table());

        let off = TransitGatewayRequestOptions {
            default_route_table_association: Some(Toggle::Disable),
            default_route_table_propagation: Some(Toggle::Disable),
            amazon_side_asn: Some(4_200_000_000),
            ..Default::default()
        };
        let o = TransitGatewayOptions::from_request(&off).unwrap();
        assert!(!o.wants_default_table());
        assert_eq!(o.amazon_side_asn, 4_200_000_000);
    }

    #[test]
    fn asn_and_cidr_blocks_follow_aws_rules() {
        for bad in [0, 64511, 65535, 4_199_999_999, 4_294_967_295] {
            assert!(validate_asn(bad).is_err(), "{bad}");
        }
        for good in [64512, 65534, 4_294_967_294] {
            assert_eq!(validate_asn(good), Ok(good));
        }
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_cidr_blocks(&s(&["10.99.0.0/24", "10.98.0.0/16"]))
                .unwrap()
                .len(),
            2
        );
        assert!(parse_cidr_blocks(&s(&["10.99.0.0/25"])).is_err());
        assert!(parse_cidr_blocks(&s(&["10.0.0.0/16", "10.0.1.0/24"])).is_err());
        assert!(parse_cidr_blocks(&s(&["2001:db8::/64"])).is_err());
        assert!(parse_cidr_blocks(&s(&["1.0.0.0/24"; 6])).is_err());
    }

    #[test]
    fn every_state_pair_is_decided() {
        use TransitGatewayState::*;
        let allowed = [
            (Pending, Available),
            (Pending, Deleting),
            (Available, Modifying),
            (Available, Deleting),
            (Modifying, Available),
            (Deleting, Deleted),
        ];
        for from in TransitGatewayState::ALL {
            for to in TransitGatewayState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }
}
