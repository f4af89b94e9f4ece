"""Route tables and internet gateways: the main table of each VPC and its local routes,
create/describe/filter/delete, subnet associations (explicit, replaced, main), gateway
attachments, routes to gateways (blackholed while detached), AWS's errors, DryRun, tenancy and IAM, through boto3 and the AWS CLI."""

import re

import pytest
from conftest import AwsCliError, allow, expect_error, policy_doc, tags_of, unique

RTB_ID = re.compile(r"^rtb-[0-9a-f]{8}([0-9a-f]{9})?$")
ASSOC_ID = re.compile(r"^rtbassoc-[0-9a-f]{8}([0-9a-f]{9})?$")
MISSING_RTB = "rtb-0123456789abcdef0"
MISSING_ASSOC = "rtbassoc-0123456789abcdef0"


@pytest.fixture
def make_table(nubo, cleanup):
    """make_table(vpc_id, client=None, **kwargs) -> the created RouteTable dict."""

    def make(vpc_id, client=None, **kwargs):
        client = client or nubo.client("ec2")
        table = client.create_route_table(VpcId=vpc_id, **kwargs)["RouteTable"]
        cleanup(lambda: client.delete_route_table(RouteTableId=table["RouteTableId"]))
        return table

    return make


@pytest.fixture
def make_subnet(nubo, cleanup):
    def make(vpc_id, cidr, client=None):
        client = client or nubo.client("ec2")
        subnet = client.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]
        cleanup(lambda: client.delete_subnet(SubnetId=subnet["SubnetId"]))
        return subnet["SubnetId"]

    return make


def table_ids(client, *filters) -> set:
    return {t["RouteTableId"] for t in
            client.describe_route_tables(Filters=list(filters))["RouteTables"]}


def describe_table(client, table_id) -> dict:
    [table] = client.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
    return table


def main_table(client, vpc_id) -> dict:
    [table] = client.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    return table


def routes(table) -> list:
    return [(r["DestinationCidrBlock"], r["GatewayId"], r["Origin"], r["State"])
            for r in table["Routes"]]


# ---- the main table ---------------------------------------------------------------------------


