"""IAM users, access keys and inline user policies; STS GetCallerIdentity."""

import json
import re

import pytest

from conftest import AwsCliError, Creds, allow, expect_error, policy_doc, unique

USER_ID = re.compile(r"^AIDA[A-Z0-9]{16,}$")
ACCESS_KEY_ID = re.compile(r"^AKIA[A-Z0-9]{16}$")


@pytest.fixture
def user(iam, cleanup):
    """A bare IAM user, removed (with its keys and policies) after the test."""
    name = unique("user")
    created = iam.create_user(UserName=name)["User"]

    def remove():
        for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
        for p in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=p)
        iam.delete_user(UserName=name)

    cleanup(remove)
    return created


# ---- users ----------------------------------------------------------------------------------------


def test_create_get_list_delete_user(nubo, iam):
    name = unique("user")
    created = iam.create_user(UserName=name)["User"]
    acct = nubo.admin.account_id
    assert created["UserName"] == name
    assert created["Path"] == "/"
    assert created["Arn"] == f"arn:aws:iam::{acct}:user/{name}"
    assert USER_ID.match(created["UserId"]), created["UserId"]
    assert created["CreateDate"]

    got = iam.get_user(UserName=name)["User"]
    for field in ("UserName", "UserId", "Arn", "Path"):
        assert got[field] == created[field], field

    listed = {u["UserName"]: u for u in iam.list_users()["Users"]}
    assert listed[name]["UserId"] == created["UserId"]

    iam.delete_user(UserName=name)
    expect_error("NoSuchEntity", iam.get_user, UserName=name, status=404)
    assert name not in {u["UserName"] for u in iam.list_users()["Users"]}


def test_user_with_path(nubo, iam, cleanup):
    name = unique("user")
    created = iam.create_user(UserName=name, Path="/team/e2e/")["User"]
    cleanup(lambda: iam.delete_user(UserName=name))
    assert created["Path"] == "/team/e2e/"
    assert created["Arn"] == f"arn:aws:iam::{nubo.admin.account_id}:user/team/e2e/{name}"
    under = {u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]}
    assert name in under
    assert name not in {u["UserName"] for u in iam.list_users(PathPrefix="/other/")["Users"]}


def test_user_errors(iam, user):
    expect_error("EntityAlreadyExists", iam.create_user, UserName=user["UserName"], status=409)
    expect_error("NoSuchEntity", iam.get_user, UserName=unique("ghost"), status=404)
    expect_error("NoSuchEntity", iam.delete_user, UserName=unique("ghost"), status=404)
    # botocore does not check the name pattern; IAM answers ValidationError.
    expect_error("ValidationError", iam.create_user, UserName="bad name!", status=400)
    expect_error("ValidationError", iam.create_user, UserName="x" * 65, status=400)


def test_user_names_are_case_insensitively_unique(iam, user):
    # IAM user names are unique regardless of case ("Bob" and "bob" cannot both exist).
    expect_error("EntityAlreadyExists", iam.create_user, UserName=user["UserName"].upper())


