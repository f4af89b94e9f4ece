"""The instance-type catalog: DescribeInstanceTypes and DescribeInstanceTypeOfferings."""

from conftest import AZS, REGION, expect_error


def test_describe_named_instance_types(ec2):
    types = ec2.describe_instance_types(InstanceTypes=["t3.micro", "r5.4xlarge"])["InstanceTypes"]
    by_name = {t["InstanceType"]: t for t in types}
    assert sorted(by_name) == ["r5.4xlarge", "t3.micro"]
    micro = by_name["t3.micro"]
    assert micro["VCpuInfo"]["DefaultVCpus"] == 2
    assert micro["MemoryInfo"]["SizeInMiB"] == 1024
    assert micro["NetworkInfo"]["NetworkPerformance"] == "Up to 5 Gigabit"
    assert micro["NetworkInfo"]["MaximumNetworkInterfaces"] == 2
    assert micro["NetworkInfo"]["Ipv4AddressesPerInterface"] == 2
    assert micro["BurstablePerformanceSupported"] is True
    assert micro["FreeTierEligible"] is True
    assert micro["CurrentGeneration"] is True
    assert micro["Hypervisor"] == "nitro"
    assert micro["ProcessorInfo"]["SupportedArchitectures"] == ["x86_64"]
    assert micro["SupportedRootDeviceTypes"] == ["ebs"]
    assert set(micro["SupportedUsageClasses"]) == {"on-demand", "spot"}
    big = by_name["r5.4xlarge"]
    assert (big["VCpuInfo"]["DefaultVCpus"], big["MemoryInfo"]["SizeInMiB"]) == (16, 131072)
    assert big["BurstablePerformanceSupported"] is False
    assert big["NetworkInfo"]["NetworkPerformance"] == "Up to 10 Gigabit"


def test_unknown_instance_type_is_refused(ec2):
    err = expect_error("InvalidInstanceType", ec2.describe_instance_types,
                       InstanceTypes=["t3.micro", "x9.enormous"])
    assert "x9.enormous" in str(err)


def test_instance_type_filters(ec2):
    def names(*filters):
        pages = ec2.get_paginator("describe_instance_types").paginate(
            Filters=[{"Name": n, "Values": v} for n, v in filters])
        return sorted(t["InstanceType"] for p in pages for t in p["InstanceTypes"])

    assert names(("vcpu-info.default-vcpus", ["16"]), ("memory-info.size-in-mib", ["131072"])) == [
        "r5.4xlarge", "r6i.4xlarge"]
    assert names(("instance-type", ["t3.*"]), ("burstable-performance-supported", ["true"])) == [
        "t3.2xlarge", "t3.large", "t3.medium", "t3.micro", "t3.nano", "t3.small", "t3.xlarge"]
    assert "m6i.large" in names(("network-info.network-performance", ["Up to 12.5 Gigabit"]))
    assert names(("processor-info.supported-architecture", ["arm64"])) == []
    assert len(names(("current-generation", ["true"]))) == len(names())
    expect_error("InvalidParameterValue", ec2.describe_instance_types,
                 Filters=[{"Name": "no-such-filter", "Values": ["x"]}])


def test_instance_types_paginate(ec2):
    everything = []
    token = None
    while True:
        kwargs = {"MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        page = ec2.describe_instance_types(**kwargs)
        assert len(page["InstanceTypes"]) <= 5
        everything += [t["InstanceType"] for t in page["InstanceTypes"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(everything) == len(set(everything)) >= 30
    assert {"t3.nano", "m5.large", "c6i.4xlarge", "r6i.large"} <= set(everything)
    expect_error("InvalidParameterValue", ec2.describe_instance_types, MaxResults=101)


def test_offerings_by_location_type(ec2):
    def offerings(**kwargs):
        pages = ec2.get_paginator("describe_instance_type_offerings").paginate(**kwargs)
        return [o for p in pages for o in p["InstanceTypeOfferings"]]

    region = offerings()
    assert {o["Location"] for o in region} == {REGION}
    assert {o["LocationType"] for o in region} == {"region"}
    types = {o["InstanceType"] for o in region}
    assert "t3.micro" in types
    zones = offerings(LocationType="availability-zone")
    assert {o["Location"] for o in zones} == set(AZS)
    assert len(zones) == 3 * len(types)
    zone_ids = {z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    by_id = offerings(LocationType="availability-zone-id")
    assert {o["Location"] for o in by_id} == zone_ids
    one = offerings(LocationType="availability-zone",
                    Filters=[{"Name": "location", "Values": ["us-east-1b"]},
                             {"Name": "instance-type", "Values": ["t3.micro", "m5.large"]}])
    assert sorted((o["Location"], o["InstanceType"]) for o in one) == [
        ("us-east-1b", "m5.large"), ("us-east-1b", "t3.micro")]
    expect_error("InvalidParameterValue", ec2.describe_instance_type_offerings,
                 LocationType="planet")


def test_instance_types_dry_run(ec2):
    expect_error("DryRunOperation", ec2.describe_instance_types, DryRun=True, status=412)
    expect_error("DryRunOperation", ec2.describe_instance_type_offerings, DryRun=True, status=412)


def test_instance_types_with_aws_cli(nubo):
    out = nubo.aws("ec2", "describe-instance-types", "--instance-types", "c5.xlarge")
    [c5] = out["InstanceTypes"]
    assert (c5["VCpuInfo"]["DefaultVCpus"], c5["MemoryInfo"]["SizeInMiB"]) == (4, 8192)
    out = nubo.aws("ec2", "describe-instance-type-offerings", "--location-type",
                   "availability-zone", "--filters", "Name=instance-type,Values=t3.nano")
    assert sorted(o["Location"] for o in out["InstanceTypeOfferings"]) == list(AZS)
