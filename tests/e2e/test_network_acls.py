"""Network ACLs: the default ACL of each VPC and the association of every subnet with it, custom
ACLs and their entries with AWS's errors, moving a subnet's association, filters and pages,
DryRun, IAM and tenancy, through boto3 and the AWS CLI."""

import re

import pytest
from conftest import AwsCliError, allow, expect_error, policy_doc, tags_of, unique

ACL_ID = re.compile(r"^acl-[0-9a-f]{8}([0-9a-f]{9})?$")
ASSOC_ID = re.compile(r"^aclassoc-[0-9a-f]{8}([0-9a-f]{9})?$")
MISSING_ACL = "acl-0123456789abcdef0"


@pytest.fixture
def make_subnet(nubo, cleanup):
    """make_subnet(vpc_id, cidr, client=None) -> SubnetId; deleted after the test."""

    def make(vpc_id, cidr, client=None):
        client = client or nubo.client("ec2")
        subnet_id = client.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"]
        cleanup(lambda: client.delete_subnet(SubnetId=subnet_id))
        return subnet_id

    return make


@pytest.fixture
def make_acl(nubo, cleanup):
    """make_acl(vpc_id, client=None, **kwargs) -> the created NetworkAcl; deleted after the test."""

    def make(vpc_id, client=None, **kwargs):
        client = client or nubo.client("ec2")
        acl = client.create_network_acl(VpcId=vpc_id, **kwargs)["NetworkAcl"]
        cleanup(lambda: client.delete_network_acl(NetworkAclId=acl["NetworkAclId"]))
        return acl

    return make


def describe_acl(client, acl_id) -> dict:
    [acl] = client.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"]
    return acl


