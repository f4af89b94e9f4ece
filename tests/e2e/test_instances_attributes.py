"""ModifyInstanceAttribute / DescribeInstanceAttribute: instance type and user data only while
stopped (IncorrectInstanceState otherwise), source/dest check (mirrored on the primary ENI),
termination protection, shutdown behaviour and security groups — and the stopped instance
really comes back with the new type's limits and the new user data."""


from conftest import expect_error, unique
from instance_support import (  # noqa: F401  (fixtures)
    b64, base_image, describe, launch, make_network, network, raw_call, run, running,
    user_data_script, wait_exec_ready, wait_file, wait_state, wait_until)


def attr(ec2, iid, name):
    return ec2.describe_instance_attribute(InstanceId=iid, Attribute=name)


def test_describe_each_attribute(nubo, ec2, network, launch):
    [inst] = launch(InstanceType="t3.micro")["Instances"]
    iid = inst["InstanceId"]
    assert attr(ec2, iid, "instanceType")["InstanceType"] == {"Value": "t3.micro"}
    assert attr(ec2, iid, "disableApiTermination")["DisableApiTermination"] == {"Value": False}
    assert attr(ec2, iid, "instanceInitiatedShutdownBehavior")[
        "InstanceInitiatedShutdownBehavior"] == {"Value": "stop"}
    assert attr(ec2, iid, "sourceDestCheck")["SourceDestCheck"] == {"Value": True}
    assert [g["GroupId"] for g in attr(ec2, iid, "groupSet")["Groups"]] == [
        network.default_group()]
    assert attr(ec2, iid, "userData").get("UserData", {}).get("Value") in (None, "")
    root = attr(ec2, iid, "rootDeviceName")["RootDeviceName"]["Value"]
    assert root.startswith("/dev/")
    for a in ("instanceType", "groupSet", "sourceDestCheck"):
        assert attr(ec2, iid, a)["InstanceId"] == iid
    expect_error("InvalidParameterValue", raw_call(nubo), {
        "Action": "DescribeInstanceAttribute", "InstanceId": iid, "Attribute": "noSuchAttribute"})


def test_type_and_user_data_change_only_while_stopped(nubo, ec2, running):
    desc = running(InstanceType="t3.nano", UserData=user_data_script("echo 1 > /root/ud1"))
    iid = desc["InstanceId"]
    wait_file(nubo, iid, "/root/ud1")   # the first boot has run its user-data
    expect_error("IncorrectInstanceState", ec2.modify_instance_attribute, InstanceId=iid,
                 InstanceType={"Value": "t3.small"})
    expect_error("IncorrectInstanceState", ec2.modify_instance_attribute, InstanceId=iid,
                 UserData={"Value": b"#!/bin/sh\ntrue\n"})
    assert attr(ec2, iid, "instanceType")["InstanceType"]["Value"] == "t3.nano"

    ec2.stop_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "stopped")
    expect_error("InvalidParameterValue", ec2.modify_instance_attribute, InstanceId=iid,
                 InstanceType={"Value": "t3.bogus"})
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.small"})
    marker = unique("ud2")
    script = user_data_script(f"echo {marker} > /root/ud2")
    # boto3 base64-encodes the blob, as the CLI does.
    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": script.encode()})
    assert attr(ec2, iid, "instanceType")["InstanceType"]["Value"] == "t3.small"
    assert attr(ec2, iid, "userData")["UserData"]["Value"] == b64(script)
    assert describe(ec2, iid)["InstanceType"] == "t3.small"

    ec2.start_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "running")
    wait_exec_ready(nubo, iid)
    # The new type's memory limit is what the instance gets (t3.small: 2 GiB).
    mem_kib = int(run(nubo, iid, "awk", "/MemTotal/ {print $2}", "/proc/meminfo").strip())
    limit = _memory_limit(nubo, iid)
    assert limit == 2048 * 1024 * 1024 or mem_kib == 2048 * 1024, (limit, mem_kib)
    assert run(nubo, iid, "curl", "-s", "http://169.254.169.254/latest/user-data") == script
    # New user data on an instance that already booted once does not run again (EC2 runs
    # user-data at first boot only).
    assert nubo.exec(iid, "test", "-e", "/root/ud2", check=False).returncode != 0


