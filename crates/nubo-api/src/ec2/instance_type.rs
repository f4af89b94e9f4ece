//! `DescribeInstanceTypes` and `DescribeInstanceTypeOfferings`: the static
//! instance-type catalog of `nubo_ec2::instance_type`, filtered, paginated and
//! rendered as botocore's `InstanceTypeInfo` / `InstanceTypeOffering`.

use nubo_core::filter::{self, Page};
use nubo_core::Error;
use nubo_ec2::instance_type::{
    catalog, check_known, offerings, InstanceType, InstanceTypeOffering, LocationType,
    ARCHITECTURE, BOOT_MODES, HYPERVISOR, ROOT_DEVICE_TYPES, USAGE_CLASSES, VIRTUALIZATION_TYPES,
};
use nubo_protocol::xml::XmlWriter;

use crate::call::Call;
use crate::server::Api;

pub async fn describe_instance_types(_api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let names = p.list("InstanceType")?;
    let filters = p.filters()?;
    filter::validate::<InstanceType>(&filters)?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 100)?;
    check_known(&names)?;
    let mut all = catalog();
    all.retain(|t| {
        (names.is_empty() || names.iter().any(|n| n == t.name)) && filter::matches(t, &filters)
    });
    let (types, next) = page.apply(all, |t| t.name);
    let mut w = call.response("DescribeInstanceTypes");
    w.items("instanceTypeSet", &types, instance_type_info);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

pub async fn describe_instance_type_offerings(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let location_type = LocationType::parse(p.get("LocationType").unwrap_or("region"))?;
    let filters = p.filters()?;
    filter::validate::<InstanceTypeOffering>(&filters)?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 5, 1000)?;
    let mut all = offerings(api.ec2.regions(), &call.scope.region, location_type);
    all.retain(|o| filter::matches(o, &filters));
    let (list, next) = page.apply(all, |o| o.sort_key.as_str());
    let mut w = call.response("DescribeInstanceTypeOfferings");
    w.items("instanceTypeOfferingSet", &list, |w, o| {
        w.leaf("instanceType", o.instance_type)
            .leaf("locationType", o.location_type.as_str())
            .leaf("location", &o.location);
    });
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

fn values(w: &mut XmlWriter, name: &str, list: &[&str]) {
    w.items(name, list, |w, v| {
        w.text(v);
    });
}

fn instance_type_info(w: &mut XmlWriter, t: &InstanceType) {
    w.leaf("instanceType", t.name)
        .leaf("currentGeneration", true)
        .leaf("freeTierEligible", t.free_tier_eligible);
    values(w, "supportedUsageClasses", USAGE_CLASSES);
    values(w, "supportedRootDeviceTypes", ROOT_DEVICE_TYPES);
    values(w, "supportedVirtualizationTypes", VIRTUALIZATION_TYPES);
    w.leaf("bareMetal", false).leaf("hypervisor", HYPERVISOR);
    w.node("processorInfo", |w| {
        values(w, "supportedArchitectures", &[ARCHITECTURE]);
        w.leaf("sustainedClockSpeedInGhz", t.clock_ghz())
            .leaf("manufacturer", t.manufacturer);
    });
    w.node("vCpuInfo", |w| {
        w.leaf("defaultVCpus", t.vcpus)
            .leaf("defaultCores", t.default_cores())
            .leaf("defaultThreadsPerCore", t.threads_per_core())
            .items("validCores", &t.valid_cores(), |w, c| {
                w.text(c);
            })
            .items("validThreadsPerCore", &[1, 2], |w, c| {
                w.text(c);
            });
    });
    w.node("memoryInfo", |w| {
        w.leaf("sizeInMiB", t.memory_mib);
    });
    w.leaf("instanceStorageSupported", false);
    w.node("ebsInfo", |w| {
        w.leaf("ebsOptimizedSupport", "default")
            .leaf("encryptionSupport", "supported")
            .leaf("nvmeSupport", "required");
    });
    w.node("networkInfo", |w| {
        w.leaf("networkPerformance", t.network_performance)
            .leaf("maximumNetworkInterfaces", t.max_network_interfaces)
            .leaf("maximumNetworkCards", 1)
            .leaf("defaultNetworkCardIndex", 0)
            .items("networkCards", &[0], |w, i| {
                w.leaf("networkCardIndex", i)
                    .leaf("networkPerformance", t.network_performance)
                    .leaf("maximumNetworkInterfaces", t.max_network_interfaces);
            })
            .leaf("ipv4AddressesPerInterface", t.ipv4_per_interface)
            .leaf("ipv6AddressesPerInterface", t.ipv4_per_interface)
            .leaf("ipv6Supported", true)
            .leaf("enaSupport", "required")
            .leaf("efaSupported", false);
    });
    w.node("placementGroupInfo", |w| {
        values(
            w,
            "supportedStrategies",
            &["cluster", "partition", "spread"],
        );
    });
    w.leaf("hibernationSupported", true)
        .leaf("burstablePerformanceSupported", t.burstable)
        .leaf("dedicatedHostsSupported", false)
        .leaf("autoRecoverySupported", true);
    values(w, "supportedBootModes", BOOT_MODES);
    w.leaf("nitroEnclavesSupport", "unsupported")
        .leaf("nitroTpmSupport", "supported")
        .leaf("supportedInRegion", true);
}
