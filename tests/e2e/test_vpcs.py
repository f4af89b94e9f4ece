"""VPC lifecycle, validation, attributes, CIDR associations, filters, pagination and DryRun,
through boto3 and the AWS CLI."""

import re

import pytest
from conftest import AwsCliError, expect_error, tags_of, unique

VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
ASSOC_ID = re.compile(r"^vpc-cidr-assoc-[0-9a-f]{8}([0-9a-f]{9})?$")
MISSING_VPC = "vpc-0123456789abcdef0"


def vpc_ids(client, **kwargs) -> set:
    return {v["VpcId"] for v in client.describe_vpcs(**kwargs)["Vpcs"]}


def describe_one(client, vpc_id) -> dict:
    vpcs = client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert len(vpcs) == 1, vpcs
    return vpcs[0]


def associated_cidrs(vpc) -> list:
    return sorted(a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", [])
                  if a["CidrBlockState"]["State"] == "associated")


# ---- lifecycle ---------------------------------------------------------------------------


def test_create_describe_delete(nubo, ec2):
    created = ec2.create_vpc(CidrBlock="10.11.0.0/16")["Vpc"]
    vpc_id = created["VpcId"]
    try:
        assert VPC_ID.match(vpc_id), vpc_id
        assert created["CidrBlock"] == "10.11.0.0/16"
        assert created["State"] in ("pending", "available")
        assert created["OwnerId"] == nubo.admin.account_id
        assert created["IsDefault"] is False
        assert created["InstanceTenancy"] == "default"
        assert created["DhcpOptionsId"]
        [assoc] = created["CidrBlockAssociationSet"]
        assert assoc["CidrBlock"] == "10.11.0.0/16"
        assert ASSOC_ID.match(assoc["AssociationId"]), assoc
        assert assoc["CidrBlockState"]["State"] == "associated"

        vpc = describe_one(ec2, vpc_id)
        assert vpc["State"] == "available"
        for field in ("CidrBlock", "OwnerId", "IsDefault", "InstanceTenancy", "DhcpOptionsId"):
            assert vpc[field] == created[field], field
        assert vpc["CidrBlockAssociationSet"][0]["AssociationId"] == assoc["AssociationId"]
        assert vpc_id in vpc_ids(ec2)
    finally:
        ec2.delete_vpc(VpcId=vpc_id)
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[vpc_id])
    assert vpc_id not in vpc_ids(ec2)
    expect_error("InvalidVpcID.NotFound", ec2.delete_vpc, VpcId=vpc_id)


def test_vpc_ids_are_unique(make_vpc):
    ids = [make_vpc("10.12.0.0/24")["VpcId"] for _ in range(3)]
    assert len(set(ids)) == 3


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "192.168.0.0/28", "172.16.5.0/24", "100.64.0.0/16"])
def test_valid_cidr_sizes(make_vpc, cidr):
    assert make_vpc(cidr)["CidrBlock"] == cidr


@pytest.mark.parametrize("cidr,code", [
    ("10.0.0.0/15", "InvalidVpc.Range"),
    ("10.0.0.0/8", "InvalidVpc.Range"),
    ("10.0.0.0/29", "InvalidVpc.Range"),
    ("10.0.0.0/32", "InvalidVpc.Range"),
    # AWS: "Value (10.0.0.1/16) for parameter cidrBlock is invalid. This is not a valid CIDR
    # block." Host bits are rejected, not silently masked.
    ("10.0.0.1/16", "InvalidParameterValue"),
    ("10.0.0.128/24", "InvalidParameterValue"),
    ("300.0.0.0/16", "InvalidParameterValue"),
    ("not-a-cidr", "InvalidParameterValue"),
    ("10.0.0.0", "InvalidParameterValue"),
])
def test_invalid_cidr_rejected_and_nothing_created(ec2, cidr, code):
    before = vpc_ids(ec2)
    expect_error(code, ec2.create_vpc, CidrBlock=cidr, status=400)
    assert vpc_ids(ec2) == before


def test_create_vpc_without_cidr_is_missing_parameter(ec2):
    # CidrBlock is optional in the model (IPAM pools are the alternative), so botocore sends it.
    expect_error("MissingParameter", ec2.create_vpc, status=400)


def test_missing_vpc_id_is_missing_parameter(nubo):
    r = nubo.raw("ec2", {"Action": "DeleteVpc"})
    assert r.status == 400 and r.code == "MissingParameter", r.body
    r = nubo.raw("ec2", {"Action": "DescribeVpcAttribute", "Attribute": "enableDnsSupport"})
    assert r.status == 400 and r.code == "MissingParameter", r.body


