"""CreateTags / DeleteTags / DescribeTags on VPCs: semantics, filters, pagination, limits."""

import pytest

from conftest import AwsCliError, expect_error, tags_of, unique

MISSING_VPC = "vpc-0123456789abcdef0"


def tag_list(d: dict) -> list:
    return [{"Key": k, "Value": v} for k, v in d.items()]


def described(ec2, *filters) -> list:
    return ec2.describe_tags(Filters=list(filters))["Tags"]


def by_resource(ec2, resource_id) -> dict:
    return {t["Key"]: t["Value"] for t in described(ec2, {"Name": "resource-id", "Values": [resource_id]})}


def vpc_tags(ec2, vpc_id) -> dict:
    return tags_of(ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0])


def test_create_overwrite_and_describe(ec2, make_vpc):
    vpc_id = make_vpc("10.1.0.0/16")["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list({"Name": "one", "env": "dev", "blank": ""}))
    tags = described(ec2, {"Name": "resource-id", "Values": [vpc_id]})
    assert {(t["Key"], t["Value"]) for t in tags} == {("Name", "one"), ("env", "dev"), ("blank", "")}
    for t in tags:
        assert t["ResourceId"] == vpc_id
        assert t["ResourceType"] == "vpc"
    assert vpc_tags(ec2, vpc_id) == {"Name": "one", "env": "dev", "blank": ""}

    # CreateTags overwrites the value of an existing key and leaves the others alone.
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list({"env": "prod"}))
    assert vpc_tags(ec2, vpc_id) == {"Name": "one", "env": "prod", "blank": ""}


def test_tag_several_resources_at_once(ec2, make_vpc):
    a, b = make_vpc("10.2.0.0/16")["VpcId"], make_vpc("10.3.0.0/16")["VpcId"]
    key = unique("k")
    ec2.create_tags(Resources=[a, b], Tags=tag_list({key: "both"}))
    assert {t["ResourceId"] for t in described(ec2, {"Name": "key", "Values": [key]})} == {a, b}
    ec2.delete_tags(Resources=[a, b], Tags=[{"Key": key}])
    assert described(ec2, {"Name": "key", "Values": [key]}) == []


def test_delete_tags_semantics(ec2, make_vpc):
    vpc_id = make_vpc("10.4.0.0/16", tags={"a": "1", "b": "2", "c": "3", "d": "", "e": "5"})["VpcId"]
    # Key only: removed whatever its value.
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "a"}])
    # Key and a different value: kept.
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "b", "Value": "not-2"}])
    # Key and matching value: removed.
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "c", "Value": "3"}])
    # Empty-string value removes the tag only if its value is the empty string (AWS docs).
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "d", "Value": ""}])
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "e", "Value": ""}])
    # Deleting a key that is not there is not an error.
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "never-there"}])
    assert vpc_tags(ec2, vpc_id) == {"b": "2", "e": "5"}
    # No Tags at all: every tag goes.
    ec2.delete_tags(Resources=[vpc_id])
    assert vpc_tags(ec2, vpc_id) == {}
    assert by_resource(ec2, vpc_id) == {}


def test_describe_tags_filters(ec2, make_vpc):
    run = unique("run")
    a = make_vpc("10.5.0.0/16", tags={"run": run, "Name": f"{run}-a", "tier": "web"})["VpcId"]
    b = make_vpc("10.6.0.0/16", tags={"run": run, "Name": f"{run}-b", "tier": "db"})["VpcId"]

    def pairs(*filters):
        return {(t["ResourceId"], t["Key"], t["Value"]) for t in described(ec2, *filters)}

    assert pairs({"Name": "value", "Values": [run]}) == {(a, "run", run), (b, "run", run)}
    assert pairs({"Name": "resource-id", "Values": [a]}, {"Name": "key", "Values": ["tier"]}) == {
        (a, "tier", "web")}
    assert pairs({"Name": "value", "Values": [f"{run}-*"]}) == {(a, "Name", f"{run}-a"),
                                                               (b, "Name", f"{run}-b")}
    assert pairs({"Name": "value", "Values": [f"{run}-?"]}, {"Name": "resource-id", "Values": [b]}) == {
        (b, "Name", f"{run}-b")}
    assert pairs({"Name": "resource-type", "Values": ["vpc"]}, {"Name": "value", "Values": [run]}) == {
        (a, "run", run), (b, "run", run)}
    assert pairs({"Name": "resource-type", "Values": ["subnet"]}, {"Name": "value", "Values": [run]}) == set()
    # tag:<key> "finds resources with the tag"; AWS's docs leave open whether the other tags of
    # a matching resource are listed too, so only pin what both readings agree on.
    got = pairs({"Name": "tag:tier", "Values": ["db"]}, {"Name": "resource-id", "Values": [a, b]})
    assert (b, "tier", "db") in got
    assert {r for r, _, _ in got} == {b}


