"""DescribeInstances (every commonly used filter, pagination), DescribeInstanceStatus, and the
errors RunInstances and the instance actions give for malformed IDs, unknown IDs and bad
parameters — each refused precisely, changing nothing."""

import pytest

from conftest import expect_error, unique
from instance_support import (  # noqa: F401  (fixtures)
    MISSING_INSTANCE, base_image, describe, launch, make_network, network, raw_call, tag_spec,
    wait_state)


def ids_of(resp) -> set:
    return {i["InstanceId"] for r in resp["Reservations"] for i in r["Instances"]}


@pytest.fixture
def fleet(nubo, ec2, network, launch, cleanup):
    """Three instances: a, b (t3.nano, subnet 1, one reservation) and c (t3.micro, subnet 2,
    key pair, stopped)."""
    key = unique("key")
    ec2.create_key_pair(KeyName=key)
    cleanup(lambda: ec2.delete_key_pair(KeyName=key))
    ab = launch(MinCount=2, TagSpecifications=[tag_spec("instance", Name="ab", tier="web")])
    c = launch(InstanceType="t3.micro", SubnetId=network.subnet_b_id, KeyName=key,
               TagSpecifications=[tag_spec("instance", Name="c", owner="ops")])
    a, b = ab["Instances"]
    [c_inst] = c["Instances"]
    wait_state(ec2, [a["InstanceId"], b["InstanceId"], c_inst["InstanceId"]], "running")
    ec2.stop_instances(InstanceIds=[c_inst["InstanceId"]])
    wait_state(ec2, c_inst["InstanceId"], "stopped")
    return {"a": a, "b": b, "c": c_inst, "key": key, "ab_rid": ab["ReservationId"],
            "c_rid": c["ReservationId"], "net": network}


def test_describe_filters(nubo, ec2, fleet, base_image):
    a, b, c, net = fleet["a"], fleet["b"], fleet["c"], fleet["net"]
    A, B, C = a["InstanceId"], b["InstanceId"], c["InstanceId"]
    in_vpc = {"Name": "vpc-id", "Values": [net.vpc_id]}

    def select(*filters):
        return ids_of(ec2.describe_instances(Filters=[in_vpc, *filters]))

    assert select() == {A, B, C}
    cases = [
        ({"Name": "instance-id", "Values": [A, C]}, {A, C}),
        ({"Name": "instance-state-name", "Values": ["running"]}, {A, B}),
        ({"Name": "instance-state-name", "Values": ["stopped"]}, {C}),
        ({"Name": "instance-state-code", "Values": ["80"]}, {C}),
        ({"Name": "instance-type", "Values": ["t3.micro"]}, {C}),
        ({"Name": "image-id", "Values": [base_image]}, {A, B, C}),
        ({"Name": "image-id", "Values": ["ami-0123456789abcdef0"]}, set()),
        ({"Name": "subnet-id", "Values": [net.subnet_id]}, {A, B}),
        ({"Name": "subnet-id", "Values": [net.subnet_b_id]}, {C}),
        ({"Name": "private-ip-address", "Values": [b["PrivateIpAddress"]]}, {B}),
        ({"Name": "network-interface.addresses.private-ip-address",
          "Values": [a["PrivateIpAddress"]]}, {A}),
        ({"Name": "key-name", "Values": [fleet["key"]]}, {C}),
        ({"Name": "tag:Name", "Values": ["ab"]}, {A, B}),
        ({"Name": "tag:Name", "Values": ["a*"]}, {A, B}),
        ({"Name": "tag-key", "Values": ["owner"]}, {C}),
        ({"Name": "network-interface.network-interface-id",
          "Values": [a["NetworkInterfaces"][0]["NetworkInterfaceId"]]}, {A}),
        ({"Name": "network-interface.subnet-id", "Values": [net.subnet_b_id]}, {C}),
        ({"Name": "network-interface.mac-address",
          "Values": [c["NetworkInterfaces"][0]["MacAddress"]]}, {C}),
        ({"Name": "availability-zone", "Values": ["us-east-1b"]}, {C}),
        ({"Name": "availability-zone", "Values": ["us-east-1a"]}, {A, B}),
        ({"Name": "reservation-id", "Values": [fleet["ab_rid"]]}, {A, B}),
        ({"Name": "owner-id", "Values": [nubo.admin.account_id]}, {A, B, C}),
        ({"Name": "instance.group-id", "Values": [net.default_group()]}, {A, B, C}),
        ({"Name": "instance.group-name", "Values": ["default"]}, {A, B, C}),
        ({"Name": "launch-index", "Values": ["1"]},
         {x["InstanceId"] for x in (a, b) if x["AmiLaunchIndex"] == 1}),
        ({"Name": "private-dns-name", "Values": [a["PrivateDnsName"]]}, {A}),
        ({"Name": "client-token", "Values": [c["ClientToken"]]}, {C}),
        ({"Name": "state-reason-code", "Values": ["Client.UserInitiatedShutdown"]}, {C}),
        ({"Name": "network-interface.group-id", "Values": [net.default_group()]}, {A, B, C}),
        ({"Name": "metadata-options.http-tokens",
          "Values": [a["MetadataOptions"]["HttpTokens"]]}, {A, B, C}),
    ]
    for f, expected in cases:
        assert select(f) == expected, f
    # Several values are OR-ed, several filters AND-ed.
    assert select({"Name": "instance-state-name", "Values": ["running", "stopped"]},
                  {"Name": "tag:Name", "Values": ["c"]}) == {C}
    # InstanceIds and Filters together: the intersection.
    assert ids_of(ec2.describe_instances(InstanceIds=[A, C], Filters=[
        {"Name": "instance-state-name", "Values": ["running"]}])) == {A}
    expect_error("InvalidParameterValue", ec2.describe_instances,
                 Filters=[{"Name": "no-such-filter", "Values": ["x"]}])

    # The AWS CLI's filters go through the same path.
    out = nubo.aws("ec2", "describe-instances", "--filters", f"Name=vpc-id,Values={net.vpc_id}",
                   "Name=instance-type,Values=t3.micro", "--query",
                   "Reservations[].Instances[].InstanceId")
    assert out == [C]


