"""NAT gateways: a public gateway in a public subnet with an Elastic IP and a private route
table's default route through it; its requester-managed interface, private address and Elastic
IP association; what it keeps from being deleted or detached; the `failed` gateways AWS reports
for a VPC without an internet gateway or an Elastic IP in use; private gateways; deletion
(routes go `blackhole`, the gateway stays described as `deleted`); routes to network interfaces
and instances; every error code, ClientToken, filters, pagination, DryRun and tenancy, through
boto3 and the AWS CLI."""

import ipaddress
import re

import pytest
from conftest import AwsCliError, allow, expect_error, policy_doc

NAT_ID = re.compile(r"^nat-[0-9a-f]{17}$")
MISSING_NAT = "nat-0123456789abcdef0"


@pytest.fixture
def make_network(nubo, make_vpc, cleanup):
    """make_network(cidr, gateway=True, client=None) -> dict(vpc, subnet, igw): a VPC with one
    /24 subnet at the start of its block and, when asked, an attached internet gateway."""

    def make(cidr="10.0.0.0/16", gateway=True, client=None) -> dict:
        client = client or nubo.client("ec2")
        vpc = make_vpc(cidr, client=client)["VpcId"]
        igw = None
        if gateway:
            igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            cleanup(lambda: client.delete_internet_gateway(InternetGatewayId=igw))
            client.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
            cleanup(lambda: client.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc))
        block = ipaddress.ip_network(cidr)
        subnet_cidr = str(next(block.subnets(new_prefix=24)))
        subnet = client.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]
        cleanup(lambda: client.delete_subnet(SubnetId=subnet))
        return {"vpc": vpc, "subnet": subnet, "igw": igw, "cidr": subnet_cidr}

    return make


@pytest.fixture
def make_eip(nubo, cleanup):
    def make(client=None) -> dict:
        client = client or nubo.client("ec2")
        allocated = client.allocate_address(Domain="vpc")
        cleanup(lambda: client.release_address(AllocationId=allocated["AllocationId"]))
        return allocated

    return make


@pytest.fixture
def make_nat(nubo, cleanup):
    """make_nat(client=None, **CreateNatGateway kwargs) -> the create's NatGateway dict."""

    def make(client=None, **kwargs) -> dict:
        client = client or nubo.client("ec2")
        nat = client.create_nat_gateway(**kwargs)["NatGateway"]
        cleanup(lambda: client.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"]))
        return nat

    return make


def describe_nat(client, nat_id) -> dict:
    [nat] = client.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
    return nat


def nat_ids(client, **kwargs) -> set:
    return {n["NatGatewayId"] for n in client.describe_nat_gateways(**kwargs)["NatGateways"]}


def route_to(client, rtb, destination) -> dict:
    [table] = client.describe_route_tables(RouteTableIds=[rtb])["RouteTables"]
    [route] = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == destination]
    return route


