//! Static routes of transit gateway route tables (`CreateTransitGatewayRoute`,
//! `ReplaceTransitGatewayRoute`, `DeleteTransitGatewayRoute`) and
//! `SearchTransitGatewayRoutes`, whose filters are applied by the pure
//! [`search`] to the routes [`super::planner::plan`] computes.
//!
//! A static route points at an attachment of the table's gateway or is a
//! blackhole (`Blackhole=true`); one static route per prefix, which may
//! shadow a propagated one.

use std::collections::BTreeMap;

use nubo_core::filter::{wildcard_match, Filter};
use nubo_core::{Error, Ipv4Cidr, ResourceId};

use super::attachment::TransitGatewayAttachment;
use super::planner::{plan, Propagator, RouteAttachment, TgwRoute};
use super::route_table::{StaticRoute, TransitGatewayRouteTable};
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;
use crate::vpc::{CidrState, Vpc};

/// The filters `SearchTransitGatewayRoutes` understands.
pub const SEARCH_FILTERS: &[&str] = &[
    "attachment.transit-gateway-attachment-id",
    "attachment.resource-id",
    "attachment.resource-type",
    "prefix-list-id",
    "route-search.exact-match",
    "route-search.longest-prefix-match",
    "route-search.subnet-of-match",
    "route-search.supernet-of-match",
    "state",
    "type",
];

/// Where a static route goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    Attachment(ResourceId),
    Blackhole,
}

impl RouteTarget {
    /// From `TransitGatewayAttachmentId` and `Blackhole`: exactly one of the two.
    pub fn from_params(
        attachment: Option<ResourceId>,
        blackhole: bool,
    ) -> Result<RouteTarget, Error> {
        match (attachment, blackhole) {
            (Some(_), true) => Err(Error::InvalidParameterCombination(
                "Blackhole and TransitGatewayAttachmentId cannot be specified together.".into(),
            )),
            (Some(id), false) => Ok(RouteTarget::Attachment(id)),
            (None, true) => Ok(RouteTarget::Blackhole),
            (None, false) => Err(Error::MissingParameter("TransitGatewayAttachmentId".into())),
        }
    }
}

fn route_not_found(table: &ResourceId, destination: &Ipv4Cidr) -> Error {
    Error::not_found(
        "InvalidRoute.NotFound",
        format!("No static route for {destination} in Transit Gateway Route Table {table}."),
    )
}

fn cidr_value(filter: &str, text: &str) -> Result<Ipv4Cidr, Error> {
    text.parse().map_err(|_| {
        Error::invalid(format!(
            "The value '{text}' of filter '{filter}' is not a valid IPv4 CIDR block."
        ))
    })
}

/// Applies `SearchTransitGatewayRoutes` filters to `routes` (pure): AND across
/// filters, OR across a filter's values; `route-search.*` take CIDR blocks,
/// the others match with `*`/`?` wildcards. `longest-prefix-match` keeps, of
/// the routes the other filters leave, the most specific ones containing
/// each value.
pub fn search(routes: Vec<TgwRoute>, filters: &[Filter]) -> Result<Vec<TgwRoute>, Error> {
    for f in filters {
        if !SEARCH_FILTERS.contains(&f.name.as_str()) {
            return Err(Error::invalid(format!(
                "The filter '{}' is invalid",
                f.name
            )));
        }
        if f.values.is_empty() {
            return Err(Error::invalid(format!(
                "The filter '{}' must have at least one value",
                f.name
            )));
        }
    }
    let mut cidr_filters: Vec<(&str, Vec<Ipv4Cidr>)> = Vec::new();
    for f in filters
        .iter()
        .filter(|f| f.name.starts_with("route-search."))
    {
        let values = f
            .values
            .iter()
            .map(|v| cidr_value(&f.name, v))
            .collect::<Result<Vec<_>, _>>()?;
        cidr_filters.push((f.name.as_str(), values));
    }
    let text_match = |f: &Filter, candidates: Vec<String>| {
        candidates
            .iter()
            .any(|c| f.values.iter().any(|p| wildcard_match(p, c)))
    };
    let mut kept: Vec<TgwRoute> = routes
        .into_iter()
        .filter(|r| {
            filters.iter().all(|f| match f.name.as_str() {
                "attachment.transit-gateway-attachment-id" => text_match(
                    f,
                    r.attachments
                        .iter()
                        .map(|a| a.attachment_id.to_string())
                        .collect(),
                ),
                "attachment.resource-id" => text_match(
                    f,
                    r.attachments
                        .iter()
                        .map(|a| a.resource_id.to_string())
                        .collect(),
                ),
                "attachment.resource-type" => text_match(
                    f,
                    r.attachments
                        .iter()
                        .map(|a| a.resource_type.to_string())
                        .collect(),
                ),
                // Prefix-list routes are not offered, so nothing matches.
                "prefix-list-id" => false,
                "state" => text_match(f, vec![r.state.as_str().into()]),
                "type" => text_match(f, vec![r.route_type.as_str().into()]),
                _ => true,
            })
        })
        .filter(|r| {
            cidr_filters.iter().all(|(name, values)| {
                let d = &r.destination;
                values.iter().any(|v| match *name {
                    "route-search.exact-match" => d == v,
                    "route-search.subnet-of-match" => v.contains(d),
                    "route-search.supernet-of-match" => d.contains(v),
                    // Decided below, over the whole set.
                    _ => true,
                })
            })
        })
        .collect();
    if let Some((_, values)) = cidr_filters
        .iter()
        .find(|(name, _)| *name == "route-search.longest-prefix-match")
    {
        let longest: Vec<Option<u8>> = values
            .iter()
            .map(|v| {
                kept.iter()
                    .filter(|r| r.destination.contains(v))
                    .map(|r| r.destination.prefix())
                    .max()
            })
            .collect();
        kept.retain(|r| {
            values
                .iter()
                .zip(&longest)
                .any(|(v, best)| r.destination.contains(v) && Some(r.destination.prefix()) == *best)
        });
    }
    Ok(kept)
}