def default_acl(client, vpc_id) -> dict:
    [acl] = client.describe_network_acls(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    return acl


def entry_keys(acl) -> list:
    return [(e["Egress"], e["RuleNumber"], e["RuleAction"]) for e in acl["Entries"]]


def acl_ids(client, *filters) -> set:
    return {a["NetworkAclId"] for a in
            client.describe_network_acls(Filters=list(filters))["NetworkAcls"]}


def star(egress):
    return {"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "deny",
            "RuleNumber": 32767}


def tcp_entry(acl_id, rule, egress=False, action="allow", ports=(80, 80), cidr="10.0.0.0/8"):
    return dict(NetworkAclId=acl_id, RuleNumber=rule, Protocol="6", RuleAction=action,
                Egress=egress, CidrBlock=cidr, PortRange={"From": ports[0], "To": ports[1]})


# ---- the default ACL ----------------------------------------------------------------------------


def test_default_acl_and_subnet_associations(nubo, ec2, make_vpc, make_subnet):
    vpc_id = make_vpc("10.160.0.0/16")["VpcId"]
    acls = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NetworkAcls"]
    assert len(acls) == 1, acls
    acl = acls[0]
    acl_id = acl["NetworkAclId"]
    assert ACL_ID.match(acl_id), acl_id
    assert acl["IsDefault"] is True
    assert acl["VpcId"] == vpc_id
    assert acl["OwnerId"] == nubo.admin.account_id
    assert acl["Associations"] == []
    allow_all = lambda egress: {"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1",  # noqa: E731
                                "RuleAction": "allow", "RuleNumber": 100}
    assert acl["Entries"] == [allow_all(True), star(True), allow_all(False), star(False)]

    s1 = make_subnet(vpc_id, "10.160.1.0/24")
    s2 = make_subnet(vpc_id, "10.160.2.0/24")
    acl = describe_acl(ec2, acl_id)
    assert {a["SubnetId"] for a in acl["Associations"]} == {s1, s2}
    for a in acl["Associations"]:
        assert ASSOC_ID.match(a["NetworkAclAssociationId"]), a
        assert a["NetworkAclId"] == acl_id
    assert acl_ids(ec2, {"Name": "association.subnet-id", "Values": [s1]}) == {acl_id}

    err = expect_error("DependencyViolation", ec2.delete_network_acl, NetworkAclId=acl_id,
                       status=400)
    assert acl_id in err.response["Error"]["Message"]

    ec2.delete_subnet(SubnetId=s1)
    assert [a["SubnetId"] for a in describe_acl(ec2, acl_id)["Associations"]] == [s2]
    ec2.delete_subnet(SubnetId=s2)
    assert describe_acl(ec2, acl_id)["Associations"] == []

    ec2.delete_vpc(VpcId=vpc_id)
    expect_error("InvalidNetworkAclID.NotFound", ec2.describe_network_acls, NetworkAclIds=[acl_id])


def test_custom_acl_blocks_delete_vpc(ec2, make_vpc):
    vpc_id = make_vpc("10.161.0.0/16")["VpcId"]
    acl_id = ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
    expect_error("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)
    ec2.delete_network_acl(NetworkAclId=acl_id)
    ec2.delete_vpc(VpcId=vpc_id)


# ---- custom ACLs and entries ----------------------------------------------------------------------


def test_custom_acl_entries(ec2, make_vpc, make_acl):
    vpc_id = make_vpc("10.162.0.0/16")["VpcId"]
    name = unique("acl")
    acl = make_acl(vpc_id, TagSpecifications=[
        {"ResourceType": "network-acl", "Tags": [{"Key": "Name", "Value": name}]}])
    acl_id = acl["NetworkAclId"]
    assert ACL_ID.match(acl_id)
    assert acl["IsDefault"] is False and acl["VpcId"] == vpc_id
    assert tags_of(acl) == {"Name": name}
    assert acl["Entries"] == [star(True), star(False)]
    assert acl["Associations"] == []

    ec2.create_network_acl_entry(**tcp_entry(acl_id, 110, ports=(80, 443)))
    ec2.create_network_acl_entry(**tcp_entry(acl_id, 100, egress=True, ports=(1024, 65535)))
    ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=90, Protocol="1",
                                 RuleAction="deny", Egress=False, CidrBlock="192.168.0.0/16",
                                 IcmpTypeCode={"Type": 8, "Code": -1})
    ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=120, Protocol="-1",
                                 RuleAction="allow", Egress=False, CidrBlock="10.162.0.0/16")
    acl = describe_acl(ec2, acl_id)
    assert entry_keys(acl) == [(True, 100, "allow"), (True, 32767, "deny"), (False, 90, "deny"),
                               (False, 110, "allow"), (False, 120, "allow"),
                               (False, 32767, "deny")]
    by_rule = {(e["Egress"], e["RuleNumber"]): e for e in acl["Entries"]}
    assert by_rule[(False, 110)] == {"CidrBlock": "10.0.0.0/8", "Egress": False, "Protocol": "6",
                                     "RuleAction": "allow", "RuleNumber": 110,
                                     "PortRange": {"From": 80, "To": 443}}
    assert by_rule[(False, 90)]["IcmpTypeCode"] == {"Type": 8, "Code": -1}
    assert by_rule[(False, 90)]["Protocol"] == "1"
    assert "PortRange" not in by_rule[(False, 120)]

    ec2.replace_network_acl_entry(**tcp_entry(acl_id, 110, action="deny", ports=(22, 22)))
    replaced = {(e["Egress"], e["RuleNumber"]): e for e in describe_acl(ec2, acl_id)["Entries"]}
    assert replaced[(False, 110)]["RuleAction"] == "deny"
    assert replaced[(False, 110)]["PortRange"] == {"From": 22, "To": 22}

    ec2.delete_network_acl_entry(NetworkAclId=acl_id, RuleNumber=120, Egress=False)
    assert (False, 120, "allow") not in entry_keys(describe_acl(ec2, acl_id))

    # Filters over entries and the ACL itself.
    assert acl_ids(ec2, {"Name": "entry.rule-number", "Values": ["110"]}) == {acl_id}
    assert acl_ids(ec2, {"Name": "entry.port-range.from", "Values": ["1024"]}) == {acl_id}
    assert acl_ids(ec2, {"Name": "entry.icmp.type", "Values": ["8"]}) == {acl_id}
    assert acl_ids(ec2, {"Name": "tag:Name", "Values": [name]}) == {acl_id}
    assert acl_ids(ec2, {"Name": "vpc-id", "Values": [vpc_id]},
                   {"Name": "default", "Values": ["false"]}) == {acl_id}


