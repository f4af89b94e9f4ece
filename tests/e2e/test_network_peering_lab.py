"""The issue's two-VPC peering lab on real packets.

VPC 1 (10.51.0.0/16): a public subnet (route 0.0.0.0/0 -> internet gateway) and a private one
(0.0.0.0/0 -> a NAT gateway with an Elastic IP in the public subnet). VPC 2 (10.52.0.0/16):
public and private subnets, no gateways. One instance in each of the four subnets (VPC 1's
public one with a public IP), all in groups allowing SSH and ICMP from anywhere.

1. Before peering routes: nothing crosses between the VPCs; within VPC 1 everything works.
2. With an accepted peering connection and routes on both sides: all eight cross-VPC directions
   work (ping and TCP 22, the instances' real SSH servers).
3. The internet test host on the external bridge sees VPC 1's public instance arrive from its
   public IP and VPC 1's private instance from the NAT gateway's Elastic IP; it cannot connect
   to the private instance, nor inward through the NAT gateway's address; VPC 2's instances
   cannot reach it through the peering, even with 0.0.0.0/0 -> peering routes.
4. The peering replaced by a transit gateway (VPC 2: 0.0.0.0/0 -> TGW; the TGW's route table:
   0.0.0.0/0 -> VPC 1's attachment, VPC 2's block -> VPC 2's attachment; VPC 1's attachment
   subnet, the private one, routes 0.0.0.0/0 to the NAT gateway and VPC 1's public subnet routes
   VPC 2's block back to the TGW): VPC 2 reaches the internet host with the NAT's Elastic IP.
"""

from __future__ import annotations

import itertools

from instance_support import base_image  # noqa: F401  (fixtures)
from network_support import (  # noqa: F401  (fixtures)
    ANYWHERE, CONVERGE, Probe, eventually, eventually_all, host_connect, lab, perm, probe, run_many, steadily)

VPC1, VPC2 = "10.51.0.0/16", "10.52.0.0/16"
WEB = 8080


def reach_all(pairs) -> dict:
    """Ping and TCP 22 for each (name, src, dst) at once: name -> (ping ok, tcp ok)."""
    batches: dict[str, list[Probe]] = {}
    ids = {}
    for name, src, dst in pairs:
        ping, tcp = Probe("icmp", dst.ip), Probe("tcp", dst.ip, 22)
        batches.setdefault(src.netns, []).extend([ping, tcp])
        ids[name] = (ping.id, tcp.id)
    results = run_many(batches)
    return {name: (results[p].ok, results[t].ok) for name, (p, t) in ids.items()}


