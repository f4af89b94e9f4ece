//! The route planner of a transit gateway route table: a pure function from
//! the table's static routes, the attachments propagating into it (with their
//! VPCs' current CIDR blocks) and the attachments that exist, to the routes
//! the table holds. Propagated routes are never stored, so they cannot drift
//! from the VPCs they come from; `SearchTransitGatewayRoutes` (and later the
//! data plane) read them from here.
//!
//! Rules: a static route wins over propagated ones for the same prefix; a
//! prefix propagated by several attachments is one route listing all of them
//! (ECMP); a static route is `blackhole` when created so (`Blackhole=true`) or
//! when its attachment no longer exists; routes come out in address order,
//! shorter prefixes first.

use std::collections::BTreeMap;

use nubo_core::{Ipv4Cidr, ResourceId};

use super::route_table::StaticRoute;

/// How a route came to be (`type` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteType {
    Static,
    Propagated,
}

impl RouteType {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteType::Static => "static",
            RouteType::Propagated => "propagated",
        }
    }
}

/// Whether a route carries traffic (`state` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// The `TransitGatewayRouteAttachment` shape: an attachment and the resource
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteAttachment {
    pub attachment_id: ResourceId,
    pub resource_id: ResourceId,
    pub resource_type: &'static str,
}

/// One route of a table, as computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgwRoute {
    pub destination: Ipv4Cidr,
    pub route_type: RouteType,
    pub state: RouteState,
    /// Sorted by attachment ID; empty for a blackhole.
    pub attachments: Vec<RouteAttachment>,
}

/// An attachment propagating into the table, with the blocks it propagates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Propagator {
    pub attachment: RouteAttachment,
    pub cidrs: Vec<Ipv4Cidr>,
}

/// Address order: by network address, then shorter prefix first.
fn order(c: &Ipv4Cidr) -> (u32, u8) {
    (u32::from(c.network()), c.prefix())
}