def test_main_table_comes_and_goes_with_its_vpc(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.200.0.0/16")["Vpc"]["VpcId"]
    try:
        main = main_table(ec2, vpc_id)
        assert RTB_ID.match(main["RouteTableId"])
        assert main["VpcId"] == vpc_id and main["OwnerId"]
        [assoc] = main["Associations"]
        assert assoc["Main"] is True and ASSOC_ID.match(assoc["RouteTableAssociationId"])
        assert assoc["RouteTableId"] == main["RouteTableId"]
        assert assoc["AssociationState"] == {"State": "associated"}
        assert "SubnetId" not in assoc
        assert routes(main) == [("10.200.0.0/16", "local", "CreateRouteTable", "active")]
        expect_error("DependencyViolation", ec2.delete_route_table,
                     RouteTableId=main["RouteTableId"])
    finally:
        ec2.delete_vpc(VpcId=vpc_id)
    expect_error("InvalidRouteTableID.NotFound", ec2.describe_route_tables,
                 RouteTableIds=[main["RouteTableId"]])


def test_local_routes_follow_secondary_blocks(ec2, make_vpc, make_table):
    vpc_id = make_vpc("10.201.0.0/16")["VpcId"]
    custom = make_table(vpc_id)["RouteTableId"]
    assoc = ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.202.0.0/16")
    for table_id in (custom, main_table(ec2, vpc_id)["RouteTableId"]):
        assert routes(describe_table(ec2, table_id)) == [
            ("10.201.0.0/16", "local", "CreateRouteTable", "active"),
            ("10.202.0.0/16", "local", "CreateRouteTable", "active")]
    ec2.disassociate_vpc_cidr_block(AssociationId=assoc["CidrBlockAssociation"]["AssociationId"])
    assert [r[0] for r in routes(describe_table(ec2, custom))] == ["10.201.0.0/16"]
    assert table_ids(ec2, {"Name": "route.destination-cidr-block",
                           "Values": ["10.202.0.0/16"]}) == set()


# ---- create, describe, delete -------------------------------------------------------------------


def test_create_describe_filter_delete(ec2, make_vpc, make_table):
    vpc_id = make_vpc("10.203.0.0/16")["VpcId"]
    name = unique("rtb")
    table = make_table(vpc_id, TagSpecifications=[
        {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": name}]}])
    table_id = table["RouteTableId"]
    assert RTB_ID.match(table_id) and table["Associations"] == []
    assert tags_of(table) == {"Name": name}
    assert routes(table) == [("10.203.0.0/16", "local", "CreateRouteTable", "active")]
    assert describe_table(ec2, table_id)["VpcId"] == vpc_id

    main_id = main_table(ec2, vpc_id)["RouteTableId"]
    by_vpc = {"Name": "vpc-id", "Values": [vpc_id]}
    assert table_ids(ec2, by_vpc) == {table_id, main_id}
    assert table_ids(ec2, {"Name": "tag:Name", "Values": [name]}) == {table_id}
    assert table_ids(ec2, by_vpc, {"Name": "association.main", "Values": ["true"]}) == {main_id}
    assert table_ids(ec2, by_vpc, {"Name": "association.main", "Values": ["false"]}) == set()
    assert table_ids(ec2, {"Name": "route-table-id", "Values": [table_id]}) == {table_id}
    assert table_ids(ec2, by_vpc, {"Name": "route.gateway-id", "Values": ["local"]}) == \
        {table_id, main_id}
    assert table_ids(ec2, by_vpc, {"Name": "route.state", "Values": ["blackhole"]}) == set()
    assert table_ids(ec2, by_vpc, {"Name": "route.origin", "Values": ["CreateRouteTable"]}) == \
        {table_id, main_id}
    expect_error("InvalidParameterValue", ec2.describe_route_tables,
                 Filters=[{"Name": "route.colour", "Values": ["x"]}])

    ec2.create_tags(Resources=[table_id], Tags=[{"Key": "tier", "Value": "web"}])
    assert tags_of(describe_table(ec2, table_id)) == {"Name": name, "tier": "web"}

    ec2.delete_route_table(RouteTableId=table_id)
    expect_error("InvalidRouteTableID.NotFound", ec2.delete_route_table, RouteTableId=table_id)
    expect_error("InvalidRouteTableID.NotFound", ec2.describe_route_tables,
                 RouteTableIds=[table_id, main_id])


def test_errors_for_missing_malformed_and_unknown(nubo, ec2):
    expect_error("InvalidVpcID.NotFound", ec2.create_route_table, VpcId="vpc-0123456789abcdef0")
    expect_error("InvalidRouteTableID.NotFound", ec2.delete_route_table, RouteTableId=MISSING_RTB)
    expect_error("InvalidRouteTableID.Malformed", ec2.delete_route_table, RouteTableId="rtb-xyz")
    expect_error("InvalidAssociationID.NotFound", ec2.disassociate_route_table,
                 AssociationId=MISSING_ASSOC)
    expect_error("MissingParameter", ec2.create_route_table, VpcId="")
    resp = nubo.raw("ec2", {"Action": "DeleteRouteTable", "Version": "2016-11-15",
                            "RouteTableId": MISSING_RTB, "Colour": "red"})
    assert (resp.status, resp.code) == (400, "UnknownParameter")


def test_pagination_walks_every_table_once(ec2, make_vpc, make_table):
    vpc_id = make_vpc("10.204.0.0/16")["VpcId"]
    made = {make_table(vpc_id)["RouteTableId"] for _ in range(6)}
    made.add(main_table(ec2, vpc_id)["RouteTableId"])
    seen, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}], MaxResults=5, **kwargs)
        assert len(page["RouteTables"]) <= 5
        seen += [t["RouteTableId"] for t in page["RouteTables"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(made)
    expect_error("InvalidParameterValue", ec2.describe_route_tables, MaxResults=101)


def test_client_token_makes_create_idempotent(ec2, make_vpc, cleanup):
    vpc_id = make_vpc("10.205.0.0/16")["VpcId"]
    token = unique("token")
    first = ec2.create_route_table(VpcId=vpc_id, ClientToken=token)
    cleanup(lambda: ec2.delete_route_table(RouteTableId=first["RouteTable"]["RouteTableId"]))
    again = ec2.create_route_table(VpcId=vpc_id, ClientToken=token)
    assert again["RouteTable"]["RouteTableId"] == first["RouteTable"]["RouteTableId"]
    assert again["ClientToken"] == token
    assert len(table_ids(ec2, {"Name": "vpc-id", "Values": [vpc_id]})) == 2


# ---- associations -----------------------------------------------------------------------------


def test_subnet_associations(ec2, make_vpc, make_table, make_subnet):
    vpc_id = make_vpc("10.206.0.0/16")["VpcId"]
    other_vpc = make_vpc("10.207.0.0/16")["VpcId"]
    s1 = make_subnet(vpc_id, "10.206.1.0/24")
    s2 = make_subnet(vpc_id, "10.206.2.0/24")
    custom = make_table(vpc_id)["RouteTableId"]
    foreign = make_table(other_vpc)["RouteTableId"]
    main_id = main_table(ec2, vpc_id)["RouteTableId"]

    # No explicit association: DescribeRouteTables lists none (the main table applies).
    assert table_ids(ec2, {"Name": "association.subnet-id", "Values": [s1]}) == set()

    out = ec2.associate_route_table(RouteTableId=custom, SubnetId=s1)
    assoc_id = out["AssociationId"]
    assert ASSOC_ID.match(assoc_id) and out["AssociationState"] == {"State": "associated"}
    [assoc] = describe_table(ec2, custom)["Associations"]
    assert assoc == {"Main": False, "RouteTableAssociationId": assoc_id, "RouteTableId": custom,
                     "SubnetId": s1, "AssociationState": {"State": "associated"}}
    assert table_ids(ec2, {"Name": "association.subnet-id", "Values": [s1]}) == {custom}
    assert table_ids(ec2, {"Name": "association.route-table-association-id",
                           "Values": [assoc_id]}) == {custom}
    assert table_ids(ec2, {"Name": "association.main", "Values": ["false"]}) >= {custom}

    expect_error("Resource.AlreadyAssociated", ec2.associate_route_table,
                 RouteTableId=main_id, SubnetId=s1)
    expect_error("InvalidParameterValue", ec2.associate_route_table,
                 RouteTableId=foreign, SubnetId=s2)
    expect_error("InvalidSubnetID.NotFound", ec2.associate_route_table,
                 RouteTableId=custom, SubnetId="subnet-0123456789abcdef0")
    expect_error("DependencyViolation", ec2.delete_route_table, RouteTableId=custom)

    moved = ec2.replace_route_table_association(AssociationId=assoc_id, RouteTableId=main_id)
    new_id = moved["NewAssociationId"]
    assert ASSOC_ID.match(new_id) and new_id != assoc_id
    assert table_ids(ec2, {"Name": "association.subnet-id", "Values": [s1]}) == {main_id}
    expect_error("InvalidAssociationID.NotFound", ec2.disassociate_route_table,
                 AssociationId=assoc_id)
    ec2.disassociate_route_table(AssociationId=new_id)
    assert table_ids(ec2, {"Name": "association.subnet-id", "Values": [s1]}) == set()

    # Deleting a subnet drops its association.
    ec2.associate_route_table(RouteTableId=custom, SubnetId=s2)
    ec2.delete_subnet(SubnetId=s2)
    assert describe_table(ec2, custom)["Associations"] == []


def test_main_association_can_move_but_not_go(ec2, make_vpc, make_table):
    vpc_id = make_vpc("10.208.0.0/16")["VpcId"]
    old_main = main_table(ec2, vpc_id)
    [main_assoc] = old_main["Associations"]
    custom = make_table(vpc_id)["RouteTableId"]
    expect_error("InvalidParameterValue", ec2.disassociate_route_table,
                 AssociationId=main_assoc["RouteTableAssociationId"])
    out = ec2.replace_route_table_association(
        AssociationId=main_assoc["RouteTableAssociationId"], RouteTableId=custom)
    assert main_table(ec2, vpc_id)["RouteTableId"] == custom
    [assoc] = describe_table(ec2, custom)["Associations"]
    assert assoc["Main"] is True and assoc["RouteTableAssociationId"] == out["NewAssociationId"]
    # The old main table is now an ordinary one, and can go.
    ec2.delete_route_table(RouteTableId=old_main["RouteTableId"])
    expect_error("DependencyViolation", ec2.delete_route_table, RouteTableId=custom)


def test_unknown_gateways_and_public_pools_are_refused_clearly(ec2, make_vpc, make_table):
    vpc_id = make_vpc("10.209.0.0/16")["VpcId"]
    table_id = make_table(vpc_id)["RouteTableId"]
    expect_error("InvalidInternetGatewayID.NotFound", ec2.associate_route_table,
                 RouteTableId=table_id, GatewayId="igw-0123456789abcdef0")
    err = expect_error("InvalidParameterValue", ec2.associate_route_table,
                       RouteTableId=table_id, PublicIpv4Pool="ipv4pool-ec2-0123456789abcdef0")
    assert "not supported" in str(err)
    expect_error("MissingParameter", ec2.associate_route_table, RouteTableId=table_id)


# ---- DryRun, tenancy, IAM -----------------------------------------------------------------------


def test_dry_run_validates_and_changes_nothing(ec2, make_vpc, make_table, make_subnet):
    vpc_id = make_vpc("10.210.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "10.210.1.0/24")
    table_id = make_table(vpc_id)["RouteTableId"]
    by_vpc = {"Name": "vpc-id", "Values": [vpc_id]}
    expect_error("DryRunOperation", ec2.create_route_table, VpcId=vpc_id, DryRun=True, status=412)
    assert len(table_ids(ec2, by_vpc)) == 2
    expect_error("DryRunOperation", ec2.associate_route_table, RouteTableId=table_id,
                 SubnetId=subnet_id, DryRun=True, status=412)
    assert describe_table(ec2, table_id)["Associations"] == []
    expect_error("DryRunOperation", ec2.delete_route_table, RouteTableId=table_id, DryRun=True)
    expect_error("InvalidRouteTableID.NotFound", ec2.delete_route_table,
                 RouteTableId=MISSING_RTB, DryRun=True)
    expect_error("DryRunOperation", ec2.describe_route_tables, DryRun=True)
    assoc_id = ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)["AssociationId"]
    expect_error("DryRunOperation", ec2.disassociate_route_table, AssociationId=assoc_id,
                 DryRun=True)
    assert describe_table(ec2, table_id)["Associations"][0]["RouteTableAssociationId"] == assoc_id
    ec2.disassociate_route_table(AssociationId=assoc_id)


def test_other_accounts_tables_are_not_found(nubo, ec2, account, make_vpc, make_table, make_subnet):
    vpc_id = make_vpc("10.211.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "10.211.1.0/24")
    table_id = make_table(vpc_id)["RouteTableId"]
    assoc_id = ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)["AssociationId"]
    theirs = nubo.client("ec2", account.creds)
    # They see their own default VPC's main table, nothing of ours.
    assert table_id not in table_ids(theirs)
    assert table_ids(theirs, {"Name": "vpc-id", "Values": [vpc_id]}) == set()
    expect_error("InvalidRouteTableID.NotFound", theirs.describe_route_tables,
                 RouteTableIds=[table_id])
    expect_error("InvalidRouteTableID.NotFound", theirs.delete_route_table, RouteTableId=table_id)
    expect_error("InvalidVpcID.NotFound", theirs.create_route_table, VpcId=vpc_id)
    expect_error("InvalidAssociationID.NotFound", theirs.disassociate_route_table,
                 AssociationId=assoc_id)
    expect_error("InvalidAssociationID.NotFound", theirs.replace_route_table_association,
                 AssociationId=assoc_id, RouteTableId=table_id)
    ec2.disassociate_route_table(AssociationId=assoc_id)


def test_iam_policies_see_route_table_arns(nubo, ec2, make_vpc, make_table):
    vpc_id = make_vpc("10.212.0.0/16")["VpcId"]
    allowed = make_table(vpc_id)["RouteTableId"]
    other = make_table(vpc_id)["RouteTableId"]
    arn = f"arn:aws:ec2:us-east-1:{nubo.admin.account_id}:route-table/{allowed}"
    user = nubo.make_user(policy_doc(allow("ec2:DescribeRouteTables"),
                                     allow("ec2:DeleteRouteTable", arn)))
    client = nubo.client("ec2", user.creds)
    assert {allowed, other} <= table_ids(client)
    expect_error("UnauthorizedOperation", client.delete_route_table, RouteTableId=other,
                 status=403)
    expect_error("UnauthorizedOperation", client.create_route_table, VpcId=vpc_id, status=403)
    client.delete_route_table(RouteTableId=allowed)
    assert other in table_ids(ec2)


# ---- AWS CLI -----------------------------------------------------------------------------------


def test_route_table_lifecycle_with_aws_cli(nubo, make_vpc, make_subnet, cleanup):
    vpc_id = make_vpc("10.213.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "10.213.1.0/24")
    table = nubo.aws("ec2", "create-route-table", "--vpc-id", vpc_id, "--tag-specifications",
                     "ResourceType=route-table,Tags=[{Key=Name,Value=cli}]")["RouteTable"]
    table_id = table["RouteTableId"]
    cleanup(lambda: nubo.aws("ec2", "delete-route-table", "--route-table-id", table_id))
    assert RTB_ID.match(table_id) and tags_of(table) == {"Name": "cli"}

    assoc_id = nubo.aws("ec2", "associate-route-table", "--route-table-id", table_id,
                        "--subnet-id", subnet_id)["AssociationId"]
    found = nubo.aws("ec2", "describe-route-tables", "--filters",
                     f"Name=association.subnet-id,Values={subnet_id}")["RouteTables"]
    assert [t["RouteTableId"] for t in found] == [table_id]
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-route-table", "--route-table-id", table_id)
    assert info.value.code == "DependencyViolation", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "associate-route-table", "--route-table-id", table_id,
                 "--subnet-id", subnet_id)
    assert info.value.code == "Resource.AlreadyAssociated", info.value.stderr
    nubo.aws("ec2", "disassociate-route-table", "--association-id", assoc_id)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-route-table", "--route-table-id", table_id, "--dry-run")
    assert info.value.code == "DryRunOperation", info.value.stderr
    nubo.aws("ec2", "delete-route-table", "--route-table-id", table_id)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-route-tables", "--route-table-ids", table_id)
    assert info.value.code == "InvalidRouteTableID.NotFound", info.value.stderr


# ---- internet gateways -------------------------------------------------------------------------

IGW_ID = re.compile(r"^igw-[0-9a-f]{8}([0-9a-f]{9})?$")
MISSING_IGW = "igw-0123456789abcdef0"


@pytest.fixture
def make_igw(nubo, cleanup):
    """make_igw(client=None, **kwargs) -> InternetGatewayId; detached and deleted after the test."""

    def make(client=None, **kwargs):
        client = client or nubo.client("ec2")
        igw_id = client.create_internet_gateway(**kwargs)["InternetGateway"]["InternetGatewayId"]

        def remove():
            [igw] = client.describe_internet_gateways(
                InternetGatewayIds=[igw_id])["InternetGateways"]
            for att in igw["Attachments"]:
                client.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=att["VpcId"])
            client.delete_internet_gateway(InternetGatewayId=igw_id)

        cleanup(remove)
        return igw_id

    return make


def describe_igw(client, igw_id) -> dict:
    [igw] = client.describe_internet_gateways(InternetGatewayIds=[igw_id])["InternetGateways"]
    return igw


def igw_ids(client, *filters) -> set:
    return {g["InternetGatewayId"] for g in
            client.describe_internet_gateways(Filters=list(filters))["InternetGateways"]}


def test_internet_gateway_lifecycle(ec2, cleanup):
    name = unique("igw")
    igw = ec2.create_internet_gateway(TagSpecifications=[
        {"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": name}]}])[
        "InternetGateway"]
    igw_id = igw["InternetGatewayId"]
    cleanup(lambda: ec2.delete_internet_gateway(InternetGatewayId=igw_id))
    assert IGW_ID.match(igw_id) and igw["Attachments"] == [] and igw["OwnerId"]
    assert tags_of(igw) == {"Name": name}
    assert igw_ids(ec2, {"Name": "tag:Name", "Values": [name]}) == {igw_id}
    assert igw_ids(ec2, {"Name": "internet-gateway-id", "Values": [igw_id]}) == {igw_id}
    ec2.delete_internet_gateway(InternetGatewayId=igw_id)
    expect_error("InvalidInternetGatewayID.NotFound", ec2.describe_internet_gateways,
                 InternetGatewayIds=[igw_id])
    expect_error("InvalidInternetGatewayID.NotFound", ec2.delete_internet_gateway,
                 InternetGatewayId=MISSING_IGW)
    expect_error("InvalidInternetGatewayID.Malformed", ec2.delete_internet_gateway,
                 InternetGatewayId="igw-xyz")
    expect_error("InvalidParameterValue", ec2.describe_internet_gateways,
                 Filters=[{"Name": "colour", "Values": ["red"]}])


