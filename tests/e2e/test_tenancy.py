"""Accounts are tenants: another account's resources do not exist for you (NotFound, never
Forbidden, never listed), whatever your credentials or policies say."""

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, allow, expect_error, policy_doc, tags_of, unique


@pytest.fixture
def tenants(nubo, needs_own_server):
    a, b = nubo.new_account(), nubo.new_account()
    assert a.account_id != b.account_id
    return a, b


@pytest.fixture
def a_vpc(nubo, tenants, cleanup):
    a, _ = tenants
    ec2 = nubo.client("ec2", a.creds)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "owner", "Value": "a"}]}])["Vpc"]
    cleanup(lambda: ec2.delete_vpc(VpcId=vpc["VpcId"]))
    return vpc


def test_each_account_sees_its_own_identity(nubo, tenants):
    for t in tenants:
        ident = nubo.client("sts", t.creds).get_caller_identity()
        assert ident["Account"] == t.account_id
        assert ident["Arn"] == f"arn:aws:iam::{t.account_id}:root"


def test_vpc_of_another_account_does_not_exist(nubo, tenants, a_vpc):
    a, b = tenants
    vpc_id = a_vpc["VpcId"]
    assert a_vpc["OwnerId"] == a.account_id
    eb = nubo.client("ec2", b.creds)

    expect_error("InvalidVpcID.NotFound", eb.describe_vpcs, VpcIds=[vpc_id], status=400)
    assert vpc_id not in {v["VpcId"] for v in eb.describe_vpcs()["Vpcs"]}
    assert eb.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"] == []
    assert eb.describe_vpcs(Filters=[{"Name": "owner-id", "Values": [a.account_id]}])["Vpcs"] == []
    assert eb.describe_vpcs(Filters=[{"Name": "tag:owner", "Values": ["a"]}])["Vpcs"] == []
    expect_error("InvalidVpcID.NotFound", eb.delete_vpc, VpcId=vpc_id)
    expect_error("InvalidVpcID.NotFound", eb.describe_vpc_attribute, VpcId=vpc_id,
                 Attribute="enableDnsSupport")
    expect_error("InvalidVpcID.NotFound", eb.modify_vpc_attribute, VpcId=vpc_id,
                 EnableDnsSupport={"Value": False})
    expect_error("InvalidVpcID.NotFound", eb.associate_vpc_cidr_block, VpcId=vpc_id,
                 CidrBlock="10.1.0.0/16")
    assoc = a_vpc["CidrBlockAssociationSet"][0]["AssociationId"]
    with pytest.raises(ClientError) as info:
        eb.disassociate_vpc_cidr_block(AssociationId=assoc)
    # AWS names this code InvalidVpcCidrBlockAssociationID.NotFound; any *.NotFound will do.
    assert info.value.response["Error"]["Code"].endswith(".NotFound"), info.value.response
    # DryRun must not leak existence either: the answer for A's VPC is the answer for a VPC
    # that does not exist at all.
    with pytest.raises(ClientError) as theirs:
        eb.delete_vpc(VpcId=vpc_id, DryRun=True)
    with pytest.raises(ClientError) as nobody:
        eb.delete_vpc(VpcId="vpc-0123456789abcdef0", DryRun=True)
    assert theirs.value.response["Error"]["Code"] == nobody.value.response["Error"]["Code"]

    # Nothing B tried changed A's VPC.
    ea = nubo.client("ec2", a.creds)
    [still] = ea.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert still["State"] == "available"
    assert len(still["CidrBlockAssociationSet"]) == 1
    assert ea.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")[
        "EnableDnsSupport"]["Value"] is True


def test_tags_of_another_account_cannot_be_touched(nubo, tenants, a_vpc):
    a, b = tenants
    vpc_id = a_vpc["VpcId"]
    eb = nubo.client("ec2", b.creds)
    expect_error("InvalidVpcID.NotFound", eb.create_tags, Resources=[vpc_id],
                 Tags=[{"Key": "owner", "Value": "b"}])
    expect_error("InvalidVpcID.NotFound", eb.delete_tags, Resources=[vpc_id], Tags=[{"Key": "owner"}])
    assert eb.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["Tags"] == []
    assert eb.describe_tags(Filters=[{"Name": "key", "Values": ["owner"]}])["Tags"] == []
    [still] = nubo.client("ec2", a.creds).describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert tags_of(still) == {"owner": "a"}


