//! `ModifyTransitGateway`: the pure rules of an options change
//! ([`TransitGatewayOptions::modify`]) and the operation that applies it,
//! moving the default association/propagation flags between the gateway's
//! route tables in the same transaction.
//!
//! As on AWS, enabling default association (or propagation) names the table
//! to use (`AssociationDefaultRouteTableId`), disabling it names none, and a
//! table named must be one of the gateway's; attachments keep their current
//! associations and propagations.

use nubo_core::{Error, Ipv4Cidr, ResourceId};

use super::gateway::{
    parse_cidr_blocks, validate_asn, TransitGateway, TransitGatewayOptions, TransitGatewayState,
    MAX_CIDR_BLOCKS,
};
use super::route_table::{tables_of_gateway_in_tx, TransitGatewayRouteTable};
use super::Toggle;
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;

/// The `ModifyTransitGatewayOptions` of a request, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyTransitGatewayOptions {
    pub add_transit_gateway_cidr_blocks: Vec<String>,
    pub remove_transit_gateway_cidr_blocks: Vec<String>,
    pub vpn_ecmp_support: Option<Toggle>,
    pub dns_support: Option<Toggle>,
    pub security_group_referencing_support: Option<Toggle>,
    pub auto_accept_shared_attachments: Option<Toggle>,
    pub default_route_table_association: Option<Toggle>,
    pub association_default_route_table_id: Option<ResourceId>,
    pub default_route_table_propagation: Option<Toggle>,
    pub propagation_default_route_table_id: Option<ResourceId>,
    pub amazon_side_asn: Option<i64>,
}

/// The new (toggle, table) of one default-table option.
fn default_table(
    what: &str,
    current: (Toggle, Option<ResourceId>),
    toggle: Option<Toggle>,
    id: Option<&ResourceId>,
) -> Result<(Toggle, Option<ResourceId>), Error> {
    let conflict = |detail: String| Err(Error::InvalidParameterCombination(detail));
    match (toggle, id) {
        (None, None) => Ok(current),
        (Some(Toggle::Enable), None) => conflict(format!(
            "enable Default{what} conflicts with {what}DefaultRouteTableId null"
        )),
        (Some(Toggle::Disable), Some(id)) => conflict(format!(
            "disable Default{what} conflicts with {what}DefaultRouteTableId {id}"
        )),
        (Some(Toggle::Disable), None) => Ok((Toggle::Disable, None)),
        (Some(Toggle::Enable), Some(id)) => Ok((Toggle::Enable, Some(id.clone()))),
        (None, Some(id)) if current.0.is_enabled() => Ok((Toggle::Enable, Some(id.clone()))),
        (None, Some(id)) => conflict(format!(
            "{what}DefaultRouteTableId {id} needs Default{what} enabled"
        )),
    }
}

impl TransitGatewayOptions {
    /// The options after `m` (pure). Named tables are checked by the caller.
    pub fn modify(&self, m: &ModifyTransitGatewayOptions) -> Result<Self, Error> {
        let mut o = self.clone();
        if let Some(asn) = m.amazon_side_asn {
            o.amazon_side_asn = validate_asn(asn)?;
        }
        let removed: Vec<Ipv4Cidr> = parse_cidr_blocks(&m.remove_transit_gateway_cidr_blocks)?;
        for r in &removed {
            if !o.transit_gateway_cidr_blocks.contains(r) {
                return Err(Error::invalid(format!(
                    "The CIDR block {r} is not a CIDR block of this transit gateway."
                )));
            }
        }
        o.transit_gateway_cidr_blocks
            .retain(|c| !removed.contains(c));
        let mut all: Vec<String> = o
            .transit_gateway_cidr_blocks
            .iter()
            .map(|c| c.to_string())
            .collect();
        all.extend(m.add_transit_gateway_cidr_blocks.iter().cloned());
        if all.len() > MAX_CIDR_BLOCKS {
            return Err(Error::invalid(format!(
                "A transit gateway can have at most {MAX_CIDR_BLOCKS} CIDR blocks."
            )));
        }
        o.transit_gateway_cidr_blocks = parse_cidr_blocks(&all)?;
        o.vpn_ecmp_support = m.vpn_ecmp_support.unwrap_or(o.vpn_ecmp_support);
        o.dns_support = m.dns_support.unwrap_or(o.dns_support);
        o.security_group_referencing_support = m
            .security_group_referencing_support
            .unwrap_or(o.security_group_referencing_support);
        o.auto_accept_shared_attachments = m
            .auto_accept_shared_attachments
            .unwrap_or(o.auto_accept_shared_attachments);
        (
            o.default_route_table_association,
            o.association_default_route_table_id,
        ) = default_table(
            "RouteTableAssociation",
            (
                self.default_route_table_association,
                self.association_default_route_table_id.clone(),
            ),
            m.default_route_table_association,
            m.association_default_route_table_id.as_ref(),
        )?;
        (
            o.default_route_table_propagation,
            o.propagation_default_route_table_id,
        ) = default_table(
            "RouteTablePropagation",
            (
                self.default_route_table_propagation,
                self.propagation_default_route_table_id.clone(),
            ),
            m.default_route_table_propagation,
            m.propagation_default_route_table_id.as_ref(),
        )?;
        Ok(o)
    }
}