def test_attach_detach_rules(ec2, make_vpc, make_igw):
    vpc_id = make_vpc("10.214.0.0/16")["VpcId"]
    other_vpc = make_vpc("10.215.0.0/16")["VpcId"]
    igw_id = make_igw()
    spare = make_igw()
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    assert describe_igw(ec2, igw_id)["Attachments"] == [{"State": "available", "VpcId": vpc_id}]
    assert igw_ids(ec2, {"Name": "attachment.vpc-id", "Values": [vpc_id]}) == {igw_id}
    assert igw_id in igw_ids(ec2, {"Name": "attachment.state", "Values": ["available"]})
    assert spare not in igw_ids(ec2, {"Name": "attachment.state", "Values": ["available"]})

    expect_error("Resource.AlreadyAssociated", ec2.attach_internet_gateway,
                 InternetGatewayId=igw_id, VpcId=vpc_id)
    expect_error("Resource.AlreadyAssociated", ec2.attach_internet_gateway,
                 InternetGatewayId=igw_id, VpcId=other_vpc)
    expect_error("Resource.AlreadyAssociated", ec2.attach_internet_gateway,
                 InternetGatewayId=spare, VpcId=vpc_id)
    expect_error("Gateway.NotAttached", ec2.detach_internet_gateway,
                 InternetGatewayId=igw_id, VpcId=other_vpc)
    expect_error("Gateway.NotAttached", ec2.detach_internet_gateway,
                 InternetGatewayId=spare, VpcId=vpc_id)
    expect_error("InvalidVpcID.NotFound", ec2.attach_internet_gateway,
                 InternetGatewayId=spare, VpcId="vpc-0123456789abcdef0")
    expect_error("DependencyViolation", ec2.delete_internet_gateway, InternetGatewayId=igw_id)
    expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)

    expect_error("DryRunOperation", ec2.detach_internet_gateway, InternetGatewayId=igw_id,
                 VpcId=vpc_id, DryRun=True, status=412)
    assert describe_igw(ec2, igw_id)["Attachments"] != []
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    assert describe_igw(ec2, igw_id)["Attachments"] == []
    ec2.attach_internet_gateway(InternetGatewayId=spare, VpcId=vpc_id)
    expect_error("DryRunOperation", ec2.delete_internet_gateway, InternetGatewayId=igw_id,
                 DryRun=True, status=412)
    expect_error("DryRunOperation", ec2.create_internet_gateway, DryRun=True, status=412)


