"""Subnets: lifecycle, AWS's CIDR and zone rules, filters, pagination, attributes, DryRun,
tags, tenancy, IAM resource ARNs and the VPC's dependency checks, through boto3 and the
AWS CLI."""

import re

import pytest
from conftest import AZS, AwsCliError, allow, expect_error, policy_doc, tags_of, unique

SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
MISSING_SUBNET = "subnet-0123456789abcdef0"
MISSING_VPC = "vpc-0123456789abcdef0"


@pytest.fixture
def make_subnet(nubo, cleanup):
    """make_subnet(vpc_id, cidr, client=None, tags=None, **kwargs) -> the created Subnet dict."""

    def make(vpc_id: str, cidr: str, client=None, tags: dict | None = None, **kwargs) -> dict:
        client = client or nubo.client("ec2")
        if tags:
            kwargs["TagSpecifications"] = [{"ResourceType": "subnet", "Tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]}]
        subnet = client.create_subnet(VpcId=vpc_id, CidrBlock=cidr, **kwargs)["Subnet"]
        cleanup(lambda: client.delete_subnet(SubnetId=subnet["SubnetId"]))
        return subnet

    return make


def subnet_ids(client, **kwargs) -> set:
    return {s["SubnetId"] for s in client.describe_subnets(**kwargs)["Subnets"]}


def describe_one(client, subnet_id) -> dict:
    subnets = client.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    assert len(subnets) == 1, subnets
    return subnets[0]


# ---- lifecycle ---------------------------------------------------------------------------


def test_create_describe_delete(nubo, ec2, make_vpc):
    vpc_id = make_vpc("10.120.0.0/16")["VpcId"]
    created = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.120.1.0/24",
                                AvailabilityZone="us-east-1b")["Subnet"]
    subnet_id = created["SubnetId"]
    try:
        assert SUBNET_ID.match(subnet_id), subnet_id
        account = nubo.admin.account_id
        assert created["SubnetArn"] == f"arn:aws:ec2:us-east-1:{account}:subnet/{subnet_id}"
        assert created["VpcId"] == vpc_id
        assert created["CidrBlock"] == "10.120.1.0/24"
        assert created["State"] in ("pending", "available")
        assert created["AvailabilityZone"] == "us-east-1b"
        assert created["AvailabilityZoneId"] == "use1-az2"
        assert created["AvailableIpAddressCount"] == 251  # 256 less AWS's five reserved
        assert created["DefaultForAz"] is False
        assert created["MapPublicIpOnLaunch"] is False
        assert created["AssignIpv6AddressOnCreation"] is False
        assert created["Ipv6CidrBlockAssociationSet"] == []
        assert created["OwnerId"] == account
        assert created["PrivateDnsNameOptionsOnLaunch"]["HostnameType"] == "ip-name"

        subnet = describe_one(ec2, subnet_id)
        assert subnet["State"] == "available"
        for field in ("SubnetArn", "VpcId", "CidrBlock", "AvailabilityZone", "AvailabilityZoneId",
                      "AvailableIpAddressCount", "DefaultForAz", "MapPublicIpOnLaunch", "OwnerId"):
            assert subnet[field] == created[field], field
        assert subnet_id in subnet_ids(ec2)
    finally:
        ec2.delete_subnet(SubnetId=subnet_id)
    expect_error("InvalidSubnetID.NotFound", ec2.describe_subnets, SubnetIds=[subnet_id], status=400)
    assert subnet_id not in subnet_ids(ec2)
    expect_error("InvalidSubnetID.NotFound", ec2.delete_subnet, SubnetId=subnet_id)


def test_zone_by_id_and_default_zone(ec2, make_vpc, make_subnet):
    vpc_id = make_vpc("10.121.0.0/16")["VpcId"]
    by_id = make_subnet(vpc_id, "10.121.1.0/28", AvailabilityZoneId="use1-az3")
    assert by_id["AvailabilityZone"] == "us-east-1c"
    assert by_id["AvailableIpAddressCount"] == 11
    chosen = make_subnet(vpc_id, "10.121.2.0/24")
    assert chosen["AvailabilityZone"] in AZS


def test_vpc_with_subnets_cannot_be_deleted(ec2, make_vpc):
    vpc_id = make_vpc("10.122.0.0/16")["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.122.0.0/24")["Subnet"]["SubnetId"]
    err = expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id, status=400)
    assert subnet_id in err.response["Error"]["Message"]
    ec2.delete_subnet(SubnetId=subnet_id)
    ec2.delete_vpc(VpcId=vpc_id)
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[vpc_id])


