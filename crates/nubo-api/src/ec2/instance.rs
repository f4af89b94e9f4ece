//! Instance actions: decode parameters, call the EC2 service, render the
//! `Reservation`, `Instance`, `InstanceStateChange` and `InstanceStatus`
//! shapes.

use std::net::Ipv4Addr;

use base64::Engine;
use nubo_core::filter::Page;
use nubo_core::{Error, ResourceId};
use nubo_ec2::instance::actions::{Action, StateChange};
use nubo_ec2::instance::attributes::{check_attribute, AttributeChange, MetadataOptionsChange};
use nubo_ec2::instance::describe::{reachability_of, status_of};
use nubo_ec2::instance::run::{InterfaceSpec, RunInstances};
use nubo_ec2::instance::{
    parse_instance_id, InstanceState, InstanceView, MetadataOptions, ShutdownBehavior,
};
use nubo_ec2::network_interface::NetworkInterface;
use nubo_ec2::security_group::ops::parse_group_id;
use nubo_ec2::subnet::ops::parse_subnet_id;
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::params::{ipv4, refuse_unsupported, single_change};
use super::render;
use crate::call::Call;
use crate::server::Api;

fn state(w: &mut XmlWriter, s: InstanceState) {
    w.leaf("code", s.code()).leaf("name", s.as_str());
}

fn enabled(on: bool) -> &'static str {
    if on {
        "enabled"
    } else {
        "disabled"
    }
}

/// The `InstanceMetadataOptionsResponse` shape's members.
fn metadata_options(w: &mut XmlWriter, o: &MetadataOptions) {
    w.leaf("state", "applied")
        .leaf("httpTokens", o.http_tokens.as_str())
        .leaf("httpPutResponseHopLimit", o.http_put_response_hop_limit)
        .leaf("httpEndpoint", enabled(o.http_endpoint_enabled))
        .leaf("httpProtocolIpv6", "disabled")
        .leaf("instanceMetadataTags", enabled(o.instance_metadata_tags));
}

/// The `InstanceNetworkInterface` shape's members.
fn interface(w: &mut XmlWriter, n: &NetworkInterface, launch_public_ip: Option<Ipv4Addr>) {
    let public = n
        .association()
        .map(|a| (a.public_ip, a.ip_owner_id.to_string()))
        .or(launch_public_ip.map(|ip| (ip, "amazon".to_string())));
    w.leaf("networkInterfaceId", &n.id)
        .leaf("subnetId", &n.subnet_id)
        .leaf("vpcId", &n.vpc_id)
        .leaf("description", &n.description)
        .leaf("ownerId", &n.owner_id)
        .leaf("status", n.status.as_str())
        .leaf("macAddress", &n.mac_address)
        .leaf_opt("privateIpAddress", n.primary_ip())
        .leaf("privateDnsName", &n.private_dns_name)
        .leaf("sourceDestCheck", n.source_dest_check)
        .items("groupSet", &n.groups, |w, g| {
            w.leaf("groupName", &g.name).leaf("groupId", &g.id);
        });
    if let Some(a) = &n.attachment {
        w.node("attachment", |w| {
            w.leaf("attachmentId", &a.id)
                .leaf("deviceIndex", a.device_index)
                .leaf("status", &a.status)
                .leaf("attachTime", &a.attach_time)
                .leaf("deleteOnTermination", a.delete_on_termination)
                .leaf("networkCardIndex", 0);
        });
    }
    if let Some((ip, owner)) = &public {
        w.node("association", |w| {
            w.leaf("publicIp", ip)
                .leaf("publicDnsName", "")
                .leaf("ipOwnerId", owner);
        });
    }
    w.items("privateIpAddressesSet", &n.private_ips, |w, p| {
        w.leaf("privateIpAddress", p.address)
            .leaf("privateDnsName", &n.private_dns_name)
            .leaf("primary", p.primary);
        if p.primary {
            if let Some((ip, owner)) = &public {
                w.node("association", |w| {
                    w.leaf("publicIp", ip)
                        .leaf("publicDnsName", "")
                        .leaf("ipOwnerId", owner);
                });
            }
        }
    })
    .node("ipv6AddressesSet", |_| {})
    .leaf("interfaceType", &n.interface_type);
}

