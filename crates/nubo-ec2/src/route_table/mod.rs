//! Route tables (model and control plane; nothing forwards packets yet): one
//! generation-guarded row per table, child of its VPC, holding its routes and
//! its associations (each with an `rtbassoc-` ID) in the body. The filters
//! `DescribeRouteTables` understands are here; the operations are in [`ops`]
//! (tables, the main table of each VPC, local routes), [`association`] and
//! [`routes`] (routes), [`targets`] (what a route may point at).
//!
//! Invariants: every VPC has exactly one main table, created and deleted with
//! it; every table has one `local` route per IPv4 block of its VPC; a subnet
//! has at most one explicit association, and a subnet without one uses the
//! main table ([`effective_table`]).

pub mod association;
pub mod ops;
pub mod routes;
pub mod targets;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Ipv4Cidr, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;

/// Where a route sends traffic. Each variant is one of the target parameters
/// of `CreateRoute` and one member of the `Route` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteTarget {
    /// Inside the VPC: the route of each of the VPC's blocks.
    Local,
    /// An internet gateway (`igw-…`, `GatewayId`).
    Gateway(ResourceId),
    /// A NAT gateway (`nat-…`, `NatGatewayId`).
    NatGateway(ResourceId),
    /// A VPC peering connection (`pcx-…`, `VpcPeeringConnectionId`).
    VpcPeeringConnection(ResourceId),
    /// A transit gateway (`tgw-…`, `TransitGatewayId`).
    TransitGateway(ResourceId),
    /// A network interface (`eni-…`, `NetworkInterfaceId`).
    NetworkInterface(ResourceId),
    /// An instance (`i-…`, `InstanceId`): its primary network interface.
    Instance(ResourceId),
}

impl RouteTarget {
    /// The `gatewayId` member: `local` or the internet gateway's ID; `None`
    /// for the other target kinds.
    pub fn gateway_id(&self) -> Option<String> {
        match self {
            RouteTarget::Local => Some("local".into()),
            RouteTarget::Gateway(id) => Some(id.to_string()),
            _ => None,
        }
    }

    /// The ID of the resource the route points at (`None` for `local`).
    pub fn target_id(&self) -> Option<&ResourceId> {
        match self {
            RouteTarget::Local => None,
            RouteTarget::Gateway(id)
            | RouteTarget::NatGateway(id)
            | RouteTarget::VpcPeeringConnection(id)
            | RouteTarget::TransitGateway(id)
            | RouteTarget::NetworkInterface(id)
            | RouteTarget::Instance(id) => Some(id),
        }
    }

    /// The target's ID when it is of `kind`'s variant, for the `route.*-id` filters.
    fn id_of(&self, kind: ResourceKind) -> Option<String> {
        self.target_id()
            .filter(|id| ResourceKind::of_id(id.as_str()) == Some(kind))
            .map(|id| id.to_string())
    }
}

/// How a route came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteOrigin {
    CreateRouteTable,
    CreateRoute,
}

impl RouteOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteOrigin::CreateRouteTable => "CreateRouteTable",
            RouteOrigin::CreateRoute => "CreateRoute",
        }
    }
}

/// Whether a route's target can carry traffic (`blackhole`: it is gone or detached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteState {
    Active,
    Blackhole,
}

impl RouteState {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteState::Active => "active",
            RouteState::Blackhole => "blackhole",
        }
    }
}

/// One route of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination_cidr_block: Ipv4Cidr,
    pub target: RouteTarget,
    pub origin: RouteOrigin,
    pub state: RouteState,
}

impl Route {
    /// The `local` route of one VPC block.
    pub fn local(block: Ipv4Cidr) -> Route {
        Route {
            destination_cidr_block: block,
            target: RouteTarget::Local,
            origin: RouteOrigin::CreateRouteTable,
            state: RouteState::Active,
        }
    }

    pub fn is_local(&self) -> bool {
        self.target == RouteTarget::Local
    }
}

