"""Transit gateways (control plane): gateways with their options and default route table,
VPC attachments (one subnet per zone, the VPC and subnets they hold), route tables,
associations, propagations, static and propagated routes and SearchTransitGatewayRoutes,
VPC routes to a transit gateway, AWS's error codes, DryRun and tenancy, through boto3 and
the AWS CLI. Every test deletes what it creates."""

import re

import pytest
from conftest import allow, expect_error, policy_doc, tags_of

TGW_ID = re.compile(r"^tgw-[0-9a-f]{17}$")
ATTACH_ID = re.compile(r"^tgw-attach-[0-9a-f]{17}$")
TGW_RTB_ID = re.compile(r"^tgw-rtb-[0-9a-f]{17}$")
MISSING_TGW = "tgw-0123456789abcdef0"
MISSING_ATTACH = "tgw-attach-0123456789abcdef0"
MISSING_TGW_RTB = "tgw-rtb-0123456789abcdef0"


def zones(ec2) -> list:
    return [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]


@pytest.fixture
def make_tgw(nubo, cleanup):
    def make(client=None, **kwargs):
        client = client or nubo.client("ec2")
        tgw = client.create_transit_gateway(**kwargs)["TransitGateway"]
        cleanup(lambda: client.delete_transit_gateway(TransitGatewayId=tgw["TransitGatewayId"]))
        return tgw

    return make


@pytest.fixture
def make_subnet(nubo, cleanup):
    def make(vpc_id, cidr, zone=None, client=None):
        client = client or nubo.client("ec2")
        kwargs = {"AvailabilityZone": zone} if zone else {}
        subnet = client.create_subnet(VpcId=vpc_id, CidrBlock=cidr, **kwargs)["Subnet"]
        cleanup(lambda: client.delete_subnet(SubnetId=subnet["SubnetId"]))
        return subnet["SubnetId"]

    return make


@pytest.fixture
def make_attachment(nubo, cleanup):
    def make(tgw_id, vpc_id, subnet_ids, client=None, **kwargs):
        client = client or nubo.client("ec2")
        att = client.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=subnet_ids,
            **kwargs)["TransitGatewayVpcAttachment"]
        cleanup(lambda: client.delete_transit_gateway_vpc_attachment(
            TransitGatewayAttachmentId=att["TransitGatewayAttachmentId"]))
        return att

    return make


@pytest.fixture
def make_tgw_table(nubo, cleanup):
    def make(tgw_id, client=None, **kwargs):
        client = client or nubo.client("ec2")
        table = client.create_transit_gateway_route_table(
            TransitGatewayId=tgw_id, **kwargs)["TransitGatewayRouteTable"]
        cleanup(lambda: client.delete_transit_gateway_route_table(
            TransitGatewayRouteTableId=table["TransitGatewayRouteTableId"]))
        return table

    return make


def describe_tgw(ec2, tgw_id) -> dict:
    [tgw] = ec2.describe_transit_gateways(TransitGatewayIds=[tgw_id])["TransitGateways"]
    return tgw


def tgw_ids(ec2, *filters) -> set:
    return {t["TransitGatewayId"] for t in
            ec2.describe_transit_gateways(Filters=list(filters))["TransitGateways"]}


