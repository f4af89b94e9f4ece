"""Network interfaces: lifecycle, automatic and explicit private addresses, secondary
addresses, exhausted subnets, security groups of the VPC, the subnet's and the group's
dependency checks, attributes, attachments to missing instances, filters, pagination, DryRun
and tenancy, through boto3 and the AWS CLI."""

import re

import pytest
from conftest import AwsCliError, expect_error, unique

ENI_ID = re.compile(r"^eni-[0-9a-f]{17}$")
MAC = re.compile(r"^02(:[0-9a-f]{2}){5}$")
MISSING_ENI = "eni-0123456789abcdef0"


@pytest.fixture
def make_subnet(nubo, cleanup):
    def make(vpc_id: str, cidr: str, client=None) -> dict:
        client = client or nubo.client("ec2")
        subnet = client.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]
        cleanup(lambda: client.delete_subnet(SubnetId=subnet["SubnetId"]))
        return subnet

    return make


@pytest.fixture
def make_eni(nubo, cleanup):
    """make_eni(subnet_id, client=None, **kwargs) -> the created NetworkInterface dict."""

    def make(subnet_id: str, client=None, **kwargs) -> dict:
        client = client or nubo.client("ec2")
        eni = client.create_network_interface(SubnetId=subnet_id, **kwargs)["NetworkInterface"]
        cleanup(lambda: client.delete_network_interface(
            NetworkInterfaceId=eni["NetworkInterfaceId"]))
        return eni

    return make


def addresses(eni: dict) -> list:
    return [(a["PrivateIpAddress"], a["Primary"]) for a in eni["PrivateIpAddresses"]]


def describe_one(client, eni_id) -> dict:
    enis = client.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
    assert len(enis) == 1, enis
    return enis[0]


def eni_ids(client, **kwargs) -> set:
    return {e["NetworkInterfaceId"]
            for e in client.describe_network_interfaces(**kwargs)["NetworkInterfaces"]}


def available_count(client, subnet_id) -> int:
    return client.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["AvailableIpAddressCount"]


def default_group(client, vpc_id) -> str:
    groups = client.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}])
    return groups["SecurityGroups"][0]["GroupId"]


# ---- lifecycle and addresses -----------------------------------------------------------------


def test_create_describe_delete(nubo, ec2, make_vpc, make_subnet):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet = make_subnet(vpc_id, "172.31.1.0/24")
    subnet_id = subnet["SubnetId"]
    created = ec2.create_network_interface(
        SubnetId=subnet_id, Description="web front",
        TagSpecifications=[{"ResourceType": "network-interface",
                            "Tags": [{"Key": "Name", "Value": "web"}]}])["NetworkInterface"]
    eni_id = created["NetworkInterfaceId"]
    try:
        assert ENI_ID.match(eni_id), eni_id
        assert created["SubnetId"] == subnet_id and created["VpcId"] == vpc_id
        assert created["AvailabilityZone"] == subnet["AvailabilityZone"]
        assert created["OwnerId"] == nubo.admin.account_id
        assert created["Status"] == "available"
        assert created["InterfaceType"] == "interface"
        assert created["SourceDestCheck"] is True
        assert created["RequesterManaged"] is False
        assert created["Description"] == "web front"
        assert MAC.match(created["MacAddress"]), created["MacAddress"]
        assert created["PrivateIpAddress"] == "172.31.1.4"
        assert created["PrivateDnsName"] == "ip-172-31-1-4.ec2.internal"
        assert addresses(created) == [("172.31.1.4", True)]
        assert [g["GroupId"] for g in created["Groups"]] == [default_group(ec2, vpc_id)]
        assert created["Groups"][0]["GroupName"] == "default"
        assert {t["Key"]: t["Value"] for t in created["TagSet"]} == {"Name": "web"}
        assert "Attachment" not in created
        assert describe_one(ec2, eni_id) == created
        assert available_count(ec2, subnet_id) == 250
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    assert available_count(ec2, subnet_id) == 251
    expect_error("InvalidNetworkInterfaceID.NotFound", ec2.describe_network_interfaces,
                 NetworkInterfaceIds=[eni_id], status=400)
    expect_error("InvalidNetworkInterfaceID.NotFound", ec2.delete_network_interface,
                 NetworkInterfaceId=eni_id)
    expect_error("InvalidNetworkInterfaceID.Malformed", ec2.describe_network_interfaces,
                 NetworkInterfaceIds=["eni-nothex"])
    expect_error("InvalidNetworkInterfaceID.Malformed", ec2.delete_network_interface,
                 NetworkInterfaceId="vpc-0123abcd")