/// The `Instance` shape's members.
fn instance(w: &mut XmlWriter, v: &InstanceView) {
    let i = &v.instance;
    let cores = nubo_ec2::instance_type::find(&i.instance_type);
    w.leaf("instanceId", &i.id)
        .leaf("imageId", &i.image_id)
        .node("instanceState", |w| state(w, i.state))
        .leaf("privateDnsName", &i.private_dns_name)
        .leaf("dnsName", "")
        .leaf("reason", &i.state_transition_reason)
        .leaf_opt("keyName", i.key_name.as_deref())
        .leaf("amiLaunchIndex", i.ami_launch_index)
        .node("productCodes", |_| {})
        .leaf("instanceType", &i.instance_type)
        .leaf("launchTime", &i.launch_time)
        .node("placement", |w| {
            w.leaf("availabilityZone", &i.availability_zone)
                .leaf("groupName", "")
                .leaf("tenancy", "default");
        })
        .node("monitoring", |w| {
            w.leaf("state", "disabled");
        })
        .leaf("subnetId", &i.subnet_id)
        .leaf("vpcId", &i.vpc_id)
        .leaf("privateIpAddress", i.private_ip)
        .leaf_opt("ipAddress", v.public_ip())
        .leaf("sourceDestCheck", v.source_dest_check())
        .items("groupSet", v.groups(), |w, g| {
            w.leaf("groupName", &g.name).leaf("groupId", &g.id);
        });
    if let Some(r) = &i.state_reason {
        w.node("stateReason", |w| {
            w.leaf("code", &r.code).leaf("message", &r.message);
        });
    }
    w.leaf("architecture", "x86_64")
        .leaf("rootDeviceType", "ebs")
        .leaf("rootDeviceName", "/dev/xvda")
        .node("blockDeviceMapping", |_| {})
        .leaf("virtualizationType", "hvm")
        .leaf_opt("clientToken", i.client_token.as_deref());
    render::tag_set(w, &i.tags);
    w.leaf("hypervisor", "xen")
        .items("networkInterfaceSet", &v.interfaces, |w, n| {
            let launch_ip = (n.id == i.primary_interface_id)
                .then_some(i.public_ip)
                .flatten();
            interface(w, n, launch_ip);
        })
        .leaf("ebsOptimized", false)
        .leaf("enaSupport", true);
    if let Some(t) = cores {
        w.node("cpuOptions", |w| {
            w.leaf("coreCount", t.default_cores())
                .leaf("threadsPerCore", t.threads_per_core());
        });
    }
    w.node("capacityReservationSpecification", |w| {
        w.leaf("capacityReservationPreference", "open");
    })
    .node("hibernationOptions", |w| {
        w.leaf("configured", false);
    })
    .node("metadataOptions", |w| {
        metadata_options(w, &i.metadata_options)
    })
    .node("enclaveOptions", |w| {
        w.leaf("enabled", false);
    })
    .leaf("platformDetails", "Linux/UNIX")
    .leaf("usageOperation", "RunInstances")
    .leaf("usageOperationUpdateTime", &i.launch_time)
    .node("privateDnsNameOptions", |w| {
        w.leaf("hostnameType", "ip-name")
            .leaf("enableResourceNameDnsARecord", false)
            .leaf("enableResourceNameDnsAAAARecord", false);
    })
    .node("maintenanceOptions", |w| {
        w.leaf("autoRecovery", "default");
    })
    .leaf("currentInstanceBootMode", "legacy-bios");
}

fn instance_ids(p: &Params) -> Result<Vec<ResourceId>, Error> {
    p.list("InstanceId")?
        .iter()
        .map(|id| parse_instance_id(id))
        .collect()
}