def test_unknown_action_is_invalid_action(nubo):
    r = nubo.raw("ec2", {"Action": "FrobnicateVpc"})
    assert r.status == 400 and r.code == "InvalidAction", r.body
    # The EC2 error envelope: <Response><Errors><Error>... with a RequestID.
    assert "<Response>" in r.body and "<Errors>" in r.body and "RequestID" in r.body, r.body


def test_not_found_and_malformed_ids(ec2):
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[MISSING_VPC], status=400)
    expect_error("InvalidVpcID.NotFound", ec2.delete_vpc, VpcId=MISSING_VPC)
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpc_attribute, VpcId=MISSING_VPC,
                 Attribute="enableDnsSupport")
    expect_error("InvalidVpcID.NotFound", ec2.modify_vpc_attribute, VpcId=MISSING_VPC,
                 EnableDnsHostnames={"Value": True})
    expect_error("InvalidVpcID.NotFound", ec2.associate_vpc_cidr_block, VpcId=MISSING_VPC,
                 CidrBlock="10.1.0.0/16")
    for bad in ("vpc-xyz!", "subnet-12345678", "12345678", "vpc-"):
        expect_error("InvalidVpcID.Malformed", ec2.describe_vpcs, VpcIds=[bad], status=400)
        expect_error("InvalidVpcID.Malformed", ec2.delete_vpc, VpcId=bad)


def test_describe_with_one_missing_id_fails_whole_call(ec2, make_vpc):
    vpc = make_vpc("10.13.0.0/16")
    expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[vpc["VpcId"], MISSING_VPC])


# ---- attributes --------------------------------------------------------------------------


def _attr(ec2, vpc_id, name):
    out = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)
    assert out["VpcId"] == vpc_id
    key = name[0].upper() + name[1:]
    return out[key]["Value"]


def test_dns_attributes_default_and_modify(ec2, make_vpc):
    vpc_id = make_vpc("10.14.0.0/16")["VpcId"]
    # A non-default VPC starts with DNS resolution on and DNS hostnames off.
    assert _attr(ec2, vpc_id, "enableDnsSupport") is True
    assert _attr(ec2, vpc_id, "enableDnsHostnames") is False

    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    assert _attr(ec2, vpc_id, "enableDnsHostnames") is True
    assert _attr(ec2, vpc_id, "enableDnsSupport") is True

    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": False})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": False})
    assert _attr(ec2, vpc_id, "enableDnsSupport") is False
    assert _attr(ec2, vpc_id, "enableDnsHostnames") is False


def test_unknown_vpc_attribute_is_invalid_parameter_value(ec2, make_vpc):
    vpc_id = make_vpc("10.15.0.0/16")["VpcId"]
    expect_error("InvalidParameterValue", ec2.describe_vpc_attribute, VpcId=vpc_id,
                 Attribute="enableTeleportation", status=400)


# ---- CIDR associations ---------------------------------------------------------------------


def test_associate_and_disassociate_secondary_cidr(ec2, make_vpc):
    vpc_id = make_vpc("10.20.0.0/16")["VpcId"]
    out = ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.21.0.0/16")
    assert out["VpcId"] == vpc_id
    assoc = out["CidrBlockAssociation"]
    assert assoc["CidrBlock"] == "10.21.0.0/16"
    assert ASSOC_ID.match(assoc["AssociationId"]), assoc
    assert assoc["CidrBlockState"]["State"] in ("associating", "associated")

    vpc = describe_one(ec2, vpc_id)
    assert vpc["CidrBlock"] == "10.20.0.0/16"  # the primary never changes
    assert associated_cidrs(vpc) == ["10.20.0.0/16", "10.21.0.0/16"]

    out = ec2.disassociate_vpc_cidr_block(AssociationId=assoc["AssociationId"])
    assert out["VpcId"] == vpc_id
    assert out["CidrBlockAssociation"]["AssociationId"] == assoc["AssociationId"]
    assert out["CidrBlockAssociation"]["CidrBlockState"]["State"] in ("disassociating", "disassociated")
    assert associated_cidrs(describe_one(ec2, vpc_id)) == ["10.20.0.0/16"]

    # The block is free again.
    again = ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.21.0.0/16")
    assert again["CidrBlockAssociation"]["AssociationId"] != assoc["AssociationId"]
    assert associated_cidrs(describe_one(ec2, vpc_id)) == ["10.20.0.0/16", "10.21.0.0/16"]


