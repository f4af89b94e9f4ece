//! `CreateRoute`, `ReplaceRoute` and `DeleteRoute` (IPv4 destinations to any
//! [`RouteTarget`], checked by [`super::targets`]), and the route states that
//! follow a target's life: `blackhole` while it is detached or gone, `active`
//! again once it is back (an internet gateway reattached to the table's VPC).
//!
//! A route is written together with its target's row, so a racing detach or
//! delete of the target conflicts and re-runs instead of leaving an `active`
//! route to something that no longer carries traffic.

use nubo_core::{Error, Ipv4Cidr, ResourceId};
use nubo_store::Tx;

use super::ops::tables_of;
use super::targets::check_target_in_tx;
use super::{Route, RouteOrigin, RouteState, RouteTable, RouteTarget};
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;

/// Parses a route's `DestinationCidrBlock`.
pub fn parse_destination(text: &str) -> Result<Ipv4Cidr, Error> {
    text.parse().map_err(|_| {
        Error::invalid(format!(
            "Value ({text}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
        ))
    })
}

fn route_not_found(table: &ResourceId, destination: &Ipv4Cidr) -> Error {
    Error::not_found(
        "InvalidRoute.NotFound",
        format!("no route with destination-cidr-block {destination} in route table {table}"),
    )
}

impl RouteTable {
    /// Adds a `CreateRoute` route (pure, for unit tests).
    pub fn add_route(&mut self, destination: Ipv4Cidr, target: RouteTarget) -> Result<(), Error> {
        if self.route_index(&destination).is_some() {
            return Err(Error::AlreadyExists {
                code: "RouteAlreadyExists",
                message: format!(
                    "The route identified by {destination} already exists in route table {}.",
                    self.id
                ),
            });
        }
        self.routes.push(Route {
            destination_cidr_block: destination,
            target,
            origin: RouteOrigin::CreateRoute,
            state: RouteState::Active,
        });
        Ok(())
    }

    /// Points an existing, non-local route at `target` (pure, for unit tests).
    pub fn replace_route(
        &mut self,
        destination: Ipv4Cidr,
        target: RouteTarget,
    ) -> Result<(), Error> {
        let index = self.changeable_route(&destination, "replace")?;
        let route = &mut self.routes[index];
        route.target = target;
        route.state = RouteState::Active;
        Ok(())
    }

    /// Removes an existing, non-local route (pure, for unit tests).
    pub fn remove_route(&mut self, destination: Ipv4Cidr) -> Result<Route, Error> {
        let index = self.changeable_route(&destination, "remove")?;
        Ok(self.routes.remove(index))
    }

    fn changeable_route(&self, destination: &Ipv4Cidr, verb: &str) -> Result<usize, Error> {
        let index = self
            .route_index(destination)
            .ok_or_else(|| route_not_found(&self.id, destination))?;
        if self.routes[index].is_local() {
            return Err(Error::invalid(format!(
                "cannot {verb} local route {destination} in route table {}",
                self.id
            )));
        }
        Ok(index)
    }

    /// Sets the state of every route to `target`; true when anything changed.
    pub fn set_target_state(&mut self, target: &ResourceId, state: RouteState) -> bool {
        let mut changed = false;
        for route in &mut self.routes {
            if route.target.target_id() == Some(target) && route.state != state {
                route.state = state;
                changed = true;
            }
        }
        changed
    }
}

/// Sets the state of the routes to `target` in every table of `vpc_id` (owned
/// by `scope`'s account), in the caller's transaction: `blackhole` when the
/// target is detached or deleted (an internet gateway's detach, a NAT
/// gateway's or peering connection's deletion), `active` when it is back.
pub(crate) async fn set_target_routes_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
    target: &ResourceId,
    state: RouteState,
) -> Result<(), Error> {
    for mut table in tables_of(tx, scope, vpc_id).await? {
        if table.value.set_target_state(target, state) {
            update_in_tx(tx, scope, &table).await?;
        }
    }
    Ok(())
}

/// `CreateRoute` (`replace` false) or `ReplaceRoute` inside the caller's
/// transaction; the API actions and the default VPC's route to its internet
/// gateway both go through here.
pub(crate) async fn write_route_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    table_id: &ResourceId,
    destination: Ipv4Cidr,
    target: &RouteTarget,
    replace: bool,
) -> Result<(), Error> {
    let mut table: Versioned<RouteTable> = get_in_tx(tx, scope, table_id).await?;
    // Checks the target and writes its row back, so a racing detach or
    // delete of it conflicts and re-runs.
    check_target_in_tx(tx, scope, &table.value, target).await?;
    if replace {
        table.value.replace_route(destination, target.clone())?;
    } else {
        table.value.add_route(destination, target.clone())?;
    }
    if table.value.is_edge() {
        super::association::check_edge_routes_in_tx(tx, scope, &table.value).await?;
    }
    update_in_tx(tx, scope, &table).await.map(drop)
}