fn interface_spec(s: &Params) -> Result<InterfaceSpec, Error> {
    refuse_unsupported(
        s,
        &[
            "Ipv6AddressCount",
            "Ipv6Addresses",
            "PrivateIpAddresses",
            "SecondaryPrivateIpAddressCount",
            "Ipv4Prefix",
            "Ipv6Prefix",
            "Ipv4PrefixCount",
            "Ipv6PrefixCount",
        ],
        "launch-time interfaces have one IPv4 address; add more with AssignPrivateIpAddresses",
    )?;
    Ok(InterfaceSpec {
        device_index: s.int("DeviceIndex")?,
        network_interface_id: s
            .get("NetworkInterfaceId")
            .map(nubo_ec2::network_interface::ops::parse_network_interface_id)
            .transpose()?,
        subnet_id: s.get("SubnetId").map(parse_subnet_id).transpose()?,
        groups: s
            .list("SecurityGroupId")?
            .iter()
            .map(|g| parse_group_id(g))
            .collect::<Result<_, _>>()?,
        private_ip: s
            .get("PrivateIpAddress")
            .map(|a| ipv4(a, "privateIpAddress"))
            .transpose()?,
        associate_public_ip: s.bool("AssociatePublicIpAddress")?,
        delete_on_termination: s.bool("DeleteOnTermination")?,
        description: s.get("Description").map(str::to_string),
    })
}

fn metadata_options_input(p: &Params) -> Result<Option<MetadataOptions>, Error> {
    let change = metadata_change(p, "MetadataOptions.")?;
    if change == MetadataOptionsChange::default() {
        return Ok(None);
    }
    let mut o = MetadataOptions::default();
    if let Some(t) = change.http_tokens {
        o.http_tokens = t;
    }
    if let Some(l) = change.hop_limit {
        o.http_put_response_hop_limit = MetadataOptionsChange::check_hop_limit(l)?;
    }
    if let Some(e) = change.http_endpoint_enabled {
        o.http_endpoint_enabled = e;
    }
    if let Some(t) = change.instance_metadata_tags {
        o.instance_metadata_tags = t;
    }
    Ok(Some(o))
}

fn metadata_change(p: &Params, prefix: &str) -> Result<MetadataOptionsChange, Error> {
    Ok(MetadataOptionsChange {
        http_tokens: p
            .get(&format!("{prefix}HttpTokens"))
            .map(MetadataOptionsChange::parse_tokens)
            .transpose()?,
        hop_limit: p.int(&format!("{prefix}HttpPutResponseHopLimit"))?,
        http_endpoint_enabled: p
            .get(&format!("{prefix}HttpEndpoint"))
            .map(|v| MetadataOptionsChange::parse_enabled("HttpEndpoint", v))
            .transpose()?,
        instance_metadata_tags: p
            .get(&format!("{prefix}InstanceMetadataTags"))
            .map(|v| MetadataOptionsChange::parse_enabled("InstanceMetadataTags", v))
            .transpose()?,
    })
}

