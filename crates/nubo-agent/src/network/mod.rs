//! From the store's view of the network to the data plane's model: the pure
//! [`network_model`] translates a [`NetworkView`] (EC2 domain objects of every
//! account) into the [`NetworkModel`] of this host — only what runs here, in
//! the few facts the kernel needs. The agent's network pass (`runner`) builds
//! it on every pass and hands it to `DataPlane::apply_network` when it
//! changed.
//!
//! What is on this host: the VPCs of the primary interfaces of this host's
//! instances whose processes may run (pending, running, stopping, shutting
//! down: filtered until halted), and of every available NAT gateway (the
//! all-in-one host runs every NAT gateway). Only primary interfaces are
//! plugged by the agent, so only they are in the model.
//!
//! The translation never fails: a torn read (see
//! `nubo_ec2::network_view`) or a target that cannot carry traffic here (a
//! detached gateway, an instance that does not run, a peering that is not
//! active) becomes a `Blackhole` route; a subnet whose tables cannot be
//! resolved is left out together with its interfaces, so the data plane
//! keeps dropping their traffic until the next pass.

mod matches;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use nubo_ec2::nat_gateway::{ConnectivityType, NatGatewayState};
use nubo_ec2::network_interface::NetworkInterface;
use nubo_ec2::network_view::NetworkView;
use nubo_ec2::route_table::{effective_table, RouteState, RouteTable, RouteTarget};
use nubo_ec2::security_group::Target;
use nubo_ec2::transit_gateway::attachment::AttachmentState;
use nubo_ec2::transit_gateway::gateway::TransitGatewayState;
use nubo_ec2::transit_gateway::planner::RouteState as TgwRouteState;
use nubo_ec2::transit_gateway::route_table::RouteTableState;
use nubo_ec2::vpc_peering::PeeringState;
use nubo_net::model::{
    AclNet, EniNet, ExternalNet, NatGatewayNet, NetworkModel, PeerSide, PeeringNet, RouteNet,
    RouteTableNet, RouteTargetNet, SecurityGroupNet, SgPeer, SgRuleNet, SubnetNet,
    TgwAttachmentNet, TgwRouteNet, TgwRouteTableNet, TransitGatewayNet, VpcNet,
};

use matches::{acl_entries, rule_match};

/// The desired network of this host (pure; see the module docs).
pub fn network_model(view: &NetworkView, external: &ExternalNet) -> NetworkModel {
    let enis = instance_enis(view);
    let nats = nat_gateways(view);
    let here: BTreeSet<&str> = enis
        .iter()
        .map(|(vpc, _)| vpc.as_str())
        .chain(nats.iter().map(|(vpc, _)| vpc.as_str()))
        .collect();
    let vpc_cidrs: BTreeMap<&str, Vec<_>> = view
        .vpcs
        .iter()
        .filter(|v| here.contains(v.id.as_str()))
        .map(|v| (v.id.as_str(), NetworkView::vpc_cidrs(v)))
        .collect();
    let peerings = peerings(view, &vpc_cidrs);
    let transit_gateways = transit_gateways(view, &vpc_cidrs);
    let mut vpcs = Vec::new();
    for (vpc_id, cidrs) in &vpc_cidrs {
        let ctx = VpcContext {
            view,
            vpc_id,
            peerings: &peerings,
            transit_gateways: &transit_gateways,
        };
        vpcs.push(ctx.build(cidrs.clone(), &enis, &nats));
    }
    let group_members = group_members(view, &vpcs);
    NetworkModel {
        external: external.clone(),
        vpcs,
        peerings,
        transit_gateways,
        group_members,
    }
}

