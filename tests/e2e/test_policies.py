"""IAM identity-policy enforcement on EC2 and IAM actions: explicit Deny > Allow > implicit deny.

Denied EC2 calls answer UnauthorizedOperation (HTTP 403); denied IAM calls AccessDenied (403).
"""

import json

import pytest

from conftest import AwsCliError, allow, deny, expect_error, policy_doc, unique


def ec2_denied(fn, **kwargs):
    return expect_error("UnauthorizedOperation", fn, status=403, **kwargs)


def iam_denied(fn, **kwargs):
    return expect_error("AccessDenied", fn, status=403, **kwargs)


def vpc_arn(nubo, vpc_id, account=None):
    return f"arn:aws:ec2:us-east-1:{account or nubo.admin.account_id}:vpc/{vpc_id}"


def test_user_without_policy_can_only_ask_who_it_is(nubo, make_vpc):
    u = nubo.make_user()
    vpc_id = make_vpc("10.0.0.0/24")["VpcId"]
    ec2, iam = nubo.client("ec2", u.creds), nubo.client("iam", u.creds)
    ec2_denied(ec2.describe_vpcs)
    ec2_denied(ec2.describe_regions)
    ec2_denied(ec2.create_vpc, CidrBlock="10.1.0.0/16")
    ec2_denied(ec2.delete_vpc, VpcId=vpc_id)
    iam_denied(iam.list_users)
    iam_denied(iam.get_user, UserName=u.name)
    iam_denied(iam.create_user, UserName=unique("nope"))
    assert nubo.client("sts", u.creds).get_caller_identity()["Arn"] == u.arn
    # Nothing was changed by the denied calls.
    assert nubo.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["State"] == "available"


def test_specific_allow(nubo):
    u = nubo.make_user(policy_doc(allow(["ec2:DescribeVpcs", "ec2:DescribeRegions"])))
    ec2, iam = nubo.client("ec2", u.creds), nubo.client("iam", u.creds)
    ec2.describe_vpcs()
    ec2.describe_regions()
    ec2_denied(ec2.describe_availability_zones)
    ec2_denied(ec2.create_vpc, CidrBlock="10.2.0.0/16")
    iam_denied(iam.list_users)


