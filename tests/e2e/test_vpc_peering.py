"""VPC peering connections through boto3 and the AWS CLI: same-account and cross-account
requests, acceptance by the accepter only, routes to the connection on both sides turning
`blackhole` when it is deleted, requests that fail (overlapping CIDRs), reject, describe filters
and pagination, AWS's error codes, and tenancy (a third account sees nothing)."""

import pytest

from conftest import expect_error, tags_of, unique

OTHER = "10.1.0.0/16"


@pytest.fixture
def two_accounts(nubo, needs_own_server):
    a, b = nubo.new_account(), nubo.new_account()
    return a, b


def main_table(ec2, vpc_id):
    tables = ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    assert len(tables) == 1, tables
    return tables[0]


def route(ec2, vpc_id, dest):
    for r in main_table(ec2, vpc_id)["Routes"]:
        if r["DestinationCidrBlock"] == dest:
            return r
    return None


def one(ec2, pcx_id):
    found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])
    assert len(found["VpcPeeringConnections"]) == 1, found
    return found["VpcPeeringConnections"][0]


def test_same_account_peering_lifecycle_with_routes(nubo, ec2, make_vpc, cleanup):
    v1 = make_vpc("10.0.0.0/16")
    v2 = make_vpc(OTHER)
    name = unique("pcx")
    created = ec2.create_vpc_peering_connection(
        VpcId=v1["VpcId"], PeerVpcId=v2["VpcId"],
        TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                            "Tags": [{"Key": "Name", "Value": name}]}])["VpcPeeringConnection"]
    pcx = created["VpcPeeringConnectionId"]
    cleanup(lambda: ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx))
    assert pcx.startswith("pcx-")
    assert created["Status"]["Code"] == "initiating-request"
    assert created["RequesterVpcInfo"]["VpcId"] == v1["VpcId"]
    assert created["RequesterVpcInfo"]["CidrBlock"] == "10.0.0.0/16"
    assert created["AccepterVpcInfo"]["CidrBlockSet"] == [{"CidrBlock": OTHER}]
    assert created["AccepterVpcInfo"]["Region"] == "us-east-1"
    assert tags_of(created) == {"Name": name}

    pending = one(ec2, pcx)
    assert pending["Status"] == {"Code": "pending-acceptance",
                                 "Message": f"Pending Acceptance by {v2['OwnerId']}"}
    assert "ExpirationTime" in pending
    accepted = ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)["VpcPeeringConnection"]
    assert accepted["Status"]["Code"] == "active"

    t1, t2 = main_table(ec2, v1["VpcId"]), main_table(ec2, v2["VpcId"])
    ec2.create_route(RouteTableId=t1["RouteTableId"], DestinationCidrBlock=OTHER,
                     VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=t2["RouteTableId"], DestinationCidrBlock="10.0.0.0/16",
                     VpcPeeringConnectionId=pcx)
    r = route(ec2, v1["VpcId"], OTHER)
    assert (r["VpcPeeringConnectionId"], r["State"]) == (pcx, "active")
    expect_error("DependencyViolation", ec2.delete_vpc, VpcId=v2["VpcId"])

    by_tag = ec2.describe_vpc_peering_connections(
        Filters=[{"Name": "tag:Name", "Values": [name]}])["VpcPeeringConnections"]
    assert [c["VpcPeeringConnectionId"] for c in by_tag] == [pcx]

    assert ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)["Return"] is True
    assert one(ec2, pcx)["Status"]["Code"] == "deleted"
    for vpc, dest in ((v1, OTHER), (v2, "10.0.0.0/16")):
        r = route(ec2, vpc["VpcId"], dest)
        assert (r["VpcPeeringConnectionId"], r["State"]) == (pcx, "blackhole")
    expect_error("InvalidStateTransition", ec2.delete_vpc_peering_connection,
                 VpcPeeringConnectionId=pcx)