def test_other_accounts_gateways_are_not_found(nubo, ec2, account, make_vpc, make_igw):
    vpc_id = make_vpc("10.216.0.0/16")["VpcId"]
    igw_id = make_igw()
    theirs = nubo.client("ec2", account.creds)
    # They see their own default VPC's gateway, nothing of ours.
    assert igw_id not in igw_ids(theirs)
    assert igw_ids(theirs, {"Name": "internet-gateway-id", "Values": [igw_id]}) == set()
    expect_error("InvalidInternetGatewayID.NotFound", theirs.describe_internet_gateways,
                 InternetGatewayIds=[igw_id])
    expect_error("InvalidInternetGatewayID.NotFound", theirs.delete_internet_gateway,
                 InternetGatewayId=igw_id)
    their_vpc = theirs.create_vpc(CidrBlock="10.216.0.0/16")["Vpc"]["VpcId"]
    try:
        expect_error("InvalidInternetGatewayID.NotFound", theirs.attach_internet_gateway,
                     InternetGatewayId=igw_id, VpcId=their_vpc)
        their_igw = theirs.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        expect_error("InvalidVpcID.NotFound", theirs.attach_internet_gateway,
                     InternetGatewayId=their_igw, VpcId=vpc_id)
        theirs.delete_internet_gateway(InternetGatewayId=their_igw)
    finally:
        theirs.delete_vpc(VpcId=their_vpc)