/// One association of a table: the VPC's main association, a subnet's
/// explicit one, or a gateway's (edge) one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Association {
    pub id: ResourceId,
    pub main: bool,
    pub subnet_id: Option<ResourceId>,
    /// The internet gateway of an edge association (a gateway route table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<ResourceId>,
}

impl Association {
    pub fn new(main: bool, subnet_id: Option<ResourceId>) -> Self {
        Association {
            id: ResourceId::generate(ResourceKind::RouteTableAssociation),
            main,
            subnet_id,
            gateway_id: None,
        }
    }

    /// An edge association with gateway `gateway_id`.
    pub fn edge(gateway_id: ResourceId) -> Self {
        Association {
            gateway_id: Some(gateway_id),
            ..Association::new(false, None)
        }
    }
}

/// A route table as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: ResourceId,
    pub owner_id: AccountId,
    pub vpc_id: ResourceId,
    pub routes: Vec<Route>,
    pub associations: Vec<Association>,
    /// The `ClientToken` of the `CreateRouteTable` that made it, so a retried
    /// call returns this table instead of creating another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tags: TagSet,
}

impl RouteTable {
    /// Whether this is its VPC's main table.
    pub fn is_main(&self) -> bool {
        self.associations.iter().any(|a| a.main)
    }

    /// Whether this is a gateway route table (associated with a gateway).
    pub fn is_edge(&self) -> bool {
        self.associations.iter().any(|a| a.gateway_id.is_some())
    }

    /// The first route a gateway route table may not hold (pure): AWS allows
    /// only the `local` routes and routes to a network interface whose
    /// destination is exactly one of the VPC's `blocks` or one of its
    /// `subnets`' blocks.
    pub fn first_non_edge_route(
        &self,
        blocks: &[Ipv4Cidr],
        subnets: &[Ipv4Cidr],
    ) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| !edge_route_allowed(r, blocks, subnets))
    }

    /// Makes the `local` routes match the VPC's `blocks`: one per block, in
    /// block order, ahead of the other routes (pure, for unit tests).
    pub fn sync_local_routes(&mut self, blocks: &[Ipv4Cidr]) {
        self.routes.retain(|r| !r.is_local());
        let locals: Vec<Route> = blocks.iter().copied().map(Route::local).collect();
        self.routes.splice(0..0, locals);
    }

    /// The route for exactly `destination`, if any.
    pub fn route_index(&self, destination: &Ipv4Cidr) -> Option<usize> {
        self.routes
            .iter()
            .position(|r| &r.destination_cidr_block == destination)
    }
}

/// Whether `route` may be in a gateway route table of a VPC with `blocks`
/// and subnet blocks `subnets` (pure, for unit tests).
pub fn edge_route_allowed(route: &Route, blocks: &[Ipv4Cidr], subnets: &[Ipv4Cidr]) -> bool {
    match route.target {
        RouteTarget::Local => true,
        RouteTarget::NetworkInterface(_) => {
            blocks.contains(&route.destination_cidr_block)
                || subnets.contains(&route.destination_cidr_block)
        }
        _ => false,
    }
}

/// The table subnet `subnet` uses among its VPC's `tables`: its explicit
/// association's, else the main table (pure, for unit tests and the data plane).
pub fn effective_table<'a>(
    tables: &'a [RouteTable],
    subnet: &ResourceId,
) -> Option<&'a RouteTable> {
    tables
        .iter()
        .find(|t| {
            t.associations
                .iter()
                .any(|a| a.subnet_id.as_ref() == Some(subnet))
        })
        .or_else(|| tables.iter().find(|t| t.is_main()))
}

impl Resource for RouteTable {
    const KIND: ResourceKind = ResourceKind::RouteTable;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn parent(&self) -> Option<&ResourceId> {
        Some(&self.vpc_id)
    }