/// (VPC, interface) of the primary interface of every instance of this host
/// whose processes may run, by interface ID.
fn instance_enis(view: &NetworkView) -> Vec<(String, EniNet)> {
    let by_id: HashMap<&str, &NetworkInterface> =
        view.interfaces.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut out: Vec<(String, EniNet)> = view
        .instances
        .iter()
        .filter_map(|i| {
            let eni = *by_id.get(i.primary_interface_id.as_str())?;
            let primary = eni.primary_ip()?;
            let mut public: Vec<(Ipv4Addr, Ipv4Addr)> = eni
                .private_ips
                .iter()
                .filter_map(|p| {
                    eni.association_of(p.address)
                        .map(|a| (p.address, a.public_ip))
                })
                .collect();
            // The launch-time public address maps the primary address, unless
            // an Elastic IP does (then AWS has released it).
            if let Some(launch) = i.public_ip {
                if eni.association_of(primary).is_none() {
                    public.insert(0, (primary, launch));
                }
            }
            Some((
                eni.vpc_id.to_string(),
                EniNet {
                    id: eni.id.to_string(),
                    instance_id: i.id.to_string(),
                    device_index: eni
                        .attachment
                        .as_ref()
                        .and_then(|a| u32::try_from(a.device_index).ok())
                        .unwrap_or(0),
                    subnet_id: eni.subnet_id.to_string(),
                    mac: eni.mac_address.clone(),
                    addresses: eni.private_ips.iter().map(|p| p.address).collect(),
                    security_groups: eni.groups.iter().map(|g| g.id.to_string()).collect(),
                    source_dest_check: eni.source_dest_check,
                    public,
                },
            ))
        })
        .collect();
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    out
}

/// (VPC, gateway) of every available NAT gateway whose interface exists.
fn nat_gateways(view: &NetworkView) -> Vec<(String, NatGatewayNet)> {
    view.nat_gateways
        .iter()
        .filter(|n| n.state == NatGatewayState::Available)
        .filter_map(|n| {
            let address = n.addresses.first()?;
            let eni = interface(view, address.network_interface_id.as_str())?;
            let public_address = match n.connectivity_type {
                ConnectivityType::Public => address.public_ip,
                ConnectivityType::Private => None,
            };
            Some((
                n.vpc_id.to_string(),
                NatGatewayNet {
                    id: n.id.to_string(),
                    subnet_id: n.subnet_id.to_string(),
                    eni_id: eni.id.to_string(),
                    mac: eni.mac_address.clone(),
                    private_address: address.private_ip,
                    public_address,
                },
            ))
        })
        .collect()
}

fn interface<'a>(view: &'a NetworkView, id: &str) -> Option<&'a NetworkInterface> {
    view.interfaces.iter().find(|e| e.id.as_str() == id)
}

/// Active peering connections whose two VPCs are both here, each side with
/// its VPC's current blocks.
fn peerings(
    view: &NetworkView,
    here: &BTreeMap<&str, Vec<nubo_net::model::Ipv4Cidr>>,
) -> Vec<PeeringNet> {
    view.peerings
        .iter()
        .filter(|p| p.state == PeeringState::Active)
        .filter_map(|p| {
            let side = |vpc: &str| {
                here.get(vpc).map(|cidrs| PeerSide {
                    vpc_id: vpc.to_string(),
                    cidrs: cidrs.clone(),
                })
            };
            Some(PeeringNet {
                id: p.id.to_string(),
                requester: side(p.requester.vpc_id.as_str())?,
                accepter: side(p.accepter.vpc_id.as_str())?,
            })
        })
        .collect()
}

/// Available transit gateways with their available attachments to VPCs that
/// are here, and their available route tables' routes (static and
/// propagated). A route to an attachment that is not here is a blackhole.
fn transit_gateways(
    view: &NetworkView,
    here: &BTreeMap<&str, Vec<nubo_net::model::Ipv4Cidr>>,
) -> Vec<TransitGatewayNet> {
    let mut out = Vec::new();
    for tgw in view
        .transit_gateways
        .iter()
        .filter(|t| t.state == TransitGatewayState::Available)
    {
        let attachments: Vec<TgwAttachmentNet> = view
            .tgw_attachments
            .iter()
            .filter(|a| {
                a.transit_gateway_id == tgw.id
                    && a.state == AttachmentState::Available
                    && here.contains_key(a.vpc_id.as_str())
            })
            .filter_map(|a| {
                Some(TgwAttachmentNet {
                    id: a.id.to_string(),
                    vpc_id: a.vpc_id.to_string(),
                    subnet_id: a.subnets.first()?.subnet_id.to_string(),
                    route_table: a.association.as_ref().map(|t| t.to_string()),
                })
            })
            .collect();
        if attachments.is_empty() {
            continue;
        }
        let route_tables = view
            .tgw_route_tables
            .iter()
            .filter(|t| t.transit_gateway_id == tgw.id && t.state == RouteTableState::Available)
            .map(|t| TgwRouteTableNet {
                id: t.id.to_string(),
                routes: view
                    .transit_gateway_routes(t)
                    .into_iter()
                    .map(|r| TgwRouteNet {
                        destination: r.destination,
                        attachment: match r.state {
                            TgwRouteState::Blackhole => None,
                            // Several attachments (ECMP): the first one here.
                            TgwRouteState::Active => r
                                .attachments
                                .iter()
                                .map(|a| a.attachment_id.to_string())
                                .find(|id| attachments.iter().any(|x| &x.id == id)),
                        },
                    })
                    .collect(),
            })
            .collect();
        out.push(TransitGatewayNet {
            id: tgw.id.to_string(),
            attachments,
            route_tables,
        });
    }
    out
}

