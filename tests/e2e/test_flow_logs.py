"""Flow log definitions through boto3 and the AWS CLI: CreateFlowLogs with its per-resource
`Unsuccessful` items, every destination type and its validation, custom formats,
DescribeFlowLogs filters and pagination, DeleteFlowLogs of unknown IDs, and flow logs going
away with the resource they watch. (No records are captured yet.)"""

from __future__ import annotations

from conftest import expect_error, unique

ROLE = "arn:aws:iam::123456789012:role/flow-logs"
DEFAULT_FORMAT = ("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} "
                  "${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} "
                  "${log-status}")


def to_s3(ec2, cleanup, resource_ids, resource_type="VPC", **kwargs):
    out = ec2.create_flow_logs(ResourceIds=resource_ids, ResourceType=resource_type,
                               TrafficType=kwargs.pop("TrafficType", "ALL"),
                               LogDestinationType="s3",
                               LogDestination="arn:aws:s3:::flow-bucket/" + unique("p"), **kwargs)
    for fl in out["FlowLogIds"]:
        cleanup(lambda fl=fl: ec2.delete_flow_logs(FlowLogIds=[fl]))
    return out


def describe(ec2, *filters):
    return ec2.describe_flow_logs(Filters=list(filters))["FlowLogs"]


def test_create_describe_delete_with_unsuccessful_items(ec2, make_vpc, cleanup):
    vpc_id = make_vpc("10.61.0.0/16")["VpcId"]
    missing = "vpc-0123456789abcdef0"
    out = ec2.create_flow_logs(
        ResourceIds=[vpc_id, missing], ResourceType="VPC", TrafficType="REJECT",
        LogGroupName="vpc-flows", DeliverLogsPermissionArn=ROLE,
        TagSpecifications=[{"ResourceType": "vpc-flow-log",
                            "Tags": [{"Key": "team", "Value": "net"}]}])
    assert len(out["FlowLogIds"]) == 1
    fl_id = out["FlowLogIds"][0]
    cleanup(lambda: ec2.delete_flow_logs(FlowLogIds=[fl_id]))
    assert fl_id.startswith("fl-")
    assert [(u["ResourceId"], u["Error"]["Code"]) for u in out["Unsuccessful"]] == [
        (missing, "InvalidVpcID.NotFound")]

    [fl] = ec2.describe_flow_logs(FlowLogIds=[fl_id])["FlowLogs"]
    assert fl["ResourceId"] == vpc_id
    assert fl["TrafficType"] == "REJECT"
    assert fl["LogDestinationType"] == "cloud-watch-logs"
    assert fl["LogGroupName"] == "vpc-flows"
    assert fl["LogDestination"].endswith(":log-group:vpc-flows")
    assert fl["DeliverLogsPermissionArn"] == ROLE
    assert fl["LogFormat"] == DEFAULT_FORMAT
    assert fl["MaxAggregationInterval"] == 600
    assert fl["FlowLogStatus"] == "ACTIVE" and fl["DeliverLogsStatus"] == "SUCCESS"
    assert fl["Tags"] == [{"Key": "team", "Value": "net"}]
    assert "CreationTime" in fl

    # The same configuration again fails for that resource only.
    again = ec2.create_flow_logs(ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="REJECT",
                                 LogGroupName="vpc-flows", DeliverLogsPermissionArn=ROLE)
    assert again["FlowLogIds"] == []
    assert again["Unsuccessful"][0]["Error"]["Code"] == "FlowLogAlreadyExists"

    s3 = to_s3(ec2, cleanup, [vpc_id], LogFormat="${srcaddr} ${dstaddr} ${action} ${vpc-id}",
               MaxAggregationInterval=60,
               DestinationOptions={"FileFormat": "parquet", "HiveCompatiblePartitions": True,
                                   "PerHourPartition": False})
    [s3_fl] = ec2.describe_flow_logs(FlowLogIds=s3["FlowLogIds"])["FlowLogs"]
    assert s3_fl["LogFormat"] == "${srcaddr} ${dstaddr} ${action} ${vpc-id}"
    assert s3_fl["MaxAggregationInterval"] == 60
    assert s3_fl["DestinationOptions"] == {"FileFormat": "parquet",
                                           "HiveCompatiblePartitions": True,
                                           "PerHourPartition": False}
    assert "LogGroupName" not in s3_fl

    mine = {"Name": "resource-id", "Values": [vpc_id]}
    assert {f["FlowLogId"] for f in describe(ec2, mine)} == {fl_id, s3["FlowLogIds"][0]}
    assert [f["FlowLogId"] for f in describe(ec2, mine, {"Name": "log-destination-type",
                                                         "Values": ["s3"]})] == s3["FlowLogIds"]
    assert [f["FlowLogId"] for f in describe(ec2, mine, {"Name": "traffic-type",
                                                         "Values": ["REJECT"]})] == [fl_id]
    assert [f["FlowLogId"] for f in describe(ec2, {"Name": "log-group-name",
                                                   "Values": ["vpc-flows"]})] == [fl_id]
    assert [f["FlowLogId"] for f in describe(ec2, mine, {"Name": "tag:team",
                                                         "Values": ["net"]})] == [fl_id]
    assert len(describe(ec2, mine, {"Name": "deliver-log-status", "Values": ["SUCCESS"]})) == 2
    expect_error("InvalidParameterValue", ec2.describe_flow_logs,
                 Filters=[{"Name": "banana", "Values": ["x"]}])
    pages = list(ec2.get_paginator("describe_flow_logs").paginate(
        Filters=[mine], PaginationConfig={"PageSize": 1}))
    assert sum(len(p["FlowLogs"]) for p in pages) == 2 and len(pages) == 2

    # Deleting: unknown IDs are reported per ID, the rest deleted.
    unknown = "fl-0123456789abcdef0"
    gone = ec2.delete_flow_logs(FlowLogIds=[fl_id, unknown])
    assert [(u["ResourceId"], u["Error"]["Code"]) for u in gone["Unsuccessful"]] == [
        (unknown, "InvalidFlowLogId.NotFound")]
    assert ec2.describe_flow_logs(FlowLogIds=[fl_id])["FlowLogs"] == []
    expect_error("InvalidFlowLogId.Malformed", ec2.delete_flow_logs, FlowLogIds=["fl-zz"])
    expect_error("DryRunOperation", ec2.delete_flow_logs, FlowLogIds=s3["FlowLogIds"],
                 DryRun=True)