# ---- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("cidr,code", [
    ("10.124.0.0/24", "InvalidSubnet.Conflict"),     # the sibling itself
    ("10.123.0.0/16", "InvalidSubnet.Conflict"),     # contains the sibling
    ("10.124.0.128/25", "InvalidSubnet.Conflict"),   # inside the sibling in the secondary block
    ("10.125.0.0/24", "InvalidSubnet.Range"),        # outside every block of the VPC
    ("10.123.255.0/23", "InvalidParameterValue"),    # host bits set
    ("10.123.0.0/29", "InvalidSubnet.Range"),        # smaller than /28
    ("10.0.0.0/15", "InvalidSubnet.Range"),          # larger than /16
    ("not-a-cidr", "InvalidParameterValue"),
])
def test_invalid_cidr_rejected_and_nothing_created(ec2, make_vpc, make_subnet, cidr, code):
    vpc_id = make_vpc("10.123.0.0/16")["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.124.0.0/16")
    make_subnet(vpc_id, "10.123.0.0/24")
    make_subnet(vpc_id, "10.124.0.0/24")
    before = subnet_ids(ec2)
    err = expect_error(code, ec2.create_subnet, VpcId=vpc_id, CidrBlock=cidr, status=400)
    if code == "InvalidSubnet.Conflict":
        assert err.response["Error"]["Message"] == f"The CIDR '{cidr}' conflicts with another subnet"
    if code == "InvalidSubnet.Range" and cidr.startswith("10.125"):
        assert err.response["Error"]["Message"] == f"The CIDR '{cidr}' is invalid."
    assert subnet_ids(ec2) == before


def test_secondary_block_holds_subnets_and_stays_while_it_does(ec2, make_vpc):
    vpc_id = make_vpc("10.126.0.0/16")["VpcId"]
    assoc = ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.127.0.0/16")
    assoc_id = assoc["CidrBlockAssociation"]["AssociationId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.127.3.0/24")["Subnet"]["SubnetId"]
    try:
        err = expect_error("InvalidCidrBlock.InUse", ec2.disassociate_vpc_cidr_block,
                           AssociationId=assoc_id, status=400)
        assert "10.127.0.0/16" in err.response["Error"]["Message"]
        blocks = [a["CidrBlock"] for a in ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
                  ["CidrBlockAssociationSet"]]
        assert blocks == ["10.126.0.0/16", "10.127.0.0/16"]
    finally:
        ec2.delete_subnet(SubnetId=subnet_id)
    ec2.disassociate_vpc_cidr_block(AssociationId=assoc_id)


def test_unknown_zone_is_invalid_parameter_value(ec2, make_vpc):
    vpc_id = make_vpc("10.128.0.0/16")["VpcId"]
    err = expect_error("InvalidParameterValue", ec2.create_subnet, VpcId=vpc_id,
                       CidrBlock="10.128.0.0/24", AvailabilityZone="us-west-2a", status=400)
    assert err.response["Error"]["Message"] == (
        "Value (us-west-2a) for parameter availabilityZone is invalid. Subnets can currently only "
        "be created in the following availability zones: us-east-1a, us-east-1b, us-east-1c.")
    expect_error("InvalidParameterValue", ec2.create_subnet, VpcId=vpc_id,
                 CidrBlock="10.128.0.0/24", AvailabilityZoneId="use1-az9")
    expect_error("InvalidParameterCombination", ec2.create_subnet, VpcId=vpc_id,
                 CidrBlock="10.128.0.0/24", AvailabilityZone="us-east-1a",
                 AvailabilityZoneId="use1-az1")
    assert subnet_ids(ec2, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]) == set()


