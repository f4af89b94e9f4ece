//! The instance-type catalog: the EC2 instance types this installation
//! offers, with AWS's published shape of each (vCPUs, memory, network
//! performance, interface limits). `DescribeInstanceTypes` and
//! `DescribeInstanceTypeOfferings` read it; `RunInstances` will size guests
//! from it. The catalog is static data, not state: every type is offered in
//! every configured region and zone.

use nubo_core::filter::Filterable;
use nubo_core::{Error, TagSet};

use crate::region::{zones, RegionConfig};

/// One instance type as AWS publishes it (x86_64, Nitro, EBS-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceType {
    pub name: &'static str,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// AWS's network performance text, e.g. `Up to 5 Gigabit`.
    pub network_performance: &'static str,
    pub max_network_interfaces: u32,
    pub ipv4_per_interface: u32,
    pub burstable: bool,
    pub free_tier_eligible: bool,
    /// Sustained clock speed in tenths of a GHz (31 → 3.1).
    pub clock_decighz: u32,
    pub manufacturer: &'static str,
    tags: TagSet,
}

impl InstanceType {
    /// Physical cores: every type in the catalog runs two threads per core.
    pub fn default_cores(&self) -> u32 {
        self.vcpus / self.threads_per_core()
    }

    pub fn threads_per_core(&self) -> u32 {
        2
    }

    /// The core counts a launch may choose (`validCores`); burstable types
    /// allow none but the default, as AWS reports.
    pub fn valid_cores(&self) -> Vec<u32> {
        if self.burstable {
            vec![self.default_cores()]
        } else {
            (1..=self.default_cores()).collect()
        }
    }

    /// The clock speed as AWS renders it (`3.1`).
    pub fn clock_ghz(&self) -> String {
        format!("{}.{}", self.clock_decighz / 10, self.clock_decighz % 10)
    }

    /// The family (`t3` of `t3.micro`).
    pub fn family(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }
}

pub const ARCHITECTURE: &str = "x86_64";
pub const HYPERVISOR: &str = "nitro";
pub const USAGE_CLASSES: &[&str] = &["on-demand", "spot"];
pub const ROOT_DEVICE_TYPES: &[&str] = &["ebs"];
pub const VIRTUALIZATION_TYPES: &[&str] = &["hvm"];
pub const BOOT_MODES: &[&str] = &["legacy-bios", "uefi"];

/// (name, vCPUs, MiB, network, max ENIs, IPv4 per ENI, clock ×10, maker).
type Row = (
    &'static str,
    u32,
    u64,
    &'static str,
    u32,
    u32,
    u32,
    &'static str,
);

const UP_TO_5: &str = "Up to 5 Gigabit";
const UP_TO_10: &str = "Up to 10 Gigabit";
const UP_TO_12_5: &str = "Up to 12.5 Gigabit";