def test_cross_account_peering_through_the_cli(nubo, two_accounts, cleanup):
    a, b = two_accounts
    ea, eb = nubo.client("ec2", a.creds), nubo.client("ec2", b.creds)
    v1 = ea.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    cleanup(lambda: ea.delete_vpc(VpcId=v1["VpcId"]))
    v2 = eb.create_vpc(CidrBlock=OTHER)["Vpc"]
    cleanup(lambda: eb.delete_vpc(VpcId=v2["VpcId"]))

    created = nubo.aws("ec2", "create-vpc-peering-connection", "--vpc-id", v1["VpcId"],
                       "--peer-vpc-id", v2["VpcId"], "--peer-owner-id", b.account_id,
                       "--peer-region", "us-east-1", creds=a.creds)["VpcPeeringConnection"]
    pcx = created["VpcPeeringConnectionId"]
    cleanup(lambda: ea.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx))
    assert created["AccepterVpcInfo"]["OwnerId"] == b.account_id

    # The accepter sees it, and the requester cannot accept it.
    listed = nubo.aws("ec2", "describe-vpc-peering-connections", "--filters",
                      f"Name=requester-vpc-info.owner-id,Values={a.account_id}",
                      creds=b.creds)["VpcPeeringConnections"]
    assert [c["VpcPeeringConnectionId"] for c in listed] == [pcx]
    expect_error("OperationNotPermitted", ea.accept_vpc_peering_connection,
                 VpcPeeringConnectionId=pcx)
    expect_error("OperationNotPermitted", eb.delete_vpc_peering_connection,
                 VpcPeeringConnectionId=pcx)
    accepted = nubo.aws("ec2", "accept-vpc-peering-connection", "--vpc-peering-connection-id",
                        pcx, creds=b.creds)["VpcPeeringConnection"]
    assert accepted["Status"]["Code"] == "active"
    assert one(ea, pcx)["Status"]["Code"] == "active"

    nubo.aws("ec2", "create-route", "--route-table-id", main_table(ea, v1["VpcId"])["RouteTableId"],
             "--destination-cidr-block", OTHER, "--vpc-peering-connection-id", pcx, creds=a.creds)
    nubo.aws("ec2", "create-route", "--route-table-id", main_table(eb, v2["VpcId"])["RouteTableId"],
             "--destination-cidr-block", "10.0.0.0/16", "--vpc-peering-connection-id", pcx,
             creds=b.creds)
    assert route(eb, v2["VpcId"], "10.0.0.0/16")["State"] == "active"

    # The accepter deletes it: both accounts' routes go blackhole.
    eb.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert route(ea, v1["VpcId"], OTHER)["State"] == "blackhole"
    assert route(eb, v2["VpcId"], "10.0.0.0/16")["State"] == "blackhole"
    assert one(ea, pcx)["Status"] == {"Code": "deleted", "Message": f"Deleted by {b.account_id}"}