def test_create_describe_delete_with_default_route_table(ec2, make_tgw):
    created = make_tgw(Description="core", TagSpecifications=[
        {"ResourceType": "transit-gateway", "Tags": [{"Key": "Name", "Value": "hub"}]}])
    tgw_id = created["TransitGatewayId"]
    assert TGW_ID.match(tgw_id)
    assert created["State"] == "pending"
    assert created["Description"] == "core"
    assert created["TransitGatewayArn"].endswith(f":transit-gateway/{tgw_id}")
    opts = created["Options"]
    assert opts["AmazonSideAsn"] == 64512
    assert (opts["DefaultRouteTableAssociation"], opts["DefaultRouteTablePropagation"]) == \
        ("enable", "enable")
    assert (opts["AutoAcceptSharedAttachments"], opts["VpnEcmpSupport"], opts["DnsSupport"],
            opts["MulticastSupport"]) == ("disable", "enable", "enable", "disable")
    default = opts["AssociationDefaultRouteTableId"]
    assert TGW_RTB_ID.match(default) and opts["PropagationDefaultRouteTableId"] == default

    described = describe_tgw(ec2, tgw_id)
    assert described["State"] == "available"
    assert tags_of(described) == {"Name": "hub"}
    [table] = ec2.describe_transit_gateway_route_tables(
        TransitGatewayRouteTableIds=[default])["TransitGatewayRouteTables"]
    assert table["TransitGatewayId"] == tgw_id
    assert table["DefaultAssociationRouteTable"] and table["DefaultPropagationRouteTable"]
    assert table["State"] == "available"

    assert tgw_id in tgw_ids(ec2, {"Name": "state", "Values": ["available"]})
    assert tgw_id in tgw_ids(ec2, {"Name": "options.amazon-side-asn", "Values": ["64512"]})
    assert tgw_id in tgw_ids(ec2, {"Name": "tag:Name", "Values": ["hub"]})
    assert tgw_id in tgw_ids(ec2, {"Name": "options.association-default-route-table-id",
                                   "Values": [default]})
    assert tgw_id not in tgw_ids(ec2, {"Name": "options.dns-support", "Values": ["disable"]})
    expect_error("InvalidParameterValue", ec2.describe_transit_gateways,
                 Filters=[{"Name": "no-such-filter", "Values": ["x"]}])

    deleted = ec2.delete_transit_gateway(TransitGatewayId=tgw_id)["TransitGateway"]
    assert deleted["State"] == "deleting"
    expect_error("InvalidTransitGatewayID.NotFound", ec2.describe_transit_gateways,
                 TransitGatewayIds=[tgw_id])
    expect_error("InvalidRouteTableID.NotFound", ec2.describe_transit_gateway_route_tables,
                 TransitGatewayRouteTableIds=[default])


def test_options_and_bad_input(ec2, make_tgw):
    tgw = make_tgw(Options={"AmazonSideAsn": 65000, "DefaultRouteTableAssociation": "disable",
                            "DefaultRouteTablePropagation": "disable",
                            "TransitGatewayCidrBlocks": ["10.99.0.0/24"]})
    opts = tgw["Options"]
    assert opts["AmazonSideAsn"] == 65000
    assert "AssociationDefaultRouteTableId" not in opts
    assert opts["TransitGatewayCidrBlocks"] == ["10.99.0.0/24"]
    tables = ec2.describe_transit_gateway_route_tables(Filters=[
        {"Name": "transit-gateway-id", "Values": [tgw["TransitGatewayId"]]}])
    assert tables["TransitGatewayRouteTables"] == []

    before = {t["TransitGatewayId"] for t in ec2.describe_transit_gateways()["TransitGateways"]}
    expect_error("InvalidParameterValue", ec2.create_transit_gateway,
                 Options={"AmazonSideAsn": 100})
    expect_error("InvalidParameterValue", ec2.create_transit_gateway,
                 Options={"TransitGatewayCidrBlocks": ["10.0.0.0/28"]})
    expect_error("InvalidParameterValue", ec2.create_transit_gateway, TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "k", "Value": "v"}]}])
    expect_error("DryRunOperation", ec2.create_transit_gateway, DryRun=True)
    after = {t["TransitGatewayId"] for t in ec2.describe_transit_gateways()["TransitGateways"]}
    assert after == before

    expect_error("InvalidTransitGatewayID.Malformed", ec2.delete_transit_gateway,
                 TransitGatewayId="tgw-nothex")
    expect_error("InvalidTransitGatewayID.Malformed", ec2.describe_transit_gateways,
                 TransitGatewayIds=["vpc-0123456789abcdef0"])
    expect_error("InvalidTransitGatewayID.NotFound", ec2.delete_transit_gateway,
                 TransitGatewayId=MISSING_TGW)


