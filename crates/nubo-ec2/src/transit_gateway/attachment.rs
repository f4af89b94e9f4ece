//! Transit gateway VPC attachments: the model, its lifecycle, the filters of
//! `DescribeTransitGatewayVpcAttachments` and `DescribeTransitGatewayAttachments`,
//! and `CreateTransitGatewayVpcAttachment`, `DeleteTransitGatewayVpcAttachment`,
//! `ModifyTransitGatewayVpcAttachment` and the two describes.
//!
//! An attachment is a child row of its VPC and holds one private address of
//! each of its subnets (at most one subnet per availability zone), allocated
//! through [`Ec2Service::allocate_address`] in its own transaction, so neither
//! the VPC nor those subnets can be deleted while it exists. Creating one
//! writes the gateway and the VPC back (a racing `DeleteTransitGateway` or
//! `DeleteVpc` conflicts), associates it with the gateway's default
//! association table and propagates it into the default propagation table
//! when those options are enabled, and reactivates VPC routes to the gateway;
//! deleting one turns those routes into `blackhole` routes and removes its
//! propagations.

use std::collections::BTreeSet;

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::Tx;
use serde::{Deserialize, Serialize};

use super::gateway::TransitGateway;
use super::route_table::{tables_of_gateway_in_tx, TransitGatewayRouteTable};
use super::{now_timestamp, Toggle};
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Resource, Versioned,
};
use crate::retry::with_retry;
use crate::route_table::routes::set_target_routes_in_tx;
use crate::route_table::RouteState;
use crate::subnet::Subnet;
use crate::vpc::Vpc;

/// An attachment's lifecycle: the states of AWS's
/// `TransitGatewayAttachmentState` that a VPC attachment of one account passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttachmentState {
    Pending,
    PendingAcceptance,
    Available,
    Modifying,
    Deleting,
    Deleted,
}

impl AttachmentState {
    pub const ALL: [AttachmentState; 6] = [
        AttachmentState::Pending,
        AttachmentState::PendingAcceptance,
        AttachmentState::Available,
        AttachmentState::Modifying,
        AttachmentState::Deleting,
        AttachmentState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentState::Pending => "pending",
            AttachmentState::PendingAcceptance => "pendingAcceptance",
            AttachmentState::Available => "available",
            AttachmentState::Modifying => "modifying",
            AttachmentState::Deleting => "deleting",
            AttachmentState::Deleted => "deleted",
        }
    }

    /// Whether an attachment may move from `self` to `next`.
    pub fn can_become(self, next: AttachmentState) -> bool {
        use AttachmentState::*;
        match self {
            Pending => matches!(next, Available | Deleting),
            PendingAcceptance => matches!(next, Pending | Deleting),
            Available => matches!(next, Modifying | Deleting),
            Modifying => matches!(next, Available),
            Deleting => matches!(next, Deleted),
            Deleted => match next {
                Pending | PendingAcceptance | Available | Modifying | Deleting | Deleted => false,
            },
        }
    }
}

/// The `TransitGatewayVpcAttachmentOptions` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcAttachmentOptions {
    pub dns_support: Toggle,
    pub security_group_referencing_support: Toggle,
    pub ipv6_support: Toggle,
    pub appliance_mode_support: Toggle,
}

/// The attachment options a request gives (absent: unchanged / AWS's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpcAttachmentOptionsInput {
    pub dns_support: Option<Toggle>,
    pub security_group_referencing_support: Option<Toggle>,
    pub ipv6_support: Option<Toggle>,
    pub appliance_mode_support: Option<Toggle>,
}

impl Default for VpcAttachmentOptions {
    /// AWS's defaults: DNS support and security group referencing enabled,
    /// IPv6 and appliance mode disabled.
    fn default() -> Self {
        VpcAttachmentOptions {
            dns_support: Toggle::Enable,
            security_group_referencing_support: Toggle::Enable,
            ipv6_support: Toggle::Disable,
            appliance_mode_support: Toggle::Disable,
        }
    }
}

impl VpcAttachmentOptions {
    /// `self` with the request's options applied (pure).
    pub fn apply(&self, input: &VpcAttachmentOptionsInput) -> Result<Self, Error> {
        if input.ipv6_support == Some(Toggle::Enable) {
            return Err(Error::invalid(
                "IPv6 support for transit gateway attachments is not offered by this Nubo installation yet.",
            ));
        }
        Ok(VpcAttachmentOptions {
            dns_support: input.dns_support.unwrap_or(self.dns_support),
            security_group_referencing_support: input
                .security_group_referencing_support
                .unwrap_or(self.security_group_referencing_support),
            ipv6_support: input.ipv6_support.unwrap_or(self.ipv6_support),
            appliance_mode_support: input
                .appliance_mode_support
                .unwrap_or(self.appliance_mode_support),
        })
    }
}