def test_explicit_and_secondary_addresses(ec2, make_vpc, make_subnet, make_eni):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.2.0/24")["SubnetId"]
    explicit = make_eni(subnet_id, PrivateIpAddress="172.31.2.100", SecondaryPrivateIpAddressCount=2)
    assert addresses(explicit) == [("172.31.2.100", True), ("172.31.2.4", False),
                                   ("172.31.2.5", False)]
    listed = make_eni(subnet_id, PrivateIpAddresses=[
        {"PrivateIpAddress": "172.31.2.20", "Primary": False},
        {"PrivateIpAddress": "172.31.2.21", "Primary": True}])
    assert addresses(listed) == [("172.31.2.21", True), ("172.31.2.20", False)]
    assert listed["MacAddress"] != explicit["MacAddress"]

    eni_id = explicit["NetworkInterfaceId"]
    assigned = ec2.assign_private_ip_addresses(NetworkInterfaceId=eni_id,
                                               SecondaryPrivateIpAddressCount=1)
    assert assigned["NetworkInterfaceId"] == eni_id
    assert [a["PrivateIpAddress"] for a in assigned["AssignedPrivateIpAddresses"]] == ["172.31.2.6"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni_id, PrivateIpAddresses=["172.31.2.50"])
    expect_error("InvalidIPAddress.InUse", ec2.assign_private_ip_addresses,
                 NetworkInterfaceId=eni_id, PrivateIpAddresses=["172.31.2.20"])
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=eni_id,
                                      PrivateIpAddresses=["172.31.2.4", "172.31.2.50"])
    expect_error("InvalidParameterValue", ec2.unassign_private_ip_addresses,
                 NetworkInterfaceId=eni_id, PrivateIpAddresses=["172.31.2.100"])
    expect_error("InvalidParameterValue", ec2.unassign_private_ip_addresses,
                 NetworkInterfaceId=eni_id, PrivateIpAddresses=["172.31.2.21"])
    assert addresses(describe_one(ec2, eni_id)) == [
        ("172.31.2.100", True), ("172.31.2.5", False), ("172.31.2.6", False)]
    found = ec2.describe_network_interfaces(Filters=[
        {"Name": "addresses.private-ip-address", "Values": ["172.31.2.6"]}])["NetworkInterfaces"]
    assert [e["NetworkInterfaceId"] for e in found] == [eni_id]
    assert available_count(ec2, subnet_id) == 251 - 5


def test_address_in_use_outside_or_reserved_is_refused(ec2, make_vpc, make_subnet, make_eni):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.3.0/24")["SubnetId"]
    make_eni(subnet_id, PrivateIpAddress="172.31.3.10")
    before = eni_ids(ec2)
    expect_error("InvalidIPAddress.InUse", ec2.create_network_interface, SubnetId=subnet_id,
                 PrivateIpAddress="172.31.3.10")
    expect_error("InvalidParameterValue", ec2.create_network_interface, SubnetId=subnet_id,
                 PrivateIpAddress="172.31.4.10")
    expect_error("InvalidParameterValue", ec2.create_network_interface, SubnetId=subnet_id,
                 PrivateIpAddress="172.31.3.255")
    expect_error("InvalidParameterValue", ec2.create_network_interface, SubnetId=subnet_id,
                 PrivateIpAddress="not-an-ip")
    expect_error("InvalidSubnetID.NotFound", ec2.create_network_interface,
                 SubnetId="subnet-0123456789abcdef0")
    assert eni_ids(ec2) == before
    assert available_count(ec2, subnet_id) == 250