def test_vpc_attachment_lifecycle_and_dependencies(ec2, make_tgw, make_vpc, make_subnet,
                                                    make_attachment):
    tgw = make_tgw()
    tgw_id = tgw["TransitGatewayId"]
    default = tgw["Options"]["AssociationDefaultRouteTableId"]
    vpc_id = make_vpc("10.40.0.0/16")["VpcId"]
    za, zb = zones(ec2)[:2]
    s1 = make_subnet(vpc_id, "10.40.1.0/24", za)
    s2 = make_subnet(vpc_id, "10.40.2.0/24", za)
    s3 = make_subnet(vpc_id, "10.40.3.0/24", zb)

    expect_error("DuplicateSubnetsInSameZone", ec2.create_transit_gateway_vpc_attachment,
                 TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=[s1, s2])
    other_vpc = make_vpc("10.41.0.0/16")["VpcId"]
    foreign = make_subnet(other_vpc, "10.41.1.0/24", zb)
    expect_error("InvalidSubnetID.NotFound", ec2.create_transit_gateway_vpc_attachment,
                 TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=[s1, foreign])
    expect_error("InvalidSubnetID.NotFound", ec2.create_transit_gateway_vpc_attachment,
                 TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=["subnet-0123456789abcdef0"])
    expect_error("InvalidTransitGatewayID.NotFound", ec2.create_transit_gateway_vpc_attachment,
                 TransitGatewayId=MISSING_TGW, VpcId=vpc_id, SubnetIds=[s1])
    expect_error("InvalidVpcID.NotFound", ec2.create_transit_gateway_vpc_attachment,
                 TransitGatewayId=tgw_id, VpcId="vpc-0123456789abcdef0", SubnetIds=[s1])
    expect_error("DryRunOperation", ec2.create_transit_gateway_vpc_attachment,
                 TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=[s1], DryRun=True)
    assert ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"] == [] \
        or all(a["VpcId"] != vpc_id for a in
               ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"])

    att = make_attachment(tgw_id, vpc_id, [s1, s3], TagSpecifications=[
        {"ResourceType": "transit-gateway-attachment", "Tags": [{"Key": "Name", "Value": "a"}]}])
    att_id = att["TransitGatewayAttachmentId"]
    assert ATTACH_ID.match(att_id)
    assert att["State"] == "pending"
    assert sorted(att["SubnetIds"]) == sorted([s1, s3])
    assert att["Options"]["DnsSupport"] == "enable"
    expect_error("DuplicateTransitGatewayAttachment", ec2.create_transit_gateway_vpc_attachment,
                 TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=[s1])

    [described] = ec2.describe_transit_gateway_vpc_attachments(
        TransitGatewayAttachmentIds=[att_id])["TransitGatewayVpcAttachments"]
    assert described["State"] == "available" and tags_of(described) == {"Name": "a"}
    [generic] = ec2.describe_transit_gateway_attachments(Filters=[
        {"Name": "resource-id", "Values": [vpc_id]}])["TransitGatewayAttachments"]
    assert generic["ResourceType"] == "vpc" and generic["TransitGatewayId"] == tgw_id
    assert generic["Association"] == {"TransitGatewayRouteTableId": default,
                                      "State": "associated"}
    assert ec2.describe_transit_gateway_attachments(Filters=[
        {"Name": "association.transit-gateway-route-table-id", "Values": [default]},
        {"Name": "resource-type", "Values": ["vpc"]}])["TransitGatewayAttachments"][0][
        "TransitGatewayAttachmentId"] == att_id

    # The attachment holds the VPC, its subnets and the gateway.
    expect_error("DependencyViolation", ec2.delete_subnet, SubnetId=s1)
    expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)
    expect_error("IncorrectState", ec2.delete_transit_gateway, TransitGatewayId=tgw_id)

    gone = ec2.delete_transit_gateway_vpc_attachment(
        TransitGatewayAttachmentId=att_id)["TransitGatewayVpcAttachment"]
    assert gone["State"] == "deleting"
    expect_error("InvalidTransitGatewayAttachmentID.NotFound",
                 ec2.describe_transit_gateway_vpc_attachments,
                 TransitGatewayAttachmentIds=[att_id])
    expect_error("InvalidTransitGatewayAttachmentID.NotFound",
                 ec2.delete_transit_gateway_vpc_attachment, TransitGatewayAttachmentId=att_id)
    expect_error("InvalidTransitGatewayAttachmentID.Malformed",
                 ec2.delete_transit_gateway_vpc_attachment, TransitGatewayAttachmentId="tgw-x")