def test_describe_tags_unknown_filter(ec2):
    expect_error("InvalidParameterValue", ec2.describe_tags,
                 Filters=[{"Name": "colour", "Values": ["blue"]}], status=400)


def test_describe_tags_pagination(ec2, make_vpc):
    vpc_id = make_vpc("10.7.0.0/16")["VpcId"]
    expected = {f"k{i:02}": f"v{i}" for i in range(12)}
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list(expected))
    seen, token, pages = [], None, 0
    while True:
        page = ec2.describe_tags(MaxResults=5, Filters=[{"Name": "resource-id", "Values": [vpc_id]}],
                                 **({"NextToken": token} if token else {}))
        pages += 1
        assert len(page["Tags"]) <= 5
        seen += [(t["Key"], t["Value"]) for t in page["Tags"]]
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 10
    assert len(seen) == len(set(seen)) == 12
    assert dict(seen) == expected
    assert pages == 3


def test_tags_vanish_with_their_vpc(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list({"gone": "soon"}))
    ec2.delete_vpc(VpcId=vpc_id)
    assert by_resource(ec2, vpc_id) == {}


def test_tagging_missing_or_malformed_resources(ec2, make_vpc):
    expect_error("InvalidVpcID.NotFound", ec2.create_tags, Resources=[MISSING_VPC],
                 Tags=tag_list({"a": "b"}), status=400)
    # One bad id fails the whole call; the good resource is untouched.
    vpc_id = make_vpc("10.9.0.0/16")["VpcId"]
    expect_error("InvalidVpcID.NotFound", ec2.create_tags, Resources=[vpc_id, MISSING_VPC],
                 Tags=tag_list({"a": "b"}))
    assert vpc_tags(ec2, vpc_id) == {}
    # AWS: "InvalidID: The ID 'bogus-123' is not valid".
    expect_error("InvalidID", ec2.create_tags, Resources=["bogus-123"], Tags=tag_list({"a": "b"}))


def test_tag_validation(ec2, make_vpc):
    vpc_id = make_vpc("10.10.0.0/16")["VpcId"]
    # Keys with the aws: prefix are reserved.
    expect_error("InvalidParameterValue", ec2.create_tags, Resources=[vpc_id],
                 Tags=tag_list({"aws:owner": "me"}))
    # Key at most 128 characters, value at most 256.
    expect_error("InvalidParameterValue", ec2.create_tags, Resources=[vpc_id],
                 Tags=tag_list({"k" * 129: "v"}))
    expect_error("InvalidParameterValue", ec2.create_tags, Resources=[vpc_id],
                 Tags=tag_list({"k": "v" * 257}))
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list({"k" * 128: "v" * 256}))
    assert vpc_tags(ec2, vpc_id) == {"k" * 128: "v" * 256}


def test_fifty_tags_per_resource(ec2, make_vpc):
    vpc_id = make_vpc("10.11.0.0/16")["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list({f"t{i}": str(i) for i in range(50)}))
    expect_error("TagLimitExceeded", ec2.create_tags, Resources=[vpc_id],
                 Tags=tag_list({"one-too-many": "x"}), status=400)
    assert len(vpc_tags(ec2, vpc_id)) == 50
    # Overwriting an existing key does not count against the limit.
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list({"t0": "new"}))
    assert vpc_tags(ec2, vpc_id)["t0"] == "new"


def test_tags_dry_run(ec2, make_vpc):
    vpc_id = make_vpc("10.12.0.0/16")["VpcId"]
    expect_error("DryRunOperation", ec2.create_tags, Resources=[vpc_id], Tags=tag_list({"a": "b"}),
                 DryRun=True, status=412)
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list({"c": "d"}))
    expect_error("DryRunOperation", ec2.delete_tags, Resources=[vpc_id], DryRun=True, status=412)
    expect_error("DryRunOperation", ec2.describe_tags, DryRun=True, status=412)
    assert vpc_tags(ec2, vpc_id) == {"c": "d"}


def test_tags_with_aws_cli(nubo, make_vpc):
    vpc_id = make_vpc("10.13.0.0/16")["VpcId"]
    nubo.aws("ec2", "create-tags", "--resources", vpc_id, "--tags", "Key=Name,Value=cli",
             "Key=team,Value=net")
    tags = nubo.aws("ec2", "describe-tags", "--filters", f"Name=resource-id,Values={vpc_id}")["Tags"]
    assert {(t["Key"], t["Value"], t["ResourceType"]) for t in tags} == {
        ("Name", "cli", "vpc"), ("team", "net", "vpc")}
    nubo.aws("ec2", "delete-tags", "--resources", vpc_id, "--tags", "Key=team")
    tags = nubo.aws("ec2", "describe-tags", "--filters", f"Name=resource-id,Values={vpc_id}")["Tags"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("Name", "cli")]
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "create-tags", "--resources", MISSING_VPC, "--tags", "Key=a,Value=b")
    assert info.value.code == "InvalidVpcID.NotFound", info.value.stderr
