//! The peering connection operations: create (with the overlap and
//! existence checks that make a request `failed`), accept, reject, delete
//! (turning the routes to an active connection into `blackhole` routes on
//! both sides), describe, and the checks other families call: a connection
//! as a route target, and `DeleteVpc` while a connection is live.
//!
//! Every write reads the connection through [`access`] in its transaction and
//! writes the owner's row back guarded by its generation, so an accept racing
//! a delete (from the other account) conflicts and re-runs.

use nubo_core::filter::{self, Filter, Page};
use nubo_core::{AccountId, Error, Ipv4Cidr, ResourceId, ResourceKind, Tag};
use nubo_store::Tx;

use super::access::{self, scope_of, Found, Reader};
use super::state::{self, PeeringAction, Refusal};
use super::{cidrs_overlap, PeerVpcInfo, PeeringState, VpcPeeringConnection};
use crate::resource::{
    self, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;
use crate::route_table::routes::set_target_routes_in_tx;
use crate::route_table::{RouteState, RouteTable};
use crate::vpc::{CidrState, Vpc};

/// `CreateVpcPeeringConnection`'s parameters.
#[derive(Debug, Clone)]
pub struct CreateVpcPeeringConnection {
    pub vpc_id: ResourceId,
    pub peer_vpc_id: ResourceId,
    /// Another account of this installation; the caller's when absent.
    pub peer_owner_id: Option<AccountId>,
    /// Must be the caller's region (inter-Region peering is not offered).
    pub peer_region: Option<String>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A VPC's associated IPv4 blocks, the primary first.
fn blocks(vpc: &Vpc) -> Vec<Ipv4Cidr> {
    let mut out = vec![vpc.cidr_block];
    out.extend(
        vpc.cidr_associations
            .iter()
            .filter(|a| a.state == CidrState::Associated && a.cidr_block != vpc.cidr_block)
            .map(|a| a.cidr_block),
    );
    out
}

fn side(vpc: &Vpc, region: &str) -> PeerVpcInfo {
    PeerVpcInfo {
        owner_id: vpc.owner_id.clone(),
        vpc_id: vpc.id.clone(),
        region: region.to_string(),
        cidr_blocks: blocks(vpc),
        allow_dns_resolution_from_remote_vpc: false,
    }
}

/// AWS's error for a refused [`state::transition`].
fn refused(refusal: Refusal, c: &VpcPeeringConnection, action: PeeringAction) -> Error {
    let id = &c.id;
    match refusal {
        Refusal::NotPermitted => {
            let (verb, who) = match action {
                PeeringAction::Accept => ("accepted", "the owner of the accepter VPC"),
                PeeringAction::Reject => ("rejected", "the owner of the accepter VPC"),
                PeeringAction::Delete => (
                    "deleted",
                    "the owner of the requester VPC while it is pending acceptance (the accepter rejects it instead)",
                ),
            };
            Error::client(
                "OperationNotPermitted",
                format!("The VPC peering connection {id} can only be {verb} by {who}."),
            )
        }
        Refusal::InvalidState => {
            let target = match action {
                PeeringAction::Accept => PeeringState::Active,
                PeeringAction::Reject => PeeringState::Rejected,
                PeeringAction::Delete => PeeringState::Deleted,
            };
            Error::client(
                "InvalidStateTransition",
                format!(
                    "Invalid state transition for {id}, attempted to transition from {} to {}",
                    c.state.as_str(),
                    target.as_str()
                ),
            )
        }
    }
}

impl Ec2Service {
    pub async fn create_vpc_peering_connection(
        &self,
        scope: &RequestScope,
        input: CreateVpcPeeringConnection,
    ) -> Result<VpcPeeringConnection, Error> {
        with_retry(|| self.create_vpc_peering_connection_once(scope, &input)).await
    }

    pub async fn accept_vpc_peering_connection(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<VpcPeeringConnection, Error> {
        with_retry(|| self.answer_peering_once(scope, id, PeeringAction::Accept)).await
    }

    pub async fn reject_vpc_peering_connection(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.answer_peering_once(scope, id, PeeringAction::Reject))
            .await
            .map(drop)
    }

    pub async fn delete_vpc_peering_connection(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.answer_peering_once(scope, id, PeeringAction::Delete))
            .await
            .map(drop)
    }

    /// `DescribeVpcPeeringConnections`: the connections the caller is a
    /// party to and still sees; explicit IDs must all be among them.
    pub async fn describe_vpc_peering_connections(
        &self,
        scope: &RequestScope,
        ids: &[ResourceId],
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<VpcPeeringConnection>, Option<String>), Error> {
        filter::validate::<VpcPeeringConnection>(filters)?;
        let now = now_ms();
        let mut reader = Reader::Pool(&self.store);
        let mut found = if ids.is_empty() {
            access::visible(&mut reader, scope, now).await?
        } else {
            let mut wanted: Vec<&ResourceId> = ids.iter().collect();
            wanted.sort();
            wanted.dedup();
            let mut out = Vec::with_capacity(wanted.len());
            for id in wanted {
                out.push(access::find(&mut reader, scope, id, now).await?.seen);
            }
            out
        };
        found.retain(|c| filter::matches(c, filters));
        Ok(page.apply(found, |c| c.id.as_str()))
    }

    pub(crate) async fn create_vpc_peering_connection_once(
        &self,
        scope: &RequestScope,
        input: &CreateVpcPeeringConnection,
    ) -> Result<VpcPeeringConnection, Error> {
        let tags = tags_for(
            ResourceKind::VpcPeeringConnection,
            &input.tag_specifications,
        )?;
        let region = input.peer_region.as_deref().unwrap_or(&scope.region);
        if region != scope.region {
            return Err(Error::invalid(format!(
                "Inter-Region VPC peering is not supported by this Nubo installation: the peer VPC must be in {} (got PeerRegion {region}).",
                scope.region
            )));
        }
        let peer_owner = input
            .peer_owner_id
            .clone()
            .unwrap_or_else(|| scope.account.clone());
        let peer_scope = scope_of(scope, &peer_owner);
        // Another account's VPC is not the caller's to see: when it (or the
        // account) does not exist, the request is created `failed`, as AWS does.
        let peer_account_exists = peer_owner == scope.account
            || self
                .store
                .get_account(peer_owner.as_str())
                .await
                .map_err(store_err)?
                .is_some();
        let now = now_ms();
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let vpc: Versioned<Vpc> = get_in_tx(&mut tx, scope, &input.vpc_id).await?;
        let peer: Option<Versioned<Vpc>> = if peer_owner == scope.account {
            Some(get_in_tx(&mut tx, scope, &input.peer_vpc_id).await?)
        } else if peer_account_exists {
            match get_in_tx(&mut tx, &peer_scope, &input.peer_vpc_id).await {
                Ok(v) => Some(v),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let existing = access::visible(&mut Reader::Tx(&mut tx), scope, now).await?;
        let pair = |c: &VpcPeeringConnection| {
            let (a, b) = (&c.requester.vpc_id, &c.accepter.vpc_id);
            (a == &input.vpc_id && b == &input.peer_vpc_id)
                || (a == &input.peer_vpc_id && b == &input.vpc_id)
        };
        if let Some(c) = existing.iter().find(|c| c.state.is_live() && pair(c)) {
            return Err(Error::client(
                "VpcPeeringConnectionAlreadyExists",
                format!(
                    "A VPC peering connection between {} and {} already exists: {}.",
                    input.vpc_id, input.peer_vpc_id, c.id
                ),
            ));
        }
        let requester = side(&vpc.value, &scope.region);
        let accepter = match &peer {
            Some(p) => side(&p.value, &scope.region),
            None => PeerVpcInfo {
                owner_id: peer_owner.clone(),
                vpc_id: input.peer_vpc_id.clone(),
                region: scope.region.clone(),
                cidr_blocks: vec![],
                allow_dns_resolution_from_remote_vpc: false,
            },
        };
        let fails = peer.is_none() || cidrs_overlap(&requester.cidr_blocks, &accepter.cidr_blocks);
        let connection = VpcPeeringConnection {
            id: ResourceId::generate(ResourceKind::VpcPeeringConnection),
            requester,
            accepter,
            state: if fails {
                PeeringState::Failed
            } else {
                PeeringState::PendingAcceptance
            },
            state_since_ms: now,
            acted_by: None,
            acted_by_account: None,
            expiration_ms: now + state::EXPIRY_MS,
            tags,
        };
        tx.insert_resource(&new_row(scope, &connection)?)
            .await
            .map_err(store_err)?;
        if let Some(peer) = peer.filter(|_| !fails) {
            // Both VPCs are written back so a racing DeleteVpc conflicts.
            update_in_tx(&mut tx, scope, &vpc).await?;
            update_in_tx(&mut tx, &peer_scope, &peer).await?;
            if peer_owner != scope.account {
                tx.insert_resource(&access::link_row(&connection)?)
                    .await
                    .map_err(store_err)?;
            }
        }
        resource::commit(tx, scope, &[connection.id.as_str()]).await?;
        let mut answer = connection;
        if answer.state == PeeringState::PendingAcceptance {
            answer.state = PeeringState::InitiatingRequest;
        }
        Ok(answer)
    }

    /// Accept, reject or delete, by whichever party may.
    pub(crate) async fn answer_peering_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        action: PeeringAction,
    ) -> Result<VpcPeeringConnection, Error> {
        let now = now_ms();
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let Found {
            mut stored,
            seen,
            owner,
        } = access::find(&mut Reader::Tx(&mut tx), scope, id, now).await?;
        let party = seen
            .party(&scope.account)
            .ok_or_else(|| resource::not_found(ResourceKind::VpcPeeringConnection, id.as_str()))?;
        let next =
            state::transition(seen.state, action, party).map_err(|r| refused(r, &seen, action))?;
        stored.value.state = next;
        stored.value.state_since_ms = now;
        if action != PeeringAction::Accept {
            stored.value.acted_by = Some(party);
            stored.value.acted_by_account = Some(scope.account.clone());
        }
        update_in_tx(&mut tx, &owner, &stored).await?;
        if seen.state == PeeringState::Active && next != PeeringState::Active {
            // Routes to the connection stop carrying traffic on both sides.
            for s in [&seen.requester, &seen.accepter] {
                let side_scope = scope_of(scope, &s.owner_id);
                set_target_routes_in_tx(&mut tx, &side_scope, &s.vpc_id, id, RouteState::Blackhole)
                    .await?;
            }
        }
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(stored.value.seen_at(now))
    }
}

/// For `CreateRoute`/`ReplaceRoute`: connection `id` must be visible to the
/// caller, `active`, and have the table's VPC (in the caller's account) as
/// one of its sides. Writes the connection's row back so a racing delete
/// conflicts.
pub(crate) async fn check_route_target_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<(), Error> {
    let (table_id, table_vpc) = (&table.id, &table.vpc_id);
    let found = access::find(&mut Reader::Tx(tx), scope, id, now_ms()).await?;
    if found.seen.side_of(&scope.account, table_vpc).is_none() {
        return Err(Error::invalid(format!(
            "route table {table_id} and VPC peering connection {id} belong to different networks"
        )));
    }
    if found.seen.state != PeeringState::Active {
        return Err(Error::invalid(format!(
            "The VPC peering connection {id} is {}: routes need an active connection",
            found.seen.state.as_str()
        )));
    }
    update_in_tx(tx, &found.owner, &found.stored)
        .await
        .map(drop)
}

/// For `DeleteVpc`: refuses while a pending or active connection uses the
/// VPC (Nubo does not delete connections with their VPC; delete or reject
/// them first).
pub(crate) async fn check_vpc_has_none(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
) -> Result<(), Error> {
    let connections = access::visible(&mut Reader::Tx(tx), scope, now_ms()).await?;
    match connections
        .iter()
        .find(|c| c.state.is_live() && c.side_of(&scope.account, vpc_id).is_some())
    {
        Some(c) => Err(Error::DependencyViolation(format!(
            "The vpc '{vpc_id}' has dependencies and cannot be deleted: VPC peering connection {} is {}.",
            c.id,
            c.state.as_str()
        ))),
        None => Ok(()),
    }
}

/// For security group references across VPCs: the active connection between
/// the caller's VPC `vpc` and `peer_account`'s VPC `peer_vpc`, in either
/// direction, if any.
pub(crate) async fn active_peering_between_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc: &ResourceId,
    peer_account: &AccountId,
    peer_vpc: &ResourceId,
) -> Result<Option<ResourceId>, Error> {
    let connections = access::visible(&mut Reader::Tx(tx), scope, now_ms()).await?;
    let is = |s: &PeerVpcInfo, account: &AccountId, vpc: &ResourceId| {
        &s.owner_id == account && &s.vpc_id == vpc
    };
    Ok(connections
        .into_iter()
        .find(|c| {
            c.state == PeeringState::Active
                && ((is(&c.requester, &scope.account, vpc)
                    && is(&c.accepter, peer_account, peer_vpc))
                    || (is(&c.accepter, &scope.account, vpc)
                        && is(&c.requester, peer_account, peer_vpc)))
        })
        .map(|c| c.id))
}

impl Ec2Service {
    /// The state of every peering connection the caller sees now (for the
    /// `peeringStatus` of security group rules that reach a peered VPC).
    pub async fn peering_states(
        &self,
        scope: &RequestScope,
    ) -> Result<std::collections::HashMap<ResourceId, PeeringState>, Error> {
        let all = access::visible(&mut Reader::Pool(&self.store), scope, now_ms()).await?;
        Ok(all.into_iter().map(|c| (c.id, c.state)).collect())
    }
}