def test_cli_and_tenancy(nubo, ec2, make_tgw, account):
    tgw_id = nubo.aws("ec2", "create-transit-gateway", "--description", "cli")[
        "TransitGateway"]["TransitGatewayId"]
    try:
        listed = nubo.aws("ec2", "describe-transit-gateways", "--transit-gateway-ids", tgw_id)
        assert listed["TransitGateways"][0]["Description"] == "cli"
        other = nubo.client("ec2", account.creds)
        expect_error("InvalidTransitGatewayID.NotFound", other.describe_transit_gateways,
                     TransitGatewayIds=[tgw_id])
        expect_error("InvalidTransitGatewayID.NotFound", other.delete_transit_gateway,
                     TransitGatewayId=tgw_id)
    finally:
        nubo.aws("ec2", "delete-transit-gateway", "--transit-gateway-id", tgw_id)


def link_ids(items) -> list:
    return sorted(i["TransitGatewayAttachmentId"] for i in items)


def test_route_tables_associations_and_propagations(ec2, make_tgw, make_vpc, make_subnet,
                                                    make_attachment, make_tgw_table):
    tgw = make_tgw()
    tgw_id = tgw["TransitGatewayId"]
    default = tgw["Options"]["AssociationDefaultRouteTableId"]
    vpc_id = make_vpc("10.50.0.0/16")["VpcId"]
    att_id = make_attachment(tgw_id, vpc_id, [make_subnet(vpc_id, "10.50.1.0/24")])[
        "TransitGatewayAttachmentId"]

    table = make_tgw_table(tgw_id, TagSpecifications=[
        {"ResourceType": "transit-gateway-route-table", "Tags": [{"Key": "Name", "Value": "rt"}]}])
    table_id = table["TransitGatewayRouteTableId"]
    assert TGW_RTB_ID.match(table_id) and table["State"] == "pending"
    assert not table["DefaultAssociationRouteTable"]
    found = ec2.describe_transit_gateway_route_tables(Filters=[
        {"Name": "transit-gateway-id", "Values": [tgw_id]},
        {"Name": "default-association-route-table", "Values": ["false"]}])
    assert [t["TransitGatewayRouteTableId"] for t in found["TransitGatewayRouteTables"]] == \
        [table_id]
    assert tags_of(found["TransitGatewayRouteTables"][0]) == {"Name": "rt"}

    # The default table holds the new attachment's association and propagation.
    assoc = ec2.get_transit_gateway_route_table_associations(
        TransitGatewayRouteTableId=default)["Associations"]
    assert [(a["TransitGatewayAttachmentId"], a["ResourceId"], a["ResourceType"], a["State"])
            for a in assoc] == [(att_id, vpc_id, "vpc", "associated")]
    props = ec2.get_transit_gateway_route_table_propagations(
        TransitGatewayRouteTableId=default)["TransitGatewayRouteTablePropagations"]
    assert [(p["TransitGatewayAttachmentId"], p["State"]) for p in props] == [(att_id, "enabled")]

    # One association per attachment.
    err = expect_error("Resource.AlreadyAssociated", ec2.associate_transit_gateway_route_table,
                       TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=att_id)
    assert att_id in str(err)
    expect_error("IncorrectState", ec2.delete_transit_gateway_route_table,
                 TransitGatewayRouteTableId=default)
    moved = ec2.disassociate_transit_gateway_route_table(
        TransitGatewayRouteTableId=default, TransitGatewayAttachmentId=att_id)["Association"]
    assert moved["State"] == "disassociating"
    expect_error("InvalidAssociation.NotFound", ec2.disassociate_transit_gateway_route_table,
                 TransitGatewayRouteTableId=default, TransitGatewayAttachmentId=att_id)
    made = ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=att_id)["Association"]
    assert (made["TransitGatewayRouteTableId"], made["State"]) == (table_id, "associating")
    [generic] = ec2.describe_transit_gateway_attachments(
        TransitGatewayAttachmentIds=[att_id])["TransitGatewayAttachments"]
    assert generic["Association"]["TransitGatewayRouteTableId"] == table_id
    assert ec2.get_transit_gateway_route_table_associations(
        TransitGatewayRouteTableId=default)["Associations"] == []
    # A table with an association cannot be deleted.
    expect_error("IncorrectState", ec2.delete_transit_gateway_route_table,
                 TransitGatewayRouteTableId=table_id)

    enabled = ec2.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=att_id)["Propagation"]
    assert enabled["State"] == "enabling"
    expect_error("TransitGatewayRouteTablePropagation.Duplicate",
                 ec2.enable_transit_gateway_route_table_propagation,
                 TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=att_id)
    assert link_ids(ec2.get_transit_gateway_route_table_propagations(
        TransitGatewayRouteTableId=table_id, Filters=[
            {"Name": "resource-id", "Values": [vpc_id]}])[
        "TransitGatewayRouteTablePropagations"]) == [att_id]
    assert ec2.get_transit_gateway_route_table_propagations(
        TransitGatewayRouteTableId=table_id, Filters=[
            {"Name": "resource-type", "Values": ["vpn"]}])[
        "TransitGatewayRouteTablePropagations"] == []
    ec2.disable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=att_id)
    expect_error("TransitGatewayRouteTablePropagation.NotFound",
                 ec2.disable_transit_gateway_route_table_propagation,
                 TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=att_id)

    # Unknown and malformed IDs, AWS's codes.
    expect_error("InvalidRouteTableID.NotFound", ec2.get_transit_gateway_route_table_associations,
                 TransitGatewayRouteTableId=MISSING_TGW_RTB)
    expect_error("InvalidRouteTableID.Malformed", ec2.delete_transit_gateway_route_table,
                 TransitGatewayRouteTableId="rtb-0123456789abcdef0")
    expect_error("InvalidTransitGatewayAttachmentID.NotFound",
                 ec2.associate_transit_gateway_route_table,
                 TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=MISSING_ATTACH)
    expect_error("InvalidTransitGatewayID.NotFound", ec2.create_transit_gateway_route_table,
                 TransitGatewayId=MISSING_TGW)

    ec2.disassociate_transit_gateway_route_table(
        TransitGatewayRouteTableId=table_id, TransitGatewayAttachmentId=att_id)
    gone = ec2.delete_transit_gateway_route_table(
        TransitGatewayRouteTableId=table_id)["TransitGatewayRouteTable"]
    assert gone["State"] == "deleting"
    expect_error("InvalidRouteTableID.NotFound", ec2.describe_transit_gateway_route_tables,
                 TransitGatewayRouteTableIds=[table_id])