def test_public_nat_gateway_for_a_private_subnet(ec2, make_network, make_eip, make_nat, cleanup):
    net = make_network("10.0.0.0/16")
    private = ec2.create_subnet(VpcId=net["vpc"], CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    cleanup(lambda: ec2.delete_subnet(SubnetId=private))
    eip = make_eip()
    created = make_nat(SubnetId=net["subnet"], AllocationId=eip["AllocationId"],
                       ClientToken="lab-nat", TagSpecifications=[
                           {"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": "lab"}]}])
    nat_id = created["NatGatewayId"]
    assert NAT_ID.match(nat_id)
    assert created["State"] == "pending"
    assert (created["SubnetId"], created["VpcId"]) == (net["subnet"], net["vpc"])
    assert created["ConnectivityType"] == "public"
    assert created["Tags"] == [{"Key": "Name", "Value": "lab"}]
    # The same ClientToken returns the same gateway.
    again = ec2.create_nat_gateway(SubnetId=net["subnet"], AllocationId=eip["AllocationId"],
                                   ClientToken="lab-nat")
    assert again["NatGateway"]["NatGatewayId"] == nat_id
    assert again["ClientToken"] == "lab-nat"

    ec2.get_waiter("nat_gateway_available").wait(
        NatGatewayIds=[nat_id], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    nat = describe_nat(ec2, nat_id)
    assert nat["State"] == "available"
    assert "CreateTime" in nat and "DeleteTime" not in nat and "FailureCode" not in nat
    [addr] = nat["NatGatewayAddresses"]
    assert ipaddress.ip_address(addr["PrivateIp"]) in ipaddress.ip_network(net["cidr"])
    assert (addr["PublicIp"], addr["AllocationId"]) == (eip["PublicIp"], eip["AllocationId"])
    assert addr["AssociationId"].startswith("eipassoc-")
    assert addr["IsPrimary"] is True and addr["Status"] == "succeeded"

    # Its interface, and its Elastic IP mapped to that interface.
    [eni] = ec2.describe_network_interfaces(
        NetworkInterfaceIds=[addr["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert eni["InterfaceType"] == "nat_gateway"
    assert eni["RequesterManaged"] is True
    assert eni["Description"] == f"Interface for NAT Gateway {nat_id}"
    assert eni["Status"] == "in-use"
    assert eni["PrivateIpAddress"] == addr["PrivateIp"]
    assert eni["Association"] == {"AllocationId": eip["AllocationId"],
                                  "AssociationId": addr["AssociationId"],
                                  "IpOwnerId": eni["OwnerId"], "PublicIp": eip["PublicIp"]}
    assert eni["PrivateIpAddresses"][0]["Association"]["PublicIp"] == eip["PublicIp"]
    [address] = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"]
    assert address["AssociationId"] == addr["AssociationId"]
    assert address["NetworkInterfaceId"] == addr["NetworkInterfaceId"]
    assert address["PrivateIpAddress"] == addr["PrivateIp"]
    assert address["NetworkInterfaceOwnerId"] == eni["OwnerId"]

    # The private table's default route goes through the gateway.
    rtb = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
    cleanup(lambda: ec2.delete_route_table(RouteTableId=rtb))
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=private)["AssociationId"]
    cleanup(lambda: ec2.disassociate_route_table(AssociationId=assoc))
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    route = route_to(ec2, rtb, "0.0.0.0/0")
    assert (route["NatGatewayId"], route["State"]) == (nat_id, "active")
    assert "GatewayId" not in route
    assert nat_ids(ec2, Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]},
                                 {"Name": "tag:Name", "Values": ["lab"]}]) == {nat_id}

    # What the gateway uses cannot be taken from under it.
    expect_error("InvalidIPAddress.InUse", ec2.release_address,
                 AllocationId=eip["AllocationId"])
    expect_error("DependencyViolation", ec2.delete_subnet, SubnetId=net["subnet"])
    expect_error("DependencyViolation", ec2.delete_vpc, VpcId=net["vpc"])
    err = expect_error("DependencyViolation", ec2.detach_internet_gateway,
                       InternetGatewayId=net["igw"], VpcId=net["vpc"])
    assert "mapped public address" in str(err)
    expect_error("InvalidNetworkInterface.InUse", ec2.delete_network_interface,
                 NetworkInterfaceId=addr["NetworkInterfaceId"])
    expect_error("OperationNotPermitted", ec2.disassociate_address,
                 AssociationId=addr["AssociationId"])

    # Deleting releases everything at once; the gateway stays described as deleted.
    assert ec2.delete_nat_gateway(NatGatewayId=nat_id)["NatGatewayId"] == nat_id
    ec2.get_waiter("nat_gateway_deleted").wait(
        NatGatewayIds=[nat_id], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    gone = describe_nat(ec2, nat_id)
    assert gone["State"] == "deleted" and "DeleteTime" in gone
    assert route_to(ec2, rtb, "0.0.0.0/0")["State"] == "blackhole"
    expect_error("InvalidNetworkInterfaceID.NotFound", ec2.describe_network_interfaces,
                 NetworkInterfaceIds=[addr["NetworkInterfaceId"]])
    [address] = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"]
    assert "AssociationId" not in address
    expect_error("InvalidNatGatewayID.NotFound", ec2.replace_route, RouteTableId=rtb,
                 DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    # The internet gateway may go now.
    ec2.detach_internet_gateway(InternetGatewayId=net["igw"], VpcId=net["vpc"])


def test_nat_gateway_errors(nubo, ec2, make_network, make_eip, make_nat):
    net = make_network("10.1.0.0/16", gateway=False)
    eip = make_eip()
    expect_error("InvalidSubnetID.NotFound", ec2.create_nat_gateway,
                 SubnetId="subnet-0123456789abcdef0", AllocationId=eip["AllocationId"])
    expect_error("InvalidSubnetID.Malformed", ec2.create_nat_gateway,
                 SubnetId="subnet-xyz", AllocationId=eip["AllocationId"])
    expect_error("InvalidAllocationID.NotFound", ec2.create_nat_gateway,
                 SubnetId=net["subnet"], AllocationId="eipalloc-0123456789abcdef0")
    expect_error("MissingParameter", ec2.create_nat_gateway, SubnetId=net["subnet"])
    expect_error("InvalidParameterCombination", ec2.create_nat_gateway, SubnetId=net["subnet"],
                 ConnectivityType="private", AllocationId=eip["AllocationId"])
    expect_error("InvalidParameterValue", ec2.create_nat_gateway, SubnetId=net["subnet"],
                 ConnectivityType="private", PrivateIpAddress="10.1.0.999")
    expect_error("DryRunOperation", ec2.create_nat_gateway, SubnetId=net["subnet"],
                 ConnectivityType="private", DryRun=True)
    assert nat_ids(ec2, Filters=[{"Name": "subnet-id", "Values": [net["subnet"]]}]) == set()
    expect_error("NatGatewayNotFound", ec2.describe_nat_gateways, NatGatewayIds=[MISSING_NAT])
    expect_error("NatGatewayNotFound", ec2.delete_nat_gateway, NatGatewayId=MISSING_NAT)
    expect_error("NatGatewayMalformed", ec2.delete_nat_gateway, NatGatewayId="nat-xyz")
    expect_error("InvalidParameterValue", ec2.describe_nat_gateways,
                 Filters=[{"Name": "bogus", "Values": ["x"]}])

    # No internet gateway: the gateway is created and fails, as on AWS.
    failed = make_nat(SubnetId=net["subnet"], AllocationId=eip["AllocationId"])
    assert failed["State"] == "pending"
    described = describe_nat(ec2, failed["NatGatewayId"])
    assert described["State"] == "failed"
    assert described["FailureCode"] == "Gateway.NotAttached"
    assert net["vpc"] in described["FailureMessage"]
    assert described["NatGatewayAddresses"] == []
    rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])[
        "RouteTables"][0]["RouteTableId"]
    expect_error("InvalidNatGatewayID.NotFound", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="0.0.0.0/0", NatGatewayId=failed["NatGatewayId"])
    expect_error("InvalidNatGatewayID.NotFound", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="0.0.0.0/0", NatGatewayId=MISSING_NAT)
    expect_error("InvalidNatGatewayID.Malformed", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="0.0.0.0/0", NatGatewayId="nat-xyz")
    ec2.delete_nat_gateway(NatGatewayId=failed["NatGatewayId"])
    assert describe_nat(ec2, failed["NatGatewayId"])["State"] == "deleted"

    # A gateway of another VPC cannot carry this VPC's routes; an Elastic IP in use fails.
    other = make_network("10.2.0.0/16")
    live = make_nat(SubnetId=other["subnet"], AllocationId=eip["AllocationId"],
                    ClientToken="errors-live")
    expect_error("IdempotentParameterMismatch", ec2.create_nat_gateway, SubnetId=other["subnet"],
                 ConnectivityType="private", ClientToken="errors-live")
    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="0.0.0.0/0", NatGatewayId=live["NatGatewayId"])
    busy = make_nat(SubnetId=other["subnet"], AllocationId=eip["AllocationId"])
    described = describe_nat(ec2, busy["NatGatewayId"])
    assert (described["State"], described["FailureCode"]) == ("failed",
                                                              "Resource.AlreadyAssociated")
    expect_error("DryRunOperation", ec2.delete_nat_gateway, NatGatewayId=live["NatGatewayId"],
                 DryRun=True)
    assert describe_nat(ec2, live["NatGatewayId"])["State"] == "available"