def test_third_account_sees_nothing_and_errors_are_exact(nubo, two_accounts, cleanup):
    a, b = two_accounts
    c = nubo.new_account()
    ea, eb, ec = (nubo.client("ec2", x.creds) for x in (a, b, c))
    v1 = ea.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    cleanup(lambda: ea.delete_vpc(VpcId=v1["VpcId"]))
    v2 = eb.create_vpc(CidrBlock=OTHER)["Vpc"]
    cleanup(lambda: eb.delete_vpc(VpcId=v2["VpcId"]))
    pcx = ea.create_vpc_peering_connection(VpcId=v1["VpcId"], PeerVpcId=v2["VpcId"],
                                           PeerOwnerId=b.account_id)["VpcPeeringConnection"]
    pcx = pcx["VpcPeeringConnectionId"]
    cleanup(lambda: ea.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx))

    assert ec.describe_vpc_peering_connections()["VpcPeeringConnections"] == []
    for op in (ec.accept_vpc_peering_connection, ec.reject_vpc_peering_connection,
               ec.delete_vpc_peering_connection):
        expect_error("InvalidVpcPeeringConnectionID.NotFound", op, VpcPeeringConnectionId=pcx)
    expect_error("InvalidVpcPeeringConnectionID.NotFound", ec.describe_vpc_peering_connections,
                 VpcPeeringConnectionIds=[pcx])
    expect_error("InvalidVpcPeeringConnectionID.NotFound", ea.accept_vpc_peering_connection,
                 VpcPeeringConnectionId="pcx-0123456789abcdef0")
    expect_error("InvalidVpcPeeringConnectionID.Malformed", ea.accept_vpc_peering_connection,
                 VpcPeeringConnectionId="pcx-xyz")
    expect_error("InvalidParameterValue", ea.describe_vpc_peering_connections,
                 Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    expect_error("InvalidParameterValue", ea.create_vpc_peering_connection,
                 VpcId=v1["VpcId"], PeerVpcId=v2["VpcId"], PeerOwnerId=b.account_id,
                 PeerRegion="eu-west-1")
    expect_error("VpcPeeringConnectionAlreadyExists", ea.create_vpc_peering_connection,
                 VpcId=v1["VpcId"], PeerVpcId=v2["VpcId"], PeerOwnerId=b.account_id)
    expect_error("DryRunOperation", eb.accept_vpc_peering_connection,
                 VpcPeeringConnectionId=pcx, DryRun=True)
    # A route needs an active connection.
    expect_error("InvalidParameterValue", ea.create_route,
                 RouteTableId=main_table(ea, v1["VpcId"])["RouteTableId"],
                 DestinationCidrBlock=OTHER, VpcPeeringConnectionId=pcx)

    # The accepter rejects; the requester still sees the answer.
    expect_error("OperationNotPermitted", ea.reject_vpc_peering_connection,
                 VpcPeeringConnectionId=pcx)
    assert eb.reject_vpc_peering_connection(VpcPeeringConnectionId=pcx)["Return"] is True
    assert one(ea, pcx)["Status"] == {"Code": "rejected",
                                      "Message": f"Rejected by {b.account_id}"}
    expect_error("InvalidStateTransition", eb.accept_vpc_peering_connection,
                 VpcPeeringConnectionId=pcx)


def test_overlapping_cidrs_fail_and_pagination_walks_everything(nubo, two_accounts, cleanup):
    a, b = two_accounts
    ea, eb = nubo.client("ec2", a.creds), nubo.client("ec2", b.creds)
    v1 = ea.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    cleanup(lambda: ea.delete_vpc(VpcId=v1["VpcId"]))
    clash = eb.create_vpc(CidrBlock="10.0.0.0/20")["Vpc"]
    cleanup(lambda: eb.delete_vpc(VpcId=clash["VpcId"]))
    failed = ea.create_vpc_peering_connection(VpcId=v1["VpcId"], PeerVpcId=clash["VpcId"],
                                              PeerOwnerId=b.account_id)["VpcPeeringConnection"]
    assert failed["Status"]["Code"] == "failed"
    assert "overlapping CIDR range" in failed["Status"]["Message"]
    assert eb.describe_vpc_peering_connections()["VpcPeeringConnections"] == []

    made = [failed["VpcPeeringConnectionId"]]
    for i in range(2, 8):
        peer = eb.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]
        cleanup(lambda p=peer: eb.delete_vpc(VpcId=p["VpcId"]))
        pcx = ea.create_vpc_peering_connection(
            VpcId=v1["VpcId"], PeerVpcId=peer["VpcId"],
            PeerOwnerId=b.account_id)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
        cleanup(lambda p=pcx: ea.delete_vpc_peering_connection(VpcPeeringConnectionId=p))
        made.append(pcx)
    seen, token = [], None
    while True:
        kwargs = {"MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        page = ea.describe_vpc_peering_connections(**kwargs)
        seen += [c["VpcPeeringConnectionId"] for c in page["VpcPeeringConnections"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(made)
    pending = eb.describe_vpc_peering_connections(Filters=[
        {"Name": "status-code", "Values": ["pending-acceptance"]},
        {"Name": "accepter-vpc-info.owner-id", "Values": [b.account_id]}])
    assert len(pending["VpcPeeringConnections"]) == 6


def test_security_group_rules_reference_a_peered_accounts_group(nubo, two_accounts, cleanup):
    a, b = two_accounts
    ea, eb = nubo.client("ec2", a.creds), nubo.client("ec2", b.creds)
    v1 = ea.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    cleanup(lambda: ea.delete_vpc(VpcId=v1["VpcId"]))
    v2 = eb.create_vpc(CidrBlock=OTHER)["Vpc"]
    cleanup(lambda: eb.delete_vpc(VpcId=v2["VpcId"]))
    pcx = ea.create_vpc_peering_connection(VpcId=v1["VpcId"], PeerVpcId=v2["VpcId"],
                                           PeerOwnerId=b.account_id)["VpcPeeringConnection"]
    pcx = pcx["VpcPeeringConnectionId"]
    cleanup(lambda: ea.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx))
    web = ea.create_security_group(GroupName=unique("web"), Description="web",
                                   VpcId=v1["VpcId"])["GroupId"]
    cleanup(lambda: ea.delete_security_group(GroupId=web))
    db = eb.create_security_group(GroupName=unique("db"), Description="db",
                                  VpcId=v2["VpcId"])["GroupId"]
    cleanup(lambda: eb.delete_security_group(GroupId=db))
    ssh_from_db = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                    "UserIdGroupPairs": [{"UserId": b.account_id, "GroupId": db}]}]

    # Not peered yet (pending): the other account's group does not exist for A.
    expect_error("InvalidGroup.NotFound", ea.authorize_security_group_ingress, GroupId=web,
                 IpPermissions=ssh_from_db)
    eb.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    added = ea.authorize_security_group_ingress(GroupId=web, IpPermissions=ssh_from_db)
    ref = added["SecurityGroupRules"][0]["ReferencedGroupInfo"]
    assert ref == {"GroupId": db, "UserId": b.account_id, "VpcId": v2["VpcId"],
                   "VpcPeeringConnectionId": pcx, "PeeringStatus": "active"}, ref

    [group] = ea.describe_security_groups(GroupIds=[web])["SecurityGroups"]
    [perm] = group["IpPermissions"]
    assert perm["UserIdGroupPairs"] == [{"UserId": b.account_id, "GroupId": db,
                                        "VpcId": v2["VpcId"], "VpcPeeringConnectionId": pcx,
                                        "PeeringStatus": "active"}], perm
    # The AWS CLI sends the same pair.
    nubo.aws("ec2", "authorize-security-group-ingress", "--group-id", db, "--ip-permissions",
             f'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{{UserId={a.account_id},'
             f'GroupId={web}}}]', creds=b.creds)
    [back] = eb.describe_security_groups(GroupIds=[db])["SecurityGroups"][0]["IpPermissions"]
    assert back["UserIdGroupPairs"][0]["VpcId"] == v1["VpcId"]

    # Once the connection is deleted the rule remains, stale: its peering reads deleted.
    ea.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    [group] = ea.describe_security_groups(GroupIds=[web])["SecurityGroups"]
    assert group["IpPermissions"][0]["UserIdGroupPairs"][0]["PeeringStatus"] == "deleted"
    expect_error("InvalidGroup.NotFound", ea.authorize_security_group_egress, GroupId=web,
                 IpPermissions=ssh_from_db)
    # A stale rule is still revoked by the group it names (then both groups can go).
    ea.revoke_security_group_ingress(GroupId=web, IpPermissions=ssh_from_db)
    assert ea.describe_security_groups(GroupIds=[web])["SecurityGroups"][0]["IpPermissions"] == []
    nubo.aws("ec2", "revoke-security-group-ingress", "--group-id", db, "--ip-permissions",
             f'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{{UserId={a.account_id},'
             f'GroupId={web}}}]', creds=b.creds)
    assert eb.describe_security_groups(GroupIds=[db])["SecurityGroups"][0]["IpPermissions"] == []