def search(ec2, table_id, *filters, **kwargs):
    out = ec2.search_transit_gateway_routes(TransitGatewayRouteTableId=table_id,
                                            Filters=list(filters), **kwargs)
    return [(r["DestinationCidrBlock"], r["Type"], r["State"],
             [a["TransitGatewayAttachmentId"] for a in r.get("TransitGatewayAttachments", [])])
            for r in out["Routes"]], out["AdditionalRoutesAvailable"]


def test_static_and_propagated_routes_and_search(nubo, ec2, make_tgw, make_vpc, make_subnet,
                                                 make_attachment):
    tgw = make_tgw()
    tgw_id = tgw["TransitGatewayId"]
    table = tgw["Options"]["PropagationDefaultRouteTableId"]
    vpc_a = make_vpc("10.60.0.0/16")["VpcId"]
    vpc_b = make_vpc("10.61.0.0/16")["VpcId"]
    att_a = make_attachment(tgw_id, vpc_a, [make_subnet(vpc_a, "10.60.1.0/24")])[
        "TransitGatewayAttachmentId"]
    att_b = make_attachment(tgw_id, vpc_b, [make_subnet(vpc_b, "10.61.1.0/24")])[
        "TransitGatewayAttachmentId"]

    every = {"Name": "state", "Values": ["active", "blackhole"]}
    assert search(ec2, table, every) == ([
        ("10.60.0.0/16", "propagated", "active", [att_a]),
        ("10.61.0.0/16", "propagated", "active", [att_b])], False)

    # A new VPC block propagates with no further call: routes are computed on read.
    assoc = ec2.associate_vpc_cidr_block(VpcId=vpc_a, CidrBlock="10.62.0.0/16")[
        "CidrBlockAssociation"]["AssociationId"]
    assert ("10.62.0.0/16", "propagated", "active", [att_a]) in search(ec2, table, every)[0]
    ec2.disassociate_vpc_cidr_block(AssociationId=assoc)

    created = ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
        TransitGatewayAttachmentId=att_a)["Route"]
    assert (created["Type"], created["State"]) == ("static", "active")
    assert created["TransitGatewayAttachments"][0]["ResourceId"] == vpc_a
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table,
                                     DestinationCidrBlock="192.168.0.0/16", Blackhole=True)
    # A static route shadows the propagated one for the same prefix.
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table,
                                     DestinationCidrBlock="10.61.0.0/16",
                                     TransitGatewayAttachmentId=att_a)
    expect_error("RouteAlreadyExists", ec2.create_transit_gateway_route,
                 TransitGatewayRouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
                 Blackhole=True)
    expect_error("InvalidParameterCombination", ec2.create_transit_gateway_route,
                 TransitGatewayRouteTableId=table, DestinationCidrBlock="10.9.0.0/16",
                 Blackhole=True, TransitGatewayAttachmentId=att_a)
    expect_error("InvalidTransitGatewayAttachmentID.NotFound", ec2.create_transit_gateway_route,
                 TransitGatewayRouteTableId=table, DestinationCidrBlock="10.9.0.0/16",
                 TransitGatewayAttachmentId=MISSING_ATTACH)
    expect_error("InvalidParameterValue", ec2.create_transit_gateway_route,
                 TransitGatewayRouteTableId=table, DestinationCidrBlock="10.9.0.0/99",
                 Blackhole=True)
    expect_error("InvalidRouteTableID.NotFound", ec2.create_transit_gateway_route,
                 TransitGatewayRouteTableId=MISSING_TGW_RTB, DestinationCidrBlock="10.9.0.0/16",
                 Blackhole=True)

    routes, more = search(ec2, table, every)
    assert routes == [
        ("0.0.0.0/0", "static", "active", [att_a]),
        ("10.60.0.0/16", "propagated", "active", [att_a]),
        ("10.61.0.0/16", "static", "active", [att_a]),
        ("192.168.0.0/16", "static", "blackhole", []),
    ] and not more
    assert [r[0] for r in search(ec2, table, {"Name": "type", "Values": ["propagated"]})[0]] == \
        ["10.60.0.0/16"]
    assert [r[0] for r in search(ec2, table, {"Name": "state", "Values": ["blackhole"]})[0]] == \
        ["192.168.0.0/16"]
    assert [r[0] for r in search(
        ec2, table, {"Name": "route-search.longest-prefix-match", "Values": ["10.60.3.4/32"]})[0]] \
        == ["10.60.0.0/16"]
    assert [r[0] for r in search(
        ec2, table, {"Name": "route-search.supernet-of-match", "Values": ["10.61.5.0/24"]})[0]] \
        == ["0.0.0.0/0", "10.61.0.0/16"]
    assert [r[0] for r in search(
        ec2, table, {"Name": "route-search.subnet-of-match", "Values": ["10.0.0.0/8"]})[0]] \
        == ["10.60.0.0/16", "10.61.0.0/16"]
    assert [r[0] for r in search(
        ec2, table, {"Name": "route-search.exact-match", "Values": ["10.61.0.0/16"]})[0]] \
        == ["10.61.0.0/16"]
    assert len(search(ec2, table, {"Name": "attachment.resource-id", "Values": [vpc_b]})[0]) == 0
    assert len(search(ec2, table, {"Name": "attachment.transit-gateway-attachment-id",
                                   "Values": [att_a]})[0]) == 3
    assert search(ec2, table, every, MaxResults=5)[1] is False
    expect_error("InvalidParameterValue", ec2.search_transit_gateway_routes,
                 TransitGatewayRouteTableId=table, Filters=[{"Name": "bogus", "Values": ["x"]}])

    # Replace and delete, also through the AWS CLI.
    replaced = ec2.replace_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock="0.0.0.0/0", Blackhole=True)["Route"]
    assert replaced["State"] == "blackhole"
    expect_error("InvalidRoute.NotFound", ec2.replace_transit_gateway_route,
                 TransitGatewayRouteTableId=table, DestinationCidrBlock="10.99.0.0/16",
                 Blackhole=True)
    out = nubo.aws("ec2", "delete-transit-gateway-route", "--transit-gateway-route-table-id",
                   table, "--destination-cidr-block", "10.61.0.0/16")
    assert out["Route"]["State"] == "deleted"
    expect_error("InvalidRoute.NotFound", ec2.delete_transit_gateway_route,
                 TransitGatewayRouteTableId=table, DestinationCidrBlock="10.61.0.0/16")
    cli = nubo.aws("ec2", "search-transit-gateway-routes", "--transit-gateway-route-table-id",
                   table, "--filters", "Name=type,Values=propagated")
    assert sorted(r["DestinationCidrBlock"] for r in cli["Routes"]) == \
        ["10.60.0.0/16", "10.61.0.0/16"]

    # A static route to a deleted attachment becomes a blackhole; its propagation goes.
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table,
                                     DestinationCidrBlock="172.16.0.0/12",
                                     TransitGatewayAttachmentId=att_b)
    ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att_b)
    routes, _ = search(ec2, table, every)
    assert ("172.16.0.0/12", "static", "blackhole", []) in routes
    assert all(r[0] != "10.61.0.0/16" for r in routes)