def test_entry_errors(ec2, make_vpc, make_acl):
    vpc_id = make_vpc("10.163.0.0/16")["VpcId"]
    acl_id = make_acl(vpc_id)["NetworkAclId"]
    ec2.create_network_acl_entry(**tcp_entry(acl_id, 100))
    expect_error("NetworkAclEntryAlreadyExists", ec2.create_network_acl_entry,
                 **tcp_entry(acl_id, 100, ports=(22, 22)))
    # The same number in the other direction is another entry.
    ec2.create_network_acl_entry(**tcp_entry(acl_id, 100, egress=True))
    expect_error("InvalidNetworkAclEntry.NotFound", ec2.replace_network_acl_entry,
                 **tcp_entry(acl_id, 101))
    expect_error("InvalidNetworkAclEntry.NotFound", ec2.delete_network_acl_entry,
                 NetworkAclId=acl_id, RuleNumber=101, Egress=False)
    for rule in (0, 32767):
        expect_error("InvalidParameterValue", ec2.create_network_acl_entry,
                     **tcp_entry(acl_id, rule))
    expect_error("InvalidParameterValue", ec2.create_network_acl_entry,
                 **tcp_entry(acl_id, 5, action="reject"))
    expect_error("InvalidParameterValue", ec2.create_network_acl_entry,
                 **tcp_entry(acl_id, 5, ports=(90, 80)))
    expect_error("InvalidParameterValue", ec2.create_network_acl_entry,
                 **tcp_entry(acl_id, 5, cidr="10.0.0.300/8"))
    expect_error("MissingParameter", ec2.create_network_acl_entry, NetworkAclId=acl_id,
                 RuleNumber=5, Protocol="6", RuleAction="allow", Egress=False,
                 CidrBlock="10.0.0.0/8")
    expect_error("InvalidNetworkAclID.NotFound", ec2.create_network_acl_entry,
                 **tcp_entry(MISSING_ACL, 5))
    expect_error("InvalidNetworkAclID.Malformed", ec2.delete_network_acl, NetworkAclId="acl-xyz")
    assert len(describe_acl(ec2, acl_id)["Entries"]) == 4

    # Twenty entries per direction.
    for rule in range(1, 20):
        ec2.create_network_acl_entry(**tcp_entry(acl_id, rule))
    expect_error("NetworkAclEntryLimitExceeded", ec2.create_network_acl_entry,
                 **tcp_entry(acl_id, 200))
    ec2.create_network_acl_entry(**tcp_entry(acl_id, 200, egress=True))


def test_replace_association(ec2, make_vpc, make_subnet, make_acl):
    vpc_id = make_vpc("10.164.0.0/16")["VpcId"]
    other_vpc = make_vpc("10.165.0.0/16")["VpcId"]
    subnet_id = make_subnet(vpc_id, "10.164.1.0/24")
    default = default_acl(ec2, vpc_id)
    custom_id = make_acl(vpc_id)["NetworkAclId"]
    elsewhere_id = make_acl(other_vpc)["NetworkAclId"]
    [old] = default["Associations"]

    expect_error("InvalidParameterValue", ec2.replace_network_acl_association,
                 AssociationId=old["NetworkAclAssociationId"], NetworkAclId=elsewhere_id)
    expect_error("InvalidAssociationID.NotFound", ec2.replace_network_acl_association,
                 AssociationId="aclassoc-0123456789abcdef0", NetworkAclId=custom_id)
    expect_error("InvalidNetworkAclID.NotFound", ec2.replace_network_acl_association,
                 AssociationId=old["NetworkAclAssociationId"], NetworkAclId=MISSING_ACL)

    new_id = ec2.replace_network_acl_association(
        AssociationId=old["NetworkAclAssociationId"], NetworkAclId=custom_id)["NewAssociationId"]
    assert ASSOC_ID.match(new_id) and new_id != old["NetworkAclAssociationId"]
    assert describe_acl(ec2, default["NetworkAclId"])["Associations"] == []
    assert describe_acl(ec2, custom_id)["Associations"] == [
        {"NetworkAclAssociationId": new_id, "NetworkAclId": custom_id, "SubnetId": subnet_id}]
    assert acl_ids(ec2, {"Name": "association.association-id", "Values": [new_id]}) == {custom_id}

    expect_error("DependencyViolation", ec2.delete_network_acl, NetworkAclId=custom_id)
    # Move it back; the custom ACL can go.
    back = ec2.replace_network_acl_association(
        AssociationId=new_id, NetworkAclId=default["NetworkAclId"])["NewAssociationId"]
    assert [a["NetworkAclAssociationId"] for a in
            describe_acl(ec2, default["NetworkAclId"])["Associations"]] == [back]
    ec2.delete_network_acl(NetworkAclId=custom_id)
    expect_error("InvalidNetworkAclID.NotFound", ec2.delete_network_acl, NetworkAclId=custom_id)


