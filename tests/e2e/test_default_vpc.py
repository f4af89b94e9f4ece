"""The default VPC every account has in each region, through boto3 and the AWS CLI: its layout
(172.31.0.0/16, one default /20 per zone, an attached internet gateway and a default route to
it), DescribeAccountAttributes' default-vpc, the is-default / default-for-az filters, deletion
that sticks, and CreateDefaultVpc."""

from __future__ import annotations

from conftest import AZS, expect_error


def default_vpc_attribute(client) -> str:
    attrs = client.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in attrs] == ["default-vpc"]
    return attrs[0]["AttributeValues"][0]["AttributeValue"]


def default_vpcs(client) -> list[dict]:
    return client.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]


def delete_default_vpc(client, vpc_id: str) -> None:
    """What a user must do to delete a default VPC: gateway, subnets, then the VPC."""
    gateways = client.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
    for g in gateways:
        client.detach_internet_gateway(InternetGatewayId=g["InternetGatewayId"], VpcId=vpc_id)
        client.delete_internet_gateway(InternetGatewayId=g["InternetGatewayId"])
    subnets = client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    for s in subnets:
        client.delete_subnet(SubnetId=s["SubnetId"])
    client.delete_vpc(VpcId=vpc_id)


def test_a_new_account_has_a_default_vpc_built_like_aws(nubo, account):
    ec2 = nubo.client("ec2", account.creds)
    vpcs = ec2.describe_vpcs()["Vpcs"]
    assert len(vpcs) == 1, vpcs
    vpc = vpcs[0]
    assert vpc["IsDefault"] is True
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    assert vpc["OwnerId"] == account.account_id
    assert default_vpc_attribute(ec2) == vpc["VpcId"]
    assert [v["VpcId"] for v in default_vpcs(ec2)] == [vpc["VpcId"]]
    assert ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"] == []
    dns = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")
    assert dns["EnableDnsHostnames"]["Value"] is True

    subnets = ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    layout = sorted((s["AvailabilityZone"], s["CidrBlock"]) for s in subnets)
    assert layout == list(zip(AZS, ["172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"]))
    for s in subnets:
        assert s["DefaultForAz"] is True and s["MapPublicIpOnLaunch"] is True
        assert s["VpcId"] == vpc["VpcId"]
        assert s["AvailableIpAddressCount"] == 4091

    gateways = ec2.describe_internet_gateways()["InternetGateways"]
    assert len(gateways) == 1
    igw_id = gateways[0]["InternetGatewayId"]
    assert gateways[0]["Attachments"] == [{"State": "available", "VpcId": vpc["VpcId"]}]
    tables = ec2.describe_route_tables()["RouteTables"]
    assert len(tables) == 1 and tables[0]["Associations"][0]["Main"] is True
    routes = {(r["DestinationCidrBlock"], r["GatewayId"], r["State"]) for r in tables[0]["Routes"]}
    assert routes == {("172.31.0.0/16", "local", "active"), ("0.0.0.0/0", igw_id, "active")}
    groups = ec2.describe_security_groups()["SecurityGroups"]
    assert [(g["GroupName"], g["VpcId"]) for g in groups] == [("default", vpc["VpcId"])]
    acls = ec2.describe_network_acls()["NetworkAcls"]
    assert len(acls) == 1 and acls[0]["IsDefault"] is True
    assert {a["SubnetId"] for a in acls[0]["Associations"]} == {s["SubnetId"] for s in subnets}

    # The same through the AWS CLI.
    cli = nubo.aws("ec2", "describe-account-attributes", "--attribute-names", "default-vpc",
                   creds=account.creds)["AccountAttributes"]
    assert cli[0]["AttributeValues"] == [{"AttributeValue": vpc["VpcId"]}]
    cli_vpcs = nubo.aws("ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true",
                        creds=account.creds)["Vpcs"]
    assert [v["VpcId"] for v in cli_vpcs] == [vpc["VpcId"]]
    cli_subnets = nubo.aws("ec2", "describe-subnets", "--filters",
                           "Name=default-for-az,Values=true", creds=account.creds)["Subnets"]
    assert len(cli_subnets) == 3


def test_deleting_the_default_vpc_sticks_until_create_default_vpc(nubo, account):
    ec2 = nubo.client("ec2", account.creds)
    vpc_id = default_vpcs(ec2)[0]["VpcId"]
    expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)
    expect_error("DefaultVpcAlreadyExists", ec2.create_default_vpc)
    expect_error("DefaultVpcAlreadyExists", ec2.create_default_vpc, DryRun=True)
    delete_default_vpc(ec2, vpc_id)
    # Deletion sticks: later calls do not bring it back.
    assert ec2.describe_vpcs()["Vpcs"] == []
    assert ec2.describe_subnets()["Subnets"] == []
    assert ec2.describe_internet_gateways()["InternetGateways"] == []
    assert default_vpc_attribute(ec2) == "none"
    expect_error("DryRunOperation", ec2.create_default_vpc, DryRun=True)
    assert ec2.describe_vpcs()["Vpcs"] == []

    created = ec2.create_default_vpc()["Vpc"]
    assert created["IsDefault"] is True and created["CidrBlock"] == "172.31.0.0/16"
    assert created["VpcId"] != vpc_id
    assert default_vpc_attribute(ec2) == created["VpcId"]
    assert len(ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [created["VpcId"]]}])["Subnets"]) == 3
    expect_error("DefaultVpcAlreadyExists", ec2.create_default_vpc)

    # The AWS CLI: delete again and recreate with `aws ec2 create-default-vpc`.
    delete_default_vpc(ec2, created["VpcId"])
    again = nubo.aws("ec2", "create-default-vpc", creds=account.creds)["Vpc"]
    assert again["IsDefault"] is True
    assert [v["VpcId"] for v in default_vpcs(ec2)] == [again["VpcId"]]


def test_default_vpcs_are_per_account(nubo, account, ec2):
    theirs = nubo.client("ec2", account.creds)
    mine = default_vpcs(ec2)
    assert len(mine) == 1
    their_default = default_vpcs(theirs)
    assert len(their_default) == 1 and their_default[0]["VpcId"] != mine[0]["VpcId"]
    expect_error("InvalidVpcID.NotFound", theirs.describe_vpcs, VpcIds=[mine[0]["VpcId"]])