def test_two_vpc_peering_lab(nubo, lab):
    ec2 = lab.ec2
    vpc1, vpc2 = lab.vpc(VPC1), lab.vpc(VPC2)
    pub1, priv1 = lab.subnet(vpc1, "10.51.1.0/24"), lab.subnet(vpc1, "10.51.2.0/24")
    pub2, priv2 = lab.subnet(vpc2, "10.52.1.0/24"), lab.subnet(vpc2, "10.52.2.0/24")
    igw = lab.igw(vpc1)
    rtb_pub1, rtb_priv1 = lab.route_table(vpc1, [pub1]), lab.route_table(vpc1, [priv1])
    rtb_pub2, rtb_priv2 = lab.route_table(vpc2, [pub2]), lab.route_table(vpc2, [priv2])
    lab.route(rtb_pub1, ANYWHERE, GatewayId=igw)
    nat_id, nat_eip, _ = lab.nat(pub1)
    lab.route(rtb_priv1, ANYWHERE, NatGatewayId=nat_id)
    ssh_icmp = [perm("tcp", 22, cidr=ANYWHERE), perm("icmp", -1, -1, cidr=ANYWHERE)]
    sg1, sg2 = lab.security_group(vpc1, ssh_icmp), lab.security_group(vpc2, ssh_icmp)
    a_pub, a_priv, b_pub, b_priv = lab.instances([
        {"subnet": pub1, "groups": [sg1], "public": True},
        {"subnet": priv1, "groups": [sg1]},
        {"subnet": pub2, "groups": [sg2]},
        {"subnet": priv2, "groups": [sg2]},
    ])
    assert a_pub.public_ip and not a_priv.public_ip
    for inst in (a_pub, a_priv, b_pub, b_priv):
        lab.wait_sshd(inst)
    names = {"vpc1-public": a_pub, "vpc1-private": a_priv, "vpc2-public": b_pub,
             "vpc2-private": b_priv}
    cross = [(f"{s}->{d}", names[s], names[d]) for s, d in itertools.permutations(names, 2)
             if s[:4] != d[:4]]
    assert len(cross) == 8

    # 1. Before peering routes: within VPC 1 both ways work; nothing crosses.
    eventually_all("VPC 1's public and private instances reach each other", lambda: reach_all([
        ("pub->priv", a_pub, a_priv), ("priv->pub", a_priv, a_pub)]))
    pcx = lab.peering(vpc1, vpc2)
    blocked = reach_all(cross)
    assert not any(ok for pair in blocked.values() for ok in pair), blocked

    # 2. Routes on both sides through the accepted peering: all eight directions work.
    for rtb in (rtb_pub1, rtb_priv1):
        lab.route(rtb, VPC2, VpcPeeringConnectionId=pcx)
    for rtb in (rtb_pub2, rtb_priv2):
        lab.route(rtb, VPC1, VpcPeeringConnectionId=pcx)
    result = eventually_all("all eight cross-VPC directions (ping and TCP 22)",
                            lambda: reach_all(cross))
    assert set(result) == {name for name, _, _ in cross}

    # 3. The external network.
    inet = lab.internet_host()
    listener = lab.listen(inet.netns, "inet", [f"tcp/{WEB}"])

    def source_seen(inst) -> str | None:
        got = probe(inst.netns, "tcp", inet.address, WEB, banner=True)
        return got.seen.split()[1] if got.ok and got.seen else None

    assert eventually("VPC 1's public instance reaches the internet host",
                      lambda: source_seen(a_pub)) == a_pub.public_ip
    assert eventually("VPC 1's private instance reaches the internet host",
                      lambda: source_seen(a_priv)) == nat_eip
    assert {row[2] for row in listener.seen()} == {a_pub.public_ip, nat_eip}
    # The internet host reaches the public instance at its public IP, and nothing else.
    assert probe(inet.netns, "tcp", a_pub.public_ip, 22, banner=True).seen.startswith("SSH-")
    assert host_connect(a_pub.public_ip, 22).ok, "the host itself reaches a public IP"
    assert not probe(inet.netns, "tcp", a_priv.ip, 22).ok
    assert not probe(inet.netns, "icmp", a_priv.ip).ok
    assert not probe(inet.netns, "tcp", nat_eip, 22).ok, "nothing connects in through a NAT"
    # No transitive routing: VPC 2 cannot use VPC 1's gateways through the peering.
    for rtb in (rtb_pub2, rtb_priv2):
        lab.route(rtb, ANYWHERE, VpcPeeringConnectionId=pcx)
    for inst in (b_pub, b_priv):
        steadily(f"{inst.id} (VPC 2) reaching the internet host through the peering",
                 lambda inst=inst: source_seen(inst))
    assert {row[2] for row in listener.seen()} == {a_pub.public_ip, nat_eip}
    # The peering still carries VPC-to-VPC traffic.
    assert all(all(v) for v in reach_all(cross).values())

    # 4. The transit gateway replaces the peering.
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    for rtb in (rtb_pub1, rtb_priv1):
        ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock=VPC2)
    for rtb in (rtb_pub2, rtb_priv2):
        ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock=VPC1)
        ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock=ANYWHERE)
    eventually_all("no traffic between the VPCs once the peering is deleted",
                   lambda: reach_all(cross), want=False)
    tgw = lab.transit_gateway()
    att1 = lab.tgw_attachment(tgw, vpc1, priv1)
    att2 = lab.tgw_attachment(tgw, vpc2, priv2)
    table = lab.tgw_route_table(tgw, [att1, att2])
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table,
                                     DestinationCidrBlock=ANYWHERE,
                                     TransitGatewayAttachmentId=att1)
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table,
                                     DestinationCidrBlock=VPC2,
                                     TransitGatewayAttachmentId=att2)
    for rtb in (rtb_pub2, rtb_priv2):
        lab.route(rtb, ANYWHERE, TransitGatewayId=tgw)
    lab.route(rtb_pub1, VPC2, TransitGatewayId=tgw)  # the NAT's replies go back to VPC 2
    for inst in (b_pub, b_priv):
        assert eventually(f"{inst.id} (VPC 2) reaching the internet host through the TGW",
                          lambda inst=inst: source_seen(inst), timeout=CONVERGE) == nat_eip
    assert not probe(inet.netns, "tcp", b_pub.ip, 22).ok
