"""Security groups: the default group of each VPC, create/describe/filter/delete, ingress and
egress rules (CIDR and group references), rule IDs, AWS's errors, DryRun, IAM and tenancy,
through boto3 and the AWS CLI."""

import re

import pytest
from conftest import AwsCliError, allow, expect_error, policy_doc, tags_of, unique

SG_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
SGR_ID = re.compile(r"^sgr-[0-9a-f]{8}([0-9a-f]{9})?$")
MISSING_SG = "sg-0123456789abcdef0"


@pytest.fixture
def make_group(nubo, cleanup):
    """make_group(vpc_id, name=None, client=None, **kwargs) -> GroupId; deleted after the test."""

    def make(vpc_id, name=None, client=None, **kwargs):
        client = client or nubo.client("ec2")
        name = name or unique("grp")
        out = client.create_security_group(GroupName=name, Description=f"{name} group",
                                           VpcId=vpc_id, **kwargs)
        cleanup(lambda: client.delete_security_group(GroupId=out["GroupId"]))
        return out["GroupId"]

    return make


def describe_group(client, group_id) -> dict:
    [group] = client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return group


def group_ids(client, *filters) -> set:
    return {g["GroupId"] for g in
            client.describe_security_groups(Filters=list(filters))["SecurityGroups"]}


def tcp(port, *cidrs, groups=()):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": c} for c in cidrs],
            "UserIdGroupPairs": [{"GroupId": g} for g in groups]}


def default_group(client, vpc_id) -> dict:
    [group] = client.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    return group


# ---- the default group ------------------------------------------------------------------------


def test_default_group_has_aws_default_rules_and_goes_with_its_vpc(nubo, ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.120.0.0/16")["Vpc"]["VpcId"]
    try:
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
        assert len(groups) == 1, groups
        group = groups[0]
        gid = group["GroupId"]
        assert SG_ID.match(gid), gid
        assert group["GroupName"] == "default"
        assert group["Description"] == "default VPC security group"
        assert group["OwnerId"] == nubo.admin.account_id
        assert group["VpcId"] == vpc_id
        assert group["SecurityGroupArn"].endswith(f":security-group/{gid}")
        assert group["IpPermissions"] == [{
            "IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
            "UserIdGroupPairs": [{"GroupId": gid, "UserId": nubo.admin.account_id}]}]
        assert group["IpPermissionsEgress"] == [{
            "IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [],
            "PrefixListIds": [], "UserIdGroupPairs": []}]

        err = expect_error("CannotDelete", ec2.delete_security_group, GroupId=gid, status=400)
        assert gid in err.response["Error"]["Message"]
        assert describe_group(ec2, gid)["GroupName"] == "default"
    finally:
        ec2.delete_vpc(VpcId=vpc_id)
    expect_error("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=[gid])
    assert group_ids(ec2, {"Name": "vpc-id", "Values": [vpc_id]}) == set()


def test_other_groups_block_delete_vpc(ec2, make_vpc):
    vpc_id = make_vpc("10.121.0.0/16")["VpcId"]
    gid = ec2.create_security_group(GroupName=unique("grp"), Description="blocks",
                                    VpcId=vpc_id)["GroupId"]
    err = expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id, status=400)
    assert gid in err.response["Error"]["Message"]
    ec2.describe_vpcs(VpcIds=[vpc_id])
    ec2.delete_security_group(GroupId=gid)
    ec2.delete_vpc(VpcId=vpc_id)
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[vpc_id])


# ---- groups ---------------------------------------------------------------------------------------