@pytest.mark.parametrize("extra", [
    {"Ipv6CidrBlock": "2001:db8::/64"},
    {"Ipv6Native": True},
    {"Ipv4IpamPoolId": "ipam-pool-0123456789abcdef0"},
    {"OutpostArn": "arn:aws:outposts:us-east-1:123456789012:outpost/op-0123456789abcdef0"},
], ids=["ipv6", "ipv6-native", "ipam", "outpost"])
def test_ipv6_ipam_and_outposts_are_refused_clearly(ec2, make_vpc, extra):
    vpc_id = make_vpc("10.129.0.0/16")["VpcId"]
    err = expect_error("InvalidParameterValue", ec2.create_subnet, VpcId=vpc_id,
                       CidrBlock="10.129.0.0/24", status=400, **extra)
    assert "not supported" in err.response["Error"]["Message"]
    assert subnet_ids(ec2, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]) == set()


def test_missing_and_unknown_parameters(nubo, make_vpc):
    vpc_id = make_vpc("10.130.0.0/16")["VpcId"]
    for params in ({"Action": "CreateSubnet", "CidrBlock": "10.130.0.0/24"},
                   {"Action": "CreateSubnet", "VpcId": vpc_id},
                   {"Action": "DeleteSubnet"},
                   {"Action": "ModifySubnetAttribute"}):
        r = nubo.raw("ec2", params)
        assert r.status == 400 and r.code == "MissingParameter", (params, r.body)
    r = nubo.raw("ec2", {"Action": "CreateSubnet", "VpcId": vpc_id, "CidrBlock": "10.130.0.0/24",
                         "Colour": "blue"})
    assert r.status == 400 and r.code == "UnknownParameter", r.body


def test_not_found_and_malformed_ids(ec2):
    expect_error("InvalidSubnetID.NotFound", ec2.describe_subnets, SubnetIds=[MISSING_SUBNET],
                 status=400)
    expect_error("InvalidSubnetID.NotFound", ec2.delete_subnet, SubnetId=MISSING_SUBNET)
    expect_error("InvalidSubnetID.NotFound", ec2.modify_subnet_attribute, SubnetId=MISSING_SUBNET,
                 MapPublicIpOnLaunch={"Value": True})
    expect_error("InvalidVpcID.NotFound", ec2.create_subnet, VpcId=MISSING_VPC,
                 CidrBlock="10.0.0.0/24")
    for bad in ("subnet-xyz!", "vpc-12345678", "12345678", "subnet-"):
        expect_error("InvalidSubnetID.Malformed", ec2.describe_subnets, SubnetIds=[bad], status=400)
        expect_error("InvalidSubnetID.Malformed", ec2.delete_subnet, SubnetId=bad)
    expect_error("InvalidVpcID.Malformed", ec2.create_subnet, VpcId="subnet-12345678",
                 CidrBlock="10.0.0.0/24")


def test_describe_with_one_missing_id_fails_whole_call(ec2, make_vpc, make_subnet):
    subnet = make_subnet(make_vpc("10.131.0.0/16")["VpcId"], "10.131.0.0/24")
    expect_error("InvalidSubnetID.NotFound", ec2.describe_subnets,
                 SubnetIds=[subnet["SubnetId"], MISSING_SUBNET])


# ---- attributes ----------------------------------------------------------------------------


