"""The data plane's gateways and guards on real packets: the internet gateway's 1:1 NAT (public
IPs and Elastic IPs, reachable from the internet test host and from the host itself, and only
with a public address and a route), Elastic IP reassociation, route changes (a blackhole route
drops, replacing it restores, unrelated flows go on), source/destination check, metadata under
deny-all security groups and ACLs, and a security-group revoke (new connections stop at once;
an established, tracked connection goes on, as on AWS).
"""

from __future__ import annotations

import ipaddress
import subprocess

from instance_support import base_image, imds, wait_exec_ready  # noqa: F401  (fixtures)
from network_support import (  # noqa: F401  (fixtures)
    ANYWHERE, eventually, host_connect, lab, perm, probe, steadily)

VPC = "10.71.0.0/16"
PUBLIC, OTHER = "10.71.1.0/24", "10.71.2.0/24"
WEB = 8080
OPEN = [perm("-1", cidr=ANYWHERE)]


def public_vpc(lab):
    """A VPC with an internet gateway, a public subnet (0.0.0.0/0 -> IGW) and another subnet
    on the main route table (no route out): (vpc, igw, public subnet, its table, other)."""
    vpc = lab.vpc(VPC)
    igw = lab.igw(vpc)
    public, other = lab.subnet(vpc, PUBLIC), lab.subnet(vpc, OTHER)
    rtb = lab.route_table(vpc, [public])
    lab.route(rtb, ANYWHERE, GatewayId=igw)
    return vpc, igw, public, rtb, other


def host_address(nubo) -> str:
    """The host's own address on the external bridge (the first of the external network)."""
    return str(ipaddress.ip_network(nubo.external_cidr).network_address + 1)


def seen_by(inet, inst) -> str | None:
    """The source address the internet host saw for a connection from `inst`, or None."""
    got = probe(inst.netns, "tcp", inet.address, WEB, banner=True)
    return got.seen.split()[1] if got.ok and got.seen else None


def answer_from(inet, address: str, port: int = WEB) -> str | None:
    """Who answers a connection from the internet host to `address`: the listener's name."""
    got = probe(inet.netns, "tcp", address, port, banner=True)
    return got.seen.split()[0] if got.ok and got.seen else None


def test_public_addresses_need_a_public_ip_and_a_route(nubo, lab):
    vpc, _, public, _, other = public_vpc(lab)
    sg = lab.security_group(vpc, OPEN)
    a, b, c = lab.instances([
        {"subnet": public, "groups": [sg], "public": True},
        {"subnet": public, "groups": [sg]},
        {"subnet": other, "groups": [sg], "public": True},
    ])
    assert a.public_ip and c.public_ip and not b.public_ip
    inet = lab.internet_host()
    lab.listen(inet.netns, "inet", [f"tcp/{WEB}"])
    for inst in (a, b, c):
        lab.listen(inst.netns, inst.id, [f"tcp/{WEB}"])

    # Public IP and a route to the IGW: reachable at the public address, leaves with it.
    assert eventually("the internet host reaches the public instance",
                      lambda: answer_from(inet, a.public_ip)) == a.id
    assert eventually("the public instance reaches the internet host",
                      lambda: seen_by(inet, a)) == a.public_ip
    assert eventually("the host reaches the public IP (how users SSH in)",
                      lambda: host_connect(a.public_ip, WEB).seen) == f"{a.id} {host_address(nubo)}"
    assert probe(inet.netns, "icmp", a.public_ip).ok
    # Never the private address from outside.
    assert not probe(inet.netns, "tcp", a.ip, WEB).ok
    # No public address: no internet, even with the route.
    assert seen_by(inet, b) is None
    # A public IP but no route to the IGW: neither way.
    assert seen_by(inet, c) is None
    assert answer_from(inet, c.public_ip) is None
    assert not host_connect(c.public_ip, WEB).ok


def test_elastic_ip_moves_traffic_at_once(nubo, lab):
    vpc, _, public, _, _ = public_vpc(lab)
    sg = lab.security_group(vpc, OPEN)
    a, b = lab.instances([{"subnet": public, "groups": [sg]},
                          {"subnet": public, "groups": [sg]}])
    inet = lab.internet_host()
    lab.listen(inet.netns, "inet", [f"tcp/{WEB}"])
    lab.listen(a.netns, "a", [f"tcp/{WEB}"])
    lab.listen(b.netns, "b", [f"tcp/{WEB}"])
    alloc, eip = lab.eip()
    assert answer_from(inet, eip) is None

    lab.ec2.associate_address(AllocationId=alloc, InstanceId=a.id)
    assert eventually("the Elastic IP reaching instance a", lambda: answer_from(inet, eip)) == "a"
    assert eventually("instance a leaving with the Elastic IP", lambda: seen_by(inet, a)) == eip
    lab.ec2.associate_address(AllocationId=alloc, InstanceId=b.id, AllowReassociation=True)
    assert eventually("the Elastic IP moved to instance b",
                      lambda: answer_from(inet, eip) == "b")
    assert eventually("instance b leaving with the Elastic IP", lambda: seen_by(inet, b)) == eip
    steadily("instance a reaching the internet without a public address",
             lambda: seen_by(inet, a))
    [assoc] = lab.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
    lab.ec2.disassociate_address(AssociationId=assoc["AssociationId"])
    steadily("the Elastic IP answering once disassociated", lambda: answer_from(inet, eip))