def test_invalid_definitions_are_refused_and_change_nothing(ec2, make_vpc):
    vpc_id = make_vpc("10.62.0.0/16")["VpcId"]
    s3 = {"LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::flow-bucket"}
    base = {"ResourceIds": [vpc_id], "ResourceType": "VPC", "TrafficType": "ALL"}
    cases = [
        ("InvalidParameterValue", {**base, **s3, "LogFormat": "${version} ${nonsense}"}),
        ("InvalidParameterValue", {**base, **s3, "LogFormat": "${version},${srcaddr}"}),
        ("InvalidParameterValue", {**base, **s3, "MaxAggregationInterval": 120}),
        ("InvalidParameterValue", {**base, **s3, "TrafficType": "SOME"}),
        ("InvalidParameterValue", {**base, "LogDestinationType": "s3",
                                   "LogDestination": "flow-bucket"}),
        ("MissingParameter", {**base, "LogDestinationType": "s3"}),
        ("MissingParameter", {**base, "LogGroupName": "g"}),
        ("InvalidParameterCombination", {**base, **s3, "LogGroupName": "g"}),
        ("InvalidParameterCombination", {**base, **s3, "DeliverLogsPermissionArn": ROLE}),
        ("InvalidParameterCombination", {**base, "LogGroupName": "g",
                                         "DeliverLogsPermissionArn": ROLE,
                                         "LogDestination": "arn:aws:logs:us-east-1:123456789012:log-group:g"}),
        ("InvalidParameterValue", {**base, "LogGroupName": "g",
                                   "DeliverLogsPermissionArn": "arn:aws:iam::1:user/x"}),
        ("InvalidSubnetID.Malformed", {**base, **s3, "ResourceType": "Subnet"}),
        ("InvalidParameterValue", {**base, **s3, "TagSpecifications": [
            {"ResourceType": "vpc", "Tags": [{"Key": "a", "Value": "b"}]}]}),
    ]
    for code, kwargs in cases:
        expect_error(code, ec2.create_flow_logs, **kwargs)
    assert describe(ec2, {"Name": "resource-id", "Values": [vpc_id]}) == []


