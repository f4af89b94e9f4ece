//! Regions and availability zones (from configuration) and the account
//! attributes EC2 reports for them.

use nubo_core::filter::Filterable;
use nubo_core::{Error, TagSet};
use serde::{Deserialize, Serialize};

/// One configured region and its zones, all served by this installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionConfig {
    pub name: String,
    pub zones: Vec<String>,
}

impl RegionConfig {
    /// The default: `us-east-1` with zones `a`, `b` and `c`.
    pub fn default_regions() -> Vec<RegionConfig> {
        vec![RegionConfig {
            name: "us-east-1".into(),
            zones: ["us-east-1a", "us-east-1b", "us-east-1c"]
                .map(String::from)
                .to_vec(),
        }]
    }

    /// Checks that names look like AWS's and zones belong to their region.
    pub fn validate(regions: &[RegionConfig]) -> Result<(), Error> {
        if regions.is_empty() {
            return Err(Error::invalid("at least one region must be configured"));
        }
        for r in regions {
            if r.name.is_empty()
                || !r
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(Error::invalid(format!("invalid region name '{}'", r.name)));
            }
            for z in &r.zones {
                let suffix = z.strip_prefix(r.name.as_str()).unwrap_or("");
                if suffix.len() != 1 || !suffix.bytes().all(|b| b.is_ascii_lowercase()) {
                    return Err(Error::invalid(format!(
                        "zone '{z}' must be the region name followed by one letter (e.g. {}a)",
                        r.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// AWS-style zone ID prefix: `us-east-1` → `use1`.
    fn zone_id_prefix(&self) -> String {
        let parts: Vec<&str> = self.name.split('-').collect();
        match parts.as_slice() {
            [geo, direction, number] => {
                format!("{geo}{}{number}", &direction[..1.min(direction.len())])
            }
            _ => self.name.replace('-', ""),
        }
    }
}

/// A region as `DescribeRegions` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    pub endpoint: String,
    tags: TagSet,
}

impl Filterable for Region {
    const FILTERS: &'static [&'static str] = &["endpoint", "region-name", "opt-in-status"];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "endpoint" => vec![self.endpoint.clone()],
            "region-name" => vec![self.name.clone()],
            _ => vec!["opt-in-not-required".into()],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// An availability zone as `DescribeAvailabilityZones` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityZone {
    pub name: String,
    pub id: String,
    pub region: String,
    tags: TagSet,
}

impl Filterable for AvailabilityZone {
    const FILTERS: &'static [&'static str] = &[
        "group-name",
        "message",
        "opt-in-status",
        "parent-zone-id",
        "parent-zone-name",
        "region-name",
        "state",
        "zone-id",
        "zone-name",
        "zone-type",
        "network-border-group",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "group-name" | "region-name" | "network-border-group" => vec![self.region.clone()],
            "opt-in-status" => vec!["opt-in-not-required".into()],
            "state" => vec!["available".into()],
            "zone-id" => vec![self.id.clone()],
            "zone-name" => vec![self.name.clone()],
            "zone-type" => vec!["availability-zone".into()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Every configured region, as seen from an endpoint named `endpoint`.
pub fn regions(config: &[RegionConfig], endpoint: &str) -> Vec<Region> {
    config
        .iter()
        .map(|r| Region {
            name: r.name.clone(),
            endpoint: endpoint.to_string(),
            tags: TagSet::new(),
        })
        .collect()
}

/// The zones of `region`.
pub fn zones(config: &[RegionConfig], region: &str) -> Vec<AvailabilityZone> {
    config
        .iter()
        .filter(|r| r.name == region)
        .flat_map(|r| {
            let prefix = r.zone_id_prefix();
            r.zones
                .iter()
                .enumerate()
                .map(move |(i, z)| AvailabilityZone {
                    name: z.clone(),
                    id: format!("{prefix}-az{}", i + 1),
                    region: r.name.clone(),
                    tags: TagSet::new(),
                })
        })
        .collect()
}

/// The account attributes `DescribeAccountAttributes` knows, with their
/// values; `default_vpc` is the account's default VPC in the region, if any.
pub fn account_attributes(default_vpc: Option<&str>) -> Vec<(&'static str, Vec<String>)> {
    let one = |v: &str| vec![v.to_string()];
    vec![
        ("supported-platforms", one("VPC")),
        ("default-vpc", one(default_vpc.unwrap_or("none"))),
        ("max-instances", one("20")),
        ("vpc-max-security-groups-per-interface", one("5")),
        ("max-elastic-ips", one("5")),
        ("vpc-max-elastic-ips", one("5")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_zones_have_aws_style_ids() {
        let zs = zones(&RegionConfig::default_regions(), "us-east-1");
        let ids: Vec<_> = zs.iter().map(|z| z.id.as_str()).collect();
        assert_eq!(ids, ["use1-az1", "use1-az2", "use1-az3"]);
        assert!(zones(&RegionConfig::default_regions(), "eu-west-1").is_empty());
    }

    #[test]
    fn config_validation() {
        assert!(RegionConfig::validate(&RegionConfig::default_regions()).is_ok());
        let bad = vec![RegionConfig {
            name: "us-east-1".into(),
            zones: vec!["eu-west-1a".into()],
        }];
        assert!(RegionConfig::validate(&bad).is_err());
        assert!(RegionConfig::validate(&[]).is_err());
    }
}
