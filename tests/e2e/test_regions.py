"""Region, Availability Zone and account-attribute discovery."""

from conftest import AZS, REGION, expect_error


def test_describe_regions_lists_us_east_1(ec2):
    regions = ec2.describe_regions()["Regions"]
    names = [r["RegionName"] for r in regions]
    assert REGION in names
    assert len(names) == len(set(names))
    east = next(r for r in regions if r["RegionName"] == REGION)
    assert east.get("Endpoint"), east


def test_describe_regions_by_name(ec2):
    regions = ec2.describe_regions(RegionNames=[REGION])["Regions"]
    assert [r["RegionName"] for r in regions] == [REGION]


def test_describe_regions_region_name_filter(ec2):
    regions = ec2.describe_regions(Filters=[{"Name": "region-name", "Values": [REGION]}])["Regions"]
    assert [r["RegionName"] for r in regions] == [REGION]


def test_describe_availability_zones(ec2):
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert sorted(z["ZoneName"] for z in zones) == list(AZS)
    for z in zones:
        assert z["RegionName"] == REGION
        assert z["State"] == "available"
        assert z.get("ZoneId"), z
    assert len({z["ZoneId"] for z in zones}) == 3


def test_describe_availability_zones_by_name(ec2):
    zones = ec2.describe_availability_zones(ZoneNames=["us-east-1b"])["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us-east-1b"]


def test_describe_availability_zones_zone_name_filter(ec2):
    zones = ec2.describe_availability_zones(
        Filters=[{"Name": "zone-name", "Values": ["us-east-1a", "us-east-1c"]}])["AvailabilityZones"]
    assert sorted(z["ZoneName"] for z in zones) == ["us-east-1a", "us-east-1c"]


def test_describe_account_attributes(ec2):
    attrs = ec2.describe_account_attributes()["AccountAttributes"]
    by_name = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]] for a in attrs}
    # Every current AWS account reports these two; VPC-only accounts say supported-platforms=VPC.
    assert by_name.get("supported-platforms") == ["VPC"], by_name
    assert "default-vpc" in by_name, by_name
    only = ec2.describe_account_attributes(AttributeNames=["supported-platforms"])["AccountAttributes"]
    assert [a["AttributeName"] for a in only] == ["supported-platforms"]


def test_discovery_dry_run(ec2):
    expect_error("DryRunOperation", ec2.describe_regions, DryRun=True, status=412)
    expect_error("DryRunOperation", ec2.describe_availability_zones, DryRun=True, status=412)
    expect_error("DryRunOperation", ec2.describe_account_attributes, DryRun=True, status=412)


def test_discovery_with_aws_cli(nubo):
    regions = nubo.aws("ec2", "describe-regions")["Regions"]
    assert REGION in [r["RegionName"] for r in regions]
    zones = nubo.aws("ec2", "describe-availability-zones")["AvailabilityZones"]
    assert sorted(z["ZoneName"] for z in zones) == list(AZS)