/// What building one VPC's configuration needs to see.
struct VpcContext<'a> {
    view: &'a NetworkView,
    vpc_id: &'a str,
    peerings: &'a [PeeringNet],
    transit_gateways: &'a [TransitGatewayNet],
}

impl VpcContext<'_> {
    fn build(
        &self,
        cidrs: Vec<nubo_net::model::Ipv4Cidr>,
        enis: &[(String, EniNet)],
        nats: &[(String, NatGatewayNet)],
    ) -> VpcNet {
        let view = self.view;
        let tables: Vec<RouteTable> = view
            .route_tables
            .iter()
            .filter(|t| t.vpc_id.as_str() == self.vpc_id)
            .cloned()
            .collect();
        let acls: Vec<_> = view
            .network_acls
            .iter()
            .filter(|a| a.vpc_id.as_str() == self.vpc_id)
            .collect();
        let mut subnets = Vec::new();
        let mut used_tables: BTreeSet<&str> = BTreeSet::new();
        let mut used_acls: BTreeSet<&str> = BTreeSet::new();
        for s in view
            .subnets
            .iter()
            .filter(|s| s.vpc_id.as_str() == self.vpc_id)
        {
            let Some(table) = effective_table(&tables, &s.id) else {
                continue;
            };
            let acl = acls
                .iter()
                .find(|a| a.associations.iter().any(|x| x.subnet_id == s.id))
                .or_else(|| acls.iter().find(|a| a.is_default));
            let Some(acl) = acl else {
                continue;
            };
            used_tables.insert(table.id.as_str());
            used_acls.insert(acl.id.as_str());
            subnets.push(SubnetNet {
                id: s.id.to_string(),
                cidr: s.cidr_block,
                route_table: table.id.to_string(),
                network_acl: acl.id.to_string(),
            });
        }
        let in_subnet = |subnet: &str| subnets.iter().any(|s| s.id == subnet);
        let enis: Vec<EniNet> = enis
            .iter()
            .filter(|(vpc, e)| vpc == self.vpc_id && in_subnet(&e.subnet_id))
            .map(|(_, e)| e.clone())
            .collect();
        let nat_gateways: Vec<NatGatewayNet> = nats
            .iter()
            .filter(|(vpc, n)| vpc == self.vpc_id && in_subnet(&n.subnet_id))
            .map(|(_, n)| n.clone())
            .collect();
        let internet_gateway = view
            .internet_gateways
            .iter()
            .find(|g| g.vpc_id.as_ref().is_some_and(|v| v.as_str() == self.vpc_id))
            .map(|g| g.id.to_string());
        let targets = Targets {
            ctx: self,
            internet_gateway: internet_gateway.as_deref(),
            enis: &enis,
            nat_gateways: &nat_gateways,
        };
        let route_tables = tables
            .iter()
            .filter(|t| used_tables.contains(t.id.as_str()))
            .map(|t| RouteTableNet {
                id: t.id.to_string(),
                routes: t
                    .routes
                    .iter()
                    .map(|r| RouteNet {
                        destination: r.destination_cidr_block,
                        target: match r.state {
                            RouteState::Blackhole => RouteTargetNet::Blackhole,
                            RouteState::Active => targets.translate(&r.target),
                        },
                    })
                    .collect(),
            })
            .collect();
        let network_acls = acls
            .iter()
            .filter(|a| used_acls.contains(a.id.as_str()))
            .map(|a| AclNet {
                id: a.id.to_string(),
                ingress: acl_entries(&a.entries, false),
                egress: acl_entries(&a.entries, true),
            })
            .collect();
        let groups: BTreeSet<&str> = enis
            .iter()
            .flat_map(|e| e.security_groups.iter().map(String::as_str))
            .collect();
        let security_groups = view
            .security_groups
            .iter()
            .filter(|g| groups.contains(g.id.as_str()))
            .map(|g| SecurityGroupNet {
                id: g.id.to_string(),
                ingress: g.ingress.iter().map(sg_rule).collect(),
                egress: g.egress.iter().map(sg_rule).collect(),
            })
            .collect();
        VpcNet {
            id: self.vpc_id.to_string(),
            cidrs,
            subnets,
            route_tables,
            network_acls,
            security_groups,
            enis,
            internet_gateway,
            nat_gateways,
        }
    }
}