def _memory_limit(nubo, iid):
    """The instance's memory limit in bytes, from its cgroup on the host (v1 or v2)."""
    for c in nubo.kernel_objects()["cgroups"]:
        if iid in c and c.startswith("memory/"):
            path = f"/sys/fs/cgroup/{c}/memory.limit_in_bytes"
            try:
                return int(open(path).read())
            except OSError:
                continue
        if iid in c and c.split("/")[0] not in ("cpu", "cpuacct", "pids", "memory", "blkio",
                                                  "cpuset", "devices", "freezer", "systemd"):
            try:
                return int(open(f"/sys/fs/cgroup/{c}/memory.max").read())
            except (OSError, ValueError):
                continue
    return None


def test_source_dest_check_termination_protection_and_groups(nubo, ec2, network, launch,
                                                             cleanup):
    [inst] = launch()["Instances"]
    iid = inst["InstanceId"]
    eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    wait_state(ec2, iid, "running")

    ec2.modify_instance_attribute(InstanceId=iid, SourceDestCheck={"Value": False})
    assert attr(ec2, iid, "sourceDestCheck")["SourceDestCheck"]["Value"] is False
    assert describe(ec2, iid)["SourceDestCheck"] is False
    [e] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"]
    assert e["SourceDestCheck"] is False
    # The older Attribute/Value form does the same.
    ec2.modify_instance_attribute(InstanceId=iid, Attribute="sourceDestCheck", Value="true")
    assert attr(ec2, iid, "sourceDestCheck")["SourceDestCheck"]["Value"] is True

    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
    expect_error("OperationNotPermitted", ec2.terminate_instances, InstanceIds=[iid])
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})

    ec2.modify_instance_attribute(InstanceId=iid,
                                  InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    assert attr(ec2, iid, "instanceInitiatedShutdownBehavior")[
        "InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"

    sg1 = ec2.create_security_group(GroupName=unique("a"), Description="a",
                                    VpcId=network.vpc_id)["GroupId"]
    cleanup(lambda: ec2.delete_security_group(GroupId=sg1))
    sg2 = ec2.create_security_group(GroupName=unique("b"), Description="b",
                                    VpcId=network.vpc_id)["GroupId"]
    cleanup(lambda: ec2.delete_security_group(GroupId=sg2))
    ec2.modify_instance_attribute(InstanceId=iid, Groups=[sg1, sg2])
    assert {g["GroupId"] for g in attr(ec2, iid, "groupSet")["Groups"]} == {sg1, sg2}
    assert {g["GroupId"] for g in describe(ec2, iid)["SecurityGroups"]} == {sg1, sg2}
    [e] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"]
    assert {g["GroupId"] for g in e["Groups"]} == {sg1, sg2}
    # A group of another VPC or one that does not exist: refused, nothing changed.
    other = ec2.create_vpc(CidrBlock="10.251.0.0/16")["Vpc"]["VpcId"]
    cleanup(lambda: ec2.delete_vpc(VpcId=other))
    try:
        other_sg = ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [other]}])["SecurityGroups"][0]["GroupId"]
        expect_error("InvalidGroup.NotFound", ec2.modify_instance_attribute, InstanceId=iid,
                     Groups=["sg-0123456789abcdef0"])
        expect_error("InvalidParameter", ec2.modify_instance_attribute, InstanceId=iid,
                     Groups=[other_sg])
        assert {g["GroupId"] for g in attr(ec2, iid, "groupSet")["Groups"]} == {sg1, sg2}
    finally:
        ec2.modify_instance_attribute(InstanceId=iid, Groups=[network.default_group()])
    # DryRun on a modify changes nothing.
    expect_error("DryRunOperation", ec2.modify_instance_attribute, InstanceId=iid,
                 SourceDestCheck={"Value": False}, DryRun=True)
    assert attr(ec2, iid, "sourceDestCheck")["SourceDestCheck"]["Value"] is True