def test_modify_map_public_ip_on_launch(ec2, make_vpc, make_subnet):
    subnet_id = make_subnet(make_vpc("10.132.0.0/16")["VpcId"], "10.132.0.0/24")["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    assert describe_one(ec2, subnet_id)["MapPublicIpOnLaunch"] is True
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": False})
    assert describe_one(ec2, subnet_id)["MapPublicIpOnLaunch"] is False


@pytest.mark.parametrize("kwargs", [
    {"AssignIpv6AddressOnCreation": {"Value": True}},
    {"EnableDns64": {"Value": True}},
    {"PrivateDnsHostnameTypeOnLaunch": "resource-name"},
], ids=["ipv6", "dns64", "hostname-type"])
def test_other_attributes_are_refused_clearly(ec2, make_vpc, make_subnet, kwargs):
    subnet_id = make_subnet(make_vpc("10.133.0.0/16")["VpcId"], "10.133.0.0/24")["SubnetId"]
    err = expect_error("InvalidParameterValue", ec2.modify_subnet_attribute, SubnetId=subnet_id,
                       status=400, **kwargs)
    assert "not supported" in err.response["Error"]["Message"]
    assert describe_one(ec2, subnet_id)["AssignIpv6AddressOnCreation"] is False


# ---- tags -------------------------------------------------------------------------------------


def test_tags_on_create_and_later(ec2, make_vpc, make_subnet):
    name = unique("subnet")
    subnet = make_subnet(make_vpc("10.134.0.0/16")["VpcId"], "10.134.0.0/24",
                         tags={"Name": name, "env": "e2e"})
    subnet_id = subnet["SubnetId"]
    assert tags_of(subnet) == {"Name": name, "env": "e2e"}
    ec2.create_tags(Resources=[subnet_id], Tags=[{"Key": "tier", "Value": "web"}])
    ec2.delete_tags(Resources=[subnet_id], Tags=[{"Key": "env"}])
    assert tags_of(describe_one(ec2, subnet_id)) == {"Name": name, "tier": "web"}
    described = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [subnet_id]}])["Tags"]
    assert {(t["Key"], t["ResourceType"]) for t in described} == {("Name", "subnet"), ("tier", "subnet")}


def test_tag_specification_for_wrong_resource_type_is_rejected(ec2, make_vpc):
    vpc_id = make_vpc("10.135.0.0/16")["VpcId"]
    expect_error("InvalidParameterValue", ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.135.0.0/24",
                 TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "a", "Value": "b"}]}])
    assert subnet_ids(ec2, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]) == set()


# ---- filters and pagination ---------------------------------------------------------------------