def test_internet_gateway_with_aws_cli(nubo, make_vpc, cleanup):
    vpc_id = make_vpc("10.217.0.0/16")["VpcId"]
    igw_id = nubo.aws("ec2", "create-internet-gateway")["InternetGateway"]["InternetGatewayId"]
    cleanup(lambda: nubo.aws("ec2", "delete-internet-gateway", "--internet-gateway-id", igw_id))
    assert IGW_ID.match(igw_id)
    nubo.aws("ec2", "attach-internet-gateway", "--internet-gateway-id", igw_id, "--vpc-id", vpc_id)
    found = nubo.aws("ec2", "describe-internet-gateways", "--filters",
                     f"Name=attachment.vpc-id,Values={vpc_id}")["InternetGateways"]
    assert [g["InternetGatewayId"] for g in found] == [igw_id]
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-internet-gateway", "--internet-gateway-id", igw_id)
    assert info.value.code == "DependencyViolation", info.value.stderr
    nubo.aws("ec2", "detach-internet-gateway", "--internet-gateway-id", igw_id, "--vpc-id", vpc_id)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "detach-internet-gateway", "--internet-gateway-id", igw_id,
                 "--vpc-id", vpc_id)
    assert info.value.code == "Gateway.NotAttached", info.value.stderr
    nubo.aws("ec2", "delete-internet-gateway", "--internet-gateway-id", igw_id)


