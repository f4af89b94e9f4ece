"""Restarting the server (its agent resyncs the whole data plane: routes and rules by
difference, each router's firewall replaced atomically) interrupts no established flow and
changes no verdict: a connection from the internet host to a public IP (through the internet
gateway's NAT) and one between two subnets under a restrictive ACL keep talking across a stop
(SIGTERM) and across a kill -9, new allowed connections still open, blocked ones stay blocked.
"""

from __future__ import annotations

import pytest

from instance_support import base_image  # noqa: F401  (fixtures)
from network_support import ANYWHERE, eventually, lab, perm, probe  # noqa: F401


@pytest.mark.parametrize("how", ["restart", "kill"])
def test_established_flows_survive_a_server_restart(nubo, lab, how):
    vpc = lab.vpc("10.74.0.0/16")
    igw = lab.igw(vpc)
    public, private = lab.subnet(vpc, "10.74.1.0/24"), lab.subnet(vpc, "10.74.2.0/24")
    rtb = lab.route_table(vpc, [public])
    lab.route(rtb, ANYWHERE, GatewayId=igw)
    # The private subnet accepts only TCP 9000 from the public one (and the replies' ports).
    acl = lab.network_acl(vpc, [private], [
        (False, 100, True, "10.74.1.0/24", "tcp", (9000, 9000)),
        (True, 100, True, "10.74.1.0/24", "tcp", (1024, 65535)),
    ])
    sg = lab.security_group(vpc, [perm("tcp", 9000, 9001, cidr=ANYWHERE)])
    a, b = lab.instances([{"subnet": public, "groups": [sg], "public": True},
                          {"subnet": private, "groups": [sg]}])
    lab.listen(a.netns, "a", ["echo/9000"])
    lab.listen(b.netns, "b", ["echo/9000", "echo/9001"])
    inet = lab.internet_host()
    eventually("the internet host reaching a's public IP",
               lambda: probe(inet.netns, "tcp", a.public_ip, 9000).ok)
    eventually("a reaching b", lambda: probe(a.netns, "tcp", b.ip, 9000).ok)
    from_outside = lab.converse(inet.netns, a.public_ip, 9000)
    inside = lab.converse(a.netns, b.ip, 9000)
    assert from_outside.say("one") == "one" and inside.say("one") == "one"
    assert not probe(a.netns, "tcp", b.ip, 9001).ok, "the ACL blocks port 9001"

    if how == "kill":
        nubo.kill()
        nubo.start()
    else:
        nubo.restart()
    lab.ec2 = nubo.client("ec2")

    # Still talking while the new server resyncs...
    for k in range(3):
        assert from_outside.say(f"after {k}") == f"after {k}"
        assert inside.say(f"after {k}") == f"after {k}"
    assert not probe(a.netns, "tcp", b.ip, 9001).ok, "the ACL still blocks port 9001"
    # ...and after its agent has certainly applied a model (this change reaches the packets).
    lab.acl_entry(acl, False, 110, True, "10.74.1.0/24", "tcp", (9001, 9001))
    eventually("the new server's agent opening port 9001",
               lambda: probe(a.netns, "tcp", b.ip, 9001).ok)
    assert from_outside.say("later") == "later"
    assert inside.say("later") == "later"
    assert probe(inet.netns, "tcp", a.public_ip, 9000).ok
    assert not probe(inet.netns, "tcp", b.ip, 9000).ok
