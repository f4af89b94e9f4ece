"""Query-protocol details every AWS client relies on: envelopes, request ids, GET requests,
unknown parameters, bad pagination tokens, and concurrent writers."""

import concurrent.futures
import re

import pytest
from botocore.exceptions import ClientError

from conftest import expect_error, tags_of, unique


def test_every_response_carries_a_request_id(ec2, iam, sts):
    for response in (ec2.describe_regions(), iam.list_users(), sts.get_caller_identity()):
        assert response["ResponseMetadata"]["RequestId"], response["ResponseMetadata"]
    err = expect_error("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=["vpc-0123456789abcdef0"])
    assert err.response["ResponseMetadata"]["RequestId"]


def test_error_envelopes(nubo):
    # EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
    r = nubo.raw("ec2", {"Action": "DescribeVpcs", "VpcId.1": "vpc-0123456789abcdef0"})
    assert r.status == 400 and r.code == "InvalidVpcID.NotFound", r.body
    assert re.search(r"<Response>.*<Errors>.*<Error>.*</Error>.*</Errors>.*<RequestID>[^<]+</RequestID>",
                     r.body, re.S), r.body
    # IAM/STS: <ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/>
    r = nubo.raw("iam", {"Action": "GetUser", "UserName": unique("ghost")})
    assert r.status == 404 and r.code == "NoSuchEntity", r.body
    assert re.search(r"<ErrorResponse[^>]*>.*<Error>.*<Type>Sender</Type>.*</Error>.*"
                     r"<RequestId>[^<]+</RequestId>", r.body, re.S), r.body


def test_query_api_over_get_with_signed_headers(nubo):
    r = nubo.raw("ec2", {"Action": "DescribeAvailabilityZones"}, method="GET")
    assert r.status == 200, r.body
    assert "<zoneName>us-east-1a</zoneName>" in r.body
    r = nubo.raw("sts", {"Action": "GetCallerIdentity"}, method="GET")
    assert r.status == 200 and f"<Account>{nubo.admin.account_id}</Account>" in r.body, r.body


def test_unknown_ec2_parameter_is_rejected(nubo):
    # EC2 refuses parameters it does not know: "UnknownParameter: The parameter Flavour is not
    # recognized".
    r = nubo.raw("ec2", {"Action": "DescribeVpcs", "Flavour": "vanilla"})
    assert r.status == 400 and r.code == "UnknownParameter", r.body


def test_garbage_next_token_is_a_client_error(ec2):
    with pytest.raises(ClientError) as info:
        ec2.describe_vpcs(MaxResults=5, NextToken="this-is-not-a-token")
    # AWS answers InvalidParameterValue ("Invalid value ... for nextToken"); never a 5xx.
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, info.value.response
    assert info.value.response["Error"]["Code"] in ("InvalidParameterValue", "InvalidNextToken",
                                                    "InvalidPaginationToken"), info.value.response


def test_leading_zeros_in_cidr_are_invalid(ec2):
    expect_error("InvalidParameterValue", ec2.create_vpc, CidrBlock="010.0.0.0/16")


def test_duplicate_ids_in_describe_are_listed_once(ec2, make_vpc):
    vpc_id = make_vpc("10.0.0.0/16")["VpcId"]
    vpcs = ec2.describe_vpcs(VpcIds=[vpc_id, vpc_id])["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == [vpc_id]


def test_concurrent_tag_writers_lose_nothing(nubo, make_vpc):
    vpc_id = make_vpc("10.1.0.0/16")["VpcId"]
    ec2 = nubo.client("ec2", max_pool_connections=10)

    def tag(i):
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": f"writer-{i}", "Value": str(i)}])

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(tag, range(24)))
    got = tags_of(ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0])
    assert got == {f"writer-{i}": str(i) for i in range(24)}


def test_concurrent_creates_get_distinct_ids(nubo, cleanup):
    ec2 = nubo.client("ec2", max_pool_connections=10)

    def create(_):
        vpc_id = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
        cleanup(lambda: ec2.delete_vpc(VpcId=vpc_id))
        return vpc_id

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(16)))
    assert len(set(ids)) == 16
    assert set(ids) <= {v["VpcId"] for v in ec2.describe_vpcs(VpcIds=ids)["Vpcs"]}


def test_concurrent_secondary_cidrs_respect_the_limit(nubo, make_vpc):
    # Eight racing associations for four free slots: exactly four win, the rest are refused.
    ec2 = nubo.client("ec2", max_pool_connections=10)
    vpc_id = make_vpc("10.100.0.0/16")["VpcId"]

    def associate(i):
        try:
            ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=f"10.{101 + i}.0.0/16")
            return "ok"
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(associate, range(8)))
    assert sorted(outcomes) == ["CidrLimitExceeded"] * 4 + ["ok"] * 4, outcomes
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    assert len([a for a in vpc["CidrBlockAssociationSet"]
                if a["CidrBlockState"]["State"] == "associated"]) == 5