def test_exhausted_subnet(ec2, make_vpc, make_subnet, make_eni):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.5.0/28")["SubnetId"]
    assert available_count(ec2, subnet_id) == 11
    expect_error("InsufficientFreeAddressesInSubnet", ec2.create_network_interface,
                 SubnetId=subnet_id, SecondaryPrivateIpAddressCount=11)
    assert available_count(ec2, subnet_id) == 11, "a failed create holds nothing"
    make_eni(subnet_id, SecondaryPrivateIpAddressCount=9)
    last = make_eni(subnet_id)
    assert last["PrivateIpAddress"] == "172.31.5.14"
    assert available_count(ec2, subnet_id) == 0
    expect_error("InsufficientFreeAddressesInSubnet", ec2.create_network_interface,
                 SubnetId=subnet_id)
    expect_error("InsufficientFreeAddressesInSubnet", ec2.assign_private_ip_addresses,
                 NetworkInterfaceId=last["NetworkInterfaceId"], SecondaryPrivateIpAddressCount=1)


# ---- groups and dependencies -----------------------------------------------------------------


def test_groups_and_dependencies(ec2, make_vpc, make_subnet, cleanup):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    other_vpc = make_vpc("172.30.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.6.0/24")["SubnetId"]
    web = ec2.create_security_group(GroupName=unique("web"), Description="w", VpcId=vpc_id)["GroupId"]
    cleanup(lambda: ec2.delete_security_group(GroupId=web))
    db = ec2.create_security_group(GroupName=unique("db"), Description="d", VpcId=vpc_id)["GroupId"]
    cleanup(lambda: ec2.delete_security_group(GroupId=db))
    foreign = ec2.create_security_group(GroupName=unique("f"), Description="f",
                                        VpcId=other_vpc)["GroupId"]
    cleanup(lambda: ec2.delete_security_group(GroupId=foreign))
    expect_error("InvalidParameter", ec2.create_network_interface, SubnetId=subnet_id,
                 Groups=[web, foreign])
    expect_error("InvalidGroup.NotFound", ec2.create_network_interface, SubnetId=subnet_id,
                 Groups=["sg-0123456789abcdef0"])
    eni_id = ec2.create_network_interface(SubnetId=subnet_id, Groups=[web])[
        "NetworkInterface"]["NetworkInterfaceId"]
    try:
        expect_error("DependencyViolation", ec2.delete_security_group, GroupId=web)
        expect_error("DependencyViolation", ec2.delete_subnet, SubnetId=subnet_id)
        expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)

        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Groups=[db])
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id,
                                               SourceDestCheck={"Value": False})
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id,
                                               Description={"Value": "database"})
        expect_error("InvalidParameterCombination", ec2.modify_network_interface_attribute,
                     NetworkInterfaceId=eni_id, Description={"Value": "x"},
                     SourceDestCheck={"Value": True})
        expect_error("InvalidParameter", ec2.modify_network_interface_attribute,
                     NetworkInterfaceId=eni_id, Groups=[foreign])
        eni = describe_one(ec2, eni_id)
        assert [g["GroupId"] for g in eni["Groups"]] == [db]
        assert eni["SourceDestCheck"] is False and eni["Description"] == "database"
        found = ec2.describe_network_interfaces(Filters=[
            {"Name": "group-id", "Values": [db]},
            {"Name": "source-dest-check", "Values": ["false"]}])["NetworkInterfaces"]
        assert [e["NetworkInterfaceId"] for e in found] == [eni_id]
        ec2.delete_security_group(GroupId=web)
        expect_error("DependencyViolation", ec2.delete_security_group, GroupId=db)
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    ec2.delete_security_group(GroupId=db)
    ec2.delete_subnet(SubnetId=subnet_id)