def test_vpc_routes_to_a_transit_gateway(ec2, make_tgw, make_vpc, make_subnet, cleanup):
    tgw_id = make_tgw()["TransitGatewayId"]
    vpc_id = make_vpc("10.70.0.0/16")["VpcId"]
    subnet = make_subnet(vpc_id, "10.70.1.0/24")
    [main] = ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    rtb = main["RouteTableId"]

    # Not attached yet: AWS answers as for an unknown gateway.
    expect_error("InvalidTransitGatewayID.NotFound", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="10.0.0.0/8", TransitGatewayId=tgw_id)
    expect_error("InvalidTransitGatewayID.NotFound", ec2.create_route, RouteTableId=rtb,
                 DestinationCidrBlock="10.0.0.0/8", TransitGatewayId=MISSING_TGW)
    att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=[subnet])["TransitGatewayVpcAttachment"]
    att_id = att["TransitGatewayAttachmentId"]
    cleanup(lambda: ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att_id))
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="10.0.0.0/8", TransitGatewayId=tgw_id)
    cleanup(lambda: ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock="10.0.0.0/8"))

    def tgw_route():
        [t] = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"]
        [r] = [r for r in t["Routes"] if r.get("TransitGatewayId") == tgw_id]
        return r["State"]

    assert tgw_route() == "active"
    assert ec2.describe_route_tables(Filters=[
        {"Name": "route.transit-gateway-id", "Values": [tgw_id]}])["RouteTables"][0][
        "RouteTableId"] == rtb
    ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att_id)
    assert tgw_route() == "blackhole"


