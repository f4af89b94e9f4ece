"""Instances that really run: RunInstances into a subnet, the response AWS gives, the state
machine (pending → running → stopping → stopped → pending → running → shutting-down →
terminated), what the instance sees inside (eth0's address and MAC, its host name, its
user-data), and what is left on the host after stop and terminate (nothing).
"""

import base64
import datetime as dt
import re
import subprocess

import pytest

from conftest import expect_error, tags_of, unique
from instance_support import (  # noqa: F401  (fixtures)
    ENI_ID, INSTANCE_ID, MAC, RESERVATION_ID, USER_INITIATED, b64,
    base_image, cgroup_dirs_of, describe, eth0, hostname_for, in_subnet, init_start_time, launch,
    make_network, network, run, running, tag_spec, user_data_script, wait_exec_ready, wait_file,
    wait_state, wait_until)


def test_run_instances_response_shape(nubo, ec2, network, launch, base_image):
    token = unique("ct")
    sg = network.default_group()
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    resp = launch(ClientToken=token, InstanceType="t3.micro", SecurityGroupIds=[sg],
                  TagSpecifications=[tag_spec("instance", Name="shape", team="e2e"),
                                     tag_spec("network-interface", role="primary")])
    assert RESERVATION_ID.match(resp["ReservationId"]), resp
    assert resp["OwnerId"] == nubo.admin.account_id
    [inst] = resp["Instances"]
    assert INSTANCE_ID.match(inst["InstanceId"])
    assert inst["State"] == {"Code": 0, "Name": "pending"}
    assert inst["ImageId"] == base_image
    assert inst["InstanceType"] == "t3.micro"
    assert inst["AmiLaunchIndex"] == 0
    assert inst["ClientToken"] == token
    assert inst["SubnetId"] == network.subnet_id and inst["VpcId"] == network.vpc_id
    assert inst["Placement"]["AvailabilityZone"] == network.subnet["AvailabilityZone"]
    assert inst["Placement"]["Tenancy"] == "default"
    assert before <= inst["LaunchTime"] <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    assert in_subnet(inst["PrivateIpAddress"], network.subnet["CidrBlock"])
    assert inst["PrivateDnsName"].startswith(hostname_for(inst["PrivateIpAddress"]))
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [sg]
    assert inst["SecurityGroups"][0]["GroupName"] == "default"
    assert tags_of(inst) == {"Name": "shape", "team": "e2e"}
    assert inst["SourceDestCheck"] is True
    assert "PublicIpAddress" not in inst   # a new subnet does not map public IPs by default
    [eni] = inst["NetworkInterfaces"]
    assert ENI_ID.match(eni["NetworkInterfaceId"]) and MAC.match(eni["MacAddress"])
    assert eni["PrivateIpAddress"] == inst["PrivateIpAddress"]
    assert eni["SubnetId"] == network.subnet_id and eni["VpcId"] == network.vpc_id
    assert eni["OwnerId"] == nubo.admin.account_id
    assert eni["Attachment"]["DeviceIndex"] == 0
    assert eni["Attachment"]["DeleteOnTermination"] is True
    assert [g["GroupId"] for g in eni["Groups"]] == [sg]

    # The primary ENI is a real ENI: described, in-use, attached, tagged as asked.
    [described] = ec2.describe_network_interfaces(
        NetworkInterfaceIds=[eni["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert described["Status"] == "in-use"
    assert described["Attachment"]["InstanceId"] == inst["InstanceId"]
    assert described["PrivateIpAddress"] == inst["PrivateIpAddress"]
    assert described["MacAddress"] == eni["MacAddress"]
    assert tags_of(described) == {"role": "primary"}

    # DescribeInstances tells the same story, in the same reservation.
    [r] = ec2.describe_instances(InstanceIds=[inst["InstanceId"]])["Reservations"]
    assert r["ReservationId"] == resp["ReservationId"] and r["OwnerId"] == nubo.admin.account_id
    assert r["Instances"][0]["PrivateIpAddress"] == inst["PrivateIpAddress"]
    assert r["Instances"][0]["LaunchTime"] == inst["LaunchTime"]


def test_launch_reaches_running_and_eth0_is_the_described_address(nubo, ec2, launch):
    [inst] = launch()["Instances"]
    iid = inst["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    desc = describe(ec2, iid)
    assert desc["State"] == {"Code": 16, "Name": "running"}
    assert desc["StateTransitionReason"] == ""
    wait_exec_ready(nubo, iid)

    addrs, mac = eth0(nubo, iid)
    assert addrs == {desc["PrivateIpAddress"]}
    assert mac == desc["NetworkInterfaces"][0]["MacAddress"]
    assert run(nubo, iid, "hostname").strip() == hostname_for(desc["PrivateIpAddress"])
    # PID 1 is a real init, not the command nubo exec ran.
    assert run(nubo, iid, "cat", "/proc/1/comm").strip() in {"init", "busybox", "systemd"}
    # The instance's own processes only (a PID namespace): the server is not visible.
    comms = run(nubo, iid, "sh", "-c", "cat /proc/[0-9]*/comm").split()
    assert comms and "nubo" not in comms, comms


def test_user_data_runs_once_as_root_and_console_shows_it(nubo, ec2, launch):
    marker = unique("ud")
    script = user_data_script(
        f"id -u > /root/ud-uid\necho {marker} >> /root/ud-runs\necho CONSOLE-{marker} > /dev/console")
    [inst] = launch(UserData=script)["Instances"]
    iid = inst["InstanceId"]
    wait_state(ec2, iid, "running")
    wait_exec_ready(nubo, iid)
    assert wait_file(nubo, iid, "/root/ud-runs").split() == [marker]
    assert wait_file(nubo, iid, "/root/ud-uid").strip() == "0"

    # DescribeInstanceAttribute returns it base64-encoded, as AWS does.
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert attr["UserData"]["Value"] == b64(script)

    # GetConsoleOutput: base64 on the wire (boto3 decodes it), with the instance's boot lines.
    def console():
        out = ec2.get_console_output(InstanceId=iid)
        return out if f"CONSOLE-{marker}" in out.get("Output", "") else None
    out = wait_until("user-data's line on the console", console)
    assert out["InstanceId"] == iid and out["Timestamp"]
    # The base image's first-boot agent reports on the console what it did.
    assert f"nubo-init: instance {iid}" in out["Output"], out["Output"][-2000:]
    assert "nubo-init: running user-data" in out["Output"]
    raw = nubo.raw("ec2", {"Action": "GetConsoleOutput", "InstanceId": iid})
    assert raw.status == 200, raw.body
    encoded = re.search(r"<output>([^<]*)</output>", raw.body).group(1)
    assert f"CONSOLE-{marker}" in base64.b64decode(encoded).decode(errors="replace")
    latest = ec2.get_console_output(InstanceId=iid, Latest=True)
    assert f"CONSOLE-{marker}" in latest["Output"]

    # Reboot: user-data does not run again.
    booted = init_start_time(nubo, iid)
    ec2.reboot_instances(InstanceIds=[iid])
    wait_until("a new init after RebootInstances", lambda: _rebooted(nubo, iid, booted))
    wait_state(ec2, iid, "running")
    assert run(nubo, iid, "cat", "/root/ud-runs").split() == [marker]


def _rebooted(nubo, iid, booted: str) -> bool:
    """Whether the instance's PID 1 is a different process than the one started at `booted`."""
    done = nubo.exec(iid, "cat", "/proc/1/stat", check=False)
    return done.returncode == 0 and done.stdout.rsplit(")", 1)[1].split()[19] != booted


def test_stop_start_keeps_address_and_disk_and_leaves_no_process(nubo, ec2, running):
    desc = running()
    iid, ip = desc["InstanceId"], desc["PrivateIpAddress"]
    mac = desc["NetworkInterfaces"][0]["MacAddress"]
    content = unique("disk")
    run(nubo, iid, "sh", "-c", f"echo {content} > /home/admin/persist.txt && sync")
    assert nubo.instance_processes(iid), "a running instance has processes on the host"
    assert cgroup_dirs_of(nubo, iid), "a running instance has a cgroup"

    stopping = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"]
    assert stopping == [{"InstanceId": iid, "PreviousState": {"Code": 16, "Name": "running"},
                         "CurrentState": {"Code": 64, "Name": "stopping"}}]
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    stopped = describe(ec2, iid)
    assert stopped["State"] == {"Code": 80, "Name": "stopped"}
    assert stopped["StateReason"] == {"Code": "Client.UserInitiatedShutdown",
                                      "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
    assert USER_INITIATED.match(stopped["StateTransitionReason"]), stopped["StateTransitionReason"]
    assert stopped["PrivateIpAddress"] == ip   # a stopped instance keeps its ENI and address

    # Nothing of it runs on the host: no process in its cgroup or namespace, no cgroup.
    wait_until("the stopped instance's processes to be gone",
               lambda: not nubo.instance_processes(iid), timeout=10)
    wait_until("the stopped instance's cgroups to be gone",
               lambda: not cgroup_dirs_of(nubo, iid), timeout=10)
    assert nubo.exec(iid, "true", check=False).returncode != 0, "exec into a stopped instance"

    # Stopping again is accepted and changes nothing.
    again = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert again["CurrentState"]["Name"] == "stopped"

    starting = ec2.start_instances(InstanceIds=[iid])["StartingInstances"]
    assert starting == [{"InstanceId": iid, "PreviousState": {"Code": 80, "Name": "stopped"},
                         "CurrentState": {"Code": 0, "Name": "pending"}}]
    wait_state(ec2, iid, "running")
    wait_exec_ready(nubo, iid)
    after = describe(ec2, iid)
    assert after["PrivateIpAddress"] == ip
    assert after["NetworkInterfaces"][0]["MacAddress"] == mac
    assert eth0(nubo, iid) == ({ip}, mac)
    assert run(nubo, iid, "cat", "/home/admin/persist.txt").strip() == content


def test_force_stop(nubo, ec2, running):
    desc = running()
    iid = desc["InstanceId"]
    # An init that ignores the shutdown signal would hang a graceful stop; Force does not wait.
    resp = ec2.stop_instances(InstanceIds=[iid], Force=True)["StoppingInstances"][0]
    assert resp["PreviousState"]["Name"] == "running"
    assert resp["CurrentState"]["Name"] in ("stopping", "stopped")
    wait_state(ec2, iid, "stopped", timeout=20)
    assert not nubo.instance_processes(iid)


def test_start_and_stop_refuse_the_wrong_state(nubo, ec2, running):
    desc = running()
    iid = desc["InstanceId"]
    # Starting a running instance is a no-op that reports running (as AWS).
    resp = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert resp["CurrentState"]["Name"] == "running"
    ec2.terminate_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "terminated")
    expect_error("IncorrectInstanceState", ec2.start_instances, InstanceIds=[iid])
    expect_error("IncorrectInstanceState", ec2.stop_instances, InstanceIds=[iid])
    expect_error("IncorrectInstanceState", ec2.reboot_instances, InstanceIds=[iid])
    # Terminating a terminated instance is accepted (idempotent).
    again = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert again["CurrentState"] == {"Code": 48, "Name": "terminated"}


def test_reboot_keeps_everything(nubo, ec2, running):
    desc = running()
    iid, ip = desc["InstanceId"], desc["PrivateIpAddress"]
    content = unique("reboot")
    run(nubo, iid, "sh", "-c", f"echo {content} > /root/kept && sync")
    booted = init_start_time(nubo, iid)

    ec2.reboot_instances(InstanceIds=[iid])
    wait_until("a new init after RebootInstances", lambda: _rebooted(nubo, iid, booted))
    wait_state(ec2, iid, "running")
    after = describe(ec2, iid)
    assert after["PrivateIpAddress"] == ip
    assert after["LaunchTime"] == desc["LaunchTime"]   # a reboot is not a new launch
    assert eth0(nubo, iid)[0] == {ip}
    assert run(nubo, iid, "cat", "/root/kept").strip() == content


def test_terminate_leaves_nothing_and_deletes_the_primary_eni(nubo, ec2, network, launch):
    baseline = nubo.kernel_objects()
    [inst] = launch()["Instances"]
    iid = inst["InstanceId"]
    eni_id = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    wait_state(ec2, iid, "running")
    wait_exec_ready(nubo, iid)
    objects = nubo.kernel_objects()
    assert f"{nubo.host_prefix}-{iid}" in objects["netns"], objects["netns"]
    assert iid in objects["state_dirs"]
    assert (nubo.data_dir / "instances" / iid).is_dir()
    assert nubo.instance_processes(iid)

    resp = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"]
    assert resp[0]["InstanceId"] == iid
    assert resp[0]["PreviousState"] == {"Code": 16, "Name": "running"}
    assert resp[0]["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    gone = describe(ec2, iid)   # terminated instances stay visible for a while
    assert gone["State"] == {"Code": 48, "Name": "terminated"}
    assert gone["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert USER_INITIATED.match(gone["StateTransitionReason"])
    assert gone.get("NetworkInterfaces", []) == []
    expect_error("InvalidNetworkInterfaceID.NotFound", ec2.describe_network_interfaces,
                 NetworkInterfaceIds=[eni_id])
    # Its address is free again: a new ENI can take it.
    reuse = ec2.create_network_interface(SubnetId=network.subnet_id,
                                         PrivateIpAddress=inst["PrivateIpAddress"])
    ec2.delete_network_interface(NetworkInterfaceId=reuse["NetworkInterface"]["NetworkInterfaceId"])

    nubo.assert_no_kernel_leftovers([iid], baseline=baseline)
    assert not (nubo.data_dir / "instances" / iid).exists()


def test_min_max_count_is_all_or_nothing(nubo, ec2, network, launch):
    resp = launch(MinCount=2, MaxCount=3)
    ids = [i["InstanceId"] for i in resp["Instances"]]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert sorted(i["AmiLaunchIndex"] for i in resp["Instances"]) == [0, 1, 2]
    ips = {i["PrivateIpAddress"] for i in resp["Instances"]}
    assert len(ips) == 3
    [r] = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    assert r["ReservationId"] == resp["ReservationId"]
    wait_state(ec2, ids, "running")

    # More than the host can ever hold: nothing is created, not even MinCount - 1.
    enis_before = ec2.describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": [network.subnet_id]}])["NetworkInterfaces"]
    tag = unique("toomany")
    expect_error("InsufficientInstanceCapacity", launch, InstanceType="r6i.4xlarge",
                 MinCount=90, MaxCount=90,
                 TagSpecifications=[tag_spec("instance", batch=tag)])
    assert ec2.describe_instances(Filters=[{"Name": "tag:batch", "Values": [tag]}])[
        "Reservations"] == []
    enis_after = ec2.describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": [network.subnet_id]}])["NetworkInterfaces"]
    assert len(enis_after) == len(enis_before)

    expect_error("InvalidParameterValue", launch, MinCount=2, MaxCount=1)
    expect_error("InvalidParameterValue", launch, MinCount=0, MaxCount=1)


def test_client_token_is_idempotent(nubo, ec2, launch):
    token = unique("idem")
    first = launch(ClientToken=token)
    second = ec2.run_instances(ImageId=first["Instances"][0]["ImageId"], InstanceType="t3.nano",
                               MinCount=1, MaxCount=1, SubnetId=first["Instances"][0]["SubnetId"],
                               ClientToken=token)
    assert second["ReservationId"] == first["ReservationId"]
    assert [i["InstanceId"] for i in second["Instances"]] == [
        i["InstanceId"] for i in first["Instances"]]
    found = ec2.describe_instances(Filters=[{"Name": "client-token", "Values": [token]}])
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [
        first["Instances"][0]["InstanceId"]]
    # Same token, different parameters: AWS refuses.
    expect_error("IdempotentParameterMismatch", ec2.run_instances,
                 ImageId=first["Instances"][0]["ImageId"], InstanceType="t3.micro", MinCount=1,
                 MaxCount=1, SubnetId=first["Instances"][0]["SubnetId"], ClientToken=token)


def test_disable_api_termination(nubo, ec2, launch):
    [inst] = launch(DisableApiTermination=True)["Instances"]
    iid = inst["InstanceId"]
    wait_state(ec2, iid, "running")
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"]["Value"] is True
    expect_error("OperationNotPermitted", ec2.terminate_instances, InstanceIds=[iid])
    assert describe(ec2, iid)["State"]["Name"] == "running"
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "terminated")


@pytest.mark.parametrize("behaviour,final", [("stop", "stopped"), ("terminate", "terminated")])
def test_instance_initiated_shutdown_behaviour(nubo, ec2, launch, behaviour, final):
    [inst] = launch(InstanceInitiatedShutdownBehavior=behaviour)["Instances"]
    iid = inst["InstanceId"]
    wait_state(ec2, iid, "running")
    wait_exec_ready(nubo, iid)
    assert ec2.describe_instance_attribute(
        InstanceId=iid, Attribute="instanceInitiatedShutdownBehavior")[
        "InstanceInitiatedShutdownBehavior"]["Value"] == behaviour
    nubo.exec(iid, "poweroff", check=False)
    [desc] = wait_state(ec2, iid, final)
    assert desc["StateReason"] == {
        "Code": "Client.InstanceInitiatedShutdown",
        "Message": "Client.InstanceInitiatedShutdown: Instance initiated shutdown"}
    assert not nubo.instance_processes(iid)


def test_private_ip_security_groups_placement_and_network_interfaces(nubo, ec2, network, launch,
                                                                     cleanup):
    sg = ec2.create_security_group(GroupName=unique("grp"), Description="e2e",
                                   VpcId=network.vpc_id)["GroupId"]
    cleanup(lambda: ec2.delete_security_group(GroupId=sg))
    ip = network.subnet_b["CidrBlock"].rsplit(".", 1)[0] + ".77"
    [inst] = launch(SubnetId=network.subnet_b_id, PrivateIpAddress=ip, SecurityGroupIds=[sg],
                    Placement={"AvailabilityZone": "us-east-1b"})["Instances"]
    assert inst["PrivateIpAddress"] == ip
    assert inst["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [sg]
    # The group is in use now.
    expect_error("DependencyViolation", ec2.delete_security_group, GroupId=sg)
    iid = inst["InstanceId"]
    wait_state(ec2, iid, "running")
    wait_exec_ready(nubo, iid)
    assert eth0(nubo, iid)[0] == {ip}

    # An existing ENI as eth0 (NetworkInterfaces, DeviceIndex 0): it is not deleted at
    # termination unless asked (DeleteOnTermination defaults to false for an attached ENI).
    eni = ec2.create_network_interface(SubnetId=network.subnet_id, Groups=[sg])[
        "NetworkInterface"]
    eni_id = eni["NetworkInterfaceId"]
    cleanup(lambda: ec2.delete_network_interface(NetworkInterfaceId=eni_id))
    [inst2] = launch(NetworkInterfaces=[{"DeviceIndex": 0, "NetworkInterfaceId": eni_id}])[
        "Instances"]
    assert inst2["PrivateIpAddress"] == eni["PrivateIpAddress"]
    assert inst2["SubnetId"] == network.subnet_id
    assert inst2["NetworkInterfaces"][0]["NetworkInterfaceId"] == eni_id
    assert inst2["NetworkInterfaces"][0]["Attachment"]["DeleteOnTermination"] is False
    wait_state(ec2, inst2["InstanceId"], "running")
    wait_exec_ready(nubo, inst2["InstanceId"])
    assert eth0(nubo, inst2["InstanceId"]) == ({eni["PrivateIpAddress"]}, eni["MacAddress"])

    # A new ENI described in NetworkInterfaces, with DeleteOnTermination false: it survives.
    [inst3] = launch(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": network.subnet_id,
                                         "Groups": [sg], "DeleteOnTermination": False,
                                         "Description": "keep me"}])["Instances"]
    kept = inst3["NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert inst3["NetworkInterfaces"][0]["Attachment"]["DeleteOnTermination"] is False

    ids = [inst2["InstanceId"], inst3["InstanceId"]]
    ec2.terminate_instances(InstanceIds=ids)
    wait_state(ec2, ids, "terminated")
    for e in (eni_id, kept):
        [left] = ec2.describe_network_interfaces(NetworkInterfaceIds=[e])["NetworkInterfaces"]
        assert left["Status"] == "available" and "Attachment" not in left
        ec2.delete_network_interface(NetworkInterfaceId=e)


def test_public_ip_is_released_on_stop_and_elastic_ip_is_kept(nubo, ec2, network, launch, cleanup):
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    cleanup(lambda: ec2.delete_internet_gateway(InternetGatewayId=igw))
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=network.vpc_id)
    cleanup(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=network.vpc_id))

    [inst] = launch(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": network.subnet_id,
                                        "AssociatePublicIpAddress": True}])["Instances"]
    iid = inst["InstanceId"]
    [desc] = wait_state(ec2, iid, "running")
    public = desc.get("PublicIpAddress")
    assert public, desc
    assert desc["NetworkInterfaces"][0]["Association"]["PublicIp"] == public
    assert desc["NetworkInterfaces"][0]["Association"]["IpOwnerId"] == "amazon"
    ec2.stop_instances(InstanceIds=[iid])
    [stopped] = wait_state(ec2, iid, "stopped")
    assert "PublicIpAddress" not in stopped
    ec2.start_instances(InstanceIds=[iid])
    [again] = wait_state(ec2, iid, "running")
    assert again.get("PublicIpAddress"), "a public IP is assigned again at start"

    # An Elastic IP stays through stop/start.
    [inst2] = launch()["Instances"]
    iid2 = inst2["InstanceId"]
    wait_state(ec2, iid2, "running")
    alloc = ec2.allocate_address(Domain="vpc")
    cleanup(lambda: ec2.release_address(AllocationId=alloc["AllocationId"]))
    assoc = ec2.associate_address(InstanceId=iid2, AllocationId=alloc["AllocationId"])
    cleanup(lambda: ec2.disassociate_address(AssociationId=assoc["AssociationId"]))
    assert describe(ec2, iid2)["PublicIpAddress"] == alloc["PublicIp"]
    ec2.stop_instances(InstanceIds=[iid2])
    [stopped2] = wait_state(ec2, iid2, "stopped")
    assert stopped2["PublicIpAddress"] == alloc["PublicIp"]
    ec2.start_instances(InstanceIds=[iid2])
    [running2] = wait_state(ec2, iid2, "running")
    assert running2["PublicIpAddress"] == alloc["PublicIp"]
    [address] = ec2.describe_addresses(AllocationIds=[alloc["AllocationId"]])["Addresses"]
    assert address["InstanceId"] == iid2


def test_ssh_with_the_created_key_pair(nubo, ec2, network, launch, cleanup, tmp_path):
    name = unique("key")
    pair = ec2.create_key_pair(KeyName=name, KeyType="ed25519")
    cleanup(lambda: ec2.delete_key_pair(KeyName=name))
    key = tmp_path / "key.pem"
    key.write_text(pair["KeyMaterial"] + "\n")
    key.chmod(0o600)
    [inst] = launch(KeyName=name)["Instances"]
    assert inst["KeyName"] == name
    iid, ip = inst["InstanceId"], inst["PrivateIpAddress"]
    wait_state(ec2, iid, "running")

    def ssh_argv(identity):
        return ["ip", "netns", "exec", network.router_ns(nubo), "ssh", "-i", str(identity),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", f"admin@{ip}"]
    ssh = ssh_argv(key)

    def ssh_ok():
        done = subprocess.run(ssh + ["hostname"], capture_output=True, text=True, timeout=20)
        return done.stdout.strip() if done.returncode == 0 else None
    assert wait_until("SSH with the created key", ssh_ok) == hostname_for(ip)
    sudo = subprocess.run(ssh + ["sudo", "-n", "id", "-u"], capture_output=True, text=True,
                          timeout=20)
    assert sudo.stdout.strip() == "0", sudo.stderr
    public = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True,
                            text=True, check=True).stdout.split()[:2]
    keys = run(nubo, iid, "cat", "/home/admin/.ssh/authorized_keys")
    assert public in [line.split()[:2] for line in keys.splitlines()], keys

    # Another key is refused.
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    refused = subprocess.run(ssh_argv(other) + ["true"],
                             capture_output=True, text=True, timeout=20)
    assert refused.returncode != 0


def test_cli_run_describe_stop_terminate(nubo, network, base_image, cleanup):
    from instance_support import terminate_and_wait
    out = nubo.aws("ec2", "run-instances", "--image-id", base_image, "--instance-type",
                   "t3.nano", "--count", "1", "--subnet-id", network.subnet_id,
                   "--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=cli}]")
    [inst] = out["Instances"]
    iid = inst["InstanceId"]
    cleanup(lambda: terminate_and_wait(nubo.client("ec2"), [iid]))
    assert inst["State"]["Name"] == "pending"
    nubo.aws("ec2", "wait", "instance-running", "--instance-ids", iid)
    names = nubo.aws("ec2", "describe-instances", "--filters", "Name=tag:Name,Values=cli",
                     f"Name=vpc-id,Values={network.vpc_id}", "--query",
                     "Reservations[].Instances[].[InstanceId,State.Name]")
    assert names == [[iid, "running"]]
    stop = nubo.aws("ec2", "stop-instances", "--instance-ids", iid)
    assert stop["StoppingInstances"][0]["CurrentState"]["Name"] == "stopping"
    nubo.aws("ec2", "wait", "instance-stopped", "--instance-ids", iid)
    term = nubo.aws("ec2", "terminate-instances", "--instance-ids", iid)
    assert term["TerminatingInstances"][0]["PreviousState"]["Name"] == "stopped"
    nubo.aws("ec2", "wait", "instance-terminated", "--instance-ids", iid)