def test_filters(nubo, ec2, make_vpc, make_subnet):
    run = unique("run")
    vpc_id = make_vpc("10.136.0.0/16")["VpcId"]
    other_vpc = make_vpc("10.137.0.0/16")["VpcId"]
    a = make_subnet(vpc_id, "10.136.1.0/24", tags={"run": run, "tier": "web"},
                    AvailabilityZone="us-east-1b")
    b = make_subnet(vpc_id, "10.136.2.0/28", tags={"run": run, "tier": "db"},
                    AvailabilityZone="us-east-1a")
    c = make_subnet(other_vpc, "10.137.0.0/24", tags={"run": run}, AvailabilityZone="us-east-1a")
    ec2.modify_subnet_attribute(SubnetId=c["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    A, B, C = a["SubnetId"], b["SubnetId"], c["SubnetId"]
    mine = {"Name": "tag:run", "Values": [run]}

    def q(*filters):
        return subnet_ids(ec2, Filters=[mine, *filters])

    assert q() == {A, B, C}
    assert q({"Name": "vpc-id", "Values": [vpc_id]}) == {A, B}
    assert q({"Name": "subnet-id", "Values": [A, C]}) == {A, C}
    assert q({"Name": "availability-zone", "Values": ["us-east-1a"]}) == {B, C}
    assert q({"Name": "availability-zone-id", "Values": ["use1-az2"]}) == {A}
    for name in ("cidr-block", "cidr", "cidrBlock"):
        assert q({"Name": name, "Values": ["10.136.2.0/28"]}) == {B}, name
    assert q({"Name": "cidr-block", "Values": ["10.136.*"]}) == {A, B}
    assert q({"Name": "available-ip-address-count", "Values": ["11"]}) == {B}
    assert q({"Name": "map-public-ip-on-launch", "Values": ["true"]}) == {C}
    assert q({"Name": "default-for-az", "Values": ["false"]}) == {A, B, C}
    assert q({"Name": "default-for-az", "Values": ["true"]}) == set()
    assert q({"Name": "state", "Values": ["available"]}) == {A, B, C}
    assert q({"Name": "owner-id", "Values": [nubo.admin.account_id]}) == {A, B, C}
    assert q({"Name": "owner-id", "Values": ["000000000000"]}) == set()
    assert q({"Name": "subnet-arn", "Values": [a["SubnetArn"]]}) == {A}
    assert q({"Name": "tag:tier", "Values": ["web", "db"]}) == {A, B}
    assert q({"Name": "tag-key", "Values": ["tier"]}) == {A, B}
    assert q({"Name": "tag-value", "Values": ["db"]}) == {B}
    assert subnet_ids(ec2, SubnetIds=[A, C], Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]) == {A}
    expect_error("InvalidParameterValue", ec2.describe_subnets,
                 Filters=[{"Name": "flavour", "Values": ["x"]}], status=400)


def test_pagination_over_twelve_subnets(nubo, account):
    ec2 = nubo.client("ec2", account.creds)
    vpc_id = ec2.create_vpc(CidrBlock="10.138.0.0/16")["Vpc"]["VpcId"]
    created = []
    try:
        for i in range(12):
            created.append(ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.138.{i}.0/24")
                           ["Subnet"]["SubnetId"])
        seen, pages, token = [], 0, None
        mine = [{"Name": "vpc-id", "Values": [vpc_id]}]
        while True:
            # The account's default VPC has subnets of its own; page over this VPC's.
            page = ec2.describe_subnets(MaxResults=5, Filters=mine,
                                        **({"NextToken": token} if token else {}))
            pages += 1
            assert len(page["Subnets"]) <= 5
            seen += [s["SubnetId"] for s in page["Subnets"]]
            token = page.get("NextToken")
            if not token:
                break
            assert pages < 20, "pagination does not terminate"
        assert sorted(seen) == sorted(created) and len(seen) == 12
        assert pages == 3
        paginated = set()
        for page in ec2.get_paginator("describe_subnets").paginate(
                Filters=mine, PaginationConfig={"PageSize": 5}):
            paginated |= {s["SubnetId"] for s in page["Subnets"]}
        assert paginated == set(created)
        for value in ("4", "1001"):
            r = nubo.raw("ec2", {"Action": "DescribeSubnets", "MaxResults": value}, account.creds)
            assert r.status == 400 and r.code == "InvalidParameterValue", (value, r.body)
    finally:
        for subnet_id in created:
            ec2.delete_subnet(SubnetId=subnet_id)
        ec2.delete_vpc(VpcId=vpc_id)


# ---- DryRun ----------------------------------------------------------------------------------------


def test_dry_run_validates_and_changes_nothing(ec2, make_vpc, make_subnet):
    vpc_id = make_vpc("10.139.0.0/16")["VpcId"]
    expect_error("DryRunOperation", ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.139.0.0/24",
                 DryRun=True, status=412)
    assert subnet_ids(ec2, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]) == set()
    subnet_id = make_subnet(vpc_id, "10.139.0.0/24")["SubnetId"]
    expect_error("InvalidSubnet.Conflict", ec2.create_subnet, VpcId=vpc_id,
                 CidrBlock="10.139.0.0/25", DryRun=True)
    expect_error("DryRunOperation", ec2.delete_subnet, SubnetId=subnet_id, DryRun=True, status=412)
    expect_error("InvalidSubnetID.NotFound", ec2.delete_subnet, SubnetId=MISSING_SUBNET, DryRun=True)
    expect_error("DryRunOperation", ec2.describe_subnets, SubnetIds=[subnet_id], DryRun=True)
    assert describe_one(ec2, subnet_id)["State"] == "available"


# ---- tenancy and authorization ---------------------------------------------------------------------


