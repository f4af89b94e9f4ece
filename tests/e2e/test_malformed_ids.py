"""Malformed versus unknown IDs, for every resource kind and every action that takes one.

AWS tells two mistakes apart: an ID that cannot be one of the kind asked for (wrong prefix, no
prefix, non-hex digits, a length other than AWS's 8 or 17 digits) is `InvalidXxxID.Malformed`;
a well-formed ID that names nothing the caller owns is `InvalidXxxID.NotFound` (security groups
spell them `InvalidGroupId.Malformed` / `InvalidGroup.NotFound`, the NAT gateway actions
`NatGatewayMalformed` / `NatGatewayNotFound`). Each row of CASES is one
(kind, action, parameter); the other parameters name real resources of a small shared VPC, so
the ID under test is the only thing wrong with the call, and each refused call changes nothing.

The per-family files hold the other error paths the issue lists (overlapping CIDRs, addresses
outside a subnet, exhausted subnets, duplicate rules, deletes with dependencies, tenancy); the
two-VPC lab (test_vpc_lab.py) holds those of NAT gateways and peering.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError
from conftest import AwsCliError, expect_error, unique

# kind -> (ID prefix, malformed code, not-found code)
KINDS = {
    "vpc": ("vpc", "InvalidVpcID.Malformed", "InvalidVpcID.NotFound"),
    "subnet": ("subnet", "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound"),
    "route-table": ("rtb", "InvalidRouteTableID.Malformed", "InvalidRouteTableID.NotFound"),
    "internet-gateway": ("igw", "InvalidInternetGatewayID.Malformed",
                         "InvalidInternetGatewayID.NotFound"),
    "security-group": ("sg", "InvalidGroupId.Malformed", "InvalidGroup.NotFound"),
    "security-group-rule": ("sgr", "InvalidSecurityGroupRuleId.Malformed",
                            "InvalidSecurityGroupRuleId.NotFound"),
    "network-acl": ("acl", "InvalidNetworkAclID.Malformed", "InvalidNetworkAclID.NotFound"),
    "network-interface": ("eni", "InvalidNetworkInterfaceID.Malformed",
                          "InvalidNetworkInterfaceID.NotFound"),
    "elastic-ip": ("eipalloc", "InvalidAllocationID.Malformed", "InvalidAllocationID.NotFound"),
    "address-association": ("eipassoc", "InvalidAssociationID.Malformed",
                            "InvalidAssociationID.NotFound"),
    # The NAT gateway actions have their own codes; a route to one uses the InvalidXxxID form.
    "nat-gateway": ("nat", "NatGatewayMalformed", "NatGatewayNotFound"),
    "nat-gateway-target": ("nat", "InvalidNatGatewayID.Malformed", "InvalidNatGatewayID.NotFound"),
    "vpc-peering-connection": ("pcx", "InvalidVpcPeeringConnectionID.Malformed",
                               "InvalidVpcPeeringConnectionID.NotFound"),
    "transit-gateway": ("tgw", "InvalidTransitGatewayID.Malformed",
                        "InvalidTransitGatewayID.NotFound"),
    "transit-gateway-attachment": ("tgw-attach", "InvalidTransitGatewayAttachmentID.Malformed",
                                   "InvalidTransitGatewayAttachmentID.NotFound"),
}

VPC_CIDR = "10.77.0.0/16"
SUBNET_CIDR = "10.77.1.0/24"
RULE = [{"IpProtocol": "tcp", "FromPort": 2222, "ToPort": 2222,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]


def missing(kind: str) -> str:
    return f"{KINDS[kind][0]}-0123456789abcdef0"


def malformed(kind: str) -> list[str]:
    prefix = KINDS[kind][0]
    wrong = "subnet" if prefix != "subnet" else "vpc"
    return [f"{prefix}-xyz!", f"{prefix}-", f"{wrong}-0123456789abcdef0", "0123456789abcdef0",
            f"{prefix}_0123456789abcdef0"]


def wrong_length(kind: str) -> list[str]:
    """Hex digits, but neither AWS's 8 nor its 17 (AWS: `InvalidVpcId.Malformed` for
    `vpc-012345678`)."""
    prefix = KINDS[kind][0]
    return [f"{prefix}-12345", f"{prefix}-012345678", f"{prefix}-0123456789abcdef"]


@dataclass
class World:
    vpc: str
    subnet: str
    rtb: str
    igw: str
    sg: str
    acl_assoc: str
    eni: str
    eip: str


@pytest.fixture(scope="module")
def world(nubo):
    """One VPC with a subnet, a route table, a detached gateway, a group and an interface."""
    ec2 = nubo.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=SUBNET_CIDR)["Subnet"]["SubnetId"]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    sg = ec2.create_security_group(GroupName=unique("ids"), Description="ids",
                                   VpcId=vpc)["GroupId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    [acl] = ec2.describe_network_acls(Filters=[
        {"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"]
    [assoc] = [a["NetworkAclAssociationId"] for a in acl["Associations"]
               if a["SubnetId"] == subnet]
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    try:
        yield World(vpc, subnet, rtb, igw, sg, assoc, eni, eip)
    finally:
        for step in (lambda: ec2.release_address(AllocationId=eip),
                     lambda: ec2.delete_network_interface(NetworkInterfaceId=eni),
                     lambda: ec2.delete_security_group(GroupId=sg),
                     lambda: ec2.delete_internet_gateway(InternetGatewayId=igw),
                     lambda: ec2.delete_route_table(RouteTableId=rtb),
                     lambda: ec2.delete_subnet(SubnetId=subnet),
                     lambda: ec2.delete_vpc(VpcId=vpc)):
            try:
                step()
            except ClientError:
                pass


# (kind of the ID under test, action, its parameter, the call's other parameters)
CASES = [
    ("vpc", "describe_vpcs", "VpcIds", lambda w: {}),
    ("vpc", "delete_vpc", "VpcId", lambda w: {}),
    ("vpc", "describe_vpc_attribute", "VpcId", lambda w: {"Attribute": "enableDnsSupport"}),
    ("vpc", "modify_vpc_attribute", "VpcId", lambda w: {"EnableDnsSupport": {"Value": True}}),
    ("vpc", "associate_vpc_cidr_block", "VpcId", lambda w: {"CidrBlock": "10.78.0.0/16"}),
    ("vpc", "create_subnet", "VpcId", lambda w: {"CidrBlock": "10.77.9.0/24"}),
    ("vpc", "create_route_table", "VpcId", lambda w: {}),
    ("vpc", "create_security_group", "VpcId",
     lambda w: {"GroupName": unique("ids"), "Description": "d"}),
    ("vpc", "create_network_acl", "VpcId", lambda w: {}),
    ("vpc", "attach_internet_gateway", "VpcId", lambda w: {"InternetGatewayId": w.igw}),
    ("subnet", "describe_subnets", "SubnetIds", lambda w: {}),
    ("subnet", "delete_subnet", "SubnetId", lambda w: {}),
    ("subnet", "modify_subnet_attribute", "SubnetId",
     lambda w: {"MapPublicIpOnLaunch": {"Value": True}}),
    ("subnet", "associate_route_table", "SubnetId", lambda w: {"RouteTableId": w.rtb}),
    ("subnet", "create_network_interface", "SubnetId", lambda w: {}),
    ("route-table", "describe_route_tables", "RouteTableIds", lambda w: {}),
    ("route-table", "delete_route_table", "RouteTableId", lambda w: {}),
    ("route-table", "associate_route_table", "RouteTableId", lambda w: {"SubnetId": w.subnet}),
    ("route-table", "create_route", "RouteTableId",
     lambda w: {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": w.igw}),
    ("route-table", "replace_route", "RouteTableId",
     lambda w: {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": w.igw}),
    ("route-table", "delete_route", "RouteTableId", lambda w: {"DestinationCidrBlock": "0.0.0.0/0"}),
    ("internet-gateway", "describe_internet_gateways", "InternetGatewayIds", lambda w: {}),
    ("internet-gateway", "delete_internet_gateway", "InternetGatewayId", lambda w: {}),
    ("internet-gateway", "attach_internet_gateway", "InternetGatewayId", lambda w: {"VpcId": w.vpc}),
    ("internet-gateway", "detach_internet_gateway", "InternetGatewayId", lambda w: {"VpcId": w.vpc}),
    ("security-group", "describe_security_groups", "GroupIds", lambda w: {}),
    ("security-group", "delete_security_group", "GroupId", lambda w: {}),
    ("security-group", "authorize_security_group_ingress", "GroupId",
     lambda w: {"IpPermissions": RULE}),
    ("security-group", "authorize_security_group_egress", "GroupId",
     lambda w: {"IpPermissions": RULE}),
    ("security-group", "revoke_security_group_ingress", "GroupId",
     lambda w: {"IpPermissions": RULE}),
    ("security-group", "revoke_security_group_egress", "GroupId",
     lambda w: {"IpPermissions": RULE}),
    ("security-group", "create_network_interface", "Groups", lambda w: {"SubnetId": w.subnet}),
    ("security-group-rule", "describe_security_group_rules", "SecurityGroupRuleIds", lambda w: {}),
    ("network-acl", "describe_network_acls", "NetworkAclIds", lambda w: {}),
    ("network-acl", "delete_network_acl", "NetworkAclId", lambda w: {}),
    ("network-acl", "create_network_acl_entry", "NetworkAclId",
     lambda w: {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": False,
                "CidrBlock": "0.0.0.0/0"}),
    ("network-acl", "replace_network_acl_entry", "NetworkAclId",
     lambda w: {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": False,
                "CidrBlock": "0.0.0.0/0"}),
    ("network-acl", "delete_network_acl_entry", "NetworkAclId",
     lambda w: {"RuleNumber": 100, "Egress": False}),
    ("network-acl", "replace_network_acl_association", "NetworkAclId",
     lambda w: {"AssociationId": w.acl_assoc}),
    ("network-interface", "describe_network_interfaces", "NetworkInterfaceIds", lambda w: {}),
    ("network-interface", "delete_network_interface", "NetworkInterfaceId", lambda w: {}),
    ("network-interface", "modify_network_interface_attribute", "NetworkInterfaceId",
     lambda w: {"Description": {"Value": "x"}}),
    ("network-interface", "assign_private_ip_addresses", "NetworkInterfaceId",
     lambda w: {"SecondaryPrivateIpAddressCount": 1}),
    ("network-interface", "unassign_private_ip_addresses", "NetworkInterfaceId",
     lambda w: {"PrivateIpAddresses": ["10.77.1.50"]}),
    ("elastic-ip", "describe_addresses", "AllocationIds", lambda w: {}),
    ("elastic-ip", "release_address", "AllocationId", lambda w: {}),
    ("elastic-ip", "associate_address", "AllocationId", lambda w: {"NetworkInterfaceId": w.eni}),
    ("network-interface", "associate_address", "NetworkInterfaceId",
     lambda w: {"AllocationId": w.eip}),
    ("address-association", "disassociate_address", "AssociationId", lambda w: {}),
    ("nat-gateway", "describe_nat_gateways", "NatGatewayIds", lambda w: {}),
    ("nat-gateway", "delete_nat_gateway", "NatGatewayId", lambda w: {}),
    ("subnet", "create_nat_gateway", "SubnetId", lambda w: {"AllocationId": w.eip}),
    ("elastic-ip", "create_nat_gateway", "AllocationId", lambda w: {"SubnetId": w.subnet}),
    ("nat-gateway-target", "create_route", "NatGatewayId",
     lambda w: {"RouteTableId": w.rtb, "DestinationCidrBlock": "0.0.0.0/0"}),
    ("vpc-peering-connection", "describe_vpc_peering_connections", "VpcPeeringConnectionIds",
     lambda w: {}),
    ("vpc-peering-connection", "accept_vpc_peering_connection", "VpcPeeringConnectionId",
     lambda w: {}),
    ("vpc-peering-connection", "reject_vpc_peering_connection", "VpcPeeringConnectionId",
     lambda w: {}),
    ("vpc-peering-connection", "delete_vpc_peering_connection", "VpcPeeringConnectionId",
     lambda w: {}),
    ("vpc-peering-connection", "create_route", "VpcPeeringConnectionId",
     lambda w: {"RouteTableId": w.rtb, "DestinationCidrBlock": "10.200.0.0/16"}),
    ("vpc", "create_vpc_peering_connection", "VpcId", lambda w: {"PeerVpcId": w.vpc}),
    ("network-interface", "create_route", "NetworkInterfaceId",
     lambda w: {"RouteTableId": w.rtb, "DestinationCidrBlock": "10.201.0.0/16"}),
    ("transit-gateway", "describe_transit_gateways", "TransitGatewayIds", lambda w: {}),
    ("transit-gateway", "delete_transit_gateway", "TransitGatewayId", lambda w: {}),
    ("transit-gateway", "create_transit_gateway_vpc_attachment", "TransitGatewayId",
     lambda w: {"VpcId": w.vpc, "SubnetIds": [w.subnet]}),
    ("transit-gateway", "create_route", "TransitGatewayId",
     lambda w: {"RouteTableId": w.rtb, "DestinationCidrBlock": "10.202.0.0/16"}),
    ("transit-gateway-attachment", "describe_transit_gateway_vpc_attachments",
     "TransitGatewayAttachmentIds", lambda w: {}),
    ("transit-gateway-attachment", "describe_transit_gateway_attachments",
     "TransitGatewayAttachmentIds", lambda w: {}),
    ("transit-gateway-attachment", "delete_transit_gateway_vpc_attachment",
     "TransitGatewayAttachmentId", lambda w: {}),
]
IDS = [f"{op}.{param}" for _kind, op, param, _extra in CASES]


def call_with(ec2, world, case, value):
    kind, op, param, extra = case
    params = extra(world)
    params[param] = [value] if param.endswith("Ids") or param == "Groups" else value
    return getattr(ec2, op), params


def snapshot(ec2, world) -> dict:
    """What a refused call must leave as it was."""
    vpc = [{"Name": "vpc-id", "Values": [world.vpc]}]
    return {
        "vpcs": ec2.describe_vpcs(VpcIds=[world.vpc])["Vpcs"],
        "subnets": ec2.describe_subnets(Filters=vpc)["Subnets"],
        "tables": ec2.describe_route_tables(Filters=vpc)["RouteTables"],
        "groups": ec2.describe_security_groups(Filters=vpc)["SecurityGroups"],
        "acls": ec2.describe_network_acls(Filters=vpc)["NetworkAcls"],
        "enis": ec2.describe_network_interfaces(Filters=vpc)["NetworkInterfaces"],
        "igw": ec2.describe_internet_gateways(InternetGatewayIds=[world.igw])["InternetGateways"],
        "eip": ec2.describe_addresses(AllocationIds=[world.eip])["Addresses"],
        "nats": ec2.describe_nat_gateways(Filter=vpc)["NatGateways"],
        "peerings": ec2.describe_vpc_peering_connections(Filters=[
            {"Name": "requester-vpc-info.vpc-id", "Values": [world.vpc]}])["VpcPeeringConnections"],
        "attachments": ec2.describe_transit_gateway_vpc_attachments(Filters=vpc)[
            "TransitGatewayVpcAttachments"],
    }


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_malformed_id(ec2, world, case):
    kind = case[0]
    before = snapshot(ec2, world)
    for bad in malformed(kind):
        fn, params = call_with(ec2, world, case, bad)
        expect_error(KINDS[kind][1], fn, **params, status=400)
    assert snapshot(ec2, world) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unknown_id(ec2, world, case):
    kind = case[0]
    before = snapshot(ec2, world)
    fn, params = call_with(ec2, world, case, missing(kind))
    expect_error(KINDS[kind][2], fn, **params, status=400)
    assert snapshot(ec2, world) == before


# The kinds' Describe and Delete are enough to pin the length rule (one parser serves them all).
LENGTH_CASES = [c for c in CASES if c[1].startswith(("describe_", "delete_", "release_"))
                and c[1] != "describe_vpc_attribute"]


@pytest.mark.parametrize("case", LENGTH_CASES, ids=[f"{c[1]}.{c[2]}" for c in LENGTH_CASES])
def test_wrong_length_id_is_malformed(ec2, world, case):
    kind = case[0]
    for bad in wrong_length(kind):
        fn, params = call_with(ec2, world, case, bad)
        expect_error(KINDS[kind][1], fn, **params, status=400)


def test_route_to_an_unknown_gateway_is_invalid_gateway_id(ec2, world):
    expect_error("InvalidGatewayID.NotFound", ec2.create_route, RouteTableId=world.rtb,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId=missing("internet-gateway"))


def test_a_malformed_id_among_good_ones_fails_the_whole_describe(ec2, world):
    expect_error("InvalidVpcID.Malformed", ec2.describe_vpcs, VpcIds=[world.vpc, "vpc-xyz!"])
    expect_error("InvalidSubnetID.Malformed", ec2.describe_subnets,
                 SubnetIds=[world.subnet, "subnet-xyz!"])
    expect_error("InvalidGroupId.Malformed", ec2.describe_security_groups,
                 GroupIds=[world.sg, "sg-xyz!"])
    expect_error("InvalidNetworkInterfaceID.NotFound", ec2.describe_network_interfaces,
                 NetworkInterfaceIds=[world.eni, missing("network-interface")])


@pytest.mark.parametrize("argv,code", [
    (["describe-vpcs", "--vpc-ids", "vpc-xyz!"], "InvalidVpcID.Malformed"),
    (["delete-subnet", "--subnet-id", "subnet-0123456789abcdef0"], "InvalidSubnetID.NotFound"),
    (["describe-route-tables", "--route-table-ids", "rtb-xyz!"], "InvalidRouteTableID.Malformed"),
    (["delete-internet-gateway", "--internet-gateway-id", "igw-0123456789abcdef0"],
     "InvalidInternetGatewayID.NotFound"),
    (["delete-security-group", "--group-id", "sg-xyz!"], "InvalidGroupId.Malformed"),
    (["describe-network-acls", "--network-acl-ids", "acl-0123456789abcdef0"],
     "InvalidNetworkAclID.NotFound"),
    (["delete-network-interface", "--network-interface-id", "eni-xyz!"],
     "InvalidNetworkInterfaceID.Malformed"),
    (["release-address", "--allocation-id", "eipalloc-0123456789abcdef0"],
     "InvalidAllocationID.NotFound"),
], ids=lambda v: v[0] if isinstance(v, list) else v)
def test_the_cli_reports_the_same_codes(nubo, argv, code):
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", *argv)
    assert info.value.code == code, info.value.stderr