def test_cidr_association_limit_is_five(ec2, make_vpc):
    vpc_id = make_vpc("10.30.0.0/16")["VpcId"]
    for i in range(1, 5):
        ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=f"10.{30 + i}.0.0/16")
    assert len(associated_cidrs(describe_one(ec2, vpc_id))) == 5
    # AWS's default quota: 5 IPv4 CIDR blocks per VPC (primary included).
    expect_error("CidrLimitExceeded", ec2.associate_vpc_cidr_block, VpcId=vpc_id,
                 CidrBlock="10.40.0.0/16", status=400)
    assert len(associated_cidrs(describe_one(ec2, vpc_id))) == 5


@pytest.mark.parametrize("cidr", ["10.50.0.0/16", "10.50.128.0/17", "10.51.0.0/24", "10.50.0.0/15"])
def test_overlapping_or_bad_secondary_cidr_rejected(ec2, make_vpc, cidr):
    vpc_id = make_vpc("10.50.0.0/16")["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.51.0.0/24")
    # AWS reports a block that overlaps one already in the VPC, or one outside /16../28, as
    # InvalidVpc.Range ("The CIDR '...' is invalid." / "... overlaps ...").
    expect_error("InvalidVpc.Range", ec2.associate_vpc_cidr_block, VpcId=vpc_id, CidrBlock=cidr,
                 status=400)
    assert associated_cidrs(describe_one(ec2, vpc_id)) == ["10.50.0.0/16", "10.51.0.0/24"]


def test_primary_cidr_cannot_be_disassociated(ec2, make_vpc):
    vpc = make_vpc("10.52.0.0/16")
    primary = vpc["CidrBlockAssociationSet"][0]["AssociationId"]
    # AWS: "The vpc CIDR block with association ID ... may not be disassociated. It is the
    # primary IPv4 CIDR block of the VPC" (OperationNotPermitted).
    expect_error("OperationNotPermitted", ec2.disassociate_vpc_cidr_block, AssociationId=primary)
    assert associated_cidrs(describe_one(ec2, vpc["VpcId"])) == ["10.52.0.0/16"]


# ---- tags on create ----------------------------------------------------------------------------


def test_tags_on_create(ec2, make_vpc):
    name = unique("vpc")
    vpc = make_vpc("10.60.0.0/16", tags={"Name": name, "env": "e2e", "empty": ""})
    assert tags_of(vpc) == {"Name": name, "env": "e2e", "empty": ""}
    assert tags_of(describe_one(ec2, vpc["VpcId"])) == {"Name": name, "env": "e2e", "empty": ""}


def test_tag_specification_for_wrong_resource_type_is_rejected(ec2):
    before = vpc_ids(ec2)
    expect_error("InvalidParameterValue", ec2.create_vpc, CidrBlock="10.61.0.0/16",
                 TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "a", "Value": "b"}]}])
    assert vpc_ids(ec2) == before


# ---- filters -------------------------------------------------------------------------------------


@pytest.fixture
def three_vpcs(make_vpc):
    run = unique("run")
    a = make_vpc("10.70.0.0/16", tags={"Name": f"{run}-alpha", "run": run, "tier": "web"})
    b = make_vpc("10.71.0.0/16", tags={"Name": f"{run}-beta", "run": run, "tier": "db"})
    c = make_vpc("10.72.0.0/24", tags={"Name": f"{run}-gamma", "run": run, f"only-{run}": "x"})
    return run, a, b, c


def test_filters(nubo, ec2, three_vpcs):
    run, a, b, c = three_vpcs
    A, B, C = a["VpcId"], b["VpcId"], c["VpcId"]
    mine = {"Name": "tag:run", "Values": [run]}

    def q(*filters):
        return vpc_ids(ec2, Filters=list(filters))

    assert q(mine) == {A, B, C}
    assert q({"Name": "vpc-id", "Values": [A, C]}) == {A, C}
    assert q(mine, {"Name": "tag:tier", "Values": ["web", "db"]}) == {A, B}       # OR within
    assert q(mine, {"Name": "tag:tier", "Values": ["web"]},
             {"Name": "vpc-id", "Values": [B]}) == set()                            # AND across
    assert q({"Name": "tag-key", "Values": [f"only-{run}"]}) == {C}
    assert q(mine, {"Name": "tag-value", "Values": ["db"]}) == {B}
    assert q(mine, {"Name": "cidr", "Values": ["10.71.0.0/16"]}) == {B}
    assert q(mine, {"Name": "cidr-block-association.cidr-block", "Values": ["10.72.0.0/24"]}) == {C}
    assoc = a["CidrBlockAssociationSet"][0]["AssociationId"]
    assert q({"Name": "cidr-block-association.association-id", "Values": [assoc]}) == {A}
    assert q(mine, {"Name": "cidr-block-association.state", "Values": ["associated"]}) == {A, B, C}
    assert q(mine, {"Name": "state", "Values": ["available"]}) == {A, B, C}
    assert q(mine, {"Name": "state", "Values": ["pending"]}) == set()
    assert q(mine, {"Name": "is-default", "Values": ["false"]}) == {A, B, C}
    assert q(mine, {"Name": "is-default", "Values": ["true"]}) == set()
    assert q(mine, {"Name": "owner-id", "Values": [nubo.admin.account_id]}) == {A, B, C}
    assert q(mine, {"Name": "owner-id", "Values": ["000000000000"]}) == set()
    assert q(mine, {"Name": "dhcp-options-id", "Values": [a["DhcpOptionsId"]]}) >= {A}
    assert q(mine, {"Name": "dhcp-options-id", "Values": ["dopt-00000000"]}) == set()
    assert vpc_ids(ec2, VpcIds=[A, B], Filters=[{"Name": "tag:tier", "Values": ["db"]}]) == {B}