/// One subnet of an attachment and the address the attachment holds in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentSubnet {
    pub subnet_id: ResourceId,
    pub availability_zone: String,
    pub address: std::net::Ipv4Addr,
}

/// A transit gateway VPC attachment as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGatewayAttachment {
    pub id: ResourceId,
    pub transit_gateway_id: ResourceId,
    pub transit_gateway_owner_id: AccountId,
    pub vpc_id: ResourceId,
    pub vpc_owner_id: AccountId,
    pub state: AttachmentState,
    pub subnets: Vec<AttachmentSubnet>,
    pub options: VpcAttachmentOptions,
    /// The route table it is associated with (at most one).
    pub association: Option<ResourceId>,
    pub creation_time: String,
    #[serde(default)]
    pub tags: TagSet,
}

impl TransitGatewayAttachment {
    /// The `resourceType` AWS reports for this kind of attachment.
    pub const RESOURCE_TYPE: &'static str = "vpc";
    /// The state of an association (`associated` once made; the control plane
    /// has nothing to wait for).
    pub const ASSOCIATED: &'static str = "associated";

    pub fn subnet_ids(&self) -> impl Iterator<Item = &ResourceId> {
        self.subnets.iter().map(|s| &s.subnet_id)
    }
}

impl Resource for TransitGatewayAttachment {
    const KIND: ResourceKind = ResourceKind::TransitGatewayAttachment;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn parent(&self) -> Option<&ResourceId> {
        Some(&self.vpc_id)
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for TransitGatewayAttachment {
    const FILTERS: &'static [&'static str] = &[
        "state",
        "transit-gateway-attachment-id",
        "transit-gateway-id",
        "vpc-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "state" => vec![self.state.as_str().into()],
            "transit-gateway-attachment-id" => vec![self.id.to_string()],
            "transit-gateway-id" => vec![self.transit_gateway_id.to_string()],
            "vpc-id" => vec![self.vpc_id.to_string()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// An attachment seen through `DescribeTransitGatewayAttachments`, whose
/// filters speak of resources and associations.
pub struct AnyAttachment<'a>(pub &'a TransitGatewayAttachment);

impl Filterable for AnyAttachment<'_> {
    const FILTERS: &'static [&'static str] = &[
        "association.state",
        "association.transit-gateway-route-table-id",
        "resource-id",
        "resource-owner-id",
        "resource-type",
        "state",
        "transit-gateway-attachment-id",
        "transit-gateway-id",
        "transit-gateway-owner-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let a = self.0;
        match name {
            "association.state" => a
                .association
                .iter()
                .map(|_| TransitGatewayAttachment::ASSOCIATED.to_string())
                .collect(),
            "association.transit-gateway-route-table-id" => {
                a.association.iter().map(|t| t.to_string()).collect()
            }
            "resource-id" => vec![a.vpc_id.to_string()],
            "resource-owner-id" => vec![a.vpc_owner_id.to_string()],
            "resource-type" => vec![TransitGatewayAttachment::RESOURCE_TYPE.into()],
            "transit-gateway-owner-id" => vec![a.transit_gateway_owner_id.to_string()],
            other => a.filter_values(other),
        }
    }

    fn tags(&self) -> &TagSet {
        &self.0.tags
    }
}

/// Every attachment of the caller's account and region, as the transaction sees them.
async fn all_attachments_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
) -> Result<Vec<Versioned<TransitGatewayAttachment>>, Error> {
    let rows = tx
        .list_resources(
            scope.account.as_str(),
            &scope.region,
            ResourceKind::TransitGatewayAttachment.prefix(),
        )
        .await
        .map_err(store_err)?;
    rows.iter().map(decode).collect()
}

/// The attachments to gateway `gateway_id`.
pub(crate) async fn attachments_of_gateway_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    gateway_id: &ResourceId,
) -> Result<Vec<Versioned<TransitGatewayAttachment>>, Error> {
    let mut all = all_attachments_in_tx(tx, scope).await?;
    all.retain(|a| &a.value.transit_gateway_id == gateway_id);
    Ok(all)
}