def test_reservations_group_instances_launched_together(ec2, fleet):
    found = ec2.describe_instances(Filters=[{"Name": "vpc-id", "Values": [fleet["net"].vpc_id]}])
    by_rid = {r["ReservationId"]: {i["InstanceId"] for i in r["Instances"]}
              for r in found["Reservations"]}
    assert by_rid == {fleet["ab_rid"]: {fleet["a"]["InstanceId"], fleet["b"]["InstanceId"]},
                      fleet["c_rid"]: {fleet["c"]["InstanceId"]}}


def test_pagination(nubo, ec2, network, launch):
    resp = launch(MinCount=7)
    ids = {i["InstanceId"] for i in resp["Instances"]}
    pages, token = [], None
    while True:
        kwargs = {"Filters": [{"Name": "vpc-id", "Values": [network.vpc_id]}], "MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        page = ec2.describe_instances(**kwargs)
        pages.append([i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]])
        token = page.get("NextToken")
        if not token:
            break
    assert len(pages) == 2 and len(pages[0]) == 5 and len(pages[1]) == 2, pages
    assert set(pages[0]) | set(pages[1]) == ids and not set(pages[0]) & set(pages[1])
    # boto3's paginator walks the same pages.
    walked = set()
    for page in ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "vpc-id", "Values": [network.vpc_id]}],
            PaginationConfig={"PageSize": 5}):
        walked |= ids_of(page)
    assert walked == ids
    # AWS: MaxResults is 5..1000 and cannot be combined with InstanceIds.
    expect_error("InvalidParameterValue", ec2.describe_instances, MaxResults=4)
    expect_error("InvalidParameterCombination", ec2.describe_instances,
                 InstanceIds=sorted(ids)[:1], MaxResults=5)


def test_describe_instance_status(nubo, ec2, fleet):
    A, C = fleet["a"]["InstanceId"], fleet["c"]["InstanceId"]
    [status] = ec2.describe_instance_status(InstanceIds=[A])["InstanceStatuses"]
    assert status["InstanceId"] == A
    assert status["AvailabilityZone"] == "us-east-1a"
    assert status["InstanceState"] == {"Code": 16, "Name": "running"}
    assert status["InstanceStatus"]["Status"] in ("ok", "initializing")
    assert status["SystemStatus"]["Status"] in ("ok", "initializing")
    assert status["InstanceStatus"]["Details"][0]["Name"] == "reachability"
    # A stopped instance is listed only with IncludeAllInstances.
    assert ec2.describe_instance_status(InstanceIds=[C])["InstanceStatuses"] == []
    [stopped] = ec2.describe_instance_status(InstanceIds=[C], IncludeAllInstances=True)[
        "InstanceStatuses"]
    assert stopped["InstanceState"] == {"Code": 80, "Name": "stopped"}
    assert stopped["InstanceStatus"]["Status"] == "not-applicable"
    listed = {s["InstanceId"] for s in ec2.describe_instance_status(
        IncludeAllInstances=True, Filters=[{"Name": "availability-zone",
                                            "Values": ["us-east-1b"]}])["InstanceStatuses"]}
    assert C in listed and A not in listed
    by_state = {s["InstanceId"] for s in ec2.describe_instance_status(
        IncludeAllInstances=True, Filters=[{"Name": "instance-state-name",
                                            "Values": ["stopped"]}])["InstanceStatuses"]}
    assert C in by_state and A not in by_state
    expect_error("InvalidInstanceID.NotFound", ec2.describe_instance_status,
                 InstanceIds=[MISSING_INSTANCE])
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=[A],
                                             WaiterConfig={"Delay": 1, "MaxAttempts": 60})