def test_list_users_pagination(iam, cleanup):
    prefix = f"/{unique('page')}/"
    names = set()
    for i in range(5):
        name = unique(f"p{i}")
        iam.create_user(UserName=name, Path=prefix)
        cleanup(lambda n=name: iam.delete_user(UserName=n))
        names.add(name)
    seen, marker = [], None
    while True:
        page = iam.list_users(PathPrefix=prefix, MaxItems=2, **({"Marker": marker} if marker else {}))
        assert len(page["Users"]) <= 2
        seen += [u["UserName"] for u in page["Users"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert sorted(seen) == sorted(names)


# ---- access keys --------------------------------------------------------------------------------------


def test_access_key_lifecycle(iam, user):
    name = user["UserName"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["UserName"] == name
    assert ACCESS_KEY_ID.match(key["AccessKeyId"]), key["AccessKeyId"]
    assert len(key["SecretAccessKey"]) >= 40
    assert key["Status"] == "Active"

    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"], k["UserName"]) for k in listed] == [
        (key["AccessKeyId"], "Active", name)]
    assert "SecretAccessKey" not in listed[0]

    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] == "Inactive"

    second = iam.create_access_key(UserName=name)["AccessKey"]
    assert second["AccessKeyId"] != key["AccessKeyId"]
    # Two keys per user is IAM's hard quota.
    expect_error("LimitExceeded", iam.create_access_key, UserName=name, status=409)

    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == [
        second["AccessKeyId"]]
    expect_error("NoSuchEntity", iam.delete_access_key, UserName=name,
                 AccessKeyId=key["AccessKeyId"], status=404)
    expect_error("NoSuchEntity", iam.update_access_key, UserName=name,
                 AccessKeyId="AKIAZZZZZZZZZZZZZZZZ", Status="Active", status=404)


def test_access_keys_of_missing_user(iam):
    ghost = unique("ghost")
    expect_error("NoSuchEntity", iam.create_access_key, UserName=ghost, status=404)
    expect_error("NoSuchEntity", iam.list_access_keys, UserName=ghost, status=404)


# ---- inline policies ----------------------------------------------------------------------------------


def test_user_policy_crud(iam, user):
    name = user["UserName"]
    doc = {"Version": "2012-10-17",
           "Statement": [{"Sid": "Describe", "Effect": "Allow", "Action": ["ec2:Describe*"],
                          "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="describe", PolicyDocument=json.dumps(doc))
    got = iam.get_user_policy(UserName=name, PolicyName="describe")
    assert got["UserName"] == name and got["PolicyName"] == "describe"
    # botocore URL-decodes and parses the document it gets back.
    assert got["PolicyDocument"] == doc
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["describe"]

    replaced = {"Version": "2012-10-17", "Statement": [allow("ec2:DescribeVpcs")]}
    iam.put_user_policy(UserName=name, PolicyName="describe", PolicyDocument=json.dumps(replaced))
    assert iam.get_user_policy(UserName=name, PolicyName="describe")["PolicyDocument"] == replaced

    iam.put_user_policy(UserName=name, PolicyName="another", PolicyDocument=policy_doc(allow("iam:GetUser")))
    assert sorted(iam.list_user_policies(UserName=name)["PolicyNames"]) == ["another", "describe"]

    iam.delete_user_policy(UserName=name, PolicyName="describe")
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["another"]
    expect_error("NoSuchEntity", iam.get_user_policy, UserName=name, PolicyName="describe", status=404)
    expect_error("NoSuchEntity", iam.delete_user_policy, UserName=name, PolicyName="describe", status=404)


def test_policy_on_missing_user(iam):
    expect_error("NoSuchEntity", iam.put_user_policy, UserName=unique("ghost"), PolicyName="p",
                 PolicyDocument=policy_doc(allow("ec2:*")), status=404)


@pytest.mark.parametrize("document", [
    "this is not json",
    json.dumps({"Version": "2012-10-17"}),                                       # no Statement
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "ec2:*",
                                                         "Resource": "*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*",
                                                         "NotAction": "iam:*", "Resource": "*"}]}),
    json.dumps({"Version": "1999-01-01", "Statement": [allow("ec2:*")]}),
    json.dumps({"Version": "2012-10-17", "Statement": [allow("ec2:*")], "Bogus": 1}),
    json.dumps({"Version": "2012-10-17", "Statement": [allow("not an action")]}),
], ids=["not-json", "no-statement", "bad-effect", "no-action", "action-and-notaction",
        "bad-version", "unknown-top-level-key", "bad-action-format"])
def test_malformed_policy_documents_are_rejected(iam, user, document):
    expect_error("MalformedPolicyDocument", iam.put_user_policy, UserName=user["UserName"],
                 PolicyName="bad", PolicyDocument=document, status=400)
    assert iam.list_user_policies(UserName=user["UserName"])["PolicyNames"] == []


# ---- delete conflicts -----------------------------------------------------------------------------------


def test_delete_user_with_keys_or_policies_conflicts(iam):
    name = unique("user")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    expect_error("DeleteConflict", iam.delete_user, UserName=name, status=409)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])

    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy_doc(allow("ec2:*")))
    expect_error("DeleteConflict", iam.delete_user, UserName=name, status=409)
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    iam.delete_user_policy(UserName=name, PolicyName="p")

    iam.delete_user(UserName=name)
    expect_error("NoSuchEntity", iam.get_user, UserName=name)


# ---- identities ------------------------------------------------------------------------------------------