/// The attachment of VPC `vpc_id` to gateway `gateway_id`, if any.
pub(crate) async fn attachment_of_vpc_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
    gateway_id: &ResourceId,
) -> Result<Option<Versioned<TransitGatewayAttachment>>, Error> {
    let rows = tx
        .list_children(scope.account.as_str(), vpc_id.as_str())
        .await
        .map_err(store_err)?;
    for row in rows
        .iter()
        .filter(|r| r.kind == ResourceKind::TransitGatewayAttachment.prefix())
    {
        let a: Versioned<TransitGatewayAttachment> = decode(row)?;
        if &a.value.transit_gateway_id == gateway_id {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// Checks a set of subnets for an attachment (pure): at least one, at most
/// one per availability zone.
pub fn check_subnet_zones(subnets: &[(ResourceId, String)]) -> Result<(), Error> {
    if subnets.is_empty() {
        return Err(Error::MissingParameter("SubnetIds".into()));
    }
    let mut zones = BTreeSet::new();
    for (id, zone) in subnets {
        if !zones.insert(zone.as_str()) {
            return Err(Error::client(
                "DuplicateSubnetsInSameZone",
                format!("Duplicate Subnets for same AvailabilityZone: {zone} ({id})"),
            ));
        }
    }
    Ok(())
}

/// Validated input of `CreateTransitGatewayVpcAttachment`.
#[derive(Debug, Clone)]
pub struct CreateVpcAttachment {
    pub transit_gateway_id: ResourceId,
    pub vpc_id: ResourceId,
    pub subnet_ids: Vec<ResourceId>,
    pub options: VpcAttachmentOptionsInput,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// Validated input of `ModifyTransitGatewayVpcAttachment`.
#[derive(Debug, Clone, Default)]
pub struct ModifyVpcAttachment {
    pub add_subnet_ids: Vec<ResourceId>,
    pub remove_subnet_ids: Vec<ResourceId>,
    pub options: VpcAttachmentOptionsInput,
}

impl Ec2Service {
    pub async fn create_transit_gateway_vpc_attachment(
        &self,
        scope: &RequestScope,
        input: CreateVpcAttachment,
    ) -> Result<TransitGatewayAttachment, Error> {
        with_retry(|| self.create_tgw_vpc_attachment_once(scope, &input)).await
    }

    pub async fn delete_transit_gateway_vpc_attachment(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<TransitGatewayAttachment, Error> {
        with_retry(|| self.delete_tgw_vpc_attachment_once(scope, id)).await
    }

    pub async fn modify_transit_gateway_vpc_attachment(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        input: ModifyVpcAttachment,
    ) -> Result<TransitGatewayAttachment, Error> {
        with_retry(|| self.modify_tgw_vpc_attachment_once(scope, id, &input)).await
    }

    /// Reads subnets `ids` of `vpc_id` in the transaction: each must exist in
    /// the caller's account and belong to the VPC.
    async fn tgw_attachment_subnets_in_tx(
        &self,
        tx: &mut Tx,
        scope: &RequestScope,
        vpc_id: &ResourceId,
        ids: &[ResourceId],
    ) -> Result<Vec<Subnet>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let subnet: Versioned<Subnet> = get_in_tx(tx, scope, id).await?;
            if &subnet.value.vpc_id != vpc_id {
                return Err(Error::not_found(
                    "InvalidSubnetID.NotFound",
                    format!("The subnet ID '{id}' does not exist in VPC '{vpc_id}'"),
                ));
            }
            out.push(subnet.value);
        }
        Ok(out)
    }

    async fn create_tgw_vpc_attachment_once(
        &self,
        scope: &RequestScope,
        input: &CreateVpcAttachment,
    ) -> Result<TransitGatewayAttachment, Error> {
        let tags = tags_for(
            ResourceKind::TransitGatewayAttachment,
            &input.tag_specifications,
        )?;
        let options = VpcAttachmentOptions::default().apply(&input.options)?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let gateway: Versioned<TransitGateway> =
            get_in_tx(&mut tx, scope, &input.transit_gateway_id).await?;
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &input.vpc_id).await?;
        let subnets = self
            .tgw_attachment_subnets_in_tx(&mut tx, scope, &input.vpc_id, &input.subnet_ids)
            .await?;
        let zones: Vec<(ResourceId, String)> = subnets
            .iter()
            .map(|s| (s.id.clone(), s.availability_zone.clone()))
            .collect();
        check_subnet_zones(&zones)?;
        if let Some(existing) =
            attachment_of_vpc_in_tx(&mut tx, scope, &input.vpc_id, &input.transit_gateway_id)
                .await?
        {
            return Err(Error::client(
                "DuplicateTransitGatewayAttachment",
                format!(
                    "{} has non-deleted Transit Gateway Attachments with same VPC ID: {}",
                    input.transit_gateway_id, existing.value.id
                ),
            ));
        }
        let id = ResourceId::generate(ResourceKind::TransitGatewayAttachment);
        let mut attached = Vec::with_capacity(subnets.len());
        for s in &subnets {
            let address = self
                .allocate_address(&mut tx, scope, &s.id, None, id.as_str())
                .await?;
            attached.push(AttachmentSubnet {
                subnet_id: s.id.clone(),
                availability_zone: s.availability_zone.clone(),
                address,
            });
        }
        let o = &gateway.value.options;
        let association = o
            .association_default_route_table_id
            .clone()
            .filter(|_| o.default_route_table_association.is_enabled());
        let propagation = o
            .propagation_default_route_table_id
            .clone()
            .filter(|_| o.default_route_table_propagation.is_enabled());
        // The default tables are written back (the propagation one gains this
        // attachment), so a racing table deletion conflicts.
        let mut defaults: Vec<Versioned<TransitGatewayRouteTable>> = Vec::new();
        for table_id in association.iter().chain(propagation.iter()) {
            if !defaults.iter().any(|t| &t.value.id == table_id) {
                defaults.push(get_in_tx(&mut tx, scope, table_id).await?);
            }
        }
        for table in &mut defaults {
            if propagation.as_ref() == Some(&table.value.id) {
                table.value.propagations.push(id.clone());
                table.value.propagations.sort();
            }
            update_in_tx(&mut tx, scope, table).await?;
        }
        let mut attachment = TransitGatewayAttachment {
            id,
            transit_gateway_id: input.transit_gateway_id.clone(),
            transit_gateway_owner_id: gateway.value.owner_id.clone(),
            vpc_id: input.vpc_id.clone(),
            vpc_owner_id: vpc.value.owner_id.clone(),
            state: AttachmentState::Available,
            subnets: attached,
            options,
            association,
            creation_time: now_timestamp(),
            tags,
        };
        tx.insert_resource(&new_row(scope, &attachment)?)
            .await
            .map_err(store_err)?;
        update_in_tx(&mut tx, scope, &gateway).await?;
        update_in_tx(&mut tx, scope, &vpc).await?;
        // Routes the VPC's tables kept to this gateway carry traffic again.
        set_target_routes_in_tx(
            &mut tx,
            scope,
            &input.vpc_id,
            &input.transit_gateway_id,
            RouteState::Active,
        )
        .await?;
        resource::commit(tx, scope, &[attachment.id.as_str()]).await?;
        attachment.state = AttachmentState::Pending;
        Ok(attachment)
    }

    /// `DescribeTransitGatewayVpcAttachments`.
    pub async fn describe_transit_gateway_vpc_attachments(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<TransitGatewayAttachment>, Option<String>), Error> {
        filter::validate::<TransitGatewayAttachment>(filters)?;
        let mut found: Vec<TransitGatewayAttachment> =
            resource::list_or_get(&self.store, scope, ids).await?;
        found.retain(|a| filter::matches(a, filters));
        Ok(page.apply(found, |a| a.id.as_str()))
    }

    /// `DescribeTransitGatewayAttachments` (every attachment is a VPC attachment here).
    pub async fn describe_transit_gateway_attachments(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<TransitGatewayAttachment>, Option<String>), Error> {
        filter::validate::<AnyAttachment<'_>>(filters)?;
        let mut found: Vec<TransitGatewayAttachment> =
            resource::list_or_get(&self.store, scope, ids).await?;
        found.retain(|a| filter::matches(&AnyAttachment(a), filters));
        Ok(page.apply(found, |a| a.id.as_str()))
    }

    async fn delete_tgw_vpc_attachment_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<TransitGatewayAttachment, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let attachment: Versioned<TransitGatewayAttachment> = get_in_tx(&mut tx, scope, id).await?;
        let a = &attachment.value;
        for s in &a.subnets {
            self.release_address(&mut tx, scope, &s.subnet_id, s.address, id.as_str())
                .await?;
        }
        for mut table in tables_of_gateway_in_tx(&mut tx, scope, &a.transit_gateway_id).await? {
            let before = table.value.propagations.len();
            table.value.propagations.retain(|p| p != id);
            if table.value.propagations.len() != before {
                update_in_tx(&mut tx, scope, &table).await?;
            }
        }
        set_target_routes_in_tx(
            &mut tx,
            scope,
            &a.vpc_id,
            &a.transit_gateway_id,
            RouteState::Blackhole,
        )
        .await?;
        tx.delete_resource(scope.account.as_str(), id.as_str(), attachment.generation)
            .await
            .map_err(store_err)?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        let mut answer = attachment.value;
        answer.state = AttachmentState::Deleting;
        Ok(answer)
    }

    async fn modify_tgw_vpc_attachment_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        input: &ModifyVpcAttachment,
    ) -> Result<TransitGatewayAttachment, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut attachment: Versioned<TransitGatewayAttachment> =
            get_in_tx(&mut tx, scope, id).await?;
        let options = attachment.value.options.apply(&input.options)?;
        let vpc_id = attachment.value.vpc_id.clone();
        for removed in &input.remove_subnet_ids {
            if !attachment.value.subnet_ids().any(|s| s == removed) {
                return Err(Error::invalid(format!(
                    "Subnet {removed} is not part of attachment {id}."
                )));
            }
        }
        let added = self
            .tgw_attachment_subnets_in_tx(&mut tx, scope, &vpc_id, &input.add_subnet_ids)
            .await?;
        if let Some(s) = added
            .iter()
            .find(|s| attachment.value.subnet_ids().any(|have| have == &s.id))
        {
            return Err(Error::invalid(format!(
                "Subnet {} is already part of attachment {id}.",
                s.id
            )));
        }
        let mut kept: Vec<AttachmentSubnet> = Vec::new();
        for s in std::mem::take(&mut attachment.value.subnets) {
            if input.remove_subnet_ids.contains(&s.subnet_id) {
                self.release_address(&mut tx, scope, &s.subnet_id, s.address, id.as_str())
                    .await?;
            } else {
                kept.push(s);
            }
        }
        let zones: Vec<(ResourceId, String)> = kept
            .iter()
            .map(|s| (s.subnet_id.clone(), s.availability_zone.clone()))
            .chain(
                added
                    .iter()
                    .map(|s| (s.id.clone(), s.availability_zone.clone())),
            )
            .collect();
        if zones.is_empty() {
            return Err(Error::invalid(format!(
                "Attachment {id} needs at least one subnet; it cannot remove them all."
            )));
        }
        check_subnet_zones(&zones)?;
        for s in &added {
            let address = self
                .allocate_address(&mut tx, scope, &s.id, None, id.as_str())
                .await?;
            kept.push(AttachmentSubnet {
                subnet_id: s.id.clone(),
                availability_zone: s.availability_zone.clone(),
                address,
            });
        }
        attachment.value.subnets = kept;
        attachment.value.options = options;
        update_in_tx(&mut tx, scope, &attachment).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        let mut answer = attachment.value;
        answer.state = AttachmentState::Modifying;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_pair_is_decided() {
        use AttachmentState::*;
        let allowed = [
            (Pending, Available),
            (Pending, Deleting),
            (PendingAcceptance, Pending),
            (PendingAcceptance, Deleting),
            (Available, Modifying),
            (Available, Deleting),
            (Modifying, Available),
            (Deleting, Deleted),
        ];
        for from in AttachmentState::ALL {
            for to in AttachmentState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn one_subnet_per_zone_and_at_least_one() {
        let s = |z: &str| (ResourceId::generate(ResourceKind::Subnet), z.to_string());
        assert!(check_subnet_zones(&[s("us-east-1a"), s("us-east-1b")]).is_ok());
        assert!(matches!(
            check_subnet_zones(&[s("us-east-1a"), s("us-east-1a")]),
            Err(Error::Client {
                code: "DuplicateSubnetsInSameZone",
                ..
            })
        ));
        assert!(matches!(
            check_subnet_zones(&[]),
            Err(Error::MissingParameter(_))
        ));
    }

    #[test]
    fn attachment_options_default_and_apply() {
        let d = VpcAttachmentOptions::default();
        assert_eq!(d.dns_support, Toggle::Enable);
        assert_eq!(d.appliance_mode_support, Toggle::Disable);
        let changed = d
            .apply(&VpcAttachmentOptionsInput {
                appliance_mode_support: Some(Toggle::Enable),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(changed.appliance_mode_support, Toggle::Enable);
        assert_eq!(changed.dns_support, Toggle::Enable);
        assert!(d
            .apply(&VpcAttachmentOptionsInput {
                ipv6_support: Some(Toggle::Enable),
                ..Default::default()
            })
            .is_err());
    }
}
