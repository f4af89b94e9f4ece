//! `CreateRoute`, `ReplaceRoute` and `DeleteRoute` (IPv4 destinations to an
//! internet gateway), and the route states that follow a gateway's
//! attachment: `blackhole` while it is detached, `active` again once it is
//! reattached to the table's VPC.
//!
//! A route to a gateway is written together with the gateway's row, so a
//! racing `DetachInternetGateway` conflicts and re-runs instead of leaving an
//! `active` route to a detached gateway.

use nubo_core::{Error, Ipv4Cidr, ResourceId};
use nubo_store::Tx;

use super::ops::tables_of;
use super::{Route, RouteOrigin, RouteState, RouteTable, RouteTarget};
use crate::internet_gateway::InternetGateway;
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

    /// Sets the state of every route to `gateway`; true when anything changed.
    pub fn set_gateway_state(&mut self, gateway: &ResourceId, state: RouteState) -> bool {
        let mut changed = false;
        for route in &mut self.routes {
            if matches!(&route.target, RouteTarget::Gateway(g) if g == gateway)
                && route.state != state
            {
                route.state = state;
                changed = true;
            }
        }
        changed
    }
}

/// For `AttachInternetGateway`/`DetachInternetGateway`: sets the state of
/// the routes to `gateway` in every table of `vpc_id`, in the caller's transaction.
pub(crate) async fn set_gateway_routes_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    vpc_id: &ResourceId,
    gateway: &ResourceId,
    state: RouteState,
) -> Result<(), Error> {
    for mut table in tables_of(tx, scope, vpc_id).await? {
        if table.value.set_gateway_state(gateway, state) {
            update_in_tx(tx, scope, &table).await?;
        }
    }
    Ok(())
}

/// Reads gateway `id` and checks it is attached to the table's VPC.
async fn attached_gateway(
    tx: &mut Tx,
    scope: &RequestScope,
    table: &RouteTable,
    id: &ResourceId,
) -> Result<Versioned<InternetGateway>, Error> {
    let gateway: Versioned<InternetGateway> = get_in_tx(tx, scope, id).await?;
    if gateway.value.vpc_id.as_ref() != Some(&table.vpc_id) {
        return Err(Error::invalid(format!(
            "route table {} and network gateway {id} belong to different networks",
            table.id
        )));
    }
    Ok(gateway)
}

impl Ec2Service {
    pub async fn create_route(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        destination: Ipv4Cidr,
        gateway: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.write_route_once(scope, table, destination, gateway, false)).await
    }

    pub async fn replace_route(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        destination: Ipv4Cidr,
        gateway: &ResourceId,
    ) -> Result<(), Error> {
        with_retry(|| self.write_route_once(scope, table, destination, gateway, true)).await
    }

    pub async fn delete_route(
        &self,
        scope: &RequestScope,
        table: &ResourceId,
        destination: Ipv4Cidr,
    ) -> Result<(), Error> {
        with_retry(|| self.delete_route_once(scope, table, destination)).await
    }

    /// `CreateRoute` (`replace` false) or `ReplaceRoute` to an internet gateway.
    pub(crate) async fn write_route_once(
        &self,
        scope: &RequestScope,
        table_id: &ResourceId,
        destination: Ipv4Cidr,
        gateway_id: &ResourceId,
        replace: bool,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut table: Versioned<RouteTable> = get_in_tx(&mut tx, scope, table_id).await?;
        let gateway = attached_gateway(&mut tx, scope, &table.value, gateway_id).await?;
        let target = RouteTarget::Gateway(gateway_id.clone());
        if replace {
            table.value.replace_route(destination, target)?;
        } else {
            table.value.add_route(destination, target)?;
        }
        update_in_tx(&mut tx, scope, &table).await?;
        // Writing the gateway back makes a racing detach conflict and re-run.
        update_in_tx(&mut tx, scope, &gateway).await?;
        resource::commit(tx, scope, &[table_id.as_str(), gateway_id.as_str()]).await
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

        assert!(t.set_gateway_state(&igw, RouteState::Blackhole));
        assert!(!t.set_gateway_state(&igw, RouteState::Blackhole));
        assert_eq!(t.routes[1].state, RouteState::Blackhole);
        assert_eq!(t.routes[0].state, RouteState::Active, "local stays active");
        t.replace_route(anywhere, RouteTarget::Gateway(other.clone()))
            .unwrap();
        assert_eq!(
            (t.routes[1].target.gateway_id(), t.routes[1].state),
            (other.to_string(), RouteState::Active)
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