def test_create_describe_filter_delete(nubo, ec2, make_vpc):
    vpc_id = make_vpc("10.122.0.0/16")["VpcId"]
    name = unique("web")
    out = ec2.create_security_group(
        GroupName=name, Description="web servers", VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "Name", "Value": name}]}])
    gid = out["GroupId"]
    try:
        assert SG_ID.match(gid), gid
        assert out["SecurityGroupArn"] == (
            f"arn:aws:ec2:us-east-1:{nubo.admin.account_id}:security-group/{gid}")
        assert tags_of(out) == {"Name": name}
        group = describe_group(ec2, gid)
        assert (group["GroupName"], group["Description"], group["VpcId"]) == (
            name, "web servers", vpc_id)
        assert group["IpPermissions"] == []
        # Every new group may send anywhere.
        assert [r["CidrIp"] for p in group["IpPermissionsEgress"] for r in p["IpRanges"]] == [
            "0.0.0.0/0"]
        assert tags_of(group) == {"Name": name}

        by_name = ec2.describe_security_groups(GroupNames=[name])["SecurityGroups"]
        assert [g["GroupId"] for g in by_name] == [gid]
        assert group_ids(ec2, {"Name": "group-name", "Values": [name]}) == {gid}
        assert group_ids(ec2, {"Name": "tag:Name", "Values": [name]}) == {gid}
        assert group_ids(ec2, {"Name": "vpc-id", "Values": [vpc_id]},
                         {"Name": "description", "Values": ["web *"]}) == {gid}
        assert group_ids(ec2, {"Name": "group-id", "Values": [gid]},
                         {"Name": "owner-id", "Values": [nubo.admin.account_id]}) == {gid}
        expect_error("InvalidParameterValue", ec2.describe_security_groups,
                     Filters=[{"Name": "flavour", "Values": ["x"]}])

        expect_error("InvalidGroup.Duplicate", ec2.create_security_group, GroupName=name,
                     Description="again", VpcId=vpc_id, status=400)
        for bad in ("sg-web", "default", "x" * 256):
            expect_error("InvalidParameterValue", ec2.create_security_group, GroupName=bad,
                         Description="bad", VpcId=vpc_id)
        expect_error("InvalidVpcID.NotFound", ec2.create_security_group, GroupName=unique("grp"),
                     Description="d", VpcId="vpc-0123456789abcdef0")
        expect_error("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=[MISSING_SG])
        expect_error("InvalidGroup.NotFound", ec2.describe_security_groups,
                     GroupNames=[unique("nope")])
        for bad in ("sg-xyz!", "vpc-12345678", "12345678"):
            expect_error("InvalidGroupId.Malformed", ec2.describe_security_groups, GroupIds=[bad])
            expect_error("InvalidGroupId.Malformed", ec2.delete_security_group, GroupId=bad)
    finally:
        ec2.delete_security_group(GroupId=gid)
    expect_error("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=[gid])
    expect_error("InvalidGroup.NotFound", ec2.delete_security_group, GroupId=gid)


def test_create_security_group_requires_vpc_and_description(nubo, make_vpc):
    vpc_id = make_vpc("10.123.0.0/16")["VpcId"]
    r = nubo.raw("ec2", {"Action": "CreateSecurityGroup", "GroupName": unique("grp"),
                         "GroupDescription": "no vpc"})
    assert r.status == 400 and r.code == "MissingParameter", r.body
    r = nubo.raw("ec2", {"Action": "CreateSecurityGroup", "GroupName": unique("grp"),
                         "VpcId": vpc_id})
    assert r.status == 400 and r.code == "MissingParameter", r.body
    # The wire name is GroupDescription; botocore's member name is refused.
    r = nubo.raw("ec2", {"Action": "CreateSecurityGroup", "GroupName": unique("grp"),
                         "Description": "x", "VpcId": vpc_id})
    assert r.status == 400 and r.code == "UnknownParameter", r.body


def test_delete_by_group_name(ec2, make_vpc):
    vpc_id = make_vpc("10.124.0.0/16")["VpcId"]
    name = unique("byname")
    gid = ec2.create_security_group(GroupName=name, Description="d", VpcId=vpc_id)["GroupId"]
    out = ec2.delete_security_group(GroupName=name)
    assert out["Return"] is True and out["GroupId"] == gid
    expect_error("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=[gid])


# ---- rules --------------------------------------------------------------------------------------


def test_authorize_and_revoke_ingress(nubo, ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.125.0.0/16")["VpcId"]
    web, app = make_group(vpc_id), make_group(vpc_id)
    out = ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        tcp(22, "10.0.0.0/8", "192.168.0.0/16"),
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": app, "Description": "from app"}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ])
    assert out["Return"] is True
    rules = out["SecurityGroupRules"]
    assert len(rules) == 4
    assert all(SGR_ID.match(r["SecurityGroupRuleId"]) for r in rules), rules
    assert all(r["GroupId"] == web and r["IsEgress"] is False for r in rules)
    assert {r.get("CidrIpv4") for r in rules} == {"10.0.0.0/8", "192.168.0.0/16", None, "0.0.0.0/0"}
    [ref] = [r for r in rules if "ReferencedGroupInfo" in r]
    assert ref["ReferencedGroupInfo"]["GroupId"] == app
    assert ref["IpProtocol"] == "-1" and ref["Description"] == "from app"

    perms = describe_group(ec2, web)["IpPermissions"]
    ssh = [p for p in perms if p["IpProtocol"] == "tcp"]
    assert ssh == [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                    "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "192.168.0.0/16"}],
                    "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]
    [everything] = [p for p in perms if p["IpProtocol"] == "-1"]
    assert everything["UserIdGroupPairs"] == [
        {"GroupId": app, "UserId": nubo.admin.account_id, "Description": "from app"}]
    assert "FromPort" not in everything
    assert group_ids(ec2, {"Name": "ip-permission.cidr", "Values": ["192.168.0.0/16"]}) == {web}
    assert group_ids(ec2, {"Name": "ip-permission.group-id", "Values": [app]}) == {web}
    assert web in group_ids(ec2, {"Name": "ip-permission.from-port", "Values": ["22"]},
                            {"Name": "ip-permission.protocol", "Values": ["tcp"]})

    # Duplicates (descriptions do not matter) change nothing.
    expect_error("InvalidPermission.Duplicate", ec2.authorize_security_group_ingress, GroupId=web,
                 IpPermissions=[tcp(80, "0.0.0.0/0"), {
                     **tcp(22), "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "x"}]}],
                 status=400)
    assert len(ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [web]}])["SecurityGroupRules"]) == 4 + 1

    # The legacy flat form.
    ec2.authorize_security_group_ingress(GroupId=web, IpProtocol="udp", FromPort=53, ToPort=53,
                                         CidrIp="10.1.0.0/16")
    assert any(p["IpProtocol"] == "udp" for p in describe_group(ec2, web)["IpPermissions"])
    ec2.revoke_security_group_ingress(GroupId=web, IpProtocol="udp", FromPort=53, ToPort=53,
                                      CidrIp="10.1.0.0/16")

    out = ec2.revoke_security_group_ingress(GroupId=web, IpPermissions=[tcp(22, "10.0.0.0/8")])
    assert out["Return"] is True
    expect_error("InvalidPermission.NotFound", ec2.revoke_security_group_ingress, GroupId=web,
                 IpPermissions=[tcp(22, "10.0.0.0/8")], status=400)
    ec2.revoke_security_group_ingress(GroupId=web, SecurityGroupRuleIds=[ref["SecurityGroupRuleId"]])
    left = describe_group(ec2, web)["IpPermissions"]
    assert [(p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]]) for p in left] == [
        ("tcp", ["192.168.0.0/16"]), ("icmp", ["0.0.0.0/0"])]


@pytest.mark.parametrize("perm", [
    {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65536, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "udp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "icmp", "FromPort": -1, "ToPort": 3, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "gopher", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.1/8"}]},
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "banana"}]},
], ids=["from-gt-to", "port-too-big", "udp-no-ports", "icmp-code-without-type", "protocol",
        "cidr-host-bits", "cidr-garbage"])
