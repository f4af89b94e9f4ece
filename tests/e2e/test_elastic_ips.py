"""Elastic IPs: allocation from the installation's public pool (a documentation range by
default), describe by allocation ID, public IP and filter, release, the per-account quota,
AWS's errors, DryRun, tenancy and IAM, through boto3 and the AWS CLI; associations with network
interfaces (AssociateAddress, DisassociateAddress): the internet gateway they need, AWS's
reassociation rules, what DescribeAddresses and DescribeNetworkInterfaces show, and what
releasing, unassigning, deleting the interface or detaching the gateway does to them."""

import ipaddress
import re

import pytest
from botocore.exceptions import ClientError
from conftest import AwsCliError, allow, error_code, expect_error, policy_doc, tags_of

ALLOC_ID = re.compile(r"^eipalloc-[0-9a-f]{8}([0-9a-f]{9})?$")
MISSING_ALLOC = "eipalloc-0123456789abcdef0"


def pool_of(nubo):
    """The server's public pool: the session's own (conftest gives each server one), or the
    installation default for an external server."""
    return ipaddress.ip_network(getattr(nubo, "public_pool", None) or "198.51.100.0/24")


@pytest.fixture
def make_address(nubo, cleanup):
    """make_address(client=None, **kwargs) -> AllocateAddress's response."""

    def make(client=None, **kwargs):
        client = client or nubo.client("ec2")
        allocated = client.allocate_address(Domain="vpc", **kwargs)
        cleanup(lambda: client.release_address(AllocationId=allocated["AllocationId"]))
        return allocated

    return make


def allocation_ids(client, **kwargs) -> set:
    return {a["AllocationId"] for a in client.describe_addresses(**kwargs)["Addresses"]}


def test_allocate_describe_release(nubo, ec2, make_address):
    allocated = make_address(TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "web"}]}])
    assert ALLOC_ID.match(allocated["AllocationId"])
    assert ipaddress.ip_address(allocated["PublicIp"]) in pool_of(nubo)
    assert allocated["Domain"] == "vpc"
    assert allocated["PublicIpv4Pool"] == "amazon"
    assert allocated["NetworkBorderGroup"] == "us-east-1"

    [described] = ec2.describe_addresses(AllocationIds=[allocated["AllocationId"]])["Addresses"]
    assert described["PublicIp"] == allocated["PublicIp"]
    assert described["Domain"] == "vpc"
    assert described["NetworkBorderGroup"] == "us-east-1"
    assert tags_of(described) == {"Name": "web"}
    assert "AssociationId" not in described
    [by_ip] = ec2.describe_addresses(PublicIps=[allocated["PublicIp"]])["Addresses"]
    assert by_ip["AllocationId"] == allocated["AllocationId"]
    assert allocation_ids(ec2, Filters=[{"Name": "tag:Name", "Values": ["web"]}]) == {
        allocated["AllocationId"]}
    assert allocation_ids(ec2, Filters=[{"Name": "public-ip",
                                         "Values": [allocated["PublicIp"]]}]) == {
        allocated["AllocationId"]}
    assert allocated["AllocationId"] in allocation_ids(
        ec2, Filters=[{"Name": "domain", "Values": ["vpc"]}])
    assert allocation_ids(ec2, Filters=[{"Name": "association-id", "Values": ["*"]}]) == set()

    # Tags work through the generic tag actions too.
    ec2.create_tags(Resources=[allocated["AllocationId"]], Tags=[{"Key": "env", "Value": "e2e"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id",
                                       "Values": [allocated["AllocationId"]]}])["Tags"]
    assert {(t["Key"], t["ResourceType"]) for t in tags} == {("Name", "elastic-ip"),
                                                              ("env", "elastic-ip")}

    ec2.release_address(AllocationId=allocated["AllocationId"])
    expect_error("InvalidAllocationID.NotFound", ec2.describe_addresses,
                 AllocationIds=[allocated["AllocationId"]], status=400)
    expect_error("InvalidAddress.NotFound", ec2.describe_addresses,
                 PublicIps=[allocated["PublicIp"]])