/// AWS's published figures for each type (EC2 User Guide, "Amazon EC2
/// instance type specifications" and "Maximum IP addresses per network
/// interface").
const ROWS: &[Row] = &[
    ("t3.nano", 2, 512, UP_TO_5, 2, 2, 25, "Intel"),
    ("t3.micro", 2, 1024, UP_TO_5, 2, 2, 25, "Intel"),
    ("t3.small", 2, 2048, UP_TO_5, 3, 4, 25, "Intel"),
    ("t3.medium", 2, 4096, UP_TO_5, 3, 6, 25, "Intel"),
    ("t3.large", 2, 8192, UP_TO_5, 3, 12, 25, "Intel"),
    ("t3.xlarge", 4, 16384, UP_TO_5, 4, 15, 25, "Intel"),
    ("t3.2xlarge", 8, 32768, UP_TO_5, 4, 15, 25, "Intel"),
    ("m5.large", 2, 8192, UP_TO_10, 3, 10, 31, "Intel"),
    ("m5.xlarge", 4, 16384, UP_TO_10, 4, 15, 31, "Intel"),
    ("m5.2xlarge", 8, 32768, UP_TO_10, 4, 15, 31, "Intel"),
    ("m5.4xlarge", 16, 65536, UP_TO_10, 8, 30, 31, "Intel"),
    ("m6i.large", 2, 8192, UP_TO_12_5, 3, 10, 35, "Intel"),
    ("m6i.xlarge", 4, 16384, UP_TO_12_5, 4, 15, 35, "Intel"),
    ("m6i.2xlarge", 8, 32768, UP_TO_12_5, 4, 15, 35, "Intel"),
    ("m6i.4xlarge", 16, 65536, UP_TO_12_5, 8, 30, 35, "Intel"),
    ("c5.large", 2, 4096, UP_TO_10, 3, 10, 34, "Intel"),
    ("c5.xlarge", 4, 8192, UP_TO_10, 4, 15, 34, "Intel"),
    ("c5.2xlarge", 8, 16384, UP_TO_10, 4, 15, 34, "Intel"),
    ("c5.4xlarge", 16, 32768, UP_TO_10, 8, 30, 34, "Intel"),
    ("c6i.large", 2, 4096, UP_TO_12_5, 3, 10, 35, "Intel"),
    ("c6i.xlarge", 4, 8192, UP_TO_12_5, 4, 15, 35, "Intel"),
    ("c6i.2xlarge", 8, 16384, UP_TO_12_5, 4, 15, 35, "Intel"),
    ("c6i.4xlarge", 16, 32768, UP_TO_12_5, 8, 30, 35, "Intel"),
    ("r5.large", 2, 16384, UP_TO_10, 3, 10, 31, "Intel"),
    ("r5.xlarge", 4, 32768, UP_TO_10, 4, 15, 31, "Intel"),
    ("r5.2xlarge", 8, 65536, UP_TO_10, 4, 15, 31, "Intel"),
    ("r5.4xlarge", 16, 131072, UP_TO_10, 8, 30, 31, "Intel"),
    ("r6i.large", 2, 16384, UP_TO_12_5, 3, 10, 35, "Intel"),
    ("r6i.xlarge", 4, 32768, UP_TO_12_5, 4, 15, 35, "Intel"),
    ("r6i.2xlarge", 8, 65536, UP_TO_12_5, 4, 15, 35, "Intel"),
    ("r6i.4xlarge", 16, 131072, UP_TO_12_5, 8, 30, 35, "Intel"),
];

/// Every instance type in the catalog, sorted by name (the pagination order).
pub fn catalog() -> Vec<InstanceType> {
    let mut all: Vec<InstanceType> = ROWS
        .iter()
        .map(|&(name, vcpus, memory_mib, net, enis, ips, clock, maker)| {
            let family = name.split('.').next().unwrap_or(name);
            InstanceType {
                name,
                vcpus,
                memory_mib,
                network_performance: net,
                max_network_interfaces: enis,
                ipv4_per_interface: ips,
                burstable: family.starts_with('t'),
                // AWS's free tier covers t2.micro and t3.micro.
                free_tier_eligible: name == "t3.micro",
                clock_decighz: clock,
                manufacturer: maker,
                tags: TagSet::new(),
            }
        })
        .collect();
    all.sort_by(|a, b| a.name.cmp(b.name));
    all
}

/// The catalog entry named `name`, if any.
pub fn find(name: &str) -> Option<InstanceType> {
    catalog().into_iter().find(|t| t.name == name)
}

/// Checks that every name in `names` is in the catalog, with AWS's error.
pub fn check_known(names: &[String]) -> Result<(), Error> {
    let all = catalog();
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| !all.iter().any(|t| t.name == n.as_str()))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Error::client(
            "InvalidInstanceType",
            format!(
                "The following supplied instance types do not exist: [{}]",
                unknown.join(", ")
            ),
        ))
    }
}

fn flag(b: bool) -> Vec<String> {
    vec![b.to_string()]
}