def test_invalid_rules_are_refused(ec2, make_vpc, make_group, perm):
    vpc_id = make_vpc("10.126.0.0/16")["VpcId"]
    gid = make_group(vpc_id)
    expect_error("InvalidParameterValue", ec2.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[perm], status=400)
    assert describe_group(ec2, gid)["IpPermissions"] == []


def test_group_references_must_exist_in_the_same_vpc(ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.127.0.0/16")["VpcId"]
    other_vpc = make_vpc("10.128.0.0/16")["VpcId"]
    web, elsewhere = make_group(vpc_id), make_group(other_vpc)
    expect_error("InvalidGroup.NotFound", ec2.authorize_security_group_ingress, GroupId=web,
                 IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": MISSING_SG}]}])
    expect_error("InvalidParameterValue", ec2.authorize_security_group_ingress, GroupId=web,
                 IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": elsewhere}]}])
    # A group of another account exists for the caller only across an active peering.
    expect_error("InvalidGroup.NotFound", ec2.authorize_security_group_ingress, GroupId=web,
                 IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [
                     {"GroupId": web, "UserId": "000000000000"}]}])
    expect_error("InvalidGroup.NotFound", ec2.authorize_security_group_ingress, GroupId=MISSING_SG,
                 IpPermissions=[tcp(22, "0.0.0.0/0")])


def test_authorize_and_revoke_egress(ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.129.0.0/16")["VpcId"]
    web, db = make_group(vpc_id), make_group(vpc_id)
    out = ec2.authorize_security_group_egress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": db}]},
        tcp(443, "0.0.0.0/0")])
    assert [r["IsEgress"] for r in out["SecurityGroupRules"]] == [True, True]
    ec2.revoke_security_group_egress(GroupId=web, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    egress = describe_group(ec2, web)["IpPermissionsEgress"]
    assert sorted((p["IpProtocol"], p.get("FromPort")) for p in egress) == [
        ("tcp", 443), ("tcp", 5432)]
    assert group_ids(ec2, {"Name": "egress.ip-permission.group-id", "Values": [db]}) == {web}
    expect_error("InvalidPermission.NotFound", ec2.revoke_security_group_egress, GroupId=web,
                 IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    expect_error("InvalidPermission.Duplicate", ec2.authorize_security_group_egress, GroupId=web,
                 IpPermissions=[tcp(443, "0.0.0.0/0")])
    # Referenced by web's egress rule: db cannot go until the rule does.
    expect_error("DependencyViolation", ec2.delete_security_group, GroupId=db)
    ec2.revoke_security_group_egress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": db}]}])
    ec2.delete_security_group(GroupId=db)


def test_referenced_group_cannot_be_deleted(ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.130.0.0/16")["VpcId"]
    web, app = make_group(vpc_id), make_group(vpc_id)
    perm = {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
            "UserIdGroupPairs": [{"GroupId": app}]}
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[perm])
    err = expect_error("DependencyViolation", ec2.delete_security_group, GroupId=app, status=400)
    assert err.response["Error"]["Message"] == f"resource {app} has a dependent object"
    describe_group(ec2, app)
    ec2.revoke_security_group_ingress(GroupId=web, IpPermissions=[perm])
    ec2.delete_security_group(GroupId=app)
    expect_error("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=[app])


def test_rule_limit_is_sixty_per_direction(ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.131.0.0/16")["VpcId"]
    gid = make_group(vpc_id)
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        tcp(443, *[f"10.{i}.0.0/16" for i in range(60)])])
    expect_error("RulesPerSecurityGroupLimitExceeded", ec2.authorize_security_group_ingress,
                 GroupId=gid, IpPermissions=[tcp(443, "10.200.0.0/16")], status=400)
    assert len(describe_group(ec2, gid)["IpPermissions"][0]["IpRanges"]) == 60


def test_describe_and_modify_security_group_rules(nubo, ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.132.0.0/16")["VpcId"]
    gid = make_group(vpc_id)
    added = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        tcp(p, "10.0.0.0/8") for p in range(1000, 1007)])["SecurityGroupRules"]
    ids = {r["SecurityGroupRuleId"] for r in added}
    mine = [{"Name": "group-id", "Values": [gid]}]

    seen, token = [], None
    while True:
        page = ec2.describe_security_group_rules(Filters=mine, MaxResults=5,
                                                 **({"NextToken": token} if token else {}))
        assert len(page["SecurityGroupRules"]) <= 5
        seen += [r["SecurityGroupRuleId"] for r in page["SecurityGroupRules"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 8  # 7 ingress + the default egress rule
    assert ids <= set(seen)
    [egress] = [r for r in ec2.describe_security_group_rules(Filters=mine)["SecurityGroupRules"]
                if r["IsEgress"]]
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"], egress["CidrIpv4"]) == (
        "-1", -1, -1, "0.0.0.0/0")
    assert egress["GroupOwnerId"] == nubo.admin.account_id
    assert egress["SecurityGroupRuleArn"].endswith(f":security-group-rule/{egress['SecurityGroupRuleId']}")

    first = added[0]["SecurityGroupRuleId"]
    ec2.modify_security_group_rules(GroupId=gid, SecurityGroupRules=[{
        "SecurityGroupRuleId": first,
        "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 2000, "ToPort": 2010,
                              "CidrIpv4": "172.16.0.0/12", "Description": "changed"}}])
    [rule] = ec2.describe_security_group_rules(SecurityGroupRuleIds=[first])["SecurityGroupRules"]
    assert (rule["FromPort"], rule["ToPort"], rule["CidrIpv4"], rule["Description"]) == (
        2000, 2010, "172.16.0.0/12", "changed")
    # Modifying into a copy of another rule is a duplicate.
    expect_error("InvalidPermission.Duplicate", ec2.modify_security_group_rules, GroupId=gid,
                 SecurityGroupRules=[{"SecurityGroupRuleId": first, "SecurityGroupRule": {
                     "IpProtocol": "tcp", "FromPort": 1001, "ToPort": 1001,
                     "CidrIpv4": "10.0.0.0/8"}}])
    expect_error("InvalidSecurityGroupRuleId.NotFound", ec2.describe_security_group_rules,
                 SecurityGroupRuleIds=["sgr-0123456789abcdef0"])
    expect_error("InvalidSecurityGroupRuleId.Malformed", ec2.describe_security_group_rules,
                 SecurityGroupRuleIds=["sgr-nope!"])


def test_rules_can_be_tagged(ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.137.0.0/16")["VpcId"]
    gid = make_group(vpc_id)
    run = unique("run")
    [rule] = ec2.authorize_security_group_ingress(
        GroupId=gid, IpPermissions=[tcp(22, "10.0.0.0/8")],
        TagSpecifications=[{"ResourceType": "security-group-rule",
                            "Tags": [{"Key": "run", "Value": run}]}])["SecurityGroupRules"]
    rid = rule["SecurityGroupRuleId"]
    assert tags_of(rule) == {"run": run}
    ec2.create_tags(Resources=[rid], Tags=[{"Key": "Name", "Value": "ssh"}])
    found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [rid]}])["Tags"]
    assert sorted((t["Key"], t["Value"], t["ResourceType"]) for t in found) == [
        ("Name", "ssh", "security-group-rule"), ("run", run, "security-group-rule")]
    [tagged] = ec2.describe_security_group_rules(
        Filters=[{"Name": "tag:run", "Values": [run]}])["SecurityGroupRules"]
    assert tagged["SecurityGroupRuleId"] == rid and tags_of(tagged) == {"run": run, "Name": "ssh"}
    ec2.delete_tags(Resources=[rid], Tags=[{"Key": "Name"}])
    [tagged] = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rid])["SecurityGroupRules"]
    assert tags_of(tagged) == {"run": run}
    expect_error("InvalidSecurityGroupRuleId.NotFound", ec2.create_tags,
                 Resources=["sgr-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])


# ---- DryRun, IAM, tenancy ---------------------------------------------------------------------------


def test_dry_run_changes_nothing(ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.133.0.0/16")["VpcId"]
    gid = make_group(vpc_id)
    name = unique("dry")
    expect_error("DryRunOperation", ec2.create_security_group, GroupName=name, Description="d",
                 VpcId=vpc_id, DryRun=True, status=412)
    assert group_ids(ec2, {"Name": "group-name", "Values": [name]}) == set()
    expect_error("DryRunOperation", ec2.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[tcp(22, "0.0.0.0/0")], DryRun=True)
    expect_error("DryRunOperation", ec2.authorize_security_group_egress, GroupId=gid,
                 IpPermissions=[tcp(22, "0.0.0.0/0")], DryRun=True)
    expect_error("DryRunOperation", ec2.revoke_security_group_egress, GroupId=gid,
                 IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
                 DryRun=True)
    expect_error("DryRunOperation", ec2.delete_security_group, GroupId=gid, DryRun=True)
    expect_error("DryRunOperation", ec2.describe_security_groups, DryRun=True)
    group = describe_group(ec2, gid)
    assert group["IpPermissions"] == [] and len(group["IpPermissionsEgress"]) == 1
    # A dry run still validates.
    expect_error("InvalidPermission.NotFound", ec2.revoke_security_group_ingress, GroupId=gid,
                 IpPermissions=[tcp(22, "0.0.0.0/0")], DryRun=True)
    expect_error("InvalidGroup.NotFound", ec2.delete_security_group, GroupId=MISSING_SG,
                 DryRun=True)


def test_iam_policies_apply_to_security_group_actions(nubo, ec2, make_vpc, make_group):
    vpc_id = make_vpc("10.134.0.0/16")["VpcId"]
    gid = make_group(vpc_id)
    reader = nubo.make_user(policy_doc(allow("ec2:DescribeSecurityGroups")))
    client = nubo.client("ec2", reader.creds)
    assert describe_group(client, gid)["GroupId"] == gid
    expect_error("UnauthorizedOperation", client.create_security_group, GroupName=unique("grp"),
                 Description="d", VpcId=vpc_id, status=403)
    expect_error("UnauthorizedOperation", client.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[tcp(22, "0.0.0.0/0")])
    # Authorization is per group ARN.
    scoped = nubo.make_user(policy_doc(allow("ec2:AuthorizeSecurityGroupIngress",
                                             f"arn:aws:ec2:*:*:security-group/{gid}")))
    scoped_client = nubo.client("ec2", scoped.creds)
    scoped_client.authorize_security_group_ingress(GroupId=gid, IpPermissions=[tcp(22, "0.0.0.0/0")])
    other = make_group(vpc_id)
    expect_error("UnauthorizedOperation", scoped_client.authorize_security_group_ingress,
                 GroupId=other, IpPermissions=[tcp(22, "0.0.0.0/0")])


def test_other_accounts_cannot_see_or_touch_groups(nubo, ec2, account, make_vpc, make_group):
    vpc_id = make_vpc("10.135.0.0/16")["VpcId"]
    gid = make_group(vpc_id)
    theirs = nubo.client("ec2", account.creds)
    assert gid not in {g["GroupId"] for g in theirs.describe_security_groups()["SecurityGroups"]}
    expect_error("InvalidGroup.NotFound", theirs.describe_security_groups, GroupIds=[gid])
    expect_error("InvalidGroup.NotFound", theirs.delete_security_group, GroupId=gid)
    expect_error("InvalidGroup.NotFound", theirs.authorize_security_group_ingress, GroupId=gid,
                 IpPermissions=[tcp(22, "0.0.0.0/0")])
    expect_error("InvalidVpcID.NotFound", theirs.create_security_group, GroupName=unique("grp"),
                 Description="d", VpcId=vpc_id)
    their_vpc = theirs.create_vpc(CidrBlock="10.135.0.0/16")["Vpc"]["VpcId"]
    try:
        their_default = default_group(theirs, their_vpc)["GroupId"]
        expect_error("InvalidGroup.NotFound", theirs.authorize_security_group_ingress,
                     GroupId=their_default,
                     IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}])
    finally:
        theirs.delete_vpc(VpcId=their_vpc)
    describe_group(ec2, gid)


# ---- AWS CLI ------------------------------------------------------------------------------------------


def test_security_groups_with_aws_cli(nubo, make_vpc, cleanup):
    vpc_id = make_vpc("10.136.0.0/16")["VpcId"]
    name = unique("cli-sg")
    out = nubo.aws("ec2", "create-security-group", "--group-name", name, "--description",
                   "cli group", "--vpc-id", vpc_id, "--tag-specifications",
                   f"ResourceType=security-group,Tags=[{{Key=Name,Value={name}}}]")
    gid = out["GroupId"]
    cleanup(lambda: nubo.aws("ec2", "delete-security-group", "--group-id", gid))
    assert SG_ID.match(gid)

    rules = nubo.aws("ec2", "authorize-security-group-ingress", "--group-id", gid, "--protocol",
                     "tcp", "--port", "22", "--cidr", "10.0.0.0/8")["SecurityGroupRules"]
    assert [(r["FromPort"], r["ToPort"], r["CidrIpv4"]) for r in rules] == [(22, 22, "10.0.0.0/8")]
    nubo.aws("ec2", "authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
             "--port", "8000-8080", "--source-group", gid)
    nubo.aws("ec2", "authorize-security-group-egress", "--group-id", gid, "--ip-permissions",
             "IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=10.0.0.2/32}]")

    [group] = nubo.aws("ec2", "describe-security-groups", "--group-ids", gid)["SecurityGroups"]
    assert tags_of(group) == {"Name": name}
    ingress = sorted((p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in group["IpPermissions"])
    assert ingress == [("tcp", 22, 22), ("tcp", 8000, 8080)]
    assert len(group["IpPermissionsEgress"]) == 2
    found = nubo.aws("ec2", "describe-security-groups", "--filters",
                     f"Name=group-name,Values={name}")["SecurityGroups"]
    assert [g["GroupId"] for g in found] == [gid]
    listed = nubo.aws("ec2", "describe-security-group-rules", "--filters",
                      f"Name=group-id,Values={gid}")["SecurityGroupRules"]
    assert len(listed) == 4

    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
                 "--port", "22", "--cidr", "10.0.0.0/8")
    assert info.value.code == "InvalidPermission.Duplicate", info.value.stderr
    nubo.aws("ec2", "revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
             "--port", "22", "--cidr", "10.0.0.0/8")
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
                 "--port", "22", "--cidr", "10.0.0.0/8")
    assert info.value.code == "InvalidPermission.NotFound", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-security-group", "--group-id", gid, "--dry-run")
    assert info.value.code == "DryRunOperation", info.value.stderr

    nubo.aws("ec2", "revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp",
             "--port", "8000-8080", "--source-group", gid)
    nubo.aws("ec2", "delete-security-group", "--group-id", gid)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-security-groups", "--group-ids", gid)
    assert info.value.code == "InvalidGroup.NotFound", info.value.stderr