def test_explicit_address_and_release_by_public_ip(nubo, ec2, make_address, cleanup):
    taken = make_address()["PublicIp"]
    expect_error("InvalidAddress.InUse", ec2.allocate_address, Domain="vpc", Address=taken)
    # The first free address from the top of the pool (other tests may hold some).
    for candidate in reversed(list(pool_of(nubo).hosts())):
        try:
            explicit = ec2.allocate_address(Domain="vpc", Address=str(candidate))
            break
        except ClientError as e:
            assert error_code(e) == "InvalidAddress.InUse", e
    cleanup(lambda: ec2.release_address(AllocationId=explicit["AllocationId"]))
    wanted = explicit["PublicIp"]
    assert wanted == str(candidate)
    expect_error("InvalidAddress.InUse", ec2.allocate_address, Domain="vpc", Address=wanted)
    ec2.release_address(PublicIp=wanted)
    expect_error("InvalidAddress.NotFound", ec2.release_address, PublicIp=wanted)
    expect_error("InvalidAddress.NotFound", ec2.describe_addresses, PublicIps=[wanted])


def test_errors_for_missing_malformed_and_unknown(ec2):
    expect_error("InvalidAllocationID.NotFound", ec2.describe_addresses,
                 AllocationIds=[MISSING_ALLOC])
    expect_error("InvalidAllocationID.NotFound", ec2.release_address, AllocationId=MISSING_ALLOC)
    expect_error("InvalidAllocationID.Malformed", ec2.release_address, AllocationId="eip-123")
    expect_error("InvalidAddress.NotFound", ec2.describe_addresses, PublicIps=["203.0.113.77"])
    expect_error("InvalidParameterValue", ec2.describe_addresses, PublicIps=["not-an-ip"])
    expect_error("InvalidParameterValue", ec2.describe_addresses,
                 Filters=[{"Name": "color", "Values": ["red"]}])
    expect_error("InvalidParameterValue", ec2.allocate_address, Domain="standard")
    expect_error("InvalidParameterValue", ec2.allocate_address, Domain="vpc",
                 Address="8.8.8.8")
    expect_error("InvalidParameterValue", ec2.allocate_address, Domain="vpc",
                 NetworkBorderGroup="eu-west-1")
    expect_error("InvalidParameterValue", ec2.allocate_address, Domain="vpc",
                 TagSpecifications=[{"ResourceType": "vpc",
                                     "Tags": [{"Key": "a", "Value": "b"}]}])
    expect_error("MissingParameter", ec2.release_address)


def test_quota_is_five_per_account(nubo, account, make_address):
    theirs = nubo.client("ec2", account.creds)
    ips = {make_address(client=theirs)["PublicIp"] for _ in range(5)}
    assert len(ips) == 5
    expect_error("AddressLimitExceeded", theirs.allocate_address, Domain="vpc")
    assert len(theirs.describe_addresses()["Addresses"]) == 5


# ---- DryRun, tenancy, IAM -----------------------------------------------------------------------


def test_dry_run_validates_and_changes_nothing(ec2, make_address):
    before = allocation_ids(ec2)
    expect_error("DryRunOperation", ec2.allocate_address, Domain="vpc", DryRun=True, status=412)
    assert allocation_ids(ec2) == before
    allocation_id = make_address()["AllocationId"]
    expect_error("DryRunOperation", ec2.release_address, AllocationId=allocation_id, DryRun=True)
    assert allocation_id in allocation_ids(ec2)
    expect_error("InvalidAllocationID.NotFound", ec2.release_address,
                 AllocationId=MISSING_ALLOC, DryRun=True)
    expect_error("DryRunOperation", ec2.describe_addresses, DryRun=True)


def test_other_accounts_addresses_are_not_found(nubo, ec2, account, make_address):
    mine = make_address()
    theirs = nubo.client("ec2", account.creds)
    assert allocation_ids(theirs) == set()
    expect_error("InvalidAllocationID.NotFound", theirs.describe_addresses,
                 AllocationIds=[mine["AllocationId"]])
    expect_error("InvalidAddress.NotFound", theirs.describe_addresses,
                 PublicIps=[mine["PublicIp"]])
    expect_error("InvalidAllocationID.NotFound", theirs.release_address,
                 AllocationId=mine["AllocationId"])
    # The pool is shared: another tenant cannot take an allocated address.
    expect_error("InvalidAddress.InUse", theirs.allocate_address, Domain="vpc",
                 Address=mine["PublicIp"])
    assert mine["AllocationId"] in allocation_ids(ec2)