def test_each_side_modifies_its_own_peering_options(nubo, two_accounts, cleanup):
    a, b = two_accounts
    ea, eb = nubo.client("ec2", a.creds), nubo.client("ec2", b.creds)
    v1 = ea.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    cleanup(lambda: ea.delete_vpc(VpcId=v1["VpcId"]))
    v2 = eb.create_vpc(CidrBlock=OTHER)["Vpc"]
    cleanup(lambda: eb.delete_vpc(VpcId=v2["VpcId"]))
    pcx = ea.create_vpc_peering_connection(VpcId=v1["VpcId"], PeerVpcId=v2["VpcId"],
                                           PeerOwnerId=b.account_id)["VpcPeeringConnection"]
    pcx = pcx["VpcPeeringConnectionId"]
    cleanup(lambda: ea.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx))
    dns = {"AllowDnsResolutionFromRemoteVpc": True}
    expect_error("OperationNotPermitted", ea.modify_vpc_peering_connection_options,
                 VpcPeeringConnectionId=pcx, RequesterPeeringConnectionOptions=dns)
    eb.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    expect_error("OperationNotPermitted", ea.modify_vpc_peering_connection_options,
                 VpcPeeringConnectionId=pcx, AccepterPeeringConnectionOptions=dns)
    out = ea.modify_vpc_peering_connection_options(VpcPeeringConnectionId=pcx,
                                                   RequesterPeeringConnectionOptions=dns)
    assert out["RequesterPeeringConnectionOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    assert "AccepterPeeringConnectionOptions" not in out
    out = nubo.aws("ec2", "modify-vpc-peering-connection-options", "--vpc-peering-connection-id",
                   pcx, "--accepter-peering-connection-options",
                   "AllowDnsResolutionFromRemoteVpc=true", creds=b.creds)
    assert out["AccepterPeeringConnectionOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    seen = one(eb, pcx)
    assert seen["RequesterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    assert seen["AccepterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