def test_administrator_account_is_a_tenant_too(nubo, tenants, a_vpc):
    admin = nubo.client("ec2")
    vpc_id = a_vpc["VpcId"]
    expect_error("InvalidVpcID.NotFound", admin.describe_vpcs, VpcIds=[vpc_id])
    assert vpc_id not in {v["VpcId"] for v in admin.describe_vpcs()["Vpcs"]}


def test_policies_never_reach_into_another_account(nubo, tenants, a_vpc):
    a, b = tenants
    vpc_id = a_vpc["VpcId"]
    # A user of B allowed everything, even naming A's VPC ARN explicitly.
    u = nubo.make_user(policy_doc(allow("*"), allow("ec2:*", f"arn:aws:ec2:us-east-1:{a.account_id}:vpc/{vpc_id}")),
                       owner=b.creds)
    eu = nubo.client("ec2", u.creds)
    expect_error("InvalidVpcID.NotFound", eu.delete_vpc, VpcId=vpc_id)
    expect_error("InvalidVpcID.NotFound", eu.create_tags, Resources=[vpc_id],
                 Tags=[{"Key": "x", "Value": "y"}])
    assert vpc_id not in {v["VpcId"] for v in eu.describe_vpcs()["Vpcs"]}


def test_iam_users_are_per_account(nubo, tenants):
    a, b = tenants
    ia, ib = nubo.client("iam", a.creds), nubo.client("iam", b.creds)
    name = unique("shared-name")
    ua = ia.create_user(UserName=name)["User"]
    expect_error("NoSuchEntity", ib.get_user, UserName=name, status=404)
    assert name not in {u["UserName"] for u in ib.list_users()["Users"]}
    expect_error("NoSuchEntity", ib.put_user_policy, UserName=name, PolicyName="p",
                 PolicyDocument=policy_doc(allow("*")))
    expect_error("NoSuchEntity", ib.create_access_key, UserName=name)
    expect_error("NoSuchEntity", ib.delete_user, UserName=name)

    # The same name in B is a different user.
    ub = ib.create_user(UserName=name)["User"]
    assert ub["UserId"] != ua["UserId"]
    assert ub["Arn"] == f"arn:aws:iam::{b.account_id}:user/{name}"
    assert ua["Arn"] == f"arn:aws:iam::{a.account_id}:user/{name}"

    # A's user's key is A's: it identifies as A and sees only A's world.
    key = ia.create_access_key(UserName=name)["AccessKey"]
    ia.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=policy_doc(allow("*")))
    creds = Creds.from_access_key(key)
    assert nubo.client("sts", creds).get_caller_identity()["Arn"] == ua["Arn"]
    listed = {u["Arn"] for u in nubo.client("iam", creds).list_users()["Users"]}
    assert ua["Arn"] in listed and ub["Arn"] not in listed
    # An access key id from A cannot be managed from B.
    expect_error("NoSuchEntity", ib.update_access_key, UserName=name,
                 AccessKeyId=key["AccessKeyId"], Status="Inactive")
    expect_error("NoSuchEntity", ib.delete_access_key, UserName=name, AccessKeyId=key["AccessKeyId"])
    nubo.client("sts", creds).get_caller_identity()


def test_vpc_ids_are_unique_across_accounts(nubo, tenants, cleanup):
    ids = []
    for t in tenants:
        ec2 = nubo.client("ec2", t.creds)
        for _ in range(3):
            vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            cleanup(lambda e=ec2, v=vpc_id: e.delete_vpc(VpcId=v))
            ids.append(vpc_id)
    assert len(set(ids)) == len(ids)


def test_pagination_token_of_one_account_reveals_nothing_to_another(nubo, tenants, cleanup):
    a, b = tenants
    ea, eb = nubo.client("ec2", a.creds), nubo.client("ec2", b.creds)
    for i in range(6):
        vpc_id = ea.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]["VpcId"]
        cleanup(lambda v=vpc_id: ea.delete_vpc(VpcId=v))
    mine = {v["VpcId"] for v in ea.describe_vpcs()["Vpcs"]}
    token = ea.describe_vpcs(MaxResults=5)["NextToken"]
    try:
        page = eb.describe_vpcs(MaxResults=5, NextToken=token)
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400, exc.response
        return
    assert not ({v["VpcId"] for v in page["Vpcs"]} & mine)
