"""`kill -9` of the server in the middle of a batch of launches and terminations, then a
restart on the same data dir: the world converges to the store. Every instance the store says
is running runs (its processes exist, eth0 has its address); every terminated one left
nothing; no kernel object with the host prefix exists that the store does not explain."""

import re
import threading

import pytest

from conftest import unique
from instance_support import (  # noqa: F401  (fixtures)
    base_image, eth0, launch, make_network, network, terminate_and_wait, wait_state, wait_until)

INSTANCE_IN_PATH = re.compile(r"\bi-[0-9a-f]{17}\b")
STABLE = {"running", "stopped", "terminated"}
BATCH = 6


def states_in(ec2, vpc_id) -> dict:
    found = ec2.describe_instances(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return {i["InstanceId"]: i for r in found["Reservations"] for i in r["Instances"]}


@pytest.mark.parametrize("kill_after", [1, BATCH // 2])
def test_kill_9_during_launches_and_terminations_converges(nubo, needs_own_server, network,
                                                           launch, cleanup, kill_after):
    baseline = nubo.kernel_objects()
    ec2 = nubo.client("ec2")
    survivors = launch(MinCount=3)["Instances"]
    survivor_ids = [i["InstanceId"] for i in survivors]
    wait_state(ec2, survivor_ids, "running")
    doomed = survivor_ids[:2]

    tokens = [unique("crash") for _ in range(BATCH)]
    acked = threading.Semaphore(0)
    errors: list = []

    def launch_one(token):
        try:
            launch(ClientToken=token)
            acked.release()
        except Exception as exc:  # the kill cuts some calls off: that is the point
            errors.append(exc)

    def terminate(iid):
        try:
            nubo.client("ec2").terminate_instances(InstanceIds=[iid])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=launch_one, args=(t,)) for t in tokens]
    threads += [threading.Thread(target=terminate, args=(i,)) for i in doomed]
    for t in threads:
        t.start()
    for _ in range(kill_after):
        assert acked.acquire(timeout=60), f"launches not acknowledged: {errors}"
    nubo.kill()    # SIGKILL, with launches and terminations in flight
    for t in threads:
        t.join(timeout=60)
    nubo.start()
    ec2 = nubo.client("ec2")
    # Everything the server acknowledged, and whatever it half-did, is in the store; make sure
    # the test cleans all of it up.
    cleanup(lambda: terminate_and_wait(nubo.client("ec2"), list(states_in(
        nubo.client("ec2"), network.vpc_id))))

    # 1. Every transition finishes or rolls back: only stable states remain.
    def settled():
        now = states_in(ec2, network.vpc_id)
        return now if all(i["State"]["Name"] in STABLE for i in now.values()) else None
    world = wait_until("every instance to reach a stable state after the restart", settled,
                       timeout=120)
    states = {iid: i["State"]["Name"] for iid, i in world.items()}
    assert set(survivor_ids) <= set(states)
    assert states[survivor_ids[2]] == "running", states   # untouched by the batch
    # A terminate that was acknowledged before the kill stays a terminate.
    for iid in doomed:
        assert states[iid] in ("running", "terminated"), states
    # 2. The store and the host agree.
    assert_world_matches_store(nubo, world)
    # 3. A few seconds later still true: the reconciler does not flap.
    assert_world_matches_store(nubo, states_in(ec2, network.vpc_id))

    # 4. After terminating everything, nothing of any of them is left.
    ids = list(world)
    terminate_and_wait(ec2, ids, timeout=90)
    assert all(i["State"]["Name"] == "terminated" for i in states_in(ec2, network.vpc_id).values())
    nubo.assert_no_kernel_leftovers(ids, baseline=baseline, timeout=60)


def assert_world_matches_store(nubo, world: dict) -> None:
    prefix = nubo.host_prefix
    running = {iid for iid, i in world.items() if i["State"]["Name"] == "running"}
    gone = {iid for iid, i in world.items() if i["State"]["Name"] == "terminated"}
    not_running = set(world) - running
    for iid in running:
        wait_until(f"running {iid} to have processes",
                   lambda iid=iid: nubo.instance_processes(iid), timeout=60)
        assert eth0(nubo, iid)[0] == {world[iid]["PrivateIpAddress"]}, iid
    for iid in not_running:
        wait_until(f"{world[iid]['State']['Name']} {iid} to have no process",
                   lambda iid=iid: not nubo.instance_processes(iid), timeout=60)
    nubo.assert_no_kernel_leftovers(gone, timeout=60)

    # Nothing prefixed that the store does not explain.
    known = set(world)
    objects = nubo.kernel_objects()
    for ns in objects["netns"]:
        if ns.startswith(f"{prefix}-i-"):   # `<prefix>-` + the instance ID
            assert ns[len(prefix) + 1:] in known - gone, f"orphan instance netns {ns}"
        else:
            assert ns.startswith(f"{prefix}-vpc-"), f"unexplained netns {ns}"
    for d in objects["state_dirs"]:
        assert d in known - gone, f"orphan state dir {d}"
    for c in objects["cgroups"]:
        for owner in INSTANCE_IN_PATH.findall(c):
            assert owner in running, f"cgroup {c} of an instance that is not running"
    for p in objects["processes"]:
        assert any(iid in p for iid in running), f"process {p} of no running instance"