def test_pagination_walks_every_acl_once(ec2, make_vpc, make_acl):
    vpc_id = make_vpc("10.166.0.0/16")["VpcId"]
    created = {make_acl(vpc_id)["NetworkAclId"] for _ in range(6)}
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc_id]}]
    seen, token = [], None
    while True:
        kwargs = {"Filters": vpc_filter, "MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        page = ec2.describe_network_acls(**kwargs)
        seen += [a["NetworkAclId"] for a in page["NetworkAcls"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7
    assert created <= set(seen)
    expect_error("InvalidParameterValue", ec2.describe_network_acls,
                 Filters=[{"Name": "color", "Values": ["red"]}])


# ---- DryRun, IAM, tenancy ---------------------------------------------------------------------------


def test_dry_run_changes_nothing(ec2, make_vpc, make_subnet, make_acl):
    vpc_id = make_vpc("10.167.0.0/16")["VpcId"]
    make_subnet(vpc_id, "10.167.1.0/24")
    acl_id = make_acl(vpc_id)["NetworkAclId"]
    [assoc] = default_acl(ec2, vpc_id)["Associations"]
    expect_error("DryRunOperation", ec2.create_network_acl, VpcId=vpc_id, DryRun=True, status=412)
    expect_error("DryRunOperation", ec2.create_network_acl_entry, **tcp_entry(acl_id, 100),
                 DryRun=True)
    expect_error("DryRunOperation", ec2.replace_network_acl_association,
                 AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=acl_id, DryRun=True)
    expect_error("DryRunOperation", ec2.delete_network_acl, NetworkAclId=acl_id, DryRun=True)
    expect_error("DryRunOperation", ec2.describe_network_acls, DryRun=True)
    assert len(ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NetworkAcls"]) == 2
    assert describe_acl(ec2, acl_id)["Entries"] == [star(True), star(False)]
    assert default_acl(ec2, vpc_id)["Associations"] == [assoc]
    # A dry run still validates.
    expect_error("InvalidNetworkAclEntry.NotFound", ec2.delete_network_acl_entry,
                 NetworkAclId=acl_id, RuleNumber=100, Egress=False, DryRun=True)
    expect_error("InvalidNetworkAclID.NotFound", ec2.delete_network_acl,
                 NetworkAclId=MISSING_ACL, DryRun=True)


def test_iam_policies_apply_to_network_acl_actions(nubo, ec2, make_vpc, make_acl):
    vpc_id = make_vpc("10.168.0.0/16")["VpcId"]
    acl_id = make_acl(vpc_id)["NetworkAclId"]
    other_id = make_acl(vpc_id)["NetworkAclId"]
    reader = nubo.make_user(policy_doc(allow("ec2:DescribeNetworkAcls")))
    client = nubo.client("ec2", reader.creds)
    assert describe_acl(client, acl_id)["NetworkAclId"] == acl_id
    expect_error("UnauthorizedOperation", client.create_network_acl, VpcId=vpc_id, status=403)
    expect_error("UnauthorizedOperation", client.create_network_acl_entry,
                 **tcp_entry(acl_id, 100))
    scoped = nubo.make_user(policy_doc(allow("ec2:CreateNetworkAclEntry",
                                             f"arn:aws:ec2:*:*:network-acl/{acl_id}")))
    scoped_client = nubo.client("ec2", scoped.creds)
    scoped_client.create_network_acl_entry(**tcp_entry(acl_id, 100))
    expect_error("UnauthorizedOperation", scoped_client.create_network_acl_entry,
                 **tcp_entry(other_id, 100))


def test_other_accounts_cannot_see_or_touch_acls(nubo, ec2, account, make_vpc, make_subnet,
                                                 make_acl):
    vpc_id = make_vpc("10.169.0.0/16")["VpcId"]
    make_subnet(vpc_id, "10.169.1.0/24")
    acl_id = make_acl(vpc_id)["NetworkAclId"]
    [assoc] = default_acl(ec2, vpc_id)["Associations"]
    theirs = nubo.client("ec2", account.creds)
    assert acl_id not in {a["NetworkAclId"] for a in theirs.describe_network_acls()["NetworkAcls"]}
    expect_error("InvalidNetworkAclID.NotFound", theirs.describe_network_acls,
                 NetworkAclIds=[acl_id])
    expect_error("InvalidNetworkAclID.NotFound", theirs.delete_network_acl, NetworkAclId=acl_id)
    expect_error("InvalidNetworkAclID.NotFound", theirs.create_network_acl_entry,
                 **tcp_entry(acl_id, 100))
    expect_error("InvalidVpcID.NotFound", theirs.create_network_acl, VpcId=vpc_id)
    expect_error("InvalidNetworkAclID.NotFound", theirs.replace_network_acl_association,
                 AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=acl_id)
    their_vpc = theirs.create_vpc(CidrBlock="10.169.0.0/16")["Vpc"]["VpcId"]
    try:
        their_acl = default_acl(theirs, their_vpc)["NetworkAclId"]
        expect_error("InvalidAssociationID.NotFound", theirs.replace_network_acl_association,
                     AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=their_acl)
    finally:
        theirs.delete_vpc(VpcId=their_vpc)
    assert default_acl(ec2, vpc_id)["Associations"] == [assoc]


# ---- AWS CLI ------------------------------------------------------------------------------------------


def test_network_acls_with_aws_cli(nubo, make_vpc, cleanup):
    vpc_id = make_vpc("10.170.0.0/16")["VpcId"]
    subnet_id = nubo.aws("ec2", "create-subnet", "--vpc-id", vpc_id, "--cidr-block",
                         "10.170.1.0/24")["Subnet"]["SubnetId"]
    cleanup(lambda: nubo.aws("ec2", "delete-subnet", "--subnet-id", subnet_id))
    found = nubo.aws("ec2", "describe-network-acls", "--filters",
                     f"Name=association.subnet-id,Values={subnet_id}")["NetworkAcls"]
    assert len(found) == 1 and found[0]["IsDefault"] is True
    [assoc] = found[0]["Associations"]

    name = unique("cli-acl")
    acl = nubo.aws("ec2", "create-network-acl", "--vpc-id", vpc_id, "--tag-specifications",
                   f"ResourceType=network-acl,Tags=[{{Key=Name,Value={name}}}]")["NetworkAcl"]
    acl_id = acl["NetworkAclId"]
    cleanup(lambda: nubo.aws("ec2", "delete-network-acl", "--network-acl-id", acl_id))
    assert ACL_ID.match(acl_id) and tags_of(acl) == {"Name": name}

    nubo.aws("ec2", "create-network-acl-entry", "--network-acl-id", acl_id, "--ingress",
             "--rule-number", "100", "--protocol", "tcp", "--port-range", "From=22,To=22",
             "--cidr-block", "10.0.0.0/8", "--rule-action", "allow")
    nubo.aws("ec2", "create-network-acl-entry", "--network-acl-id", acl_id, "--egress",
             "--rule-number", "100", "--protocol", "icmp", "--icmp-type-code", "Type=0,Code=0",
             "--cidr-block", "0.0.0.0/0", "--rule-action", "deny")
    nubo.aws("ec2", "replace-network-acl-entry", "--network-acl-id", acl_id, "--ingress",
             "--rule-number", "100", "--protocol", "-1", "--cidr-block", "10.0.0.0/8",
             "--rule-action", "deny")
    [acl] = nubo.aws("ec2", "describe-network-acls", "--network-acl-ids",
                     acl_id)["NetworkAcls"]
    assert entry_keys(acl) == [(True, 100, "deny"), (True, 32767, "deny"), (False, 100, "deny"),
                               (False, 32767, "deny")]
    assert acl["Entries"][0]["IcmpTypeCode"] == {"Type": 0, "Code": 0}
    assert acl["Entries"][2]["Protocol"] == "-1" and "PortRange" not in acl["Entries"][2]

    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "create-network-acl-entry", "--network-acl-id", acl_id, "--egress",
                 "--rule-number", "100", "--protocol", "-1", "--cidr-block", "0.0.0.0/0",
                 "--rule-action", "allow")
    assert info.value.code == "NetworkAclEntryAlreadyExists"

    new_id = nubo.aws("ec2", "replace-network-acl-association", "--association-id",
                      assoc["NetworkAclAssociationId"], "--network-acl-id",
                      acl_id)["NewAssociationId"]
    assert ASSOC_ID.match(new_id)
    [acl] = nubo.aws("ec2", "describe-network-acls", "--network-acl-ids", acl_id)["NetworkAcls"]
    assert [a["SubnetId"] for a in acl["Associations"]] == [subnet_id]
    nubo.aws("ec2", "delete-network-acl-entry", "--network-acl-id", acl_id, "--egress",
             "--rule-number", "100")
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "delete-network-acl", "--network-acl-id", acl_id)
    assert info.value.code == "DependencyViolation"
    nubo.aws("ec2", "replace-network-acl-association", "--association-id", new_id,
             "--network-acl-id", found[0]["NetworkAclId"])
    nubo.aws("ec2", "delete-network-acl", "--network-acl-id", acl_id)
