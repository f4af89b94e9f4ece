"""Two accounts cannot see or touch each other's instances, images or key pairs (NotFound, as if
they did not exist), while each runs instances on the same private addresses in overlapping
VPCs without noticing the other."""

import pytest
from botocore.exceptions import ClientError

from conftest import expect_error, unique
from instance_support import (  # noqa: F401  (fixtures)
    MISSING_INSTANCE, base_image, describe, eth0, imds, launch, make_network, network,
    terminate_and_wait, wait_exec_ready, wait_state, wait_until)


@pytest.fixture
def tenants(nubo, needs_own_server):
    a, b = nubo.new_account(), nubo.new_account()
    return (a, nubo.client("ec2", a.creds)), (b, nubo.client("ec2", b.creds))


def ids_of(resp) -> set:
    return {i["InstanceId"] for r in resp["Reservations"] for i in r["Instances"]}


def test_instances_of_another_account_do_not_exist(nubo, tenants, make_network, launch,
                                                    base_image, cleanup):
    (a, ea), (b, eb) = tenants
    net_a, net_b = make_network(client=ea), make_network(client=eb)
    key = unique("key")
    ea.create_key_pair(KeyName=key)
    cleanup(lambda: ea.delete_key_pair(KeyName=key))
    [inst] = launch(client=ea, net=net_a, KeyName=key)["Instances"]
    iid = inst["InstanceId"]
    wait_state(ea, iid, "running")
    # The public base image is visible to both.
    assert eb.describe_images(ImageIds=[base_image])["Images"][0]["Public"] is True

    assert iid not in ids_of(eb.describe_instances())
    assert ids_of(eb.describe_instances(Filters=[{"Name": "instance-id", "Values": [iid]}])) == set()
    assert ids_of(eb.describe_instances(Filters=[
        {"Name": "owner-id", "Values": [a.account_id]}])) == set()
    assert iid not in {s["InstanceId"] for s in eb.describe_instance_status(
        IncludeAllInstances=True)["InstanceStatuses"]}
    for fn, kwargs in [
        (eb.describe_instances, {"InstanceIds": [iid]}),
        (eb.describe_instance_status, {"InstanceIds": [iid]}),
        (eb.stop_instances, {"InstanceIds": [iid]}),
        (eb.start_instances, {"InstanceIds": [iid]}),
        (eb.reboot_instances, {"InstanceIds": [iid]}),
        (eb.terminate_instances, {"InstanceIds": [iid]}),
        (eb.describe_instance_attribute, {"InstanceId": iid, "Attribute": "userData"}),
        (eb.modify_instance_attribute, {"InstanceId": iid,
                                        "DisableApiTermination": {"Value": True}}),
        (eb.get_console_output, {"InstanceId": iid}),
        (eb.modify_instance_metadata_options, {"InstanceId": iid, "HttpTokens": "required"}),
    ]:
        expect_error("InvalidInstanceID.NotFound", fn, **kwargs)
    # DryRun leaks nothing either: the same answer as for an instance that does not exist.
    expect_error("InvalidInstanceID.NotFound", eb.terminate_instances, InstanceIds=[iid],
                 DryRun=True)
    expect_error("InvalidInstanceID.NotFound", eb.terminate_instances,
                 InstanceIds=[MISSING_INSTANCE], DryRun=True)
    assert describe(ea, iid)["State"]["Name"] == "running"
    assert ea.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"]["Value"] is False

    # A's key pair, subnet, security group and ENI do not exist for B.
    expect_error("InvalidKeyPair.NotFound", eb.describe_key_pairs, KeyNames=[key])
    expect_error("InvalidKeyPair.NotFound", launch, client=eb, net=net_b, KeyName=key)
    expect_error("InvalidSubnetID.NotFound", launch, client=eb, net=net_b,
                 SubnetId=net_a.subnet_id)
    expect_error("InvalidGroup.NotFound", launch, client=eb, net=net_b,
                 SecurityGroupIds=[net_a.default_group()])
    expect_error("InvalidNetworkInterfaceID.NotFound", launch, client=eb, net=net_b,
                 NetworkInterfaces=[{"DeviceIndex": 0, "NetworkInterfaceId":
                                     inst["NetworkInterfaces"][0]["NetworkInterfaceId"]}])
    assert ids_of(eb.describe_instances()) == set()
    # B may use the same key name: key pairs are per account.
    eb.create_key_pair(KeyName=key)
    cleanup(lambda: eb.delete_key_pair(KeyName=key))


