//! `ModifyVpcPeeringConnectionOptions`: each owner sets its own side's
//! options of an active connection (today only
//! `AllowDnsResolutionFromRemoteVpc`; the ClassicLink options can only be
//! false, EC2-Classic being gone). The options are stored on the connection
//! and shown in each side's `peeringOptions`; nothing resolves names yet.

use nubo_core::{Error, ResourceId};

use super::access::{self, Found, Reader};
use super::{PeerVpcInfo, PeeringState, VpcPeeringConnection};
use crate::resource::{self, store_err, update_in_tx, Ec2Service, RequestScope};
use crate::retry::with_retry;

/// The options one side asks for (`PeeringConnectionOptionsRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeeringOptionsRequest {
    pub allow_dns_resolution_from_remote_vpc: Option<bool>,
    pub allow_egress_from_local_classic_link_to_remote_vpc: Option<bool>,
    pub allow_egress_from_local_vpc_to_remote_classic_link: Option<bool>,
}

/// Applies `request` to `side` (pure: the checks AWS makes on the values).
pub fn apply_options(side: &mut PeerVpcInfo, request: &PeeringOptionsRequest) -> Result<(), Error> {
    if request.allow_egress_from_local_classic_link_to_remote_vpc == Some(true)
        || request.allow_egress_from_local_vpc_to_remote_classic_link == Some(true)
    {
        return Err(Error::invalid(
            "ClassicLink options cannot be enabled: EC2-Classic is not available.",
        ));
    }
    if let Some(allow) = request.allow_dns_resolution_from_remote_vpc {
        side.allow_dns_resolution_from_remote_vpc = allow;
    }
    Ok(())
}

impl Ec2Service {
    /// Returns the connection with its new options.
    pub async fn modify_vpc_peering_connection_options(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        requester: Option<PeeringOptionsRequest>,
        accepter: Option<PeeringOptionsRequest>,
    ) -> Result<VpcPeeringConnection, Error> {
        with_retry(|| self.modify_peering_options_once(scope, id, &requester, &accepter)).await
    }

    async fn modify_peering_options_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        requester: &Option<PeeringOptionsRequest>,
        accepter: &Option<PeeringOptionsRequest>,
    ) -> Result<VpcPeeringConnection, Error> {
        if requester.is_none() && accepter.is_none() {
            return Err(Error::MissingParameter(
                "RequesterPeeringConnectionOptions or AccepterPeeringConnectionOptions".into(),
            ));
        }
        let now = chrono::Utc::now().timestamp_millis();
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let Found {
            mut stored,
            seen,
            owner,
        } = access::find(&mut Reader::Tx(&mut tx), scope, id, now).await?;
        if seen.state != PeeringState::Active {
            return Err(Error::client(
                "OperationNotPermitted",
                format!(
                    "Peering {id} is not active. Peering options can be added only to active peerings."
                ),
            ));
        }
        let c = &mut stored.value;
        for (request, side, name) in [
            (requester, &mut c.requester, "requester"),
            (accepter, &mut c.accepter, "accepter"),
        ] {
            let Some(request) = request else { continue };
            if side.owner_id != scope.account {
                return Err(Error::client(
                    "OperationNotPermitted",
                    format!(
                        "User {} does not have permission to modify the {name} side peering options",
                        scope.account
                    ),
                ));
            }
            apply_options(side, request)?;
        }
        update_in_tx(&mut tx, &owner, &stored).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(stored.value.seen_at(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::{AccountId, ResourceKind};

    #[test]
    fn dns_resolution_is_set_and_classic_link_is_refused() {
        let mut side = PeerVpcInfo {
            owner_id: AccountId::parse("111111111111").unwrap(),
            vpc_id: ResourceId::generate(ResourceKind::Vpc),
            region: "us-east-1".into(),
            cidr_blocks: vec![],
            allow_dns_resolution_from_remote_vpc: false,
        };
        let dns = |on| PeeringOptionsRequest {
            allow_dns_resolution_from_remote_vpc: Some(on),
            ..Default::default()
        };
        apply_options(&mut side, &dns(true)).unwrap();
        assert!(side.allow_dns_resolution_from_remote_vpc);
        apply_options(&mut side, &PeeringOptionsRequest::default()).unwrap();
        assert!(side.allow_dns_resolution_from_remote_vpc);
        let classic = PeeringOptionsRequest {
            allow_dns_resolution_from_remote_vpc: Some(false),
            allow_egress_from_local_vpc_to_remote_classic_link: Some(true),
            ..Default::default()
        };
        assert!(matches!(
            apply_options(&mut side, &classic),
            Err(Error::InvalidParameterValue(_))
        ));
        assert!(side.allow_dns_resolution_from_remote_vpc);
        apply_options(&mut side, &dns(false)).unwrap();
        assert!(!side.allow_dns_resolution_from_remote_vpc);
    }
}