    const PARENT_FILTER: Option<&'static str> = Some("vpc-id");

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for RouteTable {
    const FILTERS: &'static [&'static str] = &[
        "association.gateway-id",
        "association.main",
        "association.route-table-association-id",
        "association.route-table-id",
        "association.subnet-id",
        "owner-id",
        "route-table-id",
        "route.destination-cidr-block",
        "route.destination-ipv6-cidr-block",
        "route.destination-prefix-list-id",
        "route.egress-only-internet-gateway-id",
        "route.gateway-id",
        "route.instance-id",
        "route.nat-gateway-id",
        "route.transit-gateway-id",
        "route.origin",
        "route.state",
        "route.vpc-peering-connection-id",
        "vpc-id",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let assoc = |f: fn(&Association) -> Option<String>| {
            self.associations.iter().filter_map(f).collect::<Vec<_>>()
        };
        let route = |f: fn(&Route) -> String| self.routes.iter().map(f).collect::<Vec<_>>();
        let target = |kind: ResourceKind| {
            self.routes
                .iter()
                .filter_map(|r| r.target.id_of(kind))
                .collect::<Vec<_>>()
        };
        match name {
            "association.gateway-id" => assoc(|a| a.gateway_id.as_ref().map(|g| g.to_string())),
            "association.main" => assoc(|a| Some(a.main.to_string())),
            "association.route-table-association-id" => assoc(|a| Some(a.id.to_string())),
            "association.route-table-id" if self.associations.is_empty() => vec![],
            "association.route-table-id" => vec![self.id.to_string()],
            "association.subnet-id" => assoc(|a| a.subnet_id.as_ref().map(|s| s.to_string())),
            "owner-id" => vec![self.owner_id.to_string()],
            "route-table-id" => vec![self.id.to_string()],
            "route.destination-cidr-block" => route(|r| r.destination_cidr_block.to_string()),
            "route.gateway-id" => self
                .routes
                .iter()
                .filter_map(|r| r.target.gateway_id())
                .collect(),
            "route.instance-id" => target(ResourceKind::Instance),
            "route.nat-gateway-id" => target(ResourceKind::NatGateway),
            "route.transit-gateway-id" => target(ResourceKind::TransitGateway),
            "route.vpc-peering-connection-id" => target(ResourceKind::VpcPeeringConnection),
            "route.origin" => route(|r| r.origin.as_str().to_string()),
            "route.state" => route(|r| r.state.as_str().to_string()),
            "vpc-id" => vec![self.vpc_id.to_string()],
            // IPv6 and prefix lists are not offered yet, so nothing matches them.
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::filter::{self, Filter};

    fn table(main: bool, subnets: &[&ResourceId]) -> RouteTable {
        let mut associations: Vec<Association> = subnets
            .iter()
            .map(|s| Association::new(false, Some((*s).clone())))
            .collect();
        if main {
            associations.push(Association::new(true, None));
        }
        RouteTable {
            id: ResourceId::generate(ResourceKind::RouteTable),
            owner_id: AccountId::parse("123456789012").unwrap(),
            vpc_id: ResourceId::generate(ResourceKind::Vpc),
            routes: vec![Route::local("10.0.0.0/16".parse().unwrap())],
            associations,
            client_token: None,
            tags: TagSet::new(),
        }
    }

    #[test]
    fn local_routes_follow_the_vpc_blocks() {
        let mut t = table(true, &[]);
        let igw = ResourceId::generate(ResourceKind::InternetGateway);
        t.routes.push(Route {
            destination_cidr_block: "0.0.0.0/0".parse().unwrap(),
            target: RouteTarget::Gateway(igw),
            origin: RouteOrigin::CreateRoute,
            state: RouteState::Active,
        });
        let blocks: Vec<Ipv4Cidr> = vec![
            "10.0.0.0/16".parse().unwrap(),
            "10.1.0.0/16".parse().unwrap(),
        ];
        t.sync_local_routes(&blocks);
        let dests: Vec<String> = t
            .routes
            .iter()
            .map(|r| {
                format!(
                    "{}>{}",
                    r.destination_cidr_block,
                    r.target.gateway_id().unwrap()
                )
            })
            .collect();
        assert_eq!(dests[..2], ["10.0.0.0/16>local", "10.1.0.0/16>local"]);
        assert!(dests[2].starts_with("0.0.0.0/0>igw-"));
        t.sync_local_routes(&blocks[..1]);
        assert_eq!(t.routes.len(), 2);
        assert_eq!(t.route_index(&"10.1.0.0/16".parse().unwrap()), None);
    }

    #[test]
    fn subnets_without_an_explicit_association_use_the_main_table() {
        let s1 = ResourceId::generate(ResourceKind::Subnet);
        let s2 = ResourceId::generate(ResourceKind::Subnet);
        let tables = vec![table(true, &[]), table(false, &[&s1])];
        assert_eq!(effective_table(&tables, &s1).unwrap().id, tables[1].id);
        assert_eq!(effective_table(&tables, &s2).unwrap().id, tables[0].id);
        assert!(effective_table(&[], &s2).is_none());
    }

    #[test]
    fn association_filters_skip_unassociated_tables() {
        let s1 = ResourceId::generate(ResourceKind::Subnet);
        let main = table(true, &[]);
        let custom = table(false, &[&s1]);
        let bare = table(false, &[]);
        let f = |name: &str, v: &str| {
            vec![Filter {
                name: name.into(),
                values: vec![v.into()],
            }]
        };
        let hits = |fs: &[Filter]| {
            [&main, &custom, &bare]
                .iter()
                .filter(|t| filter::matches(**t, fs))
                .count()
        };
        assert_eq!(hits(&f("association.main", "true")), 1);
        assert_eq!(
            hits(&f("association.main", "false")),
            1,
            "bare has no association"
        );
        assert_eq!(hits(&f("association.subnet-id", s1.as_str())), 1);
        assert_eq!(hits(&f("association.route-table-id", bare.id.as_str())), 0);
        assert_eq!(hits(&f("association.route-table-id", main.id.as_str())), 1);
        assert_eq!(hits(&f("route.gateway-id", "local")), 3);
        assert_eq!(hits(&f("route.origin", "CreateRouteTable")), 3);
        let igw = ResourceId::generate(ResourceKind::InternetGateway);
        let mut edge = table(false, &[]);
        edge.associations.push(Association::edge(igw.clone()));
        assert!(edge.is_edge() && !main.is_edge());
        assert!(filter::matches(
            &edge,
            &f("association.gateway-id", igw.as_str())
        ));
        assert!(!filter::matches(
            &custom,
            &f("association.gateway-id", igw.as_str())
        ));
    }

    #[test]
    fn gateway_route_tables_hold_local_and_interface_routes_to_vpc_blocks() {
        let vpc: Ipv4Cidr = "10.0.0.0/16".parse().unwrap();
        let subnet: Ipv4Cidr = "10.0.1.0/24".parse().unwrap();
        let eni =
            RouteTarget::NetworkInterface(ResourceId::generate(ResourceKind::NetworkInterface));
        let igw = RouteTarget::Gateway(ResourceId::generate(ResourceKind::InternetGateway));
        let route = |dest: &str, target: &RouteTarget| Route {
            destination_cidr_block: dest.parse().unwrap(),
            target: target.clone(),
            origin: RouteOrigin::CreateRoute,
            state: RouteState::Active,
        };
        let ok = |r: &Route| edge_route_allowed(r, &[vpc], &[subnet]);
        assert!(ok(&Route::local(vpc)));
        assert!(ok(&route("10.0.1.0/24", &eni)));
        assert!(ok(&route("10.0.0.0/16", &eni)));
        assert!(!ok(&route("10.0.2.0/24", &eni)), "not a subnet's block");
        assert!(!ok(&route("0.0.0.0/0", &eni)));
        assert!(!ok(&route("10.0.1.0/24", &igw)));
        let mut t = table(false, &[]);
        assert!(t.first_non_edge_route(&[vpc], &[subnet]).is_none());
        t.routes.push(route("0.0.0.0/0", &igw));
        assert_eq!(
            t.first_non_edge_route(&[vpc], &[subnet])
                .map(|r| r.destination_cidr_block),
            Some("0.0.0.0/0".parse().unwrap())
        );
    }
}