def test_blackhole_route_drops_and_replacing_it_restores(nubo, lab):
    vpc, igw, public, rtb, other = public_vpc(lab)
    sg = lab.security_group(vpc, OPEN)
    a, b = lab.instances([{"subnet": public, "groups": [sg], "public": True},
                          {"subnet": other, "groups": [sg]}])
    inet = lab.internet_host()
    lab.listen(inet.netns, "inet", [f"tcp/{WEB}"])
    lab.listen(b.netns, "b", ["echo/9000"])
    assert eventually("a reaching the internet host", lambda: seen_by(inet, a)) == a.public_ip
    # An unrelated, established flow (a to b, in the VPC) must not notice the route changes.
    talk = lab.converse(a.netns, b.ip, 9000)
    assert talk.connected and talk.say("before") == "before"

    # A more specific route whose target is gone is a blackhole: through a peering connection
    # that is then deleted.
    peer = lab.vpc("10.72.0.0/16")
    pcx = lab.peering(vpc, peer)
    host_route = inet.address + "/32"
    lab.route(rtb, host_route, VpcPeeringConnectionId=pcx)
    lab.ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    [table] = lab.ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"]
    [route] = [r for r in table["Routes"] if r["DestinationCidrBlock"] == host_route]
    assert route["State"] == "blackhole", route
    steadily("a reaching the internet host through a blackhole route", lambda: seen_by(inet, a))
    assert talk.say("during") == "during"

    lab.ec2.replace_route(RouteTableId=rtb, DestinationCidrBlock=host_route, GatewayId=igw)
    assert eventually("a reaching the internet host again", lambda: seen_by(inet, a)) == \
        a.public_ip
    assert talk.say("after") == "after"


def test_source_destination_check(nubo, lab):
    vpc = lab.vpc(VPC)
    subnet = lab.subnet(vpc, PUBLIC)
    sg = lab.security_group(vpc, OPEN)
    a, b = lab.instances([{"subnet": subnet, "groups": [sg]},
                          {"subnet": subnet, "groups": [sg]}])
    listener = lab.listen(b.netns, "b", ["udp/5000"])
    forged = "10.71.1.99"
    subprocess.run(["ip", "-n", a.netns, "addr", "add", forged + "/32", "dev", "eth0"],
                   check=True)

    def received(payload: str) -> set[str]:
        return {src for proto, _, src, data in listener.seen() if data.strip() == payload}

    def send(src: str, payload: str) -> None:
        probe(a.netns, "udp", b.ip, 5000, src=src, payload=payload)

    eventually("a datagram from a's own address", lambda: send(a.ip, "real") or
               received("real") == {a.ip})
    # The check is on (AWS's default): a forged source goes nowhere.
    for k in range(3):
        send(forged, f"forged{k}")
    eventually("a's real datagram after the forged ones", lambda: send(a.ip, "later") or
               received("later"))
    assert not any(received(f"forged{k}") for k in range(3)), listener.seen()

    # The check off: the instance may send for other addresses (a NAT instance, a router).
    lab.ec2.modify_network_interface_attribute(NetworkInterfaceId=a.eni_id,
                                               SourceDestCheck={"Value": False})
    assert eventually("a forged source once the check is off",
                      lambda: send(forged, "allowed") or received("allowed")) == {forged}


def test_metadata_works_under_deny_all_groups_and_acls(nubo, lab):
    vpc = lab.vpc(VPC)
    subnet, other = lab.subnet(vpc, PUBLIC), lab.subnet(vpc, OTHER)
    deny_all = lab.security_group(vpc, [], egress=[])
    lab.network_acl(vpc, [subnet], [])  # only the final `*` deny entries
    open_sg = lab.security_group(vpc, OPEN)
    a, b = lab.instances([{"subnet": subnet, "groups": [deny_all]},
                          {"subnet": other, "groups": [open_sg]}])
    # Nothing passes in or out of a...
    assert not probe(b.netns, "icmp", a.ip).ok
    assert not probe(a.netns, "icmp", b.ip).ok
    # ...but its metadata service answers.
    wait_exec_ready(nubo, a.id)
    status, body = eventually("metadata from the deny-all instance", lambda: (
        lambda r: r if r[0] == 200 else None)(imds(nubo, a.id, "/latest/meta-data/instance-id",
                                                   token=_token(nubo, a.id))))
    assert body.strip() == a.id


def _token(nubo, iid) -> str | None:
    status, token = imds(nubo, iid, "/latest/api/token", method="PUT",
                         headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    return token if status == 200 else None


def test_security_group_revoke_cuts_new_connections(nubo, lab):
    vpc = lab.vpc(VPC)
    subnet = lab.subnet(vpc, PUBLIC)
    client_sg = lab.security_group(vpc)
    rule = perm("tcp", 8000, 9000, cidr=VPC)
    server_sg = lab.security_group(vpc, [rule])
    a, b = lab.instances([{"subnet": subnet, "groups": [client_sg]},
                          {"subnet": subnet, "groups": [server_sg]}])
    lab.listen(b.netns, "b", [f"tcp/{WEB}", "echo/9000"])
    assert eventually("a new connection to b", lambda: probe(a.netns, "tcp", b.ip, WEB).ok)
    assert not probe(a.netns, "tcp", b.ip, 22).ok, "port 22 is not in the group's rule"
    talk = lab.converse(a.netns, b.ip, 9000)
    assert talk.connected and talk.say("one") == "one"

    lab.ec2.revoke_security_group_ingress(GroupId=server_sg, IpPermissions=[rule])
    steadily("new connections after the revoke", lambda: probe(a.netns, "tcp", b.ip, WEB).ok)
    # A tracked connection is not interrupted (AWS: tracked connections go on until they end
    # or time out; the kernel tracks every flow).
    assert talk.say("two") == "two"
    lab.ec2.authorize_security_group_ingress(GroupId=server_sg, IpPermissions=[rule])
    assert eventually("new connections once the rule is back",
                      lambda: probe(a.netns, "tcp", b.ip, WEB).ok)