fn sg_rule(rule: &nubo_ec2::security_group::Rule) -> SgRuleNet {
    SgRuleNet {
        peer: match &rule.target {
            Target::Cidr(c) => SgPeer::Cidr(*c),
            Target::Group { group_id, .. } => SgPeer::Group(group_id.to_string()),
        },
        matches: rule_match(rule),
    }
}

/// What a route of one VPC may point at on this host.
struct Targets<'a> {
    ctx: &'a VpcContext<'a>,
    internet_gateway: Option<&'a str>,
    enis: &'a [EniNet],
    nat_gateways: &'a [NatGatewayNet],
}

impl Targets<'_> {
    /// The route target as the data plane carries it: `Blackhole` unless the
    /// target can carry this VPC's traffic here.
    fn translate(&self, target: &RouteTarget) -> RouteTargetNet {
        let vpc = self.ctx.vpc_id;
        let found = match target {
            RouteTarget::Local => Some(RouteTargetNet::Local),
            RouteTarget::Gateway(id) => (self.internet_gateway == Some(id.as_str()))
                .then(|| RouteTargetNet::InternetGateway(id.to_string())),
            RouteTarget::NatGateway(id) => self
                .nat_gateways
                .iter()
                .any(|n| n.id == id.as_str())
                .then(|| RouteTargetNet::NatGateway(id.to_string())),
            RouteTarget::VpcPeeringConnection(id) => self
                .ctx
                .peerings
                .iter()
                .any(|p| {
                    p.id == id.as_str() && (p.requester.vpc_id == vpc || p.accepter.vpc_id == vpc)
                })
                .then(|| RouteTargetNet::Peering(id.to_string())),
            RouteTarget::TransitGateway(id) => self
                .ctx
                .transit_gateways
                .iter()
                .any(|t| t.id == id.as_str() && t.attachments.iter().any(|a| a.vpc_id == vpc))
                .then(|| RouteTargetNet::TransitGateway(id.to_string())),
            RouteTarget::NetworkInterface(id) => self.eni(id.as_str()),
            RouteTarget::Instance(id) => self
                .ctx
                .view
                .interfaces
                .iter()
                .find(|e| {
                    e.attachment
                        .as_ref()
                        .is_some_and(|a| a.instance_id == *id && a.device_index == 0)
                })
                .and_then(|e| self.eni(e.id.as_str())),
        };
        found.unwrap_or(RouteTargetNet::Blackhole)
    }

    fn eni(&self, id: &str) -> Option<RouteTargetNet> {
        self.enis
            .iter()
            .any(|e| e.id == id)
            .then(|| RouteTargetNet::Eni(id.to_string()))
    }
}

/// The private addresses of every interface (any VPC, host or state) in each
/// group that some rule of `vpcs` references.
fn group_members(view: &NetworkView, vpcs: &[VpcNet]) -> BTreeMap<String, Vec<Ipv4Addr>> {
    let referenced: BTreeSet<&str> = vpcs
        .iter()
        .flat_map(|v| &v.security_groups)
        .flat_map(|g| g.ingress.iter().chain(&g.egress))
        .filter_map(|r| match &r.peer {
            SgPeer::Group(id) => Some(id.as_str()),
            SgPeer::Cidr(_) => None,
        })
        .collect();
    let mut members: BTreeMap<String, Vec<Ipv4Addr>> = referenced
        .iter()
        .map(|g| (g.to_string(), Vec::new()))
        .collect();
    for eni in &view.interfaces {
        for g in &eni.groups {
            if let Some(list) = members.get_mut(g.id.as_str()) {
                list.extend(eni.private_ips.iter().map(|p| p.address));
            }
        }
    }
    for list in members.values_mut() {
        list.sort();
        list.dedup();
    }
    members
}