impl Ec2Service {
    pub async fn modify_transit_gateway(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        description: Option<String>,
        options: ModifyTransitGatewayOptions,
    ) -> Result<TransitGateway, Error> {
        with_retry(|| self.modify_tgw_once(scope, id, description.as_deref(), &options)).await
    }

    async fn modify_tgw_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        description: Option<&str>,
        m: &ModifyTransitGatewayOptions,
    ) -> Result<TransitGateway, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut gateway: Versioned<TransitGateway> = get_in_tx(&mut tx, scope, id).await?;
        let options = gateway.value.options.modify(m)?;
        let mut tables: Vec<Versioned<TransitGatewayRouteTable>> =
            tables_of_gateway_in_tx(&mut tx, scope, id).await?;
        for named in [
            &options.association_default_route_table_id,
            &options.propagation_default_route_table_id,
        ]
        .into_iter()
        .flatten()
        {
            if !tables.iter().any(|t| &t.value.id == named) {
                return Err(resource::not_found(
                    nubo_core::ResourceKind::TransitGatewayRouteTable,
                    named.as_str(),
                ));
            }
        }
        for table in &mut tables {
            let assoc =
                options.association_default_route_table_id.as_ref() == Some(&table.value.id);
            let prop = options.propagation_default_route_table_id.as_ref() == Some(&table.value.id);
            let t = &mut table.value;
            if (
                t.default_association_route_table,
                t.default_propagation_route_table,
            ) != (assoc, prop)
            {
                t.default_association_route_table = assoc;
                t.default_propagation_route_table = prop;
                update_in_tx(&mut tx, scope, table).await?;
            }
        }
        if let Some(d) = description {
            if d.chars().count() > 255 {
                return Err(Error::invalid(
                    "The description of a transit gateway is at most 255 characters.",
                ));
            }
            gateway.value.description = Some(d.to_string());
        }
        gateway.value.options = options;
        update_in_tx(&mut tx, scope, &gateway).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        let mut answer = gateway.value;
        answer.state = TransitGatewayState::Modifying;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transit_gateway::gateway::TransitGatewayRequestOptions;
    use nubo_core::ResourceKind;

    #[test]
    fn default_tables_and_their_flags_move_together() {
        let rtb = ResourceId::generate(ResourceKind::TransitGatewayRouteTable);
        let mut o =
            TransitGatewayOptions::from_request(&TransitGatewayRequestOptions::default()).unwrap();
        o.association_default_route_table_id = Some(rtb.clone());
        o.propagation_default_route_table_id = Some(rtb.clone());
        let off = o
            .modify(&ModifyTransitGatewayOptions {
                default_route_table_association: Some(Toggle::Disable),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(off.default_route_table_association, Toggle::Disable);
        assert_eq!(off.association_default_route_table_id, None);
        assert_eq!(off.propagation_default_route_table_id, Some(rtb.clone()));
        let combos = [
            (Some(Toggle::Enable), None),
            (Some(Toggle::Disable), Some(rtb.clone())),
        ];
        for (toggle, id) in combos {
            assert!(matches!(
                o.modify(&ModifyTransitGatewayOptions {
                    default_route_table_association: toggle,
                    association_default_route_table_id: id,
                    ..Default::default()
                }),
                Err(Error::InvalidParameterCombination(_))
            ));
        }
        // Naming a table while the option is off needs it enabled too.
        assert!(off
            .modify(&ModifyTransitGatewayOptions {
                association_default_route_table_id: Some(rtb.clone()),
                ..Default::default()
            })
            .is_err());
        let back = off
            .modify(&ModifyTransitGatewayOptions {
                default_route_table_association: Some(Toggle::Enable),
                association_default_route_table_id: Some(rtb.clone()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(back.association_default_route_table_id, Some(rtb));
    }

    #[test]
    fn cidr_blocks_are_added_and_removed_by_the_rules() {
        let o = TransitGatewayOptions::from_request(&TransitGatewayRequestOptions {
            transit_gateway_cidr_blocks: vec!["10.99.0.0/24".into()],
            ..Default::default()
        })
        .unwrap();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let m = o
            .modify(&ModifyTransitGatewayOptions {
                add_transit_gateway_cidr_blocks: s(&["10.98.0.0/24"]),
                remove_transit_gateway_cidr_blocks: s(&["10.99.0.0/24"]),
                dns_support: Some(Toggle::Disable),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            m.transit_gateway_cidr_blocks,
            vec!["10.98.0.0/24".parse().unwrap()]
        );
        assert_eq!(m.dns_support, Toggle::Disable);
        assert!(o
            .modify(&ModifyTransitGatewayOptions {
                remove_transit_gateway_cidr_blocks: s(&["10.1.0.0/24"]),
                ..Default::default()
            })
            .is_err());
        assert!(o
            .modify(&ModifyTransitGatewayOptions {
                add_transit_gateway_cidr_blocks: s(&["10.99.0.0/25"]),
                ..Default::default()
            })
            .is_err());
        assert!(o
            .modify(&ModifyTransitGatewayOptions {
                amazon_side_asn: Some(1),
                ..Default::default()
            })
            .is_err());
    }
}