def test_filter_wildcards(ec2, three_vpcs):
    run, a, b, c = three_vpcs

    def q(*filters):
        return vpc_ids(ec2, Filters=list(filters))

    assert q({"Name": "tag:Name", "Values": [f"{run}-*"]}) == {a["VpcId"], b["VpcId"], c["VpcId"]}
    assert q({"Name": "tag:Name", "Values": [f"{run}-?eta"]}) == {b["VpcId"]}
    assert q({"Name": "tag:Name", "Values": [f"*{run[-6:]}-gam*"]}) == {c["VpcId"]}
    assert q({"Name": "tag:Name", "Values": [f"{run}-"]}) == set()   # no implicit prefix match
    assert q({"Name": "tag-key", "Values": [f"only-{run[:-3]}*"]}) == {c["VpcId"]}


def test_secondary_cidr_filters(ec2, make_vpc):
    run = unique("run")
    vpc_id = make_vpc("10.73.0.0/16", tags={"run": run})["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.74.0.0/16")
    mine = {"Name": "tag:run", "Values": [run]}
    assert vpc_ids(ec2, Filters=[mine, {"Name": "cidr-block-association.cidr-block",
                                        "Values": ["10.74.0.0/16"]}]) == {vpc_id}
    # `cidr` matches only the primary block (AWS: "must exactly match the VPC's CIDR block").
    assert vpc_ids(ec2, Filters=[mine, {"Name": "cidr", "Values": ["10.74.0.0/16"]}]) == set()


def test_unknown_filter_is_invalid_parameter_value(ec2):
    expect_error("InvalidParameterValue", ec2.describe_vpcs,
                 Filters=[{"Name": "flavour", "Values": ["strawberry"]}], status=400)


# ---- pagination ---------------------------------------------------------------------------------


def test_pagination_over_twelve_vpcs(nubo, account):
    ec2 = nubo.client("ec2", account.creds)
    created = []
    try:
        for i in range(12):
            created.append(ec2.create_vpc(CidrBlock=f"10.{100 + i}.0.0/16")["Vpc"]["VpcId"])
        everything = vpc_ids(ec2)
        assert set(created) <= everything

        seen, pages, token = [], 0, None
        while True:
            kwargs = {"MaxResults": 5, **({"NextToken": token} if token else {})}
            page = ec2.describe_vpcs(**kwargs)
            pages += 1
            assert len(page["Vpcs"]) <= 5
            seen += [v["VpcId"] for v in page["Vpcs"]]
            token = page.get("NextToken")
            if not token:
                break
            assert pages < 20, "pagination does not terminate"
        assert len(seen) == len(set(seen)), "a VPC appeared on two pages"
        assert set(seen) == everything
        assert pages >= 3

        # boto3's paginator speaks the same protocol.
        paginated = set()
        for page in ec2.get_paginator("describe_vpcs").paginate(PaginationConfig={"PageSize": 5}):
            paginated |= {v["VpcId"] for v in page["Vpcs"]}
        assert paginated == everything

        # Filters apply before pagination.
        wanted = set(created[:7])
        got, token = set(), None
        while True:
            page = ec2.describe_vpcs(MaxResults=5, Filters=[{"Name": "vpc-id", "Values": sorted(wanted)}],
                                     **({"NextToken": token} if token else {}))
            assert len(page["Vpcs"]) <= 5
            got |= {v["VpcId"] for v in page["Vpcs"]}
            token = page.get("NextToken")
            if not token:
                break
        assert got == wanted
    finally:
        for vpc_id in created:
            ec2.delete_vpc(VpcId=vpc_id)


