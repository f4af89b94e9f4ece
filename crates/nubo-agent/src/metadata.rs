//! The metadata the instance metadata service answers, built from the
//! store's view of each instance on this host and looked up by (VPC, source
//! address) — the caller's identity as the VPC router sees it.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};

use base64::Engine;
use nubo_ec2::instance::host::HostInstance;
use nubo_ec2::instance::HttpTokens;
use nubo_net::imds::{
    BoxFuture, HttpTokens as ImdsTokens, InstanceMetadata, InterfaceMetadata, MetadataOptions,
    MetadataSource,
};

/// The metadata of every instance that may call, by (VPC ID, private address).
#[derive(Default, Clone)]
pub struct MetadataTable {
    entries: Arc<RwLock<HashMap<(String, Ipv4Addr), InstanceMetadata>>>,
}

impl MetadataTable {
    /// Replaces the table with the metadata of `instances`.
    pub fn refresh(&self, instances: &[HostInstance]) {
        let mut next = HashMap::new();
        for hi in instances
            .iter()
            .filter(|h| h.instance.state.wants_processes())
        {
            if let Some(md) = metadata_of(hi) {
                next.insert((hi.instance.vpc_id.to_string(), md.local_ipv4), md);
            }
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        *entries = next;
    }
}

impl MetadataSource for MetadataTable {
    fn lookup(&self, vpc_id: &str, source: Ipv4Addr) -> BoxFuture<'_, Option<InstanceMetadata>> {
        let found = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(vpc_id.to_string(), source))
            .cloned();
        Box::pin(async move { found })
    }
}

/// The metadata of one instance (None if it has no primary interface).
pub fn metadata_of(hi: &HostInstance) -> Option<InstanceMetadata> {
    let i = &hi.instance;
    let primary = hi.interfaces.first()?;
    let public_ipv4 = primary.association().map(|a| a.public_ip).or(i.public_ip);
    let interfaces = hi
        .interfaces
        .iter()
        .enumerate()
        .map(|(n, e)| InterfaceMetadata {
            mac: e.mac_address.clone(),
            device_number: e
                .attachment
                .as_ref()
                .map_or(n as u32, |a| a.device_index.max(0) as u32),
            interface_id: e.id.to_string(),
            local_hostname: e.private_dns_name.clone(),
            local_ipv4s: e.private_ips.iter().map(|p| p.address).collect(),
            subnet_id: e.subnet_id.to_string(),
            subnet_ipv4_cidr_block: if e.subnet_id == i.subnet_id {
                hi.subnet_cidr.clone()
            } else {
                String::new()
            },
            vpc_id: e.vpc_id.to_string(),
            vpc_ipv4_cidr_blocks: hi.vpc_cidrs.clone(),
            security_group_ids: e.groups.iter().map(|g| g.id.to_string()).collect(),
            security_groups: e.groups.iter().map(|g| g.name.clone()).collect(),
            public_ipv4s: if n == 0 {
                public_ipv4.into_iter().collect()
            } else {
                e.association().map(|a| a.public_ip).into_iter().collect()
            },
            owner_id: e.owner_id.to_string(),
        })
        .collect();
    let user_data = i.user_data.as_ref().and_then(|d| {
        base64::engine::general_purpose::STANDARD
            .decode(d.trim())
            .ok()
    });
    let o = &i.metadata_options;
    Some(InstanceMetadata {
        ami_id: i.image_id.to_string(),
        ami_launch_index: i.ami_launch_index,
        instance_id: i.id.to_string(),
        instance_type: i.instance_type.clone(),
        local_ipv4: i.private_ip,
        local_hostname: i.private_dns_name.clone(),
        public_ipv4,
        public_hostname: None,
        mac: i.mac_address.clone(),
        interfaces,
        availability_zone: i.availability_zone.clone(),
        region: hi.region.clone(),
        account_id: hi.account.to_string(),
        security_groups: primary.groups.iter().map(|g| g.name.clone()).collect(),
        public_keys: match (&i.key_name, &i.public_key) {
            (Some(name), Some(key)) => vec![(name.clone(), key.clone())],
            _ => Vec::new(),
        },
        block_device_mapping: vec![
            ("ami".into(), "/dev/xvda".into()),
            ("root".into(), "/dev/xvda".into()),
        ],
        user_data,
        reservation_id: i.reservation_id.clone(),
        launch_time_iso: launch_time_iso(&i.launch_time),
        architecture: "x86_64".into(),
        image_id: i.image_id.to_string(),
        options: MetadataOptions {
            http_tokens: match o.http_tokens {
                HttpTokens::Optional => ImdsTokens::Optional,
                HttpTokens::Required => ImdsTokens::Required,
            },
            http_put_response_hop_limit: o.http_put_response_hop_limit.clamp(1, 64) as u8,
            http_endpoint_enabled: o.http_endpoint_enabled,
            instance_metadata_tags: o.instance_metadata_tags,
        },
        tags: i
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    })
}

/// `2026-11-23T18:00:00.123Z` → `2026-11-23T18:00:00Z` (the identity
/// document's precision).
fn launch_time_iso(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_times_lose_their_milliseconds() {
        assert_eq!(
            launch_time_iso("2026-11-23T18:00:00.123Z"),
            "2026-11-23T18:00:00Z"
        );
    }
}
