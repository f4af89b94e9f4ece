"""Everything the API acknowledged survives a server restart on the same data dir / database."""

import json

from conftest import Creds, allow, deny, expect_error, tags_of, unique


def test_state_survives_restart(nubo, needs_own_server, cleanup):
    ec2, iam = nubo.client("ec2"), nubo.client("iam")
    credentials_before = (nubo.data_dir / "credentials").read_bytes()

    # EC2: a VPC with tags, a changed attribute and a secondary CIDR; a deleted VPC.
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "durable"}]}])["Vpc"]
    vpc_id = vpc["VpcId"]
    cleanup(lambda: nubo.client("ec2").delete_vpc(VpcId=vpc_id))
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "extra", "Value": "1"}])
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    assoc = ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.41.0.0/16")[
        "CidrBlockAssociation"]["AssociationId"]
    gone = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.delete_vpc(VpcId=gone)

    # IAM: a user with a policy and an active key, a second key made inactive.
    doc = {"Version": "2012-10-17", "Statement": [allow("ec2:Describe*"), deny("ec2:DeleteVpc")]}
    user = nubo.make_user(json.dumps(doc))
    inactive = iam.create_access_key(UserName=user.name)["AccessKey"]
    iam.update_access_key(UserName=user.name, AccessKeyId=inactive["AccessKeyId"], Status="Inactive")

    # A tenant account created by the operator CLI, with its own VPC.
    tenant = nubo.new_account()
    tenant_vpc = nubo.client("ec2", tenant.creds).create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]

    nubo.restart()
    ec2, iam = nubo.client("ec2"), nubo.client("iam")

    [after] = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert after["CidrBlock"] == "10.40.0.0/16"
    assert after["State"] == "available"
    assert tags_of(after) == {"Name": "durable", "extra": "1"}
    assocs = {a["AssociationId"]: a["CidrBlock"] for a in after["CidrBlockAssociationSet"]
              if a["CidrBlockState"]["State"] == "associated"}
    assert assocs[assoc] == "10.41.0.0/16" and len(assocs) == 2
    assert ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")[
        "EnableDnsHostnames"]["Value"] is True
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[gone])

    assert iam.get_user(UserName=user.name)["User"]["Arn"] == user.arn
    assert iam.get_user_policy(UserName=user.name, PolicyName="e2e")["PolicyDocument"] == doc
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]}
    assert statuses == {user.creds.access_key_id: "Active", inactive["AccessKeyId"]: "Inactive"}

    # The user's key still authenticates, and its policy is still enforced.
    uec2 = nubo.client("ec2", user.creds)
    assert vpc_id in {v["VpcId"] for v in uec2.describe_vpcs()["Vpcs"]}
    expect_error("UnauthorizedOperation", uec2.delete_vpc, VpcId=vpc_id)
    expect_error("AuthFailure", nubo.client("ec2", Creds.from_access_key(inactive)).describe_vpcs)

    # The tenant and its VPC survive; the administrator's credentials were not regenerated.
    assert tenant.account_id in {a["AccountId"] for a in nubo.list_accounts()}
    tenant_ec2 = nubo.client("ec2", tenant.creds)
    assert [v["VpcId"] for v in tenant_ec2.describe_vpcs(VpcIds=[tenant_vpc])["Vpcs"]] == [tenant_vpc]
    tenant_ec2.delete_vpc(VpcId=tenant_vpc)
    assert (nubo.data_dir / "credentials").read_bytes() == credentials_before
    assert nubo.client("sts").get_caller_identity()["Account"] == nubo.admin.account_id

    # New ids do not collide with the ones issued before the restart.
    fresh = ec2.create_vpc(CidrBlock="10.44.0.0/16")["Vpc"]["VpcId"]
    cleanup(lambda: nubo.client("ec2").delete_vpc(VpcId=fresh))
    assert fresh not in (vpc_id, gone)
    name = unique("after-restart")
    iam.create_user(UserName=name)
    iam.delete_user(UserName=name)


def test_restart_is_clean(nubo, needs_own_server):
    # SIGTERM shuts the server down cleanly (exit status 0) and it comes back healthy.
    status = nubo.stop()
    assert status == 0, f"server exited with {status} on SIGTERM; log:\n{nubo.log()[-4000:]}"
    nubo.start()
    assert nubo.get("/healthz").status == 200


def test_acknowledged_writes_survive_kill_9(nubo, needs_own_server, cleanup):
    ec2 = nubo.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.45.0.0/16")["Vpc"]["VpcId"]
    cleanup(lambda: nubo.client("ec2").delete_vpc(VpcId=vpc_id))
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "acked", "Value": "yes"}])
    nubo.kill()   # SIGKILL: no shutdown hook runs
    nubo.start()
    [vpc] = nubo.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert tags_of(vpc) == {"acked": "yes"}