def test_max_results_out_of_range(nubo):
    # botocore refuses MaxResults < 5 client-side, so send it by hand.
    for value in ("4", "1001"):
        r = nubo.raw("ec2", {"Action": "DescribeVpcs", "MaxResults": value})
        assert r.status == 400 and r.code == "InvalidParameterValue", (value, r.body)


# ---- DryRun ----------------------------------------------------------------------------------------


def test_dry_run_allowed_changes_nothing(ec2, make_vpc):
    before = vpc_ids(ec2)
    expect_error("DryRunOperation", ec2.create_vpc, CidrBlock="10.80.0.0/16", DryRun=True, status=412)
    assert vpc_ids(ec2) == before
    expect_error("DryRunOperation", ec2.describe_vpcs, DryRun=True, status=412)

    vpc_id = make_vpc("10.81.0.0/16")["VpcId"]
    expect_error("DryRunOperation", ec2.delete_vpc, VpcId=vpc_id, DryRun=True, status=412)
    assert describe_one(ec2, vpc_id)["State"] == "available"
    expect_error("DryRunOperation", ec2.describe_vpc_attribute, VpcId=vpc_id,
                 Attribute="enableDnsSupport", DryRun=True)
    # (ModifyVpcAttribute and Associate/DisassociateVpcCidrBlock have no DryRun in the model.)


@pytest.mark.parametrize("call,code", [
    (lambda ec2: ec2.delete_vpc(VpcId="vpc-xyz!", DryRun=True), "InvalidVpcID.Malformed"),
    (lambda ec2: ec2.create_vpc(CidrBlock="10.0.0.0/8", DryRun=True), "InvalidVpc.Range"),
    (lambda ec2: ec2.delete_vpc(VpcId=MISSING_VPC, DryRun=True), "InvalidVpcID.NotFound"),
], ids=["malformed-id", "bad-cidr", "unknown-id"])
def test_dry_run_still_validates_the_request(ec2, call, code):
    # DryRun answers "would it succeed": invalid input fails as it would without DryRun. (On
    # AWS, a dry-run RunInstances with an unknown AMI answers InvalidAMIID.NotFound; resources
    # are resolved before authorization, which needs their ARNs.)
    expect_error(code, call, ec2)


# ---- AWS CLI -----------------------------------------------------------------------------------------


def test_vpc_lifecycle_with_aws_cli(nubo, cleanup):
    name = unique("cli-vpc")
    vpc = nubo.aws("ec2", "create-vpc", "--cidr-block", "10.90.0.0/16", "--tag-specifications",
                   f"ResourceType=vpc,Tags=[{{Key=Name,Value={name}}}]")["Vpc"]
    vpc_id = vpc["VpcId"]
    cleanup(lambda: nubo.aws("ec2", "delete-vpc", "--vpc-id", vpc_id))
    assert VPC_ID.match(vpc_id) and vpc["CidrBlock"] == "10.90.0.0/16"

    found = nubo.aws("ec2", "describe-vpcs", "--filters", f"Name=tag:Name,Values={name}")["Vpcs"]
    assert [v["VpcId"] for v in found] == [vpc_id]
    assert tags_of(found[0]) == {"Name": name}
    assert [v["VpcId"] for v in nubo.aws("ec2", "describe-vpcs", "--vpc-ids", vpc_id)["Vpcs"]] == [vpc_id]

    nubo.aws("ec2", "modify-vpc-attribute", "--vpc-id", vpc_id, "--enable-dns-hostnames",
             '{"Value": true}')
    attr = nubo.aws("ec2", "describe-vpc-attribute", "--vpc-id", vpc_id, "--attribute",
                    "enableDnsHostnames")
    assert attr["EnableDnsHostnames"] == {"Value": True}

    assoc = nubo.aws("ec2", "associate-vpc-cidr-block", "--vpc-id", vpc_id, "--cidr-block",
                     "10.91.0.0/16")["CidrBlockAssociation"]
    nubo.aws("ec2", "disassociate-vpc-cidr-block", "--association-id", assoc["AssociationId"])

    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "create-vpc", "--cidr-block", "10.92.0.0/29")
    assert info.value.code == "InvalidVpc.Range", info.value.stderr
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "create-vpc", "--cidr-block", "10.92.0.0/16", "--dry-run")
    assert info.value.code == "DryRunOperation", info.value.stderr

    nubo.aws("ec2", "delete-vpc", "--vpc-id", vpc_id)
    with pytest.raises(AwsCliError) as info:
        nubo.aws("ec2", "describe-vpcs", "--vpc-ids", vpc_id)
    assert info.value.code == "InvalidVpcID.NotFound", info.value.stderr