MALFORMED = ["i-xyz", "i-123", "bogus", "i-0123456789abcdefg"]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_instance_ids(ec2, bad):
    calls = [
        (ec2.describe_instances, {"InstanceIds": [bad]}),
        (ec2.describe_instance_status, {"InstanceIds": [bad]}),
        (ec2.start_instances, {"InstanceIds": [bad]}),
        (ec2.stop_instances, {"InstanceIds": [bad]}),
        (ec2.reboot_instances, {"InstanceIds": [bad]}),
        (ec2.terminate_instances, {"InstanceIds": [bad]}),
        (ec2.describe_instance_attribute, {"InstanceId": bad, "Attribute": "instanceType"}),
        (ec2.modify_instance_attribute, {"InstanceId": bad,
                                         "DisableApiTermination": {"Value": True}}),
        (ec2.get_console_output, {"InstanceId": bad}),
        (ec2.modify_instance_metadata_options, {"InstanceId": bad, "HttpTokens": "required"}),
    ]
    for fn, kwargs in calls:
        err = expect_error("InvalidInstanceID.Malformed", fn, **kwargs)
        assert bad in err.response["Error"]["Message"], (fn, err.response)


def test_unknown_instance_ids(ec2, launch):
    calls = [
        (ec2.describe_instances, {"InstanceIds": [MISSING_INSTANCE]}),
        (ec2.describe_instance_status, {"InstanceIds": [MISSING_INSTANCE]}),
        (ec2.start_instances, {"InstanceIds": [MISSING_INSTANCE]}),
        (ec2.stop_instances, {"InstanceIds": [MISSING_INSTANCE]}),
        (ec2.reboot_instances, {"InstanceIds": [MISSING_INSTANCE]}),
        (ec2.terminate_instances, {"InstanceIds": [MISSING_INSTANCE]}),
        (ec2.describe_instance_attribute, {"InstanceId": MISSING_INSTANCE,
                                           "Attribute": "instanceType"}),
        (ec2.modify_instance_attribute, {"InstanceId": MISSING_INSTANCE,
                                         "DisableApiTermination": {"Value": True}}),
        (ec2.get_console_output, {"InstanceId": MISSING_INSTANCE}),
        (ec2.modify_instance_metadata_options, {"InstanceId": MISSING_INSTANCE,
                                                "HttpTokens": "required"}),
    ]
    for fn, kwargs in calls:
        err = expect_error("InvalidInstanceID.NotFound", fn, **kwargs)
        assert MISSING_INSTANCE in err.response["Error"]["Message"], (fn, err.response)
    # One unknown ID among known ones fails the whole call and changes nothing.
    [inst] = launch()["Instances"]
    iid = inst["InstanceId"]
    wait_state(ec2, iid, "running")
    expect_error("InvalidInstanceID.NotFound", ec2.stop_instances,
                 InstanceIds=[iid, MISSING_INSTANCE])
    expect_error("InvalidInstanceID.NotFound", ec2.terminate_instances,
                 InstanceIds=[iid, MISSING_INSTANCE])
    assert describe(ec2, iid)["State"]["Name"] == "running"
    # DryRun answers DryRunOperation for a real instance and changes nothing.
    expect_error("DryRunOperation", ec2.stop_instances, InstanceIds=[iid], DryRun=True)
    expect_error("DryRunOperation", ec2.terminate_instances, InstanceIds=[iid], DryRun=True)
    assert describe(ec2, iid)["State"]["Name"] == "running"