def test_flow_logs_go_with_their_resources(ec2, make_vpc, cleanup):
    vpc_id = make_vpc("10.63.0.0/16")["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.63.1.0/24")["Subnet"]["SubnetId"]
    cleanup(lambda: ec2.delete_subnet(SubnetId=subnet_id))
    eni_id = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"][
        "NetworkInterfaceId"]
    cleanup(lambda: ec2.delete_network_interface(NetworkInterfaceId=eni_id))
    for rtype, rid in (("VPC", vpc_id), ("Subnet", subnet_id), ("NetworkInterface", eni_id)):
        assert len(to_s3(ec2, cleanup, [rid], resource_type=rtype)["FlowLogIds"]) == 1
    ids = {"Name": "resource-id", "Values": [vpc_id, subnet_id, eni_id]}
    assert len(describe(ec2, ids)) == 3
    ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    assert {f["ResourceId"] for f in describe(ec2, ids)} == {vpc_id, subnet_id}
    ec2.delete_subnet(SubnetId=subnet_id)
    assert {f["ResourceId"] for f in describe(ec2, ids)} == {vpc_id}
    ec2.delete_vpc(VpcId=vpc_id)
    assert describe(ec2, ids) == []


def test_flow_logs_through_the_aws_cli(nubo, ec2, make_vpc):
    vpc_id = make_vpc("10.64.0.0/16")["VpcId"]
    out = nubo.aws("ec2", "create-flow-logs", "--resource-type", "VPC", "--resource-ids", vpc_id,
                   "--traffic-type", "ACCEPT", "--log-destination-type",
                   "kinesis-data-firehose", "--log-destination",
                   "arn:aws:firehose:us-east-1:123456789012:deliverystream/flows",
                   "--log-format", "${version} ${srcaddr} ${dstaddr} ${tcp-flags}")
    [fl_id] = out["FlowLogIds"]
    try:
        found = nubo.aws("ec2", "describe-flow-logs", "--filter",
                         f"Name=resource-id,Values={vpc_id}")["FlowLogs"]
        assert [(f["FlowLogId"], f["LogDestinationType"], f["TrafficType"]) for f in found] == [
            (fl_id, "kinesis-data-firehose", "ACCEPT")]
        assert found[0]["LogFormat"] == "${version} ${srcaddr} ${dstaddr} ${tcp-flags}"
    finally:
        done = nubo.aws("ec2", "delete-flow-logs", "--flow-log-ids", fl_id)
    assert done.get("Unsuccessful", []) == []
    assert ec2.describe_flow_logs(FlowLogIds=[fl_id])["FlowLogs"] == []


def test_other_accounts_cannot_see_or_log_my_resources(nubo, ec2, account, make_vpc, cleanup):
    vpc_id = make_vpc("10.65.0.0/16")["VpcId"]
    [fl_id] = to_s3(ec2, cleanup, [vpc_id])["FlowLogIds"]
    theirs = nubo.client("ec2", account.creds)
    assert theirs.describe_flow_logs(FlowLogIds=[fl_id])["FlowLogs"] == []
    out = theirs.create_flow_logs(ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="ALL",
                                  LogDestinationType="s3",
                                  LogDestination="arn:aws:s3:::their-bucket")
    assert out["FlowLogIds"] == []
    assert out["Unsuccessful"][0]["Error"]["Code"] == "InvalidVpcID.NotFound"
    gone = theirs.delete_flow_logs(FlowLogIds=[fl_id])
    assert gone["Unsuccessful"][0]["Error"]["Code"] == "InvalidFlowLogId.NotFound"
    assert len(ec2.describe_flow_logs(FlowLogIds=[fl_id])["FlowLogs"]) == 1