def test_action_wildcards_and_case(nubo, cleanup):
    u = nubo.make_user(policy_doc(allow("ec2:Describe*"), allow("EC2:createVPC"), allow("ec2:DeleteVpc")))
    ec2 = nubo.client("ec2", u.creds)
    ec2.describe_vpcs()
    ec2.describe_availability_zones()
    # Action names in policies are matched case-insensitively.
    vpc_id = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    cleanup(lambda: nubo.client("ec2").delete_vpc(VpcId=vpc_id))
    ec2_denied(ec2.create_tags, Resources=[vpc_id], Tags=[{"Key": "a", "Value": "b"}])
    ec2_denied(ec2.modify_vpc_attribute, VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    ec2.delete_vpc(VpcId=vpc_id)


def test_explicit_deny_overrides_allow(nubo, cleanup):
    u = nubo.make_user(policy_doc(allow("ec2:*"), deny("ec2:DeleteVpc")))
    ec2 = nubo.client("ec2", u.creds)
    vpc_id = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    cleanup(lambda: nubo.client("ec2").delete_vpc(VpcId=vpc_id))
    ec2.describe_vpcs(VpcIds=[vpc_id])
    ec2_denied(ec2.delete_vpc, VpcId=vpc_id)
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["State"] == "available"


def test_deny_in_another_policy_still_wins(nubo, iam, make_vpc):
    u = nubo.make_user(policy_doc(allow("*")), policy_name="everything")
    iam.put_user_policy(UserName=u.name, PolicyName="no-vpcs",
                        PolicyDocument=policy_doc(deny("ec2:CreateVpc")))
    ec2 = nubo.client("ec2", u.creds)
    ec2_denied(ec2.create_vpc, CidrBlock="10.5.0.0/16")
    nubo.client("iam", u.creds).list_users()


def test_not_action(nubo):
    # Allow everything except IAM.
    u = nubo.make_user(policy_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    nubo.client("ec2", u.creds).describe_vpcs()
    iam_denied(nubo.client("iam", u.creds).list_users)

    # Allow everything, then deny everything that is not DescribeVpcs.
    v = nubo.make_user(policy_doc(allow("*"), {"Effect": "Deny", "NotAction": ["ec2:DescribeVpcs"],
                                               "Resource": "*"}))
    nubo.client("ec2", v.creds).describe_vpcs()
    ec2_denied(nubo.client("ec2", v.creds).describe_regions)
    ec2_denied(nubo.client("ec2", v.creds).create_vpc, CidrBlock="10.6.0.0/16")
    iam_denied(nubo.client("iam", v.creds).list_users)


def test_resource_scoped_deny_on_one_vpc(nubo, make_vpc):
    protected = make_vpc("10.7.0.0/16")["VpcId"]
    other = make_vpc("10.8.0.0/16")["VpcId"]
    u = nubo.make_user(policy_doc(
        allow("ec2:*"),
        deny(["ec2:ModifyVpcAttribute", "ec2:CreateTags", "ec2:DeleteVpc",
              "ec2:AssociateVpcCidrBlock"], vpc_arn(nubo, protected))))
    ec2 = nubo.client("ec2", u.creds)
    tag = [{"Key": "touched", "Value": "yes"}]

    ec2_denied(ec2.modify_vpc_attribute, VpcId=protected, EnableDnsHostnames={"Value": True})
    ec2_denied(ec2.create_tags, Resources=[protected], Tags=tag)
    ec2_denied(ec2.associate_vpc_cidr_block, VpcId=protected, CidrBlock="10.9.0.0/16")
    ec2_denied(ec2.delete_vpc, VpcId=protected)
    # Tagging two resources at once is denied if either is denied.
    ec2_denied(ec2.create_tags, Resources=[other, protected], Tags=tag)

    ec2.modify_vpc_attribute(VpcId=other, EnableDnsHostnames={"Value": True})
    ec2.create_tags(Resources=[other], Tags=tag)
    ec2.describe_vpcs(VpcIds=[protected, other])

    admin = nubo.client("ec2")
    [p] = admin.describe_vpcs(VpcIds=[protected])["Vpcs"]
    assert "Tags" not in p or all(t["Key"] != "touched" for t in p["Tags"])
    assert admin.describe_vpc_attribute(VpcId=protected, Attribute="enableDnsHostnames")[
        "EnableDnsHostnames"]["Value"] is False


def test_resource_wildcard_deny(nubo, make_vpc):
    vpc_id = make_vpc("10.10.0.0/16")["VpcId"]
    u = nubo.make_user(policy_doc(allow("ec2:*"),
                                  deny("ec2:DeleteVpc", f"arn:aws:ec2:us-east-1:{nubo.admin.account_id}:vpc/*")))
    ec2_denied(nubo.client("ec2", u.creds).delete_vpc, VpcId=vpc_id)


def test_resource_scoped_allow_on_one_vpc(nubo, make_vpc):
    mine = make_vpc("10.11.0.0/16")["VpcId"]
    theirs = make_vpc("10.12.0.0/16")["VpcId"]
    u = nubo.make_user(policy_doc(allow("ec2:CreateTags", vpc_arn(nubo, mine))))
    ec2 = nubo.client("ec2", u.creds)
    ec2.create_tags(Resources=[mine], Tags=[{"Key": "k", "Value": "v"}])
    ec2_denied(ec2.create_tags, Resources=[theirs], Tags=[{"Key": "k", "Value": "v"}])


def test_iam_resource_arns(nubo, iam, cleanup):
    acct = nubo.admin.account_id
    prefix = unique("team")
    alice, bob = f"{prefix}-alice", unique("bob")
    for n in (alice, bob):
        iam.create_user(UserName=n)
        cleanup(lambda n=n: iam.delete_user(UserName=n))
    u = nubo.make_user(policy_doc(allow("iam:GetUser", f"arn:aws:iam::{acct}:user/{prefix}-*")))
    uiam = nubo.client("iam", u.creds)
    assert uiam.get_user(UserName=alice)["User"]["UserName"] == alice
    iam_denied(uiam.get_user, UserName=bob)
    iam_denied(uiam.list_users)


def test_user_with_iam_rights_can_manage_users(nubo, iam, cleanup):
    u = nubo.make_user(policy_doc(allow("iam:*")))
    uiam = nubo.client("iam", u.creds)
    name = unique("made-by-user")
    created = uiam.create_user(UserName=name)["User"]
    cleanup(lambda: iam.delete_user(UserName=name))
    assert created["Arn"] == f"arn:aws:iam::{nubo.admin.account_id}:user/{name}"
    ec2_denied(nubo.client("ec2", u.creds).describe_vpcs)


def test_policy_changes_apply_to_the_next_request(nubo, iam):
    # On AWS IAM is eventually consistent; Nubo has one store and applies a change at once.
    u = nubo.make_user()
    ec2 = nubo.client("ec2", u.creds)
    ec2_denied(ec2.describe_vpcs)
    iam.put_user_policy(UserName=u.name, PolicyName="p", PolicyDocument=policy_doc(allow("ec2:DescribeVpcs")))
    ec2.describe_vpcs()
    iam.put_user_policy(UserName=u.name, PolicyName="p",
                        PolicyDocument=policy_doc(allow("ec2:DescribeVpcs"), deny("ec2:*")))
    ec2_denied(ec2.describe_vpcs)
    iam.delete_user_policy(UserName=u.name, PolicyName="p")
    ec2_denied(ec2.describe_vpcs)


def test_dry_run_reports_the_policy_decision(nubo, make_vpc):
    vpc_id = make_vpc("10.13.0.0/16")["VpcId"]
    allowed = nubo.client("ec2", nubo.make_user(policy_doc(allow("ec2:CreateVpc"), allow("ec2:DeleteVpc"))).creds)
    denied = nubo.client("ec2", nubo.make_user(policy_doc(allow("ec2:DescribeVpcs"))).creds)
    expect_error("DryRunOperation", allowed.create_vpc, CidrBlock="10.14.0.0/16", DryRun=True, status=412)
    expect_error("DryRunOperation", allowed.delete_vpc, VpcId=vpc_id, DryRun=True, status=412)
    ec2_denied(denied.create_vpc, CidrBlock="10.14.0.0/16", DryRun=True)
    ec2_denied(denied.delete_vpc, VpcId=vpc_id, DryRun=True)
    expect_error("DryRunOperation", denied.describe_vpcs, DryRun=True, status=412)


def test_policy_statement_lists_and_single_statement_object(nubo):
    # Statement may be a single object, Action and Resource single strings or lists.
    doc = json.dumps({"Version": "2012-10-17",
                      "Statement": {"Effect": "Allow", "Action": "ec2:DescribeRegions",
                                    "Resource": ["*"]}})
    u = nubo.make_user(doc)
    nubo.client("ec2", u.creds).describe_regions()
    ec2_denied(nubo.client("ec2", u.creds).describe_vpcs)


def test_denied_with_aws_cli(nubo):
    u = nubo.make_user(policy_doc(allow("ec2:DescribeRegions")))
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-vpcs", creds=u.creds)
    assert info.value.code == "UnauthorizedOperation", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("iam", "list-users", creds=u.creds)
    assert info.value.code == "AccessDenied", info.value.stderr
    nubo.aws("ec2", "describe-regions", creds=u.creds)


def test_create_vpc_authorized_by_vpc_arn_pattern(nubo, cleanup):
    # CreateVpc's resource is the new VPC: arn:aws:ec2:<region>:<account>:vpc/*.
    acct = nubo.admin.account_id
    u = nubo.make_user(policy_doc(allow("ec2:CreateVpc", f"arn:aws:ec2:us-east-1:{acct}:vpc/*")))
    vpc_id = nubo.client("ec2", u.creds).create_vpc(CidrBlock="10.15.0.0/16")["Vpc"]["VpcId"]
    cleanup(lambda: nubo.client("ec2").delete_vpc(VpcId=vpc_id))


def test_arn_wildcards_in_region_and_account(nubo, make_vpc):
    vpc_id = make_vpc("10.16.0.0/16")["VpcId"]
    u = nubo.make_user(policy_doc(allow("ec2:CreateTags", "arn:aws:ec2:*:*:vpc/*")))
    nubo.client("ec2", u.creds).create_tags(Resources=[vpc_id], Tags=[{"Key": "k", "Value": "v"}])


def test_allow_for_another_accounts_arn_grants_nothing(nubo, make_vpc):
    vpc_id = make_vpc("10.17.0.0/16")["VpcId"]
    u = nubo.make_user(policy_doc(allow("ec2:CreateTags", f"arn:aws:ec2:us-east-1:000000000000:vpc/{vpc_id}")))
    ec2_denied(nubo.client("ec2", u.creds).create_tags, Resources=[vpc_id],
               Tags=[{"Key": "k", "Value": "v"}])


def test_allow_for_another_region_grants_nothing(nubo, make_vpc):
    vpc_id = make_vpc("10.18.0.0/16")["VpcId"]
    acct = nubo.admin.account_id
    u = nubo.make_user(policy_doc(allow("ec2:CreateTags", f"arn:aws:ec2:eu-west-1:{acct}:vpc/{vpc_id}")))
    ec2_denied(nubo.client("ec2", u.creds).create_tags, Resources=[vpc_id],
               Tags=[{"Key": "k", "Value": "v"}])
