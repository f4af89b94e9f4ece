"""Every mutating call leaves an audit record (who, what, when, result), read with `nubo audit`."""

import json

from conftest import expect_error


def audit_of(nubo, account_id: str) -> list[dict]:
    done = nubo.nubo_cli("audit", "--account", account_id, "--limit", "200", "--output", "json")
    return json.loads(done.stdout)


def test_mutating_calls_are_audited_with_result_and_resources(nubo, account):
    ec2 = nubo.client("ec2", account.creds)
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "team", "Value": "blue"}])
    expect_error("InvalidVpc.Range", ec2.create_vpc, CidrBlock="10.0.0.0/8")
    ec2.describe_vpcs()
    ec2.delete_vpc(VpcId=vpc_id)

    records = audit_of(nubo, account.account_id)
    actions = [(r["Action"], r["Result"]) for r in records]
    # Newest first; reads are not audited.
    assert actions == [
        ("DeleteVpc", "Success"),
        ("CreateVpc", "InvalidVpc.Range"),
        ("CreateTags", "Success"),
        ("CreateVpc", "Success"),
    ], actions
    create = records[-1]
    assert create["Resources"] == [vpc_id]
    assert create["Principal"] == f"arn:aws:iam::{account.account_id}:root"
    assert create["AccessKeyId"] == account.creds.access_key_id
    assert create["HttpStatus"] == 200
    assert records[1]["HttpStatus"] == 400
    assert len({r["RequestId"] for r in records}) == len(records)


def test_dry_runs_and_denied_calls_are_audited_but_change_nothing(nubo, account):
    ec2 = nubo.client("ec2", account.creds)
    expect_error("DryRunOperation", ec2.create_vpc, CidrBlock="10.8.0.0/16", DryRun=True)
    # Only the account's default VPC, which is provisioned, not audited as a call.
    assert [v["IsDefault"] for v in ec2.describe_vpcs()["Vpcs"]] == [True]
    records = audit_of(nubo, account.account_id)
    assert [(r["Action"], r["Result"]) for r in records] == [("CreateVpc", "DryRunOperation")]