def test_other_accounts_subnets_are_not_found(nubo, ec2, account, make_vpc, make_subnet):
    vpc_id = make_vpc("10.140.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "10.140.0.0/24")["SubnetId"]
    theirs = nubo.client("ec2", account.creds)
    assert subnet_id not in subnet_ids(theirs)
    expect_error("InvalidSubnetID.NotFound", theirs.describe_subnets, SubnetIds=[subnet_id])
    expect_error("InvalidSubnetID.NotFound", theirs.delete_subnet, SubnetId=subnet_id)
    expect_error("InvalidSubnetID.NotFound", theirs.modify_subnet_attribute, SubnetId=subnet_id,
                 MapPublicIpOnLaunch={"Value": True})
    expect_error("InvalidVpcID.NotFound", theirs.create_subnet, VpcId=vpc_id,
                 CidrBlock="10.140.1.0/24")
    assert describe_one(ec2, subnet_id)["MapPublicIpOnLaunch"] is False


def test_iam_policies_see_subnet_arns(nubo, ec2, make_vpc, make_subnet):
    vpc_id = make_vpc("10.141.0.0/16")["VpcId"]
    allowed = make_subnet(vpc_id, "10.141.0.0/24")
    other = make_subnet(vpc_id, "10.141.1.0/24")
    user = nubo.make_user(policy_doc(allow("ec2:DescribeSubnets"),
                                     allow("ec2:ModifySubnetAttribute", allowed["SubnetArn"])))
    client = nubo.client("ec2", user.creds)
    assert {allowed["SubnetId"], other["SubnetId"]} <= subnet_ids(client)
    client.modify_subnet_attribute(SubnetId=allowed["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    expect_error("UnauthorizedOperation", client.modify_subnet_attribute, SubnetId=other["SubnetId"],
                 MapPublicIpOnLaunch={"Value": True}, status=403)
    expect_error("UnauthorizedOperation", client.create_subnet, VpcId=vpc_id,
                 CidrBlock="10.141.2.0/24", status=403)
    assert describe_one(ec2, other["SubnetId"])["MapPublicIpOnLaunch"] is False


# ---- AWS CLI -----------------------------------------------------------------------------------------


def test_subnet_lifecycle_with_aws_cli(nubo, make_vpc, cleanup):
    vpc_id = make_vpc("10.142.0.0/16")["VpcId"]
    name = unique("cli-subnet")
    subnet = nubo.aws("ec2", "create-subnet", "--vpc-id", vpc_id, "--cidr-block", "10.142.5.0/24",
                      "--availability-zone", "us-east-1c", "--tag-specifications",
                      f"ResourceType=subnet,Tags=[{{Key=Name,Value={name}}}]")["Subnet"]
    subnet_id = subnet["SubnetId"]
    cleanup(lambda: nubo.aws("ec2", "delete-subnet", "--subnet-id", subnet_id))
    assert SUBNET_ID.match(subnet_id) and subnet["AvailabilityZone"] == "us-east-1c"
    assert subnet["AvailableIpAddressCount"] == 251

    found = nubo.aws("ec2", "describe-subnets", "--filters", f"Name=tag:Name,Values={name}")["Subnets"]
    assert [s["SubnetId"] for s in found] == [subnet_id]
    assert tags_of(found[0]) == {"Name": name}
    nubo.aws("ec2", "modify-subnet-attribute", "--subnet-id", subnet_id, "--map-public-ip-on-launch")
    found = nubo.aws("ec2", "describe-subnets", "--subnet-ids", subnet_id)["Subnets"]
    assert found[0]["MapPublicIpOnLaunch"] is True

    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "create-subnet", "--vpc-id", vpc_id, "--cidr-block", "10.142.5.128/25")
    assert info.value.code == "InvalidSubnet.Conflict", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-vpc", "--vpc-id", vpc_id)
    assert info.value.code == "DependencyViolation", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-subnet", "--subnet-id", subnet_id, "--dry-run")
    assert info.value.code == "DryRunOperation", info.value.stderr

    nubo.aws("ec2", "delete-subnet", "--subnet-id", subnet_id)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-subnets", "--subnet-ids", subnet_id)
    assert info.value.code == "InvalidSubnetID.NotFound", info.value.stderr