def test_iam_policies_see_elastic_ip_arns(nubo, ec2, make_address):
    allowed = make_address()["AllocationId"]
    other = make_address()["AllocationId"]
    arn = f"arn:aws:ec2:us-east-1:{nubo.admin.account_id}:elastic-ip/{allowed}"
    user = nubo.make_user(policy_doc(allow("ec2:DescribeAddresses"),
                                     allow("ec2:ReleaseAddress", arn)))
    client = nubo.client("ec2", user.creds)
    assert {allowed, other} <= allocation_ids(client)
    expect_error("UnauthorizedOperation", client.release_address, AllocationId=other,
                 status=403)
    expect_error("UnauthorizedOperation", client.allocate_address, Domain="vpc", status=403)
    client.release_address(AllocationId=allowed)
    assert allocation_ids(ec2) & {allowed, other} == {other}


# ---- AWS CLI -----------------------------------------------------------------------------------


def test_elastic_ip_lifecycle_with_aws_cli(nubo, cleanup):
    allocated = nubo.aws("ec2", "allocate-address", "--domain", "vpc", "--tag-specifications",
                         "ResourceType=elastic-ip,Tags=[{Key=Name,Value=cli}]")
    allocation_id = allocated["AllocationId"]
    cleanup(lambda: nubo.aws("ec2", "release-address", "--allocation-id", allocation_id))
    assert ALLOC_ID.match(allocation_id)
    assert ipaddress.ip_address(allocated["PublicIp"]) in pool_of(nubo)
    found = nubo.aws("ec2", "describe-addresses", "--filters",
                     "Name=tag:Name,Values=cli")["Addresses"]
    assert [a["AllocationId"] for a in found] == [allocation_id]
    by_ip = nubo.aws("ec2", "describe-addresses", "--public-ips", allocated["PublicIp"])
    assert by_ip["Addresses"][0]["AllocationId"] == allocation_id
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "release-address", "--allocation-id", allocation_id, "--dry-run")
    assert info.value.code == "DryRunOperation", info.value.stderr
    nubo.aws("ec2", "release-address", "--allocation-id", allocation_id)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-addresses", "--allocation-ids", allocation_id)
    assert info.value.code == "InvalidAllocationID.NotFound", info.value.stderr


# ---- Associations ------------------------------------------------------------------------------


@pytest.fixture
def make_interface_network(nubo, make_vpc, cleanup):
    """make_interface_network(cidr) -> dict(vpc, subnet, igw, attach): a VPC with a subnet and a
    created (not yet attached) internet gateway; attach() attaches it."""

    def make(cidr: str, client=None) -> dict:
        client = client or nubo.client("ec2")
        vpc = make_vpc(cidr, client=client)["VpcId"]
        subnet_cidr = str(next(ipaddress.ip_network(cidr).subnets(new_prefix=24)))
        subnet = client.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]
        cleanup(lambda: client.delete_subnet(SubnetId=subnet))
        igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        cleanup(lambda: client.delete_internet_gateway(InternetGatewayId=igw))

        def attach():
            client.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
            cleanup(lambda: client.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc))

        return {"vpc": vpc, "subnet": subnet, "igw": igw, "attach": attach}

    return make


@pytest.fixture
def make_interface(nubo, cleanup):
    def make(subnet: str, client=None, **kwargs) -> dict:
        client = client or nubo.client("ec2")
        eni = client.create_network_interface(SubnetId=subnet, **kwargs)["NetworkInterface"]
        cleanup(lambda: client.delete_network_interface(
            NetworkInterfaceId=eni["NetworkInterfaceId"]))
        return eni

    return make


def described(client, allocation_id) -> dict:
    [address] = client.describe_addresses(AllocationIds=[allocation_id])["Addresses"]
    return address


def interface(client, eni_id) -> dict:
    [eni] = client.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
    return eni


