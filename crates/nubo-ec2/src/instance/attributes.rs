//! `DescribeInstanceAttribute`, `ModifyInstanceAttribute` and
//! `ModifyInstanceMetadataOptions`.

use nubo_core::{Error, ResourceId};

use super::{
    incorrect_state, HttpTokens, Instance, InstanceState, ShutdownBehavior, MAX_USER_DATA,
};
use crate::network_interface::ops::resolve_groups;
use crate::network_interface::NetworkInterface;
use crate::resource::{
    self, get_in_tx, store_err, update_in_tx, Ec2Service, RequestScope, Versioned,
};
use crate::retry::with_retry;

/// The attribute names `DescribeInstanceAttribute` accepts.
pub const ATTRIBUTES: &[&str] = &[
    "instanceType",
    "kernel",
    "ramdisk",
    "userData",
    "disableApiTermination",
    "instanceInitiatedShutdownBehavior",
    "rootDeviceName",
    "blockDeviceMapping",
    "productCodes",
    "sourceDestCheck",
    "groupSet",
    "ebsOptimized",
    "sriovNetSupport",
    "enaSupport",
    "enclaveOptions",
    "disableApiStop",
];

/// Checks an `Attribute` parameter.
pub fn check_attribute(name: &str) -> Result<(), Error> {
    if ATTRIBUTES.contains(&name) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Value ({name}) for parameter attribute is invalid. Unknown attribute."
        )))
    }
}

/// One change of `ModifyInstanceAttribute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeChange {
    InstanceType(String),
    UserData(String),
    DisableApiTermination(bool),
    DisableApiStop(bool),
    ShutdownBehavior(ShutdownBehavior),
    SourceDestCheck(bool),
    Groups(Vec<ResourceId>),
}

/// Input of `ModifyInstanceMetadataOptions` (absent = unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataOptionsChange {
    pub http_tokens: Option<HttpTokens>,
    pub hop_limit: Option<i64>,
    pub http_endpoint_enabled: Option<bool>,
    pub instance_metadata_tags: Option<bool>,
}

impl MetadataOptionsChange {
    pub fn parse_tokens(text: &str) -> Result<HttpTokens, Error> {
        match text {
            "optional" => Ok(HttpTokens::Optional),
            "required" => Ok(HttpTokens::Required),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter HttpTokens is invalid. Valid values: optional, required"
            ))),
        }
    }

    pub fn parse_enabled(name: &str, text: &str) -> Result<bool, Error> {
        match text {
            "enabled" => Ok(true),
            "disabled" => Ok(false),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter {name} is invalid. Valid values: enabled, disabled"
            ))),
        }
    }

    pub fn check_hop_limit(limit: i64) -> Result<i64, Error> {
        if (1..=64).contains(&limit) {
            Ok(limit)
        } else {
            Err(Error::invalid(format!(
                "Value ({limit}) for parameter HttpPutResponseHopLimit is invalid. Valid values: 1-64"
            )))
        }
    }
}

impl Ec2Service {
    /// `DescribeInstanceAttribute`: the instance and its primary interface
    /// (for `sourceDestCheck` and `groupSet`).
    pub async fn instance_with_primary(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<super::InstanceView, Error> {
        let views = self
            .describe_instance_views(scope, std::slice::from_ref(id))
            .await?;
        views
            .into_iter()
            .next()
            .ok_or_else(|| resource::not_found(nubo_core::ResourceKind::Instance, id.as_str()))
    }

    /// `ModifyInstanceAttribute`.
    pub async fn modify_instance_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: &AttributeChange,
    ) -> Result<(), Error> {
        if let AttributeChange::InstanceType(name) = change {
            crate::instance_type::find(name).ok_or_else(|| {
                Error::invalid(format!("Invalid value '{name}' for InstanceType."))
            })?;
        }
        if let AttributeChange::UserData(data) = change {
            if data.len() > MAX_USER_DATA {
                return Err(Error::invalid(format!(
                    "User data is limited to {MAX_USER_DATA} bytes"
                )));
            }
        }
        with_retry(|| self.modify_instance_attribute_once(scope, id, change)).await?;
        self.wake_agents();
        Ok(())
    }

    async fn modify_instance_attribute_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: &AttributeChange,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut instance: Versioned<Instance> = get_in_tx(&mut tx, scope, id).await?;
        let state = instance.value.state;
        let i = &mut instance.value;
        let mut touched = vec![id.to_string()];
        match change {
            AttributeChange::InstanceType(name) => {
                if state != InstanceState::Stopped {
                    return Err(incorrect_state(id, state, "modified"));
                }
                i.instance_type = name.clone();
            }
            AttributeChange::UserData(data) => {
                if state != InstanceState::Stopped {
                    return Err(incorrect_state(id, state, "modified"));
                }
                i.user_data = if data.is_empty() {
                    None
                } else {
                    Some(data.clone())
                };
            }
            AttributeChange::DisableApiTermination(on) => i.disable_api_termination = *on,
            AttributeChange::DisableApiStop(on) => i.disable_api_stop = *on,
            AttributeChange::ShutdownBehavior(b) => i.shutdown_behavior = *b,
            AttributeChange::SourceDestCheck(_) | AttributeChange::Groups(_) => {
                if state == InstanceState::Terminated {
                    return Err(incorrect_state(id, state, "modified"));
                }
                let mut eni: Versioned<NetworkInterface> =
                    get_in_tx(&mut tx, scope, &i.primary_interface_id).await?;
                match change {
                    AttributeChange::SourceDestCheck(on) => eni.value.source_dest_check = *on,
                    AttributeChange::Groups(ids) => {
                        if ids.is_empty() {
                            return Err(Error::MissingParameter("GroupId".into()));
                        }
                        eni.value.groups = resolve_groups(
                            &mut tx,
                            scope,
                            &eni.value.vpc_id,
                            &eni.value.subnet_id,
                            ids,
                        )
                        .await?;
                    }
                    _ => {}
                }
                update_in_tx(&mut tx, scope, &eni).await?;
                touched.push(eni.value.id.to_string());
            }
        }
        update_in_tx(&mut tx, scope, &instance).await?;
        let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
        resource::commit(tx, scope, &touched).await
    }

    /// `ModifyInstanceMetadataOptions`: answers the options as they now are.
    pub async fn modify_instance_metadata_options(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: &MetadataOptionsChange,
    ) -> Result<Instance, Error> {
        if let Some(limit) = change.hop_limit {
            MetadataOptionsChange::check_hop_limit(limit)?;
        }
        let instance = with_retry(|| self.modify_metadata_options_once(scope, id, change)).await?;
        self.wake_agents();
        Ok(instance)
    }

    async fn modify_metadata_options_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: &MetadataOptionsChange,
    ) -> Result<Instance, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut instance: Versioned<Instance> = get_in_tx(&mut tx, scope, id).await?;
        if instance.value.state == InstanceState::Terminated {
            return Err(incorrect_state(id, instance.value.state, "modified"));
        }
        let o = &mut instance.value.metadata_options;
        if let Some(t) = change.http_tokens {
            o.http_tokens = t;
        }
        if let Some(l) = change.hop_limit {
            o.http_put_response_hop_limit = l;
        }
        if let Some(e) = change.http_endpoint_enabled {
            o.http_endpoint_enabled = e;
        }
        if let Some(t) = change.instance_metadata_tags {
            o.instance_metadata_tags = t;
        }
        update_in_tx(&mut tx, scope, &instance).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(instance.value)
    }
}