def test_attach_to_missing_instance_and_unknown_detach(ec2, make_vpc, make_subnet, make_eni):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    eni_id = make_eni(make_subnet(vpc_id, "172.31.7.0/24")["SubnetId"])["NetworkInterfaceId"]
    expect_error("InvalidInstanceID.NotFound", ec2.attach_network_interface,
                 NetworkInterfaceId=eni_id, InstanceId="i-0123456789abcdef0", DeviceIndex=1)
    expect_error("InvalidInstanceID.Malformed", ec2.attach_network_interface,
                 NetworkInterfaceId=eni_id, InstanceId="vpc-0123abcd", DeviceIndex=1)
    expect_error("InvalidAttachmentID.NotFound", ec2.detach_network_interface,
                 AttachmentId="eni-attach-0123456789abcdef0")
    eni = describe_one(ec2, eni_id)
    assert eni["Status"] == "available" and "Attachment" not in eni
    assert eni_id in eni_ids(ec2, Filters=[{"Name": "status", "Values": ["available"]}])
    assert eni_id not in eni_ids(ec2, Filters=[
        {"Name": "attachment.instance-id", "Values": ["i-0123456789abcdef0"]}])


# ---- describe ----------------------------------------------------------------------------------


def test_filters_and_pagination(ec2, make_vpc, make_subnet, make_eni):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.8.0/24")["SubnetId"]
    mine = {make_eni(subnet_id, Description=f"page-{i}")["NetworkInterfaceId"] for i in range(7)}
    by_subnet = [{"Name": "subnet-id", "Values": [subnet_id]}]
    assert eni_ids(ec2, Filters=by_subnet) == mine
    assert len(eni_ids(ec2, Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                     {"Name": "description", "Values": ["page-3"]}])) == 1
    assert eni_ids(ec2, Filters=[{"Name": "description", "Values": ["page-?"]}] + by_subnet) == mine
    seen, token = [], None
    while True:
        kwargs = {"Filters": by_subnet, "MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        page = ec2.describe_network_interfaces(**kwargs)
        seen += [e["NetworkInterfaceId"] for e in page["NetworkInterfaces"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(mine)
    expect_error("InvalidParameterValue", ec2.describe_network_interfaces,
                 Filters=[{"Name": "no-such-filter", "Values": ["x"]}])


# ---- DryRun and tenancy ------------------------------------------------------------------------


def test_dry_run_validates_and_changes_nothing(ec2, make_vpc, make_subnet, make_eni):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.9.0/24")["SubnetId"]
    expect_error("DryRunOperation", ec2.create_network_interface, SubnetId=subnet_id,
                 DryRun=True, status=412)
    assert eni_ids(ec2, Filters=[{"Name": "subnet-id", "Values": [subnet_id]}]) == set()
    assert available_count(ec2, subnet_id) == 251
    eni = make_eni(subnet_id)
    eni_id = eni["NetworkInterfaceId"]
    expect_error("InvalidIPAddress.InUse", ec2.create_network_interface, SubnetId=subnet_id,
                 PrivateIpAddress=eni["PrivateIpAddress"], DryRun=True)
    expect_error("DryRunOperation", ec2.modify_network_interface_attribute,
                 NetworkInterfaceId=eni_id, SourceDestCheck={"Value": False}, DryRun=True)
    expect_error("DryRunOperation", ec2.delete_network_interface, NetworkInterfaceId=eni_id,
                 DryRun=True)
    expect_error("DryRunOperation", ec2.describe_network_interfaces, DryRun=True)
    assert describe_one(ec2, eni_id) == eni


def test_other_accounts_interfaces_are_not_found(nubo, ec2, account, make_vpc, make_subnet,
                                                 make_eni):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.10.0/24")["SubnetId"]
    eni_id = make_eni(subnet_id)["NetworkInterfaceId"]
    theirs = nubo.client("ec2", account.creds)
    assert eni_id not in eni_ids(theirs)
    expect_error("InvalidNetworkInterfaceID.NotFound", theirs.describe_network_interfaces,
                 NetworkInterfaceIds=[eni_id])
    expect_error("InvalidNetworkInterfaceID.NotFound", theirs.delete_network_interface,
                 NetworkInterfaceId=eni_id)
    expect_error("InvalidNetworkInterfaceID.NotFound", theirs.modify_network_interface_attribute,
                 NetworkInterfaceId=eni_id, SourceDestCheck={"Value": False})
    expect_error("InvalidNetworkInterfaceID.NotFound", theirs.assign_private_ip_addresses,
                 NetworkInterfaceId=eni_id, SecondaryPrivateIpAddressCount=1)
    expect_error("InvalidSubnetID.NotFound", theirs.create_network_interface, SubnetId=subnet_id)
    assert describe_one(ec2, eni_id)["SourceDestCheck"] is True


# ---- AWS CLI -----------------------------------------------------------------------------------


def test_network_interface_lifecycle_with_aws_cli(nubo, make_vpc, make_subnet, cleanup):
    vpc_id = make_vpc("172.31.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "172.31.11.0/24")["SubnetId"]
    name = unique("cli-eni")
    eni = nubo.aws("ec2", "create-network-interface", "--subnet-id", subnet_id,
                   "--private-ip-address", "172.31.11.30", "--secondary-private-ip-address-count",
                   "1", "--description", "from the cli", "--tag-specifications",
                   f"ResourceType=network-interface,Tags=[{{Key=Name,Value={name}}}]")[
        "NetworkInterface"]
    eni_id = eni["NetworkInterfaceId"]
    cleanup(lambda: nubo.aws("ec2", "delete-network-interface", "--network-interface-id", eni_id))
    assert ENI_ID.match(eni_id)
    assert addresses(eni) == [("172.31.11.30", True), ("172.31.11.4", False)]

    found = nubo.aws("ec2", "describe-network-interfaces", "--filters",
                     f"Name=tag:Name,Values={name}")["NetworkInterfaces"]
    assert [e["NetworkInterfaceId"] for e in found] == [eni_id]
    assert {t["Key"]: t["Value"] for t in found[0]["TagSet"]} == {"Name": name}
    nubo.aws("ec2", "modify-network-interface-attribute", "--network-interface-id", eni_id,
             "--no-source-dest-check")
    nubo.aws("ec2", "assign-private-ip-addresses", "--network-interface-id", eni_id,
             "--private-ip-addresses", "172.31.11.40")
    nubo.aws("ec2", "unassign-private-ip-addresses", "--network-interface-id", eni_id,
             "--private-ip-addresses", "172.31.11.4")
    found = nubo.aws("ec2", "describe-network-interfaces", "--network-interface-ids",
                     eni_id)["NetworkInterfaces"]
    assert found[0]["SourceDestCheck"] is False
    assert addresses(found[0]) == [("172.31.11.30", True), ("172.31.11.40", False)]

    for argv, code in [
        (["create-network-interface", "--subnet-id", subnet_id, "--private-ip-address",
          "172.31.11.30"], "InvalidIPAddress.InUse"),
        (["delete-subnet", "--subnet-id", subnet_id], "DependencyViolation"),
        (["attach-network-interface", "--network-interface-id", eni_id, "--instance-id",
          "i-0123456789abcdef0", "--device-index", "1"], "InvalidInstanceID.NotFound"),
        (["detach-network-interface", "--attachment-id", "eni-attach-0123456789abcdef0"],
         "InvalidAttachmentID.NotFound"),
        (["delete-network-interface", "--network-interface-id", eni_id, "--dry-run"],
         "DryRunOperation"),
    ]:
        with pytest.raises(AwsCliError) as info:
            nubo.aws("ec2", *argv)
        assert info.value.code == code, info.value.stderr

    nubo.aws("ec2", "delete-network-interface", "--network-interface-id", eni_id)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-network-interfaces", "--network-interface-ids", eni_id)
    assert info.value.code == "InvalidNetworkInterfaceID.NotFound", info.value.stderr