def test_private_nat_gateways_filters_and_pages(ec2, make_network, make_nat):
    net = make_network("10.3.0.0/16", gateway=False)
    made = [make_nat(SubnetId=net["subnet"], ConnectivityType="private",
                     PrivateIpAddress=f"10.3.0.{10 + i}") for i in range(6)]
    ids = {n["NatGatewayId"] for n in made}
    for nat in made:
        described = describe_nat(ec2, nat["NatGatewayId"])
        assert described["ConnectivityType"] == "private"
        [addr] = described["NatGatewayAddresses"]
        assert "PublicIp" not in addr and "AllocationId" not in addr
    assert [describe_nat(ec2, n["NatGatewayId"])["NatGatewayAddresses"][0]["PrivateIp"]
            for n in made] == [f"10.3.0.{10 + i}" for i in range(6)]
    by_subnet = [{"Name": "subnet-id", "Values": [net["subnet"]]}]
    assert nat_ids(ec2, Filters=by_subnet) == ids
    assert nat_ids(ec2, Filters=by_subnet + [{"Name": "state", "Values": ["available"]}]) == ids
    assert nat_ids(ec2, Filters=by_subnet + [{"Name": "state", "Values": ["failed"]}]) == set()
    first = sorted(ids)[0]
    assert nat_ids(ec2, Filters=[{"Name": "nat-gateway-id", "Values": [first]}]) == {first}
    seen, token, pages = [], None, 0
    while True:
        pages += 1
        kwargs = {"Filters": by_subnet, "MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        page = ec2.describe_nat_gateways(**kwargs)
        seen += [n["NatGatewayId"] for n in page["NatGateways"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    assert pages > 1


def test_nat_gateway_through_the_cli(nubo, make_network, make_eip, cleanup):
    net = make_network("10.4.0.0/16")
    eip = make_eip()
    created = nubo.aws("ec2", "create-nat-gateway", "--subnet-id", net["subnet"],
                       "--allocation-id", eip["AllocationId"],
                       "--tag-specifications",
                       "ResourceType=natgateway,Tags=[{Key=Name,Value=cli}]")["NatGateway"]
    nat_id = created["NatGatewayId"]
    cleanup(lambda: nubo.aws("ec2", "delete-nat-gateway", "--nat-gateway-id", nat_id))
    assert created["State"] == "pending"
    nubo.aws("ec2", "wait", "nat-gateway-available", "--nat-gateway-ids", nat_id)
    [nat] = nubo.aws("ec2", "describe-nat-gateways", "--filter",
                     f"Name=tag:Name,Values=cli", f"Name=vpc-id,Values={net['vpc']}")["NatGateways"]
    assert (nat["NatGatewayId"], nat["State"]) == (nat_id, "available")
    assert nat["NatGatewayAddresses"][0]["PublicIp"] == eip["PublicIp"]
    rtb = nubo.aws("ec2", "create-route-table", "--vpc-id", net["vpc"])["RouteTable"]["RouteTableId"]
    cleanup(lambda: nubo.aws("ec2", "delete-route-table", "--route-table-id", rtb))
    nubo.aws("ec2", "create-route", "--route-table-id", rtb, "--destination-cidr-block",
             "0.0.0.0/0", "--nat-gateway-id", nat_id)
    [table] = nubo.aws("ec2", "describe-route-tables", "--route-table-ids", rtb)["RouteTables"]
    assert {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat_id,
            "Origin": "CreateRoute", "State": "active"} in table["Routes"]
    deleted = nubo.aws("ec2", "delete-nat-gateway", "--nat-gateway-id", nat_id)
    assert deleted == {"NatGatewayId": nat_id}
    [nat] = nubo.aws("ec2", "describe-nat-gateways", "--nat-gateway-ids", nat_id)["NatGateways"]
    assert nat["State"] == "deleted"
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-nat-gateways", "--nat-gateway-ids", "nat-0123456789abcdef0")
    assert info.value.code == "NatGatewayNotFound", info.value.stderr


def test_nat_gateways_of_other_accounts_are_invisible(nubo, account, make_network, make_eip,
                                                      make_nat):
    theirs = nubo.client("ec2", account.creds)
    net = make_network("10.5.0.0/16", gateway=False)
    nat = make_nat(SubnetId=net["subnet"], ConnectivityType="private")
    expect_error("NatGatewayNotFound", theirs.describe_nat_gateways,
                 NatGatewayIds=[nat["NatGatewayId"]])
    expect_error("NatGatewayNotFound", theirs.delete_nat_gateway,
                 NatGatewayId=nat["NatGatewayId"])
    assert nat["NatGatewayId"] not in nat_ids(theirs)
    expect_error("InvalidSubnetID.NotFound", theirs.create_nat_gateway, SubnetId=net["subnet"],
                 ConnectivityType="private")
    assert describe_nat(nubo.client("ec2"), nat["NatGatewayId"])["State"] == "available"


def test_routes_to_interfaces_and_instances(ec2, make_network, cleanup):
    net = make_network("10.6.0.0/16", gateway=False)
    other = make_network("10.7.0.0/16", gateway=False)
    eni = ec2.create_network_interface(SubnetId=net["subnet"])["NetworkInterface"][
        "NetworkInterfaceId"]
    cleanup(lambda: ec2.delete_network_interface(NetworkInterfaceId=eni))
    foreign = ec2.create_network_interface(SubnetId=other["subnet"])["NetworkInterface"][
        "NetworkInterfaceId"]
    cleanup(lambda: ec2.delete_network_interface(NetworkInterfaceId=foreign))
    rtb = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
    cleanup(lambda: ec2.delete_route_table(RouteTableId=rtb))
    expect_error("InvalidNetworkInterfaceID.NotFound", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="192.168.0.0/16",
                 NetworkInterfaceId="eni-0123456789abcdef0")
    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="192.168.0.0/16", NetworkInterfaceId=foreign)
    expect_error("InvalidInstanceID.NotFound", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="192.168.0.0/16", InstanceId="i-0123456789abcdef0")
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="192.168.0.0/16",
                     NetworkInterfaceId=eni)
    route = route_to(ec2, rtb, "192.168.0.0/16")
    assert (route["NetworkInterfaceId"], route["State"]) == (eni, "active")
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    assert route_to(ec2, rtb, "192.168.0.0/16")["State"] == "blackhole"


def test_iam_policies_see_nat_gateway_arns(nubo, ec2, make_network, make_nat):
    net = make_network("10.8.0.0/16", gateway=False)
    allowed = make_nat(SubnetId=net["subnet"], ConnectivityType="private")["NatGatewayId"]
    other = make_nat(SubnetId=net["subnet"], ConnectivityType="private")["NatGatewayId"]
    arn = f"arn:aws:ec2:us-east-1:{nubo.admin.account_id}:natgateway/{allowed}"
    user = nubo.make_user(policy_doc(allow("ec2:DescribeNatGateways"),
                                     allow("ec2:DeleteNatGateway", arn)))
    client = nubo.client("ec2", user.creds)
    assert {allowed, other} <= nat_ids(client)
    expect_error("UnauthorizedOperation", client.delete_nat_gateway, NatGatewayId=other,
                 status=403)
    expect_error("UnauthorizedOperation", client.create_nat_gateway, SubnetId=net["subnet"],
                 ConnectivityType="private", status=403)
    client.delete_nat_gateway(NatGatewayId=allowed)
    assert describe_nat(ec2, allowed)["State"] == "deleted"
    assert describe_nat(ec2, other)["State"] == "available"
