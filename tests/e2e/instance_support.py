"""Shared pieces of the instance suites (test_instances_*.py): the base image, a network to
launch into, a `launch` fixture that always terminates what it started, bounded waits, and
helpers that look inside an instance through `nubo exec`.

Test modules import the fixtures they use by name (pytest finds fixtures in a module's
namespace). Every wait is bounded and polls; nothing sleeps blindly.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import time
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from conftest import NuboCliError, error_code, unique

BASE_IMAGE_NAME = "debian-12-nubo-*"
DEFAULT_TYPE = "t3.nano"
WAIT = 60.0
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{17}$")
RESERVATION_ID = re.compile(r"^r-[0-9a-f]{17}$")
ENI_ID = re.compile(r"^eni-[0-9a-f]{17}$")
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
USER_INITIATED = re.compile(r"^User initiated \(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} GMT\)$")
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}
MISSING_INSTANCE = "i-0123456789abcdef0"


def wait_until(what: str, probe: Callable[[], Any], timeout: float = WAIT, every: float = 0.2):
    """Poll probe() until it returns something truthy; fail naming `what` (and the last value
    or error) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
            if last:
                return last
        except (ClientError, NuboCliError, AssertionError) as exc:
            last = exc
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last: {last!r}",
                        pytrace=False)
        time.sleep(every)


def describe(ec2, instance_id: str) -> dict:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 1, reservations
    return instances[0]


def wait_state(ec2, instance_ids, state: str, timeout: float = WAIT) -> list[dict]:
    """Wait until every instance is in `state`; returns their descriptions."""
    ids = [instance_ids] if isinstance(instance_ids, str) else list(instance_ids)

    def probe():
        found = [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
                 for i in r["Instances"]]
        states = {i["InstanceId"]: i["State"]["Name"] for i in found}
        assert set(states) == set(ids), states
        return found if all(s == state for s in states.values()) else None

    return wait_until(f"{ids} to be {state}", probe, timeout)


def hostname_for(private_ip: str) -> str:
    """AWS's private host name label: 10.0.1.5 -> ip-10-0-1-5."""
    return "ip-" + private_ip.replace(".", "-")