def test_private_images_are_private_until_shared(nubo, tenants, make_network, launch,
                                                  cleanup):
    (a, ea), (b, eb) = tenants
    net_a, net_b = make_network(client=ea), make_network(client=eb)
    [inst] = launch(client=ea, net=net_a)["Instances"]
    wait_state(ea, inst["InstanceId"], "running")
    image_id = ea.create_image(InstanceId=inst["InstanceId"], Name=unique("img"),
                               NoReboot=True)["ImageId"]
    cleanup(lambda: ea.deregister_image(ImageId=image_id))
    wait_until("the image to leave pending", lambda: ea.describe_images(ImageIds=[image_id])[
        "Images"][0]["State"] != "pending", timeout=120)
    [img] = ea.describe_images(ImageIds=[image_id])["Images"]
    assert img["State"] == "available", img.get("StateReason")
    assert img["OwnerId"] == a.account_id and img["Public"] is False

    expect_error("InvalidAMIID.NotFound", eb.describe_images, ImageIds=[image_id])
    assert image_id not in {i["ImageId"] for i in eb.describe_images(
        ExecutableUsers=["self"])["Images"]}
    expect_error("InvalidAMIID.NotFound", launch, client=eb, net=net_b, ImageId=image_id)
    expect_error("InvalidAMIID.NotFound", eb.deregister_image, ImageId=image_id)
    expect_error("InvalidAMIID.NotFound", eb.modify_image_attribute, ImageId=image_id,
                 LaunchPermission={"Add": [{"UserId": b.account_id}]})

    # Shared with B: B sees it and can launch it, but still cannot change or delete it.
    ea.modify_image_attribute(ImageId=image_id,
                              LaunchPermission={"Add": [{"UserId": b.account_id}]})
    assert image_id in {i["ImageId"] for i in eb.describe_images(
        ExecutableUsers=["self"])["Images"]}
    [b_inst] = launch(client=eb, net=net_b, ImageId=image_id)["Instances"]
    wait_state(eb, b_inst["InstanceId"], "running")
    with pytest.raises(ClientError):
        eb.deregister_image(ImageId=image_id)
    assert ea.describe_images(ImageIds=[image_id])["Images"][0]["State"] == "available"
    terminate_and_wait(eb, [b_inst["InstanceId"]])


def test_identical_addresses_in_overlapping_vpcs(nubo, tenants, launch, base_image, cleanup):
    """Both accounts use 10.0.1.0/24 and the address 10.0.1.10: each instance has it, each
    metadata answer is its own."""
    (a, ea), (b, eb) = tenants
    instances = []
    for client in (ea, eb):
        vpc = client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        cleanup(lambda c=client, v=vpc: c.delete_vpc(VpcId=v))
        subnet = client.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24",
                                      AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        cleanup(lambda c=client, s=subnet: c.delete_subnet(SubnetId=s))
        [inst] = client.run_instances(ImageId=base_image, InstanceType="t3.nano", MinCount=1,
                                      MaxCount=1, SubnetId=subnet,
                                      PrivateIpAddress="10.0.1.10")["Instances"]
        cleanup(lambda c=client, i=inst["InstanceId"]: terminate_and_wait(c, [i]))
        instances.append((client, inst["InstanceId"]))
    for client, iid in instances:
        wait_state(client, iid, "running")
        wait_exec_ready(nubo, iid)
        assert eth0(nubo, iid)[0] == {"10.0.1.10"}
        assert imds(nubo, iid, "/latest/meta-data/instance-id") == (200, iid)