def test_modify_gateway_and_attachment(nubo, ec2, make_tgw, make_vpc, make_subnet,
                                       make_attachment, make_tgw_table):
    tgw = make_tgw()
    tgw_id = tgw["TransitGatewayId"]
    old = tgw["Options"]["AssociationDefaultRouteTableId"]
    new = make_tgw_table(tgw_id)["TransitGatewayRouteTableId"]
    expect_error("InvalidParameterCombination", ec2.modify_transit_gateway,
                 TransitGatewayId=tgw_id, Options={"DefaultRouteTableAssociation": "enable"})
    expect_error("InvalidRouteTableID.NotFound", ec2.modify_transit_gateway,
                 TransitGatewayId=tgw_id,
                 Options={"AssociationDefaultRouteTableId": MISSING_TGW_RTB})
    modified = ec2.modify_transit_gateway(
        TransitGatewayId=tgw_id, Description="moved",
        Options={"AssociationDefaultRouteTableId": new, "DnsSupport": "disable",
                 "AddTransitGatewayCidrBlocks": ["10.200.0.0/24"]})["TransitGateway"]
    assert modified["State"] == "modifying"
    got = describe_tgw(ec2, tgw_id)
    assert got["Description"] == "moved"
    assert got["Options"]["AssociationDefaultRouteTableId"] == new
    assert got["Options"]["PropagationDefaultRouteTableId"] == old
    assert got["Options"]["DnsSupport"] == "disable"
    assert got["Options"]["TransitGatewayCidrBlocks"] == ["10.200.0.0/24"]
    flags = {t["TransitGatewayRouteTableId"]: (t["DefaultAssociationRouteTable"],
                                               t["DefaultPropagationRouteTable"])
             for t in ec2.describe_transit_gateway_route_tables(
                 TransitGatewayRouteTableIds=[old, new])["TransitGatewayRouteTables"]}
    assert flags == {old: (False, True), new: (True, False)}

    vpc_id = make_vpc("10.80.0.0/16")["VpcId"]
    za, zb = zones(ec2)[:2]
    s1 = make_subnet(vpc_id, "10.80.1.0/24", za)
    s2 = make_subnet(vpc_id, "10.80.2.0/24", zb)
    s3 = make_subnet(vpc_id, "10.80.3.0/24", zb)
    att = make_attachment(tgw_id, vpc_id, [s1])
    att_id = att["TransitGatewayAttachmentId"]
    [generic] = ec2.describe_transit_gateway_attachments(
        TransitGatewayAttachmentIds=[att_id])["TransitGatewayAttachments"]
    assert generic["Association"]["TransitGatewayRouteTableId"] == new

    out = nubo.aws("ec2", "modify-transit-gateway-vpc-attachment",
                   "--transit-gateway-attachment-id", att_id, "--add-subnet-ids", s2,
                   "--remove-subnet-ids", s1)
    assert out["TransitGatewayVpcAttachment"]["SubnetIds"] == [s2]
    ec2.delete_subnet(SubnetId=s1)  # released by the attachment
    expect_error("DuplicateSubnetsInSameZone", ec2.modify_transit_gateway_vpc_attachment,
                 TransitGatewayAttachmentId=att_id, AddSubnetIds=[s3])
    expect_error("InvalidParameterValue", ec2.modify_transit_gateway_vpc_attachment,
                 TransitGatewayAttachmentId=att_id, RemoveSubnetIds=[s2])
    changed = ec2.modify_transit_gateway_vpc_attachment(
        TransitGatewayAttachmentId=att_id,
        Options={"ApplianceModeSupport": "enable"})["TransitGatewayVpcAttachment"]
    assert changed["Options"]["ApplianceModeSupport"] == "enable"