def run(nubo, instance_id: str, *argv: str, timeout: float = 60) -> str:
    """Run a command inside the instance; assert it exits 0; return its stdout."""
    done = nubo.exec(instance_id, *argv, check=False, timeout=timeout)
    assert done.returncode == 0, (f"`{' '.join(argv)}` in {instance_id} exited "
                                  f"{done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_exec_ready(nubo, instance_id: str, timeout: float = WAIT) -> None:
    """Wait until a command runs inside the instance (its init is up)."""
    wait_until(f"`nubo exec {instance_id} -- true`",
               lambda: nubo.exec(instance_id, "true", check=False).returncode == 0, timeout)


def wait_file(nubo, instance_id: str, path: str, timeout: float = WAIT) -> str:
    """Wait until a file exists inside the instance; returns its contents."""
    def probe():
        done = nubo.exec(instance_id, "cat", path, check=False)
        return done.stdout if done.returncode == 0 else None
    return wait_until(f"{path} in {instance_id}", probe, timeout)


def imds(nubo, instance_id: str, path: str, *, method: str = "GET", token: str | None = None,
         headers: dict | None = None) -> tuple[int, str]:
    """An HTTP request to the metadata service from inside the instance: (status, body)."""
    argv = ["curl", "-s", "-m", "5", "-X", method, "-w", "\n%{http_code}"]
    for k, v in {**(headers or {}),
                 **({"X-aws-ec2-metadata-token": token} if token else {})}.items():
        argv += ["-H", f"{k}: {v}"]
    argv.append("http://169.254.169.254" + path)
    out = run(nubo, instance_id, *argv)
    body, _, status = out.rpartition("\n")
    return int(status), body


def eth0(nubo, instance_id: str) -> tuple[set[str], str]:
    """(IPv4 addresses, MAC) of eth0 inside the instance."""
    out = run(nubo, instance_id, "ip", "-o", "addr", "show", "dev", "eth0")
    addrs = {m.split("/")[0] for m in re.findall(r"\binet (\S+)", out)}
    link = run(nubo, instance_id, "cat", "/sys/class/net/eth0/address").strip()
    return addrs, link


def init_start_time(nubo, instance_id: str) -> str:
    """PID 1's start time (field 22 of /proc/1/stat) inside the instance: changes on reboot."""
    stat = run(nubo, instance_id, "cat", "/proc/1/stat")
    return stat.rsplit(")", 1)[1].split()[19]


def cgroup_dirs_of(nubo, instance_id: str) -> set[str]:
    return {c for c in nubo.kernel_objects()["cgroups"] if instance_id in c}


def tag_spec(resource_type: str, **tags: str) -> dict:
    return {"ResourceType": resource_type,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def user_data_script(body: str) -> str:
    return "#!/bin/sh\n" + body + "\n"


def raw_call(nubo) -> Callable[[dict], Any]:
    """A hand-built Query request as a callable that raises ClientError like boto3 does, so
    expect_error can check requests boto3 would refuse to send (missing or unknown values)."""

    def call(params: dict):
        resp = nubo.raw("ec2", params)
        if resp.status >= 400:
            raise ClientError({"Error": {"Code": resp.code, "Message": resp.body},
                               "ResponseMetadata": {"HTTPStatusCode": resp.status}},
                              params["Action"])
        return resp
    return call


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def base_image(nubo) -> str:
    """The project's public Debian base image. Missing is a failure, not a skip: without it
    nothing in these suites can be tested."""
    if nubo.external:
        pytest.skip("instances need the harness's own server")
    images_dir = nubo.base_images
    if not images_dir.is_dir() or not any(images_dir.iterdir()):
        pytest.fail(f"no base image in {images_dir} (NUBO_BASE_IMAGES): build it with "
                    "scripts/build-base-image.sh before running the instance suites",
                    pytrace=False)
    ec2 = nubo.client("ec2")
    images = ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": [BASE_IMAGE_NAME]}])["Images"]
    if not images:
        pytest.fail(f"{images_dir} exists but DescribeImages (owner amazon, name "
                    f"{BASE_IMAGE_NAME}) finds no image", pytrace=False)
    newest = max(images, key=lambda i: (i.get("CreationDate", ""), i["Name"]))
    assert newest["State"] == "available", newest
    return newest["ImageId"]


class Network:
    """A VPC with one subnet in us-east-1a (10.x.1.0/24) and a second in us-east-1b."""

    def __init__(self, ec2, vpc: dict, subnet: dict, subnet_b: dict):
        self.ec2 = ec2
        self.vpc = vpc
        self.vpc_id = vpc["VpcId"]
        self.subnet = subnet
        self.subnet_id = subnet["SubnetId"]
        self.subnet_b = subnet_b
        self.subnet_b_id = subnet_b["SubnetId"]

    def default_group(self) -> str:
        return self.ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [self.vpc_id]},
            {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]

    def router_ns(self, nubo) -> str:
        return f"{nubo.host_prefix}-{self.vpc_id}"  # the prefix + the VPC ID


_second_octet = iter(range(60, 250))


@pytest.fixture
def make_network(nubo, cleanup):
    """make_network(client=None) -> Network; torn down after the test (after its instances)."""

    def make(client=None) -> Network:
        client = client or nubo.client("ec2")
        base = f"10.{next(_second_octet)}"
        vpc = client.create_vpc(CidrBlock=f"{base}.0.0/16")["Vpc"]
        cleanup(lambda: client.delete_vpc(VpcId=vpc["VpcId"]))
        subnets = []
        for third, az in ((1, "us-east-1a"), (2, "us-east-1b")):
            sn = client.create_subnet(VpcId=vpc["VpcId"], CidrBlock=f"{base}.{third}.0/24",
                                      AvailabilityZone=az)["Subnet"]
            cleanup(lambda sn=sn: client.delete_subnet(SubnetId=sn["SubnetId"]))
            subnets.append(sn)
        return Network(client, vpc, *subnets)

    return make


@pytest.fixture
def network(make_network) -> Network:
    return make_network()


def terminate_and_wait(client, ids: list[str], timeout: float = WAIT) -> None:
    """Terminate (lifting termination protection first) and wait until terminated."""
    live = []
    for iid in ids:
        try:
            client.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
            live.append(iid)
        except ClientError as exc:
            if error_code(exc) != "InvalidInstanceID.NotFound":
                live.append(iid)
    if not live:
        return
    try:
        client.terminate_instances(InstanceIds=live)
    except ClientError:
        for iid in live:
            try:
                client.terminate_instances(InstanceIds=[iid])
            except ClientError:
                pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = [i["State"]["Name"] for r in client.describe_instances(
                InstanceIds=live)["Reservations"] for i in r["Instances"]]
        except ClientError:
            return
        if all(s == "terminated" for s in states):
            return
        time.sleep(0.25)


@pytest.fixture
def launch(nubo, base_image, network, cleanup):
    """launch(client=None, net=None, **RunInstances kwargs) -> the RunInstances response.

    Defaults: the base image, t3.nano, MinCount=MaxCount=1, the `network` fixture's first
    subnet (unless NetworkInterfaces is given). Every instance it starts is terminated (and
    waited for) after the test, even if the test failed."""

    def start(client=None, net: Network | None = None, **kwargs) -> dict:
        client = client or nubo.client("ec2")
        net = net or network
        kwargs.setdefault("ImageId", base_image)
        kwargs.setdefault("InstanceType", DEFAULT_TYPE)
        kwargs.setdefault("MinCount", 1)
        kwargs.setdefault("MaxCount", kwargs["MinCount"])
        if "NetworkInterfaces" not in kwargs:
            kwargs.setdefault("SubnetId", net.subnet_id)
        kwargs.setdefault("ClientToken", unique("ct"))
        token = kwargs["ClientToken"]
        # Registered before the call: an acknowledged launch whose response got lost is
        # still found (by its client token) and terminated.
        def finalizer():
            ids = [i["InstanceId"] for r in client.describe_instances(Filters=[
                {"Name": "client-token", "Values": [token]}])["Reservations"]
                for i in r["Instances"]]
            terminate_and_wait(client, ids)
        cleanup(finalizer)
        reservation = client.run_instances(**kwargs)
        ids = [i["InstanceId"] for i in reservation["Instances"]]
        cleanup(lambda: terminate_and_wait(client, ids))
        return reservation

    return start


@pytest.fixture
def running(nubo, launch):
    """running(**kwargs) -> description of one launched instance, running and exec-ready."""

    def start(client=None, **kwargs) -> dict:
        client = client or nubo.client("ec2")
        [inst] = launch(client=client, **kwargs)["Instances"]
        [desc] = wait_state(client, inst["InstanceId"], "running")
        wait_exec_ready(nubo, inst["InstanceId"])
        return desc

    return start


def in_subnet(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)