impl Ec2Service {
    pub async fn create_route(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        destination: Ipv4Cidr,
        target: &RouteTarget,
    ) -> Result<(), Error> {
        with_retry(|| self.write_route_once(scope, table, destination, target, false)).await
    }

    pub async fn replace_route(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        destination: Ipv4Cidr,
        target: &RouteTarget,
    ) -> Result<(), Error> {
        with_retry(|| self.write_route_once(scope, table, destination, target, true)).await
    }

    pub async fn delete_route(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        destination: Ipv4Cidr,
    ) -> Result<(), Error> {
        with_retry(|| self.delete_route_once(scope, table, destination)).await
    }

    /// `CreateRoute` (`replace` false) or `ReplaceRoute`.
    pub(crate) async fn write_route_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        destination: Ipv4Cidr,
        target: &RouteTarget,
        replace: bool,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        write_route_in_tx(&mut tx, scope, table_id, destination, target, replace).await?;
        let mut touched = vec![table_id.as_str()];
        touched.extend(target.target_id().map(|id| id.as_str()));
        resource::commit(tx, scope, &touched).await
    }

    pub(crate) async fn delete_route_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        destination: Ipv4Cidr,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut table: Versioned<RouteTable> = get_in_tx(&mut tx, scope, table_id).await?;
        table.value.remove_route(destination)?;
        update_in_tx(&mut tx, scope, &table).await?;
        resource::commit(tx, scope, &[table_id.as_str()]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::{AccountId, ResourceKind, TagSet};

    fn table() -> RouteTable {
        RouteTable {
            id: ResourceId::generate(ResourceKind::RouteTable),
            owner_id: AccountId::parse("123456789012").unwrap(),
            vpc_id: ResourceId::generate(ResourceKind::Vpc),
            routes: vec![Route::local("10.0.0.0/16".parse().unwrap())],
            associations: vec![],
            client_token: None,
            tags: TagSet::new(),
        }
    }

    fn code(e: Error) -> &'static str {
        match e {
            Error::Client { code, .. }
            | Error::NotFound { code, .. }
            | Error::AlreadyExists { code, .. } => code,
            Error::InvalidParameterValue(_) => "InvalidParameterValue",
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn routes_follow_aws_rules() {
        let mut t = table();
        let igw = ResourceId::generate(ResourceKind::InternetGateway);
        let other = ResourceId::generate(ResourceKind::InternetGateway);
        let anywhere: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        let local: Ipv4Cidr = "10.0.0.0/16".parse().unwrap();
        t.add_route(anywhere, RouteTarget::Gateway(igw.clone()))
            .unwrap();
        assert_eq!(t.routes[1].origin, RouteOrigin::CreateRoute);
        let dup = t.add_route(anywhere, RouteTarget::Gateway(other.clone()));
        assert_eq!(code(dup.unwrap_err()), "RouteAlreadyExists");
        let dup_local = t.add_route(local, RouteTarget::Gateway(igw.clone()));
        assert_eq!(code(dup_local.unwrap_err()), "RouteAlreadyExists");

        assert!(t.set_target_state(&igw, RouteState::Blackhole));
        assert!(!t.set_target_state(&igw, RouteState::Blackhole));
        assert_eq!(t.routes[1].state, RouteState::Blackhole);
        assert_eq!(t.routes[0].state, RouteState::Active, "local stays active");
        t.replace_route(anywhere, RouteTarget::Gateway(other.clone()))
            .unwrap();
        assert_eq!(
            (t.routes[1].target.gateway_id(), t.routes[1].state),
            (Some(other.to_string()), RouteState::Active)
        );

        let missing: Ipv4Cidr = "192.168.0.0/24".parse().unwrap();
        assert_eq!(
            code(t.remove_route(missing).unwrap_err()),
            "InvalidRoute.NotFound"
        );
        assert_eq!(
            code(
                t.replace_route(missing, RouteTarget::Gateway(igw.clone()))
                    .unwrap_err()
            ),
            "InvalidRoute.NotFound"
        );
        assert_eq!(
            code(t.remove_route(local).unwrap_err()),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(
                t.replace_route(local, RouteTarget::Gateway(igw))
                    .unwrap_err()
            ),
            "InvalidParameterValue"
        );
        t.remove_route(anywhere).unwrap();
        assert_eq!(t.routes.len(), 1);
        assert!(parse_destination("10.0.0.1/16").is_err());
    }
}