def test_iam_policies_see_transit_gateway_arns(nubo, ec2, make_tgw, make_tgw_table):
    allowed = make_tgw()["TransitGatewayId"]
    other = make_tgw()["TransitGatewayId"]
    table = make_tgw_table(other)["TransitGatewayRouteTableId"]
    arn = f"arn:aws:ec2:us-east-1:{nubo.admin.account_id}:transit-gateway/{allowed}"
    user = nubo.make_user(policy_doc(allow("ec2:DescribeTransitGateways"),
                                     allow("ec2:SearchTransitGatewayRoutes"),
                                     allow("ec2:DeleteTransitGateway", arn)))
    client = nubo.client("ec2", user.creds)
    assert {allowed, other} <= tgw_ids(client)
    expect_error("UnauthorizedOperation", client.delete_transit_gateway,
                 TransitGatewayId=other, status=403)
    expect_error("UnauthorizedOperation", client.create_transit_gateway, status=403)
    expect_error("UnauthorizedOperation", client.delete_transit_gateway_route_table,
                 TransitGatewayRouteTableId=table, status=403)
    assert client.search_transit_gateway_routes(
        TransitGatewayRouteTableId=table,
        Filters=[{"Name": "state", "Values": ["active"]}])["Routes"] == []
    client.delete_transit_gateway(TransitGatewayId=allowed)
    assert other in tgw_ids(ec2) and allowed not in tgw_ids(ec2)
