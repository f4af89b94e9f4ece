//! The host agent's read of the network: every object the data plane of a
//! host needs, as the EC2 domain types, in one call
//! ([`Ec2Service::network_view`]). The agent (`nubo-agent`'s `network`
//! module) translates it into the data plane's model; this crate cannot
//! depend on the data plane, so the view stays in domain terms.
//!
//! Everything network-wide is read for ALL accounts and regions (a peering
//! or a transit gateway joins VPCs of several accounts, and a rule that
//! references a group matches its members wherever they run); only the
//! instances are this host's. Each kind is one `list_kind_everywhere` query,
//! run concurrently, so one view costs a dozen indexed reads and the JSON
//! decoding — a few tens of ms with 1,000 instances and thousands of rules.
//!
//! Consistency: the store offers no read-only snapshot across queries, so a
//! view may be slightly torn (a route read before, its new target after, a
//! concurrent write). Every write wakes the agent, so the next pass reads
//! again and converges; the translation tolerates dangling references (a
//! route to a target it cannot find is a blackhole).

use std::collections::BTreeMap;

use nubo_core::{Error, Ipv4Cidr, ResourceId, ResourceKind};
use nubo_store::ResourceRow;
use serde::de::DeserializeOwned;

use crate::instance::{Instance, InstanceState};
use crate::internet_gateway::InternetGateway;
use crate::nat_gateway::NatGateway;
use crate::network_acl::NetworkAcl;
use crate::network_interface::NetworkInterface;
use crate::resource::{decode, store_err, Ec2Service};
use crate::route_table::RouteTable;
use crate::security_group::SecurityGroup;
use crate::subnet::Subnet;
use crate::transit_gateway::attachment::TransitGatewayAttachment;
use crate::transit_gateway::gateway::TransitGateway;
use crate::transit_gateway::planner::{self, Propagator, RouteAttachment, TgwRoute};
use crate::transit_gateway::route_table::TransitGatewayRouteTable;
use crate::vpc::{CidrState, Vpc};
use crate::vpc_peering::VpcPeeringConnection;

/// The whole network as one host's data plane needs it (see the module docs).
/// Elastic IPs are not read separately: each association is recorded on the
/// interface too ([`NetworkInterface::public_ips`], written in the same
/// transaction as the address row), and a NAT gateway records its own.
#[derive(Debug, Clone, Default)]
pub struct NetworkView {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub network_acls: Vec<NetworkAcl>,
    pub security_groups: Vec<SecurityGroup>,
    /// Every interface: instances', NAT gateways', unattached ones.
    pub interfaces: Vec<NetworkInterface>,
    pub internet_gateways: Vec<InternetGateway>,
    pub nat_gateways: Vec<NatGateway>,
    pub peerings: Vec<VpcPeeringConnection>,
    pub transit_gateways: Vec<TransitGateway>,
    pub tgw_attachments: Vec<TransitGatewayAttachment>,
    pub tgw_route_tables: Vec<TransitGatewayRouteTable>,
    /// This host's instances whose processes may run: pending, running, and
    /// stopping or shutting down (their filters stay until the agent has
    /// halted them; then they are stopped or terminated).
    pub instances: Vec<Instance>,
}

fn decode_all<T: DeserializeOwned>(rows: Vec<ResourceRow>) -> Result<Vec<T>, Error> {
    rows.iter().map(|r| decode(r).map(|v| v.value)).collect()
}

/// Whether an instance's processes may be running (see
/// [`NetworkView::instances`]).
pub fn may_run(state: InstanceState) -> bool {
    match state {
        InstanceState::Pending
        | InstanceState::Running
        | InstanceState::Stopping
        | InstanceState::ShuttingDown => true,
        InstanceState::Stopped | InstanceState::Terminated => false,
    }
}

impl NetworkView {
    /// The VPC's associated IPv4 blocks, primary first.
    pub fn vpc_cidrs(vpc: &Vpc) -> Vec<Ipv4Cidr> {
        vpc.cidr_associations
            .iter()
            .filter(|c| c.state == CidrState::Associated)
            .map(|c| c.cidr_block)
            .collect()
    }