def test_associate_and_disassociate(ec2, make_address, make_interface_network, make_interface,
                                    cleanup):
    net = make_interface_network("10.20.0.0/16")
    first = make_interface(net["subnet"], SecondaryPrivateIpAddressCount=1)
    second = make_interface(net["subnet"])
    x, y = make_address(), make_address()
    first_id, second_id = first["NetworkInterfaceId"], second["NetworkInterfaceId"]
    primary = first["PrivateIpAddress"]
    secondary = [a["PrivateIpAddress"] for a in first["PrivateIpAddresses"] if not a["Primary"]][0]

    # The VPC needs an internet gateway.
    err = expect_error("Gateway.NotAttached", ec2.associate_address,
                       AllocationId=x["AllocationId"], NetworkInterfaceId=first_id)
    assert net["vpc"] in str(err)
    net["attach"]()
    association = ec2.associate_address(AllocationId=x["AllocationId"],
                                         NetworkInterfaceId=first_id)["AssociationId"]
    cleanup(lambda: ec2.disassociate_address(AssociationId=association))
    assert re.match(r"^eipassoc-[0-9a-f]{17}$", association)
    address = described(ec2, x["AllocationId"])
    assert address["AssociationId"] == association
    assert address["NetworkInterfaceId"] == first_id
    assert address["PrivateIpAddress"] == primary
    assert address["NetworkInterfaceOwnerId"] == first["OwnerId"]
    assert "InstanceId" not in address
    for name, value in [("association-id", association), ("network-interface-id", first_id),
                        ("private-ip-address", primary),
                        ("network-interface-owner-id", first["OwnerId"])]:
        assert allocation_ids(ec2, Filters=[{"Name": name, "Values": [value]}]) == {
            x["AllocationId"]}, name
    assert allocation_ids(ec2, Filters=[{"Name": "instance-id", "Values": ["*"]}]) == set()
    eni = interface(ec2, first_id)
    expected = {"AllocationId": x["AllocationId"], "AssociationId": association,
                "IpOwnerId": first["OwnerId"], "PublicIp": x["PublicIp"]}
    assert eni["Association"] == expected
    assert [a.get("Association") for a in eni["PrivateIpAddresses"]] == [expected, None]
    assert {e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(Filters=[
        {"Name": "association.public-ip", "Values": [x["PublicIp"]]}])["NetworkInterfaces"]} == {
        first_id}

    # AWS's reassociation rules.
    expect_error("Resource.AlreadyAssociated", ec2.associate_address,
                 AllocationId=x["AllocationId"], NetworkInterfaceId=second_id)
    expect_error("Resource.AlreadyAssociated", ec2.associate_address,
                 AllocationId=y["AllocationId"], NetworkInterfaceId=first_id)
    moved = ec2.associate_address(AllocationId=x["AllocationId"], NetworkInterfaceId=second_id,
                                  AllowReassociation=True)["AssociationId"]
    cleanup(lambda: ec2.disassociate_address(AssociationId=moved))
    assert moved != association
    assert "Association" not in interface(ec2, first_id)
    assert described(ec2, x["AllocationId"])["NetworkInterfaceId"] == second_id
    expect_error("InvalidAssociationID.NotFound", ec2.disassociate_address,
                 AssociationId=association)
    expect_error("InvalidParameterValue", ec2.associate_address, AllocationId=y["AllocationId"],
                 NetworkInterfaceId=first_id, PrivateIpAddress="10.20.0.250")
    on_secondary = ec2.associate_address(AllocationId=y["AllocationId"],
                                         NetworkInterfaceId=first_id,
                                         PrivateIpAddress=secondary)["AssociationId"]
    assert described(ec2, y["AllocationId"])["PrivateIpAddress"] == secondary

    # Mapped addresses need the gateway and cannot be released.
    err = expect_error("DependencyViolation", ec2.detach_internet_gateway,
                       InternetGatewayId=net["igw"], VpcId=net["vpc"])
    assert "mapped public address" in str(err)
    expect_error("InvalidIPAddress.InUse", ec2.release_address, AllocationId=x["AllocationId"])
    # Unassigning the secondary address disassociates its Elastic IP (it stays allocated).
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=first_id, PrivateIpAddresses=[secondary])
    assert "AssociationId" not in described(ec2, y["AllocationId"])
    expect_error("InvalidAssociationID.NotFound", ec2.disassociate_address,
                 AssociationId=on_secondary)
    # DisassociateAddress, then again.
    ec2.disassociate_address(AssociationId=moved)
    assert "AssociationId" not in described(ec2, x["AllocationId"])
    assert "Association" not in interface(ec2, second_id)
    expect_error("InvalidAssociationID.NotFound", ec2.disassociate_address, AssociationId=moved)
    # Deleting an interface disassociates its Elastic IP.
    ec2.associate_address(AllocationId=x["AllocationId"], NetworkInterfaceId=second_id)
    ec2.delete_network_interface(NetworkInterfaceId=second_id)
    assert "AssociationId" not in described(ec2, x["AllocationId"])
    ec2.detach_internet_gateway(InternetGatewayId=net["igw"], VpcId=net["vpc"])