# ---- routes ------------------------------------------------------------------------------------


def route_to(client, table_id, dest):
    for r in describe_table(client, table_id)["Routes"]:
        if r["DestinationCidrBlock"] == dest:
            return r
    return None


def test_routes_to_an_internet_gateway(ec2, make_vpc, make_table, make_igw):
    vpc_id = make_vpc("10.218.0.0/16")["VpcId"]
    other_vpc = make_vpc("10.219.0.0/16")["VpcId"]
    table_id = make_table(vpc_id)["RouteTableId"]
    igw_id = make_igw()
    elsewhere = make_igw()
    ec2.attach_internet_gateway(InternetGatewayId=elsewhere, VpcId=other_vpc)

    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId=elsewhere)
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    expect_error("DryRunOperation", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id, DryRun=True, status=412)
    assert route_to(ec2, table_id, "0.0.0.0/0") is None
    assert ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0",
                            GatewayId=igw_id)["Return"] is True
    assert route_to(ec2, table_id, "0.0.0.0/0") == {
        "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw_id, "Origin": "CreateRoute",
        "State": "active"}
    assert table_ids(ec2, {"Name": "route.gateway-id", "Values": [igw_id]}) == {table_id}

    expect_error("RouteAlreadyExists", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    expect_error("InvalidParameterValue", ec2.delete_route, RouteTableId=table_id,
                 DestinationCidrBlock="10.218.0.0/16")
    expect_error("InvalidParameterValue", ec2.replace_route, RouteTableId=table_id,
                 DestinationCidrBlock="10.218.0.0/16", GatewayId=igw_id)
    expect_error("InvalidRoute.NotFound", ec2.delete_route, RouteTableId=table_id,
                 DestinationCidrBlock="192.168.0.0/16")
    expect_error("InvalidRoute.NotFound", ec2.replace_route, RouteTableId=table_id,
                 DestinationCidrBlock="192.168.0.0/16", GatewayId=igw_id)
    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId="local")
    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/33", GatewayId=igw_id)
    expect_error("InvalidNatGatewayID.NotFound", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="172.16.0.0/12", NatGatewayId="nat-0123456789abcdef0")
    expect_error("InvalidRouteTableID.NotFound", ec2.create_route, RouteTableId=MISSING_RTB,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)

    # A detached gateway's routes are blackholes until it is attached again.
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    assert route_to(ec2, table_id, "0.0.0.0/0")["State"] == "blackhole"
    assert table_ids(ec2, {"Name": "route.state", "Values": ["blackhole"]}) == {table_id}
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    assert route_to(ec2, table_id, "0.0.0.0/0")["State"] == "active"

    ec2.replace_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    expect_error("DryRunOperation", ec2.delete_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/0", DryRun=True, status=412)
    ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0")
    assert route_to(ec2, table_id, "0.0.0.0/0") is None


def test_deleted_gateway_leaves_a_blackhole(ec2, make_vpc, make_table):
    vpc_id = make_vpc("10.220.0.0/16")["VpcId"]
    table_id = make_table(vpc_id)["RouteTableId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=igw_id)
    assert route_to(ec2, table_id, "0.0.0.0/0") == {
        "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw_id, "Origin": "CreateRoute",
        "State": "blackhole"}
    ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0")


def test_other_accounts_cannot_route_through_my_tables(nubo, ec2, account, make_vpc, make_table):
    vpc_id = make_vpc("10.221.0.0/16")["VpcId"]
    table_id = make_table(vpc_id)["RouteTableId"]
    theirs = nubo.client("ec2", account.creds)
    their_igw = theirs.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    try:
        expect_error("InvalidRouteTableID.NotFound", theirs.create_route, RouteTableId=table_id,
                     DestinationCidrBlock="0.0.0.0/0", GatewayId=their_igw)
        expect_error("InvalidGatewayID.NotFound", ec2.create_route,
                     RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0",
                     GatewayId=their_igw)
        expect_error("InvalidRouteTableID.NotFound", theirs.delete_route, RouteTableId=table_id,
                     DestinationCidrBlock="10.221.0.0/16")
    finally:
        theirs.delete_internet_gateway(InternetGatewayId=their_igw)


def test_routes_with_aws_cli(nubo, make_vpc, make_table, make_igw):
    vpc_id = make_vpc("10.222.0.0/16")["VpcId"]
    table_id = make_table(vpc_id)["RouteTableId"]
    igw_id = make_igw()
    nubo.aws("ec2", "attach-internet-gateway", "--internet-gateway-id", igw_id, "--vpc-id", vpc_id)
    nubo.aws("ec2", "create-route", "--route-table-id", table_id, "--destination-cidr-block",
             "0.0.0.0/0", "--gateway-id", igw_id)
    [table] = nubo.aws("ec2", "describe-route-tables", "--route-table-ids",
                       table_id)["RouteTables"]
    assert ("0.0.0.0/0", igw_id, "CreateRoute", "active") in routes(table)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "create-route", "--route-table-id", table_id, "--destination-cidr-block",
                 "0.0.0.0/0", "--gateway-id", igw_id)
    assert info.value.code == "RouteAlreadyExists", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-route", "--route-table-id", table_id, "--destination-cidr-block",
                 "10.222.0.0/16")
    assert info.value.code == "InvalidParameterValue", info.value.stderr
    nubo.aws("ec2", "delete-route", "--route-table-id", table_id, "--destination-cidr-block",
             "0.0.0.0/0")
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-route", "--route-table-id", table_id, "--destination-cidr-block",
                 "0.0.0.0/0")
    assert info.value.code == "InvalidRoute.NotFound", info.value.stderr