pub async fn run_instances(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    refuse_unsupported(
        p,
        &[
            "LaunchTemplate",
            "InstanceMarketOptions",
            "ElasticGpuSpecification",
            "ElasticInferenceAccelerator",
            "LicenseSpecification",
            "Ipv6AddressCount",
            "Ipv6Address",
            "KernelId",
            "RamdiskId",
            "IamInstanceProfile",
            "BlockDeviceMapping",
            "HibernationOptions",
            "EnclaveOptions",
            "SecondaryInterface",
        ],
        "instances are system containers with one root filesystem and no IAM roles yet",
    )?;
    let input = RunInstances {
        image_id: p
            .get("ImageId")
            .map(|id| {
                ResourceId::parse(id, nubo_core::ResourceKind::Image, "InvalidAMIID.Malformed")
            })
            .transpose()?,
        instance_type: p.get("InstanceType").map(str::to_string),
        min_count: p.int("MinCount")?,
        max_count: p.int("MaxCount")?,
        subnet_id: p.get("SubnetId").map(parse_subnet_id).transpose()?,
        interfaces: p
            .structs("NetworkInterface")?
            .iter()
            .map(interface_spec)
            .collect::<Result<_, _>>()?,
        security_group_ids: p
            .list("SecurityGroupId")?
            .iter()
            .map(|g| parse_group_id(g))
            .collect::<Result<_, _>>()?,
        security_group_names: p.list("SecurityGroup")?,
        private_ip: p
            .get("PrivateIpAddress")
            .map(|a| ipv4(a, "privateIpAddress"))
            .transpose()?,
        key_name: p.get("KeyName").map(str::to_string),
        user_data: p.get("UserData").map(str::to_string),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
        zone: p.get("Placement.AvailabilityZone").map(str::to_string),
        client_token: p.get("ClientToken").map(str::to_string),
        disable_api_termination: p.bool("DisableApiTermination")?.unwrap_or(false),
        disable_api_stop: p.bool("DisableApiStop")?.unwrap_or(false),
        shutdown_behavior: p
            .get("InstanceInitiatedShutdownBehavior")
            .map(ShutdownBehavior::parse)
            .transpose()?,
        metadata_options: metadata_options_input(p)?,
    };
    let reservation = api.ec2.run_instances(&call.scope, &input).await?;
    for v in &reservation.instances {
        call.touched.push(v.instance.id.to_string());
    }
    let mut w = call.response("RunInstances");
    w.leaf("reservationId", &reservation.reservation_id)
        .leaf("ownerId", &reservation.owner_id)
        .node("groupSet", |_| {})
        .items("instancesSet", &reservation.instances, instance);
    Ok(call.finish(w))
}