def test_run_instances_bad_parameters_change_nothing(nubo, ec2, network, make_network, launch,
                                                     base_image, cleanup):
    other = make_network()
    other_sg = other.default_group()
    sg = network.default_group()

    def enis_in_vpc():
        return len(ec2.describe_network_interfaces(Filters=[
            {"Name": "vpc-id", "Values": [network.vpc_id]}])["NetworkInterfaces"])

    def instances_in_vpc():
        return ids_of(ec2.describe_instances(Filters=[
            {"Name": "vpc-id", "Values": [network.vpc_id]}]))

    taken = ec2.create_network_interface(SubnetId=network.subnet_id)["NetworkInterface"]
    cleanup(lambda: ec2.delete_network_interface(NetworkInterfaceId=taken["NetworkInterfaceId"]))
    before_enis, before_instances = enis_in_vpc(), instances_in_vpc()

    cases = [
        ("InvalidParameterValue", {"InstanceType": "t3.bogus"}),
        ("InvalidAMIID.NotFound", {"ImageId": "ami-0123456789abcdef0"}),
        ("InvalidAMIID.Malformed", {"ImageId": "ami-xyz"}),
        ("InvalidSubnetID.NotFound", {"SubnetId": "subnet-0123456789abcdef0"}),
        ("InvalidGroup.NotFound", {"SecurityGroupIds": ["sg-0123456789abcdef0"]}),
        # A security group of another VPC than the subnet's.
        ("InvalidParameter", {"SecurityGroupIds": [other_sg]}),
        ("InvalidParameterValue", {"PrivateIpAddress": "10.250.0.5"}),  # outside the subnet
        ("InvalidIPAddress.InUse", {"PrivateIpAddress": taken["PrivateIpAddress"]}),
        ("InvalidKeyPair.NotFound", {"KeyName": unique("nokey")}),
        ("InvalidParameterValue", {"Placement": {"AvailabilityZone": "us-east-1b"}}),
        ("InvalidParameterValue", {"InstanceInitiatedShutdownBehavior": "explode"}),
        ("InvalidParameterValue", {"MinCount": 3, "MaxCount": 2}),
        # Network interfaces and an instance-level private IP address.
        ("InvalidParameterCombination", {"NetworkInterfaces": [
            {"DeviceIndex": 0, "SubnetId": network.subnet_id}],
            "PrivateIpAddress": network.subnet["CidrBlock"].rsplit(".", 1)[0] + ".50"}),
        # A network interface specification and an instance-level subnet.
        ("InvalidParameterCombination", {"NetworkInterfaces": [
            {"DeviceIndex": 0, "SubnetId": network.subnet_id}], "SubnetId": network.subnet_id}),
        # An ENI of another VPC than the groups', through NetworkInterfaces.
        ("InvalidParameter", {"NetworkInterfaces": [
            {"DeviceIndex": 0, "SubnetId": other.subnet_id, "Groups": [sg]}]}),
        ("InvalidNetworkInterfaceID.NotFound", {"NetworkInterfaces": [
            {"DeviceIndex": 0, "NetworkInterfaceId": "eni-0123456789abcdef0"}]}),
        # A resource type RunInstances does not tag.
        ("InvalidParameterValue", {"TagSpecifications": [
            {"ResourceType": "vpc", "Tags": [{"Key": "k", "Value": "v"}]}]}),
    ]
    for code, kwargs in cases:
        full = {"ImageId": base_image, "InstanceType": "t3.nano", "MinCount": 1,
                "MaxCount": 1, "SubnetId": network.subnet_id}
        full.update(kwargs)
        if "NetworkInterfaces" in kwargs and "SubnetId" not in kwargs:
            full.pop("SubnetId")
        expect_error(code, ec2.run_instances, **full)
        assert enis_in_vpc() == before_enis, (code, kwargs)
        assert instances_in_vpc() == before_instances, (code, kwargs)
    # DryRun: DryRunOperation for a valid request, nothing created.
    expect_error("DryRunOperation", ec2.run_instances, ImageId=base_image,
                 InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=network.subnet_id,
                 DryRun=True)
    assert instances_in_vpc() == before_instances
    # Missing required parameters.
    expect_error("MissingParameter", raw_call(nubo), {
        "Action": "RunInstances", "MinCount": "1", "MaxCount": "1", "SubnetId": network.subnet_id})
    expect_error("MissingParameter", raw_call(nubo), {
        "Action": "RunInstances", "ImageId": base_image, "SubnetId": network.subnet_id})
    assert instances_in_vpc() == before_instances


def test_attached_eni_cannot_be_reused(ec2, launch, network):
    [inst] = launch()["Instances"]
    eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    expect_error("InvalidNetworkInterface.InUse", ec2.run_instances,
                 ImageId=inst["ImageId"], InstanceType="t3.nano", MinCount=1, MaxCount=1,
                 NetworkInterfaces=[{"DeviceIndex": 0, "NetworkInterfaceId": eni}])
    # The primary ENI cannot be detached or deleted while its instance lives.
    attachment = inst["NetworkInterfaces"][0]["Attachment"]["AttachmentId"]
    expect_error("OperationNotPermitted", ec2.detach_network_interface, AttachmentId=attachment)
    expect_error("InvalidNetworkInterface.InUse", ec2.delete_network_interface,
                 NetworkInterfaceId=eni)
    # Nor the subnet it sits in.
    expect_error("DependencyViolation", ec2.delete_subnet, SubnetId=network.subnet_id)