impl Ec2Service {
    /// `CreateTransitGatewayRoute` (`replace`: `ReplaceTransitGatewayRoute`).
    pub async fn write_transit_gateway_route(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        destination: Ipv4Cidr,
        target: RouteTarget,
        replace: bool,
    ) -> Result<TgwRoute, Error> {
        with_retry(|| self.tgw_write_route_once(scope, table_id, destination, &target, replace))
            .await
    }

    /// `DeleteTransitGatewayRoute`: returns the route as it was.
    pub async fn delete_transit_gateway_route(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        destination: Ipv4Cidr,
    ) -> Result<TgwRoute, Error> {
        with_retry(|| self.tgw_delete_route_once(scope, table_id, destination)).await
    }

    async fn tgw_write_route_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        destination: Ipv4Cidr,
        target: &RouteTarget,
        replace: bool,
    ) -> Result<TgwRoute, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut table: Versioned<TransitGatewayRouteTable> =
            get_in_tx(&mut tx, scope, table_id).await?;
        let mut live = BTreeMap::new();
        let attachment_id = match target {
            RouteTarget::Blackhole => None,
            RouteTarget::Attachment(id) => {
                let a: Versioned<TransitGatewayAttachment> = get_in_tx(&mut tx, scope, id).await?;
                if a.value.transit_gateway_id != table.value.transit_gateway_id {
                    return Err(Error::invalid(format!(
                        "Transit gateway route table {table_id} and attachment {id} belong to different transit gateways."
                    )));
                }
                // Written back, so a racing deletion of the attachment conflicts.
                update_in_tx(&mut tx, scope, &a).await?;
                live.insert(id.clone(), RouteAttachment::of(&a.value));
                Some(id.clone())
            }
        };
        let routes = &mut table.value.static_routes;
        let existing = routes.iter().position(|r| r.destination == destination);
        match (existing, replace) {
            (Some(_), false) => {
                return Err(Error::AlreadyExists {
                    code: "RouteAlreadyExists",
                    message: format!(
                    "Route {destination} already exists in Transit Gateway Route Table {table_id}."
                ),
                })
            }
            (None, true) => return Err(route_not_found(table_id, &destination)),
            (Some(i), true) => routes[i].attachment_id = attachment_id.clone(),
            (None, false) => {
                routes.push(StaticRoute {
                    destination,
                    attachment_id: attachment_id.clone(),
                });
                routes
                    .sort_by_key(|r| (u32::from(r.destination.network()), r.destination.prefix()));
            }
        }
        update_in_tx(&mut tx, scope, &table).await?;
        resource::commit(tx, scope, &[table_id.as_str()]).await?;
        let route = StaticRoute {
            destination,
            attachment_id,
        };
        plan(std::slice::from_ref(&route), &[], &live)
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("the planner dropped a static route"))
    }

    async fn tgw_delete_route_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        destination: Ipv4Cidr,
    ) -> Result<TgwRoute, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut table: Versioned<TransitGatewayRouteTable> =
            get_in_tx(&mut tx, scope, table_id).await?;
        let i = table
            .value
            .static_routes
            .iter()
            .position(|r| r.destination == destination)
            .ok_or_else(|| route_not_found(table_id, &destination))?;
        let removed = table.value.static_routes.remove(i);
        let mut live = BTreeMap::new();
        if let Some(id) = &removed.attachment_id {
            if let Ok(a) = get_in_tx::<TransitGatewayAttachment>(&mut tx, scope, id).await {
                live.insert(id.clone(), RouteAttachment::of(&a.value));
            }
        }
        update_in_tx(&mut tx, scope, &table).await?;
        resource::commit(tx, scope, &[table_id.as_str()]).await?;
        plan(std::slice::from_ref(&removed), &[], &live)
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("the planner dropped a static route"))
    }

    /// Every route of table `table_id`: its static routes and those its
    /// propagating attachments' VPCs give it, computed now.
    pub async fn transit_gateway_routes(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
    ) -> Result<Vec<TgwRoute>, Error> {
        let (table, attachments) = self.table_and_attachments(scope, table_id).await?;
        let live: BTreeMap<ResourceId, RouteAttachment> = attachments
            .iter()
            .map(|a| (a.id.clone(), RouteAttachment::of(a)))
            .collect();
        let mut propagators = Vec::new();
        for a in attachments
            .iter()
            .filter(|a| table.propagations.contains(&a.id))
        {
            let vpc: Versioned<Vpc> = resource::get(&self.store, scope, &a.vpc_id).await?;
            propagators.push(Propagator {
                attachment: RouteAttachment::of(a),
                cidrs: vpc
                    .value
                    .cidr_associations
                    .iter()
                    .filter(|c| c.state == CidrState::Associated)
                    .map(|c| c.cidr_block)
                    .collect(),
            });
        }
        Ok(plan(&table.static_routes, &propagators, &live))
    }

    /// `SearchTransitGatewayRoutes`: the matching routes, at most
    /// `max_results` of them, and whether more matched.
    pub async fn search_transit_gateway_routes(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        filters: &[Filter],
        max_results: usize,
    ) -> Result<(Vec<TgwRoute>, bool), Error> {
        // Filters are validated before the table is read, as for describes.
        search(vec![], filters)?;
        let mut found = search(self.transit_gateway_routes(scope, table_id).await?, filters)?;
        let more = found.len() > max_results;
        found.truncate(max_results);
        Ok((found, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transit_gateway::planner::{RouteState, RouteType};
    use nubo_core::ResourceKind;

    fn route(dest: &str, kind: RouteType, att: Option<&RouteAttachment>) -> TgwRoute {
        TgwRoute {
            destination: dest.parse().unwrap(),
            route_type: kind,
            state: if att.is_some() {
                RouteState::Active
            } else {
                RouteState::Blackhole
            },
            attachments: att.cloned().into_iter().collect(),
        }
    }

    fn f(name: &str, values: &[&str]) -> Filter {
        Filter {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn dests(routes: &[TgwRoute]) -> Vec<String> {
        routes.iter().map(|r| r.destination.to_string()).collect()
    }

    #[test]
    fn search_filters_follow_aws() {
        let a = RouteAttachment {
            attachment_id: ResourceId::generate(ResourceKind::TransitGatewayAttachment),
            resource_id: ResourceId::generate(ResourceKind::Vpc),
            resource_type: "vpc",
        };
        let all = vec![
            route("0.0.0.0/0", RouteType::Static, None),
            route("10.0.0.0/8", RouteType::Static, Some(&a)),
            route("10.1.0.0/16", RouteType::Propagated, Some(&a)),
            route("10.1.2.0/24", RouteType::Static, Some(&a)),
            route("192.168.0.0/16", RouteType::Propagated, Some(&a)),
        ];
        let run = |filters: &[Filter]| dests(&search(all.clone(), filters).unwrap());
        assert_eq!(
            run(&[f("type", &["propagated"])]),
            ["10.1.0.0/16", "192.168.0.0/16"]
        );
        assert_eq!(run(&[f("state", &["blackhole"])]), ["0.0.0.0/0"]);
        assert_eq!(
            run(&[f("route-search.exact-match", &["10.1.0.0/16"])]),
            ["10.1.0.0/16"]
        );
        assert_eq!(
            run(&[f("route-search.subnet-of-match", &["10.0.0.0/8"])]),
            ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"]
        );
        assert_eq!(
            run(&[f("route-search.supernet-of-match", &["10.1.2.0/24"])]),
            ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"]
        );
        assert_eq!(
            run(&[f("route-search.longest-prefix-match", &["10.1.2.7/32"])]),
            ["10.1.2.0/24"]
        );
        assert_eq!(
            run(&[
                f("route-search.longest-prefix-match", &["10.1.9.9/32"]),
                f("type", &["static"])
            ]),
            ["10.0.0.0/8"]
        );
        assert_eq!(
            run(&[f(
                "attachment.transit-gateway-attachment-id",
                &[a.attachment_id.as_str()]
            )])
            .len(),
            4
        );
        assert_eq!(run(&[f("attachment.resource-type", &["vp?"])]).len(), 4);
        assert!(run(&[f("prefix-list-id", &["pl-1"])]).is_empty());
        assert!(search(all.clone(), &[f("destination", &["x"])]).is_err());
        assert!(search(all.clone(), &[f("route-search.exact-match", &["nope"])]).is_err());
        assert!(search(all, &[f("type", &[])]).is_err());
    }

    #[test]
    fn a_route_goes_to_an_attachment_or_a_blackhole() {
        let id = ResourceId::generate(ResourceKind::TransitGatewayAttachment);
        assert_eq!(
            RouteTarget::from_params(Some(id.clone()), false),
            Ok(RouteTarget::Attachment(id.clone()))
        );
        assert_eq!(
            RouteTarget::from_params(None, true),
            Ok(RouteTarget::Blackhole)
        );
        assert!(matches!(
            RouteTarget::from_params(Some(id), true),
            Err(Error::InvalidParameterCombination(_))
        ));
        assert!(matches!(
            RouteTarget::from_params(None, false),
            Err(Error::MissingParameter(_))
        ));
    }
}