pub async fn describe_instances(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = instance_ids(p)?;
    let filters = p.filters()?;
    if !ids.is_empty() && p.contains("MaxResults") {
        return Err(Error::InvalidParameterCombination(
            "The parameter instancesSet cannot be used with the parameter maxResults".into(),
        ));
    }
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (reservations, next) = api
        .ec2
        .describe_instances(&call.scope, &ids, &filters, &page)
        .await?;
    let mut w = call.response("DescribeInstances");
    w.items("reservationSet", &reservations, |w, r| {
        w.leaf("reservationId", &r.reservation_id)
            .leaf("ownerId", &r.owner_id)
            .node("groupSet", |_| {})
            .items("instancesSet", &r.instances, instance);
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn describe_instance_status(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let ids = instance_ids(p)?;
    let filters = p.filters()?;
    let include_all = p.bool("IncludeAllInstances")?.unwrap_or(false);
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let (views, next) = api
        .ec2
        .describe_instance_status(&call.scope, &ids, &filters, include_all, &page)
        .await?;
    let mut w = call.response("DescribeInstanceStatus");
    w.items("instanceStatusSet", &views, |w, v| {
        let i = &v.instance;
        let details = |w: &mut XmlWriter| {
            w.leaf("status", status_of(i))
                .items("details", std::iter::once(()), |w, _| {
                    w.leaf("name", "reachability")
                        .leaf("status", reachability_of(i));
                });
        };
        w.leaf("instanceId", &i.id)
            .leaf("availabilityZone", &i.availability_zone)
            .node("instanceState", |w| state(w, i.state))
            .node("instanceStatus", details)
            .node("systemStatus", details)
            .node("attachedEbsStatus", |w| {
                w.leaf("status", "not-applicable");
            })
            .node("eventsSet", |_| {});
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

fn state_changes(w: &mut XmlWriter, changes: &[StateChange]) {
    w.items("instancesSet", changes, |w, c| {
        w.leaf("instanceId", &c.instance_id)
            .node("currentState", |w| state(w, c.current))
            .node("previousState", |w| state(w, c.previous));
    });
}

/// `Start`/`Stop`/`TerminateInstances`: all answer `instancesSet` of changes.
pub async fn change_instances(
    api: &Api,
    call: &mut Call,
    action_name: &str,
) -> Result<String, Error> {
    let p = &call.params;
    let ids = instance_ids(p)?;
    let action = match action_name {
        "StartInstances" => Action::Start,
        "StopInstances" => {
            if p.bool("Hibernate")? == Some(true) {
                return Err(Error::client(
                    "UnsupportedHibernationConfiguration",
                    "Hibernation is not supported by this Nubo installation.",
                ));
            }
            Action::Stop {
                force: p.bool("Force")?.unwrap_or(false)
                    || p.bool("SkipOsShutdown")?.unwrap_or(false),
            }
        }
        "TerminateInstances" => Action::Terminate,
        _ => Action::Reboot,
    };
    let changes = api.ec2.change_instances(&call.scope, &ids, action).await?;
    call.touched.extend(ids.iter().map(|i| i.to_string()));
    let mut w = call.response(action_name);
    if action == Action::Reboot {
        w.leaf("return", true);
    } else {
        state_changes(&mut w, &changes);
    }
    Ok(call.finish(w))
}

pub async fn get_console_output(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_instance_id(call.params.required("InstanceId")?)?;
    let output = api.ec2.console_output(&call.scope, &id).await?;
    let mut w = call.response("GetConsoleOutput");
    w.leaf("instanceId", &id)
        .leaf(
            "timestamp",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
        .leaf(
            "output",
            base64::engine::general_purpose::STANDARD.encode(&output),
        );
    Ok(call.finish(w))
}

fn attribute_change(p: &Params) -> Result<AttributeChange, Error> {
    let bool_value = |key: &str| p.bool(&format!("{key}.Value"));
    let mut changes = Vec::new();
    if let Some(v) = bool_value("SourceDestCheck")? {
        changes.push(AttributeChange::SourceDestCheck(v));
    }
    if let Some(v) = bool_value("DisableApiTermination")? {
        changes.push(AttributeChange::DisableApiTermination(v));
    }
    if let Some(v) = bool_value("DisableApiStop")? {
        changes.push(AttributeChange::DisableApiStop(v));
    }
    if let Some(v) = p.get("InstanceType.Value") {
        changes.push(AttributeChange::InstanceType(v.to_string()));
    }
    if let Some(v) = p.get("UserData.Value") {
        changes.push(AttributeChange::UserData(v.to_string()));
    }
    if let Some(v) = p.get("InstanceInitiatedShutdownBehavior.Value") {
        changes.push(AttributeChange::ShutdownBehavior(ShutdownBehavior::parse(
            v,
        )?));
    }
    let groups = p.list("GroupId")?;
    if !groups.is_empty() {
        changes.push(AttributeChange::Groups(
            groups
                .iter()
                .map(|g| parse_group_id(g))
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(name) = p.get("Attribute") {
        check_attribute(name)?;
        let value = p.get("Value").unwrap_or("");
        let flag = || -> Result<bool, Error> {
            match value {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(Error::invalid(format!(
                    "Value ({value}) for parameter value is invalid. Expected 'true' or 'false'."
                ))),
            }
        };
        changes.push(match name {
            "instanceType" => AttributeChange::InstanceType(value.to_string()),
            "userData" => AttributeChange::UserData(value.to_string()),
            "disableApiTermination" => AttributeChange::DisableApiTermination(flag()?),
            "disableApiStop" => AttributeChange::DisableApiStop(flag()?),
            "sourceDestCheck" => AttributeChange::SourceDestCheck(flag()?),
            "instanceInitiatedShutdownBehavior" => {
                AttributeChange::ShutdownBehavior(ShutdownBehavior::parse(value)?)
            }
            other => {
                return Err(Error::invalid(format!(
                    "The attribute {other} cannot be modified on this Nubo installation."
                )))
            }
        });
    }
    refuse_unsupported(
        p,
        &[
            "BlockDeviceMapping",
            "Kernel",
            "Ramdisk",
            "EbsOptimized",
            "SriovNetSupport",
            "EnaSupport",
        ],
        "container instances have no kernel, ramdisk or EBS settings",
    )?;
    single_change(changes, "Attribute")
}

pub async fn modify_instance_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let id = parse_instance_id(call.params.required("InstanceId")?)?;
    let change = attribute_change(&call.params)?;
    api.ec2
        .modify_instance_attribute(&call.scope, &id, &change)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifyInstanceAttribute");
    w.leaf("return", true);
    Ok(call.finish(w))
}

pub async fn describe_instance_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_instance_id(p.required("InstanceId")?)?;
    let name = p.required("Attribute")?.to_string();
    check_attribute(&name)?;
    let v = api.ec2.instance_with_primary(&call.scope, &id).await?;
    let i = &v.instance;
    let mut w = call.response("DescribeInstanceAttribute");
    w.leaf("instanceId", &i.id);
    let value = |w: &mut XmlWriter, key: &str, text: String| {
        w.node(key, |w| {
            w.leaf("value", text);
        });
    };
    match name.as_str() {
        "instanceType" => value(&mut w, "instanceType", i.instance_type.clone()),
        "userData" => match &i.user_data {
            Some(d) => value(&mut w, "userData", d.clone()),
            None => {
                w.node("userData", |_| {});
            }
        },
        "disableApiTermination" => value(
            &mut w,
            "disableApiTermination",
            i.disable_api_termination.to_string(),
        ),
        "disableApiStop" => value(&mut w, "disableApiStop", i.disable_api_stop.to_string()),
        "instanceInitiatedShutdownBehavior" => value(
            &mut w,
            "instanceInitiatedShutdownBehavior",
            i.shutdown_behavior.as_str().into(),
        ),
        "rootDeviceName" => value(&mut w, "rootDeviceName", "/dev/xvda".into()),
        "sourceDestCheck" => value(&mut w, "sourceDestCheck", v.source_dest_check().to_string()),
        "groupSet" => {
            w.items("groupSet", v.groups(), |w, g| {
                w.leaf("groupId", &g.id).leaf("groupName", &g.name);
            });
        }
        "ebsOptimized" => value(&mut w, "ebsOptimized", "false".into()),
        "enaSupport" => value(&mut w, "enaSupport", "true".into()),
        "blockDeviceMapping" => {
            w.node("blockDeviceMapping", |_| {});
        }
        "productCodes" => {
            w.node("productCodes", |_| {});
        }
        "enclaveOptions" => {
            w.node("enclaveOptions", |w| {
                w.leaf("enabled", false);
            });
        }
        // kernel, ramdisk, sriovNetSupport: none on a container instance.
        _ => {}
    }
    Ok(call.finish(w))
}

pub async fn modify_instance_metadata_options(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_instance_id(p.required("InstanceId")?)?;
    if p.get("HttpProtocolIpv6") == Some("enabled") {
        return Err(Error::invalid(
            "The metadata service is IPv4-only on this Nubo installation.",
        ));
    }
    let change = metadata_change(p, "")?;
    let i = api
        .ec2
        .modify_instance_metadata_options(&call.scope, &id, &change)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ModifyInstanceMetadataOptions");
    w.leaf("instanceId", &i.id)
        .node("instanceMetadataOptions", |w| {
            metadata_options(w, &i.metadata_options)
        });
    Ok(call.finish(w))
}

pub async fn create_image(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    refuse_unsupported(
        p,
        &["BlockDeviceMapping", "SnapshotLocation"],
        "an image of an instance is its root filesystem, without extra volumes",
    )?;
    let input = nubo_ec2::instance::image::CreateImage {
        instance_id: p.get("InstanceId").map(parse_instance_id).transpose()?,
        name: p.get("Name").map(str::to_string),
        description: p.get("Description").map(str::to_string),
        no_reboot: p.bool("NoReboot")?.unwrap_or(false),
        tag_specifications: p
            .tag_specifications()?
            .into_iter()
            .map(|s| (s.resource_type, s.tags))
            .collect(),
    };
    let image = api.ec2.create_image(&call.scope, &input).await?;
    call.touched.push(image.id.to_string());
    let mut w = call.response("CreateImage");
    w.leaf("imageId", &image.id);
    Ok(call.finish(w))
}