/// The routes of a table (pure). `live` holds every existing attachment of
/// the table's gateway, by ID.
pub fn plan(
    static_routes: &[StaticRoute],
    propagators: &[Propagator],
    live: &BTreeMap<ResourceId, RouteAttachment>,
) -> Vec<TgwRoute> {
    let mut routes: BTreeMap<(u32, u8), TgwRoute> = BTreeMap::new();
    for p in propagators {
        for cidr in &p.cidrs {
            let route = routes.entry(order(cidr)).or_insert_with(|| TgwRoute {
                destination: *cidr,
                route_type: RouteType::Propagated,
                state: RouteState::Active,
                attachments: vec![],
            });
            if !route.attachments.contains(&p.attachment) {
                route.attachments.push(p.attachment.clone());
                route.attachments.sort();
            }
        }
    }
    for s in static_routes {
        let target = s.attachment_id.as_ref().and_then(|id| live.get(id));
        routes.insert(
            order(&s.destination),
            TgwRoute {
                destination: s.destination,
                route_type: RouteType::Static,
                state: match target {
                    Some(_) => RouteState::Active,
                    None => RouteState::Blackhole,
                },
                attachments: target.cloned().into_iter().collect(),
            },
        );
    }
    routes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::ResourceKind;
    use proptest::prelude::*;

    fn att() -> RouteAttachment {
        RouteAttachment {
            attachment_id: ResourceId::generate(ResourceKind::TransitGatewayAttachment),
            resource_id: ResourceId::generate(ResourceKind::Vpc),
            resource_type: "vpc",
        }
    }

    fn c(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    fn live(atts: &[&RouteAttachment]) -> BTreeMap<ResourceId, RouteAttachment> {
        atts.iter()
            .map(|a| (a.attachment_id.clone(), (*a).clone()))
            .collect()
    }

    #[test]
    fn propagated_routes_follow_the_vpcs_and_static_routes_win() {
        let (a, b) = (att(), att());
        let props = vec![
            Propagator {
                attachment: a.clone(),
                cidrs: vec![c("10.1.0.0/16"), c("10.9.0.0/16")],
            },
            Propagator {
                attachment: b.clone(),
                cidrs: vec![c("10.2.0.0/16"), c("10.9.0.0/16")],
            },
        ];
        let statics = vec![
            StaticRoute {
                destination: c("10.2.0.0/16"),
                attachment_id: Some(a.attachment_id.clone()),
            },
            StaticRoute {
                destination: c("0.0.0.0/0"),
                attachment_id: None,
            },
        ];
        let routes = plan(&statics, &props, &live(&[&a, &b]));
        let summary: Vec<(String, &str, &str, usize)> = routes
            .iter()
            .map(|r| {
                (
                    r.destination.to_string(),
                    r.route_type.as_str(),
                    r.state.as_str(),
                    r.attachments.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("0.0.0.0/0".into(), "static", "blackhole", 0),
                ("10.1.0.0/16".into(), "propagated", "active", 1),
                ("10.2.0.0/16".into(), "static", "active", 1),
                ("10.9.0.0/16".into(), "propagated", "active", 2),
            ]
        );
        assert_eq!(routes[2].attachments[0], a, "the static route's target");
    }

    #[test]
    fn a_static_route_to_a_deleted_attachment_is_a_blackhole() {
        let a = att();
        let statics = vec![StaticRoute {
            destination: c("192.168.0.0/24"),
            attachment_id: Some(a.attachment_id.clone()),
        }];
        let routes = plan(&statics, &[], &live(&[]));
        assert_eq!(routes[0].state, RouteState::Blackhole);
        assert!(routes[0].attachments.is_empty());
        let routes = plan(&statics, &[], &live(&[&a]));
        assert_eq!(routes[0].state, RouteState::Active);
    }

    fn cidr_strategy() -> impl Strategy<Value = Ipv4Cidr> {
        (any::<u32>(), 8u8..=28).prop_map(|(addr, prefix)| {
            let mask = u32::MAX << (32 - prefix);
            Ipv4Cidr::new((addr & mask).into(), prefix).unwrap()
        })
    }

    proptest! {
        #[test]
        fn one_route_per_prefix_sorted_and_static_wins(
            propagated in proptest::collection::vec(proptest::collection::vec(cidr_strategy(), 0..4), 0..4),
            statics in proptest::collection::vec((cidr_strategy(), any::<bool>()), 0..6),
        ) {
            let atts: Vec<RouteAttachment> = propagated.iter().map(|_| att()).collect();
            let props: Vec<Propagator> = atts.iter().zip(&propagated)
                .map(|(a, cidrs)| Propagator { attachment: a.clone(), cidrs: cidrs.clone() })
                .collect();
            let statics: Vec<StaticRoute> = statics.iter().map(|(cidr, blackhole)| StaticRoute {
                destination: *cidr,
                attachment_id: if *blackhole || atts.is_empty() { None } else { Some(atts[0].attachment_id.clone()) },
            }).collect();
            let live_map = live(&atts.iter().collect::<Vec<_>>());
            let routes = plan(&statics, &props, &live_map);
            // Sorted, one route per prefix.
            for pair in routes.windows(2) {
                prop_assert!(order(&pair[0].destination) < order(&pair[1].destination));
            }
            // Every input prefix is there; a static prefix is static (the last one given wins).
            for s in &statics {
                let r = routes.iter().find(|r| r.destination == s.destination).unwrap();
                prop_assert_eq!(r.route_type, RouteType::Static);
            }
            for (a, cidrs) in atts.iter().zip(&propagated) {
                for cidr in cidrs {
                    let r = routes.iter().find(|r| r.destination == *cidr).unwrap();
                    if r.route_type == RouteType::Propagated {
                        prop_assert!(r.attachments.contains(a));
                        prop_assert_eq!(r.state, RouteState::Active);
                    }
                }
            }
            // Blackholes carry no attachment; active routes carry at least one.
            for r in &routes {
                prop_assert_eq!(r.state == RouteState::Blackhole, r.attachments.is_empty());
            }
        }
    }
}