fn strs(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

impl Filterable for InstanceType {
    const FILTERS: &'static [&'static str] = &[
        "auto-recovery-supported",
        "bare-metal",
        "burstable-performance-supported",
        "current-generation",
        "dedicated-hosts-supported",
        "free-tier-eligible",
        "hibernation-supported",
        "hypervisor",
        "instance-storage-supported",
        "instance-type",
        "memory-info.size-in-mib",
        "network-info.ena-support",
        "network-info.efa-supported",
        "network-info.encryption-in-transit-supported",
        "network-info.ipv4-addresses-per-interface",
        "network-info.ipv6-addresses-per-interface",
        "network-info.ipv6-supported",
        "network-info.maximum-network-cards",
        "network-info.maximum-network-interfaces",
        "network-info.network-performance",
        "processor-info.manufacturer",
        "processor-info.supported-architecture",
        "processor-info.sustained-clock-speed-in-ghz",
        "supported-boot-mode",
        "supported-root-device-type",
        "supported-usage-class",
        "supported-virtualization-type",
        "vcpu-info.default-cores",
        "vcpu-info.default-threads-per-core",
        "vcpu-info.default-vcpus",
        "vcpu-info.valid-cores",
        "vcpu-info.valid-threads-per-core",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "auto-recovery-supported" | "current-generation" | "hibernation-supported" => {
                flag(true)
            }
            "bare-metal"
            | "dedicated-hosts-supported"
            | "instance-storage-supported"
            | "network-info.efa-supported" => flag(false),
            "burstable-performance-supported" => flag(self.burstable),
            "free-tier-eligible" => flag(self.free_tier_eligible),
            "hypervisor" => strs(&[HYPERVISOR]),
            "instance-type" => strs(&[self.name]),
            "memory-info.size-in-mib" => vec![self.memory_mib.to_string()],
            "network-info.ena-support" => strs(&["required"]),
            "network-info.encryption-in-transit-supported" => {
                flag(!matches!(self.family(), "t3" | "m5" | "c5" | "r5"))
            }
            "network-info.ipv4-addresses-per-interface"
            | "network-info.ipv6-addresses-per-interface" => {
                vec![self.ipv4_per_interface.to_string()]
            }
            "network-info.ipv6-supported" => flag(true),
            "network-info.maximum-network-cards" => vec!["1".into()],
            "network-info.maximum-network-interfaces" => {
                vec![self.max_network_interfaces.to_string()]
            }
            "network-info.network-performance" => strs(&[self.network_performance]),
            "processor-info.manufacturer" => strs(&[self.manufacturer]),
            "processor-info.supported-architecture" => strs(&[ARCHITECTURE]),
            "processor-info.sustained-clock-speed-in-ghz" => vec![self.clock_ghz()],
            "supported-boot-mode" => strs(BOOT_MODES),
            "supported-root-device-type" => strs(ROOT_DEVICE_TYPES),
            "supported-usage-class" => strs(USAGE_CLASSES),
            "supported-virtualization-type" => strs(VIRTUALIZATION_TYPES),
            "vcpu-info.default-cores" => vec![self.default_cores().to_string()],
            "vcpu-info.default-threads-per-core" => vec![self.threads_per_core().to_string()],
            "vcpu-info.default-vcpus" => vec![self.vcpus.to_string()],
            "vcpu-info.valid-cores" => self.valid_cores().iter().map(u32::to_string).collect(),
            "vcpu-info.valid-threads-per-core" => vec!["1".into(), "2".into()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Where an offering is listed: `DescribeInstanceTypeOfferings`'s `LocationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationType {
    Region,
    AvailabilityZone,
    AvailabilityZoneId,
}

impl LocationType {
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "region" => Ok(LocationType::Region),
            "availability-zone" => Ok(LocationType::AvailabilityZone),
            "availability-zone-id" => Ok(LocationType::AvailabilityZoneId),
            other => Err(Error::invalid(format!(
                "Value ({other}) for parameter locationType is invalid. Valid values are region, availability-zone, availability-zone-id."
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LocationType::Region => "region",
            LocationType::AvailabilityZone => "availability-zone",
            LocationType::AvailabilityZoneId => "availability-zone-id",
        }
    }
}

/// One instance type offered at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTypeOffering {
    pub instance_type: &'static str,
    pub location_type: LocationType,
    pub location: String,
    /// `location` and type, the pagination order.
    pub sort_key: String,
    tags: TagSet,
}

impl Filterable for InstanceTypeOffering {
    const FILTERS: &'static [&'static str] = &["instance-type", "location"];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "instance-type" => vec![self.instance_type.to_string()],
            "location" => vec![self.location.clone()],
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Every (location, type) offering in `region`, sorted by location then type.
pub fn offerings(
    config: &[RegionConfig],
    region: &str,
    location_type: LocationType,
) -> Vec<InstanceTypeOffering> {
    let locations: Vec<String> = match location_type {
        LocationType::Region => vec![region.to_string()],
        LocationType::AvailabilityZone => {
            zones(config, region).into_iter().map(|z| z.name).collect()
        }
        LocationType::AvailabilityZoneId => {
            zones(config, region).into_iter().map(|z| z.id).collect()
        }
    };
    let types = catalog();
    let mut all: Vec<InstanceTypeOffering> = locations
        .iter()
        .flat_map(|location| {
            types.iter().map(move |t| InstanceTypeOffering {
                instance_type: t.name,
                location_type,
                location: location.clone(),
                sort_key: format!("{location} {}", t.name),
                tags: TagSet::new(),
            })
        })
        .collect();
    all.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use nubo_core::filter::{matches, Filter};

    #[test]
    fn catalog_names_are_unique_sorted_and_well_formed() {
        let all = catalog();
        assert!(all.len() >= 30);
        for pair in all.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} !< {}",
                pair[0].name,
                pair[1].name
            );
        }
        for t in &all {
            let (family, size) = t.name.split_once('.').expect("family.size");
            assert!(!family.is_empty() && !size.is_empty());
        }
    }

    #[test]
    fn sizes_double_within_a_family() {
        let all = catalog();
        for t in &all {
            assert_eq!(t.vcpus % 2, 0, "{}", t.name);
            assert_eq!(t.default_cores() * t.threads_per_core(), t.vcpus);
            assert!(t.memory_mib.is_power_of_two(), "{}", t.name);
            assert!(t.max_network_interfaces >= 2 && t.ipv4_per_interface >= 2);
        }
        // Past `large`, memory per vCPU is constant in a family.
        for t in all.iter().filter(|t| !t.burstable) {
            let large = find(&format!("{}.large", t.family())).expect("large exists");
            assert_eq!(
                t.memory_mib / u64::from(t.vcpus),
                large.memory_mib / 2,
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn published_figures() {
        let micro = find("t3.micro").expect("t3.micro");
        assert_eq!((micro.vcpus, micro.memory_mib), (2, 1024));
        assert!(micro.burstable && micro.free_tier_eligible);
        assert_eq!(micro.network_performance, "Up to 5 Gigabit");
        let r5 = find("r5.4xlarge").expect("r5.4xlarge");
        assert_eq!((r5.vcpus, r5.memory_mib), (16, 131072));
        assert!(!r5.burstable && !r5.free_tier_eligible);
        assert_eq!(
            find("c6i.large").map(|t| t.network_performance),
            Some(UP_TO_12_5)
        );
        assert_eq!(catalog().iter().filter(|t| t.free_tier_eligible).count(), 1);
        assert_eq!(
            find("m5.large").map(|t| t.clock_ghz()),
            Some("3.1".to_string())
        );
    }

    #[test]
    fn unknown_types_are_named_in_the_error() {
        assert!(check_known(&["t3.micro".into()]).is_ok());
        let err = check_known(&["t3.micro".into(), "x9.huge".into()]).unwrap_err();
        match err {
            Error::Client { code, message } => {
                assert_eq!(code, "InvalidInstanceType");
                assert!(message.contains("[x9.huge]"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn filters_select_by_shape() {
        let f = |name: &str, v: &str| Filter {
            name: name.into(),
            values: vec![v.into()],
        };
        let pick = |filters: &[Filter]| -> Vec<&'static str> {
            catalog()
                .into_iter()
                .filter(|t| matches(t, filters))
                .map(|t| t.name)
                .collect()
        };
        assert_eq!(
            pick(&[
                f("vcpu-info.default-vcpus", "16"),
                f("memory-info.size-in-mib", "131072")
            ]),
            vec!["r5.4xlarge", "r6i.4xlarge"]
        );
        assert_eq!(pick(&[f("instance-type", "t3.*")]).len(), 7);
        assert_eq!(
            pick(&[f("burstable-performance-supported", "true")]).len(),
            7
        );
        assert_eq!(pick(&[f("free-tier-eligible", "true")]), vec!["t3.micro"]);
        assert_eq!(
            pick(&[f("network-info.network-performance", "Up to 12.5 Gigabit")]).len(),
            12
        );
        assert!(pick(&[f("processor-info.supported-architecture", "arm64")]).is_empty());
    }

    #[test]
    fn offerings_cover_every_location_and_type() {
        let config = RegionConfig::default_regions();
        let n = catalog().len();
        let region = offerings(&config, "us-east-1", LocationType::Region);
        assert_eq!(region.len(), n);
        assert!(region.iter().all(|o| o.location == "us-east-1"));
        let zones = offerings(&config, "us-east-1", LocationType::AvailabilityZone);
        assert_eq!(zones.len(), 3 * n);
        assert_eq!(zones[0].location, "us-east-1a");
        let ids = offerings(&config, "us-east-1", LocationType::AvailabilityZoneId);
        assert_eq!(ids[0].location, "use1-az1");
        for pair in zones.windows(2) {
            assert!(pair[0].sort_key < pair[1].sort_key);
        }
        assert!(LocationType::parse("planet").is_err());
    }
}
