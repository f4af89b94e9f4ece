//! `DescribeRegions`, `DescribeAvailabilityZones`, `DescribeAccountAttributes`.

use nubo_core::filter;
use nubo_core::Error;
use nubo_ec2::region::{account_attributes, regions, zones};

use crate::call::Call;
use crate::server::Api;

pub async fn describe_regions(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let names = p.list("RegionName")?;
    let filters = p.filters()?;
    filter::validate::<nubo_ec2::Region>(&filters)?;
    let endpoint = call.host.clone();
    let mut all = regions(api.ec2.regions(), &endpoint);
    if let Some(unknown) = names.iter().find(|n| !all.iter().any(|r| &r.name == *n)) {
        return Err(Error::invalid(format!("Invalid region: {unknown}")));
    }
    all.retain(|r| (names.is_empty() || names.contains(&r.name)) && filter::matches(r, &filters));
    let mut w = call.response("DescribeRegions");
    w.items("regionInfo", &all, |w, r| {
        w.leaf("regionName", &r.name)
            .leaf("regionEndpoint", &r.endpoint)
            .leaf("optInStatus", "opt-in-not-required");
    });
    Ok(call.finish(w))
}

pub async fn describe_availability_zones(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let names = p.list("ZoneName")?;
    let ids = p.list("ZoneId")?;
    let filters = p.filters()?;
    filter::validate::<nubo_ec2::AvailabilityZone>(&filters)?;
    let mut all = zones(api.ec2.regions(), &call.scope.region);
    if let Some(unknown) = names.iter().find(|n| !all.iter().any(|z| &z.name == *n)) {
        return Err(Error::invalid(format!(
            "The zone '{unknown}' does not exist."
        )));
    }
    if let Some(unknown) = ids.iter().find(|n| !all.iter().any(|z| &z.id == *n)) {
        return Err(Error::invalid(format!(
            "The zone ID '{unknown}' does not exist."
        )));
    }
    all.retain(|z| {
        (names.is_empty() || names.contains(&z.name))
            && (ids.is_empty() || ids.contains(&z.id))
            && filter::matches(z, &filters)
    });
    let mut w = call.response("DescribeAvailabilityZones");
    w.items("availabilityZoneInfo", &all, |w, z| {
        w.leaf("zoneName", &z.name)
            .leaf("zoneId", &z.id)
            .leaf("zoneState", "available")
            .leaf("regionName", &z.region)
            .leaf("groupName", &z.region)
            .leaf("networkBorderGroup", &z.region)
            .leaf("optInStatus", "opt-in-not-required")
            .leaf("zoneType", "availability-zone")
            .node("messageSet", |_| {});
    });
    Ok(call.finish(w))
}

pub async fn describe_account_attributes(api: &Api, call: &mut Call) -> Result<String, Error> {
    let names = call.params.list("AttributeName")?;
    let default_vpc = api.ec2.default_vpc_id(&call.scope).await?;
    let mut all = account_attributes(default_vpc.as_ref().map(|id| id.as_str()));
    if let Some(unknown) = names.iter().find(|n| !all.iter().any(|(a, _)| a == n)) {
        return Err(Error::invalid(format!(
            "Value ({unknown}) for parameter attributeName is invalid. Unknown attribute."
        )));
    }
    all.retain(|(a, _)| names.is_empty() || names.iter().any(|n| n == a));
    let mut w = call.response("DescribeAccountAttributes");
    w.items("accountAttributeSet", &all, |w, (name, values)| {
        w.leaf("attributeName", name)
            .items("attributeValueSet", values, |w, v| {
                w.leaf("attributeValue", v);
            });
    });
    Ok(call.finish(w))
}