def test_caller_identity_root_and_user(nubo, sts):
    acct = nubo.admin.account_id
    root = sts.get_caller_identity()
    assert (root["Account"], root["Arn"], root["UserId"]) == (acct, f"arn:aws:iam::{acct}:root", acct)

    u = nubo.make_user()   # no policy: GetCallerIdentity needs no permission
    ident = nubo.client("sts", u.creds).get_caller_identity()
    assert ident["Account"] == acct
    assert ident["Arn"] == u.arn == f"arn:aws:iam::{acct}:user/{u.name}"
    assert ident["UserId"] == u.user_id


def test_get_user_without_name_returns_the_caller(nubo, iam):
    u = nubo.make_user(policy_doc(allow("iam:GetUser", f"arn:aws:iam::{nubo.admin.account_id}:user/*")))
    me = nubo.client("iam", u.creds).get_user()["User"]
    assert (me["UserName"], me["Arn"], me["UserId"]) == (u.name, u.arn, u.user_id)


def test_iam_with_aws_cli(nubo, tmp_path):
    name = unique("cli-user")
    user = nubo.aws("iam", "create-user", "--user-name", name)["User"]
    assert user["UserName"] == name
    assert name in {u["UserName"] for u in nubo.aws("iam", "list-users")["Users"]}

    doc = {"Version": "2012-10-17", "Statement": [allow("ec2:DescribeRegions")]}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(doc))
    nubo.aws("iam", "put-user-policy", "--user-name", name, "--policy-name", "p",
             "--policy-document", f"file://{path}")
    got = nubo.aws("iam", "get-user-policy", "--user-name", name, "--policy-name", "p")
    assert got["PolicyDocument"] == doc

    key = nubo.aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    creds = Creds(key["AccessKeyId"], key["SecretAccessKey"])
    ident = nubo.aws("sts", "get-caller-identity", creds=creds)
    assert ident["Arn"] == user["Arn"]
    regions = nubo.aws("ec2", "describe-regions", creds=creds)["Regions"]
    assert "us-east-1" in [r["RegionName"] for r in regions]

    with pytest.raises(AwsCliError) as info:
        nubo.aws("iam", "delete-user", "--user-name", name)
    assert info.value.code == "DeleteConflict", info.value.stderr

    nubo.aws("iam", "delete-access-key", "--user-name", name, "--access-key-id", key["AccessKeyId"])
    nubo.aws("iam", "delete-user-policy", "--user-name", name, "--policy-name", "p")
    nubo.aws("iam", "delete-user", "--user-name", name)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("iam", "get-user", "--user-name", name)
    assert info.value.code == "NoSuchEntity", info.value.stderr


def test_inline_user_policy_size_quota(iam, user):
    # Inline user policies are limited to 2,048 characters (whitespace excluded).
    big = {"Version": "2012-10-17",
           "Statement": [allow([f"ec2:DescribeThing{i:04}" for i in range(120)])]}
    assert len(json.dumps(big, separators=(",", ":"))) > 2048
    expect_error("LimitExceeded", iam.put_user_policy, UserName=user["UserName"], PolicyName="big",
                 PolicyDocument=json.dumps(big), status=409)
    assert iam.list_user_policies(UserName=user["UserName"])["PolicyNames"] == []


def test_policy_name_validation(iam, user):
    expect_error("ValidationError", iam.put_user_policy, UserName=user["UserName"],
                 PolicyName="no spaces allowed", PolicyDocument=policy_doc(allow("ec2:*")))


def test_self_service_keys_without_user_name(nubo, iam):
    # Without UserName, IAM acts on the user who signed the request.
    acct = nubo.admin.account_id
    actions = ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:DeleteAccessKey"]
    u = nubo.make_user(policy_doc(allow(actions, f"arn:aws:iam::{acct}:user/*")))
    uiam = nubo.client("iam", u.creds)
    listed = uiam.list_access_keys()["AccessKeyMetadata"]
    assert [(k["UserName"], k["AccessKeyId"]) for k in listed] == [(u.name, u.creds.access_key_id)]
    second = uiam.create_access_key()["AccessKey"]
    assert second["UserName"] == u.name
    assert {k["AccessKeyId"] for k in iam.list_access_keys(UserName=u.name)["AccessKeyMetadata"]} == {
        u.creds.access_key_id, second["AccessKeyId"]}
    uiam.delete_access_key(AccessKeyId=second["AccessKeyId"])
    assert len(iam.list_access_keys(UserName=u.name)["AccessKeyMetadata"]) == 1