# ---- Gateway (edge) associations ---------------------------------------------------------------


def test_gateway_edge_associations(nubo, ec2, make_vpc, make_igw, make_table, make_subnet,
                                   cleanup):
    vpc_id = make_vpc("10.231.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "10.231.1.0/24")
    igw_id = make_igw()
    table_id = make_table(vpc_id)["RouteTableId"]
    other_id = make_table(vpc_id)["RouteTableId"]
    third_id = make_table(vpc_id)["RouteTableId"]
    by_gateway = {"Name": "association.gateway-id", "Values": [igw_id]}

    def drop_edges():
        for t in ec2.describe_route_tables(Filters=[by_gateway])["RouteTables"]:
            for a in t["Associations"]:
                if a.get("GatewayId") == igw_id:
                    ec2.disassociate_route_table(AssociationId=a["RouteTableAssociationId"])

    # Only a gateway attached to the table's VPC, named once, existing and well formed.
    expect_error("InvalidParameterValue", ec2.associate_route_table, RouteTableId=table_id,
                 GatewayId=igw_id)
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    cleanup(drop_edges)
    expect_error("InvalidParameterCombination", ec2.associate_route_table,
                 RouteTableId=table_id, GatewayId=igw_id, SubnetId=subnet_id)
    expect_error("InvalidInternetGatewayID.NotFound", ec2.associate_route_table,
                 RouteTableId=table_id, GatewayId="igw-0123456789abcdef0")
    expect_error("InvalidInternetGatewayID.Malformed", ec2.associate_route_table,
                 RouteTableId=table_id, GatewayId="igw-zz")
    # A table routing 0.0.0.0/0 to the gateway cannot become its gateway route table.
    ec2.create_route(RouteTableId=other_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    expect_error("InvalidParameterValue", ec2.associate_route_table, RouteTableId=other_id,
                 GatewayId=igw_id)
    expect_error("DryRunOperation", ec2.associate_route_table, RouteTableId=table_id,
                 GatewayId=igw_id, DryRun=True)
    assert table_ids(ec2, by_gateway) == set()

    assoc = ec2.associate_route_table(RouteTableId=table_id, GatewayId=igw_id)
    assoc_id = assoc["AssociationId"]
    assert assoc["AssociationState"]["State"] == "associated"
    [edge] = describe_table(ec2, table_id)["Associations"]
    assert (edge["RouteTableAssociationId"], edge["GatewayId"], edge["Main"]) == (
        assoc_id, igw_id, False)
    assert "SubnetId" not in edge
    assert table_ids(ec2, by_gateway) == {table_id}
    expect_error("Resource.AlreadyAssociated", ec2.associate_route_table,
                 RouteTableId=third_id, GatewayId=igw_id)

    # A gateway route table holds only local routes and routes to an interface for exactly
    # the VPC's or a subnet's block.
    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    eni_id = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"][
        "NetworkInterfaceId"]
    cleanup(lambda: ec2.delete_network_interface(NetworkInterfaceId=eni_id))
    expect_error("InvalidParameterValue", ec2.create_route, RouteTableId=table_id,
                 DestinationCidrBlock="10.231.2.0/24", NetworkInterfaceId=eni_id)
    ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="10.231.1.0/24",
                     NetworkInterfaceId=eni_id)
    assert ("10.231.1.0/24", eni_id) in {(r["DestinationCidrBlock"], r.get("NetworkInterfaceId"))
                                         for r in describe_table(ec2, table_id)["Routes"]}

    # The gateway cannot be detached while it has a gateway route table.
    expect_error("DependencyViolation", ec2.detach_internet_gateway, InternetGatewayId=igw_id,
                 VpcId=vpc_id)

    # Replacing moves the edge association, but not to a table with routes it cannot have.
    expect_error("InvalidParameterValue", ec2.replace_route_table_association,
                 AssociationId=assoc_id, RouteTableId=other_id)
    new_id = ec2.replace_route_table_association(AssociationId=assoc_id,
                                                 RouteTableId=third_id)["NewAssociationId"]
    assert table_ids(ec2, by_gateway) == {third_id}
    assert describe_table(ec2, third_id)["Associations"][0]["GatewayId"] == igw_id

    # The AWS CLI: disassociate, then associate again.
    nubo.aws("ec2", "disassociate-route-table", "--association-id", new_id)
    assert table_ids(ec2, by_gateway) == set()
    again = nubo.aws("ec2", "associate-route-table", "--route-table-id", table_id,
                     "--gateway-id", igw_id)
    assert again["AssociationState"]["State"] == "associated"
    assert table_ids(ec2, by_gateway) == {table_id}
    ec2.disassociate_route_table(AssociationId=again["AssociationId"])
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