    /// The routes transit gateway route table `table` holds now: its static
    /// routes and those its propagating attachments' VPCs give it, computed
    /// by the same planner `SearchTransitGatewayRoutes` uses (pure).
    pub fn transit_gateway_routes(&self, table: &TransitGatewayRouteTable) -> Vec<TgwRoute> {
        let attachments: Vec<&TransitGatewayAttachment> = self
            .tgw_attachments
            .iter()
            .filter(|a| a.transit_gateway_id == table.transit_gateway_id)
            .collect();
        let live: BTreeMap<ResourceId, RouteAttachment> = attachments
            .iter()
            .map(|a| (a.id.clone(), RouteAttachment::of(a)))
            .collect();
        let propagators: Vec<Propagator> = attachments
            .iter()
            .filter(|a| table.propagations.contains(&a.id))
            .map(|a| Propagator {
                attachment: RouteAttachment::of(a),
                cidrs: self
                    .vpcs
                    .iter()
                    .find(|v| v.id == a.vpc_id)
                    .map(Self::vpc_cidrs)
                    .unwrap_or_default(),
            })
            .collect();
        planner::plan(&table.static_routes, &propagators, &live)
    }
}

impl Ec2Service {
    async fn kind_everywhere<T: DeserializeOwned>(
        &self,
        kind: ResourceKind,
    ) -> Result<Vec<T>, Error> {
        let rows = self
            .store
            .list_kind_everywhere(kind.prefix())
            .await
            .map_err(store_err)?;
        decode_all(rows)
    }

    /// Everything the data plane of host `host_id` needs (see the module
    /// docs): the network of every account, and this host's instances whose
    /// processes may run.
    pub async fn network_view(&self, host_id: &str) -> Result<NetworkView, Error> {
        use ResourceKind as K;
        let (vpcs, subnets, route_tables, network_acls, security_groups, interfaces) = tokio::try_join!(
            self.kind_everywhere::<Vpc>(K::Vpc),
            self.kind_everywhere::<Subnet>(K::Subnet),
            self.kind_everywhere::<RouteTable>(K::RouteTable),
            self.kind_everywhere::<NetworkAcl>(K::NetworkAcl),
            self.kind_everywhere::<SecurityGroup>(K::SecurityGroup),
            self.kind_everywhere::<NetworkInterface>(K::NetworkInterface),
        )?;
        let (internet_gateways, nat_gateways, peerings, transit_gateways) = tokio::try_join!(
            self.kind_everywhere::<InternetGateway>(K::InternetGateway),
            self.kind_everywhere::<NatGateway>(K::NatGateway),
            self.kind_everywhere::<VpcPeeringConnection>(K::VpcPeeringConnection),
            self.kind_everywhere::<TransitGateway>(K::TransitGateway),
        )?;
        let (tgw_attachments, tgw_route_tables, instances) = tokio::try_join!(
            self.kind_everywhere::<TransitGatewayAttachment>(K::TransitGatewayAttachment),
            self.kind_everywhere::<TransitGatewayRouteTable>(K::TransitGatewayRouteTable),
            self.kind_everywhere::<Instance>(K::Instance),
        )?;
        let instances = instances
            .into_iter()
            .filter(|i| i.host_id == host_id && may_run(i.state))
            .collect();
        Ok(NetworkView {
            vpcs,
            subnets,
            route_tables,
            network_acls,
            security_groups,
            interfaces,
            internet_gateways,
            nat_gateways,
            peerings,
            transit_gateways,
            tgw_attachments,
            tgw_route_tables,
            instances,
        })
    }

    /// Desired network state changed (a mutating EC2 call succeeded): the
    /// host agent converges now, not at its next tick, so a route or a
    /// security-group change reaches the kernel within milliseconds.
    pub fn network_changed(&self) {
        self.wake_agents();
    }
}