def test_association_errors(nubo, ec2, account, make_address, make_interface_network,
                            make_interface):
    net = make_interface_network("10.21.0.0/16")
    net["attach"]()
    eni = make_interface(net["subnet"])["NetworkInterfaceId"]
    x = make_address()
    expect_error("InvalidInstanceID.NotFound", ec2.associate_address,
                 AllocationId=x["AllocationId"], InstanceId="i-0123456789abcdef0")
    expect_error("InvalidInstanceID.Malformed", ec2.associate_address,
                 AllocationId=x["AllocationId"], InstanceId="i-xyz")
    expect_error("InvalidNetworkInterfaceID.NotFound", ec2.associate_address,
                 AllocationId=x["AllocationId"], NetworkInterfaceId="eni-0123456789abcdef0")
    expect_error("InvalidAllocationID.NotFound", ec2.associate_address,
                 AllocationId=MISSING_ALLOC, NetworkInterfaceId=eni)
    expect_error("InvalidAllocationID.Malformed", ec2.associate_address,
                 AllocationId="eip-1", NetworkInterfaceId=eni)
    expect_error("MissingParameter", ec2.associate_address, AllocationId=x["AllocationId"])
    expect_error("InvalidParameterCombination", ec2.associate_address,
                 AllocationId=x["AllocationId"], NetworkInterfaceId=eni,
                 InstanceId="i-0123456789abcdef0")
    expect_error("InvalidAssociationID.NotFound", ec2.disassociate_address,
                 AssociationId="eipassoc-0123456789abcdef0")
    expect_error("InvalidAssociationID.Malformed", ec2.disassociate_address,
                 AssociationId="eipalloc-0123456789abcdef0")
    expect_error("DryRunOperation", ec2.associate_address, AllocationId=x["AllocationId"],
                 NetworkInterfaceId=eni, DryRun=True)
    assert "AssociationId" not in described(ec2, x["AllocationId"])
    # Another account can neither use this interface nor see the association.
    theirs = nubo.client("ec2", account.creds)
    their_ip = theirs.allocate_address(Domain="vpc")["AllocationId"]
    try:
        expect_error("InvalidNetworkInterfaceID.NotFound", theirs.associate_address,
                     AllocationId=their_ip, NetworkInterfaceId=eni)
        association = ec2.associate_address(AllocationId=x["AllocationId"],
                                            NetworkInterfaceId=eni)["AssociationId"]
        expect_error("InvalidAssociationID.NotFound", theirs.disassociate_address,
                     AssociationId=association)
        ec2.disassociate_address(AssociationId=association)
    finally:
        theirs.release_address(AllocationId=their_ip)


def test_association_with_aws_cli(nubo, make_address, make_interface_network, make_interface,
                                  cleanup):
    net = make_interface_network("10.22.0.0/16")
    net["attach"]()
    eni = make_interface(net["subnet"])["NetworkInterfaceId"]
    x = make_address()
    association = nubo.aws("ec2", "associate-address", "--allocation-id", x["AllocationId"],
                           "--network-interface-id", eni)["AssociationId"]
    cleanup(lambda: nubo.aws("ec2", "disassociate-address", "--association-id", association))
    [address] = nubo.aws("ec2", "describe-addresses", "--filters",
                         f"Name=association-id,Values={association}")["Addresses"]
    assert (address["AllocationId"], address["NetworkInterfaceId"]) == (x["AllocationId"], eni)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "associate-address", "--allocation-id", x["AllocationId"],
                 "--network-interface-id", eni)
    assert info.value.code == "Resource.AlreadyAssociated", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "release-address", "--allocation-id", x["AllocationId"])
    assert info.value.code == "InvalidIPAddress.InUse", info.value.stderr
    nubo.aws("ec2", "disassociate-address", "--association-id", association)
    [address] = nubo.aws("ec2", "describe-addresses", "--allocation-ids",
                         x["AllocationId"])["Addresses"]
    assert "AssociationId" not in address
