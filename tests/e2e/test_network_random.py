"""The randomized data-plane test: random security groups, network ACLs and route tables over
two or three VPCs (two of them peered, a third one's peering deleted to make blackholes) and about six instances; then hundreds of real probes
(source instance, destination instance, TCP port with a chosen source port, or ICMP echo),
each compared with an independent evaluation of AWS's rules written here, from the API calls
the test made — never from Nubo's code or its descriptions. Zero disagreements.

The evaluator (`Model.verdict`) encodes AWS's documented behaviour:
- routing: the same VPC is always reachable (the `local` route); another VPC only when the
  source subnet's route table sends the destination, by longest prefix, to a peering
  connection between the two VPCs, and the destination subnet's table routes the reply back
  the same way (a peering route is needed on both sides); a longer prefix through a deleted
  peering connection (a blackhole route) wins and drops;
- security groups: stateful; a flow needs an egress rule of one of the source ENI's groups
  (union) matching the destination, and an ingress rule of one of the destination's groups
  matching the source; a rule's peer is a CIDR or a group (its members' private addresses);
  protocol -1 matches everything; ICMP type/code -1 is any; replies need nothing;
- network ACLs: stateless, only between different subnets; in rule-number order the first
  entry matching (CIDR, protocol, destination port or ICMP type/code) decides, none matching
  denies; the request needs the source subnet's egress and the destination subnet's ingress
  ACL, the reply (TCP from the destination port to the chosen source port, ICMP echo reply)
  needs the destination's egress and the source's ingress ACL.

Seed: printed; set NUBO_E2E_NET_SEED to replay one.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from instance_support import base_image  # noqa: F401  (fixtures)
from network_support import ANYWHERE, Probe, env_seed, lab, perm, run_many  # noqa: F401

PORTS = (22, 80, 443, 3306, 8080)
LISTEN = (80, 443, 3306, 8080)  # 22 is the instances' own SSH server
# Probe source ports: outside the kernel's ephemeral range (32768-60999), where an instance's
# own connections (its first boot's metadata requests, in TIME_WAIT for a minute) would hold
# them, and on both sides of the ACL ephemeral ranges the rules draw (1024-, 32768-, 49152-).
SOURCE_PORTS = [*range(10000, 32768), *range(61000, 65536)]
PORT_RANGES = [(80, 80), (443, 443), (22, 22), (1, 1024), (3000, 9000), (8080, 8080),
               (0, 65535), (0, 65535), (1024, 65535), (32768, 65535), (49152, 65535),
               (40000, 50000), (22, 8080)]
ICMP_TYPES = [(-1, -1), (8, -1), (0, -1), (8, 0), (3, -1)]
MIN_ALLOWED = 10  # probes that should pass, and that should not, for a telling run


# --------------------------------------------------------------------------------------------
# The independent evaluator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A security-group rule or an ACL entry as the test sent it."""

    proto: str  # "-1", "tcp", "udp", "icmp"
    lo: int = -1  # port range, or ICMP type
    hi: int = -1  # port range end, or ICMP code
    cidr: str | None = None
    group: str | None = None
    number: int = 0  # ACL only
    allow: bool = True  # ACL only

    def matches(self, proto: str, a: int, b: int) -> bool:
        """proto with (dport, _) for TCP/UDP or (type, code) for ICMP."""
        if self.proto == "-1":
            return True
        if self.proto != proto:
            return False
        if proto in ("tcp", "udp"):
            return self.lo <= a <= self.hi
        return (self.lo == -1 or self.lo == a) and (self.hi == -1 or self.hi == b)


@dataclass
class Node:
    name: str
    vpc: str
    subnet: str
    ip: str
    groups: list[str]
    netns: str = ""


@dataclass
class Model:
    vpc_cidr: dict[str, str] = field(default_factory=dict)  # vpc id -> cidr
    peerings: dict[str, frozenset] = field(default_factory=dict)  # pcx -> {vpc, vpc}
    routes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # subnet -> [(cidr, pcx)]
    acl_in: dict[str, list[Rule] | None] = field(default_factory=dict)  # subnet -> entries
    acl_out: dict[str, list[Rule] | None] = field(default_factory=dict)  # None: allow all
    sg_in: dict[str, list[Rule]] = field(default_factory=dict)
    sg_out: dict[str, list[Rule]] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)

    def members(self, group: str) -> set[str]:
        return {n.ip for n in self.nodes if group in n.groups}

    def peer_ok(self, rule: Rule, ip: str) -> bool:
        if rule.cidr is not None:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(rule.cidr)
        return ip in self.members(rule.group)

    def sg(self, node: Node, egress: bool, proto: str, a: int, b: int, peer: str) -> bool:
        table = self.sg_out if egress else self.sg_in
        return any(r.matches(proto, a, b) and self.peer_ok(r, peer)
                   for g in node.groups for r in table[g])

    def acl(self, subnet: str, egress: bool, proto: str, a: int, b: int, peer: str) -> bool:
        entries = (self.acl_out if egress else self.acl_in)[subnet]
        if entries is None:
            return True
        for e in sorted(entries, key=lambda e: e.number):
            if e.matches(proto, a, b) and self.peer_ok(e, peer):
                return e.allow
        return False

    def routed(self, src: Node, dst: Node) -> bool:
        if src.vpc == dst.vpc:
            return True
        ip = ipaddress.ip_address(dst.ip)
        best = None
        for cidr, pcx in self.routes[src.subnet]:
            net = ipaddress.ip_network(cidr)
            if ip in net and (best is None or net.prefixlen > best[0].prefixlen):
                best = (net, pcx)
        return best is not None and self.peerings.get(best[1]) == frozenset((src.vpc, dst.vpc))

    def verdict(self, src: Node, dst: Node, kind: str, port: int, sport: int) -> tuple[bool, str]:
        if not (self.routed(src, dst) and self.routed(dst, src)):
            return False, "no route (both ways)"
        if kind == "tcp":
            req, rep = ("tcp", port, 0), ("tcp", sport, 0)
        else:
            req, rep = ("icmp", 8, 0), ("icmp", 0, 0)
        if not self.sg(src, True, *req, dst.ip):
            return False, "source security groups: no egress rule"
        if not self.sg(dst, False, *req, src.ip):
            return False, "destination security groups: no ingress rule"
        if src.subnet != dst.subnet:
            if not self.acl(src.subnet, True, *req, dst.ip):
                return False, "source subnet ACL egress denies the request"
            if not self.acl(dst.subnet, False, *req, src.ip):
                return False, "destination subnet ACL ingress denies the request"
            if not self.acl(dst.subnet, True, *rep, src.ip):
                return False, "destination subnet ACL egress denies the reply"
            if not self.acl(src.subnet, False, *rep, dst.ip):
                return False, "source subnet ACL ingress denies the reply"
        return True, "allowed"


# --------------------------------------------------------------------------------------------
# Random configuration, made through the API and recorded in the Model
# --------------------------------------------------------------------------------------------


def random_rule(rng: random.Random, cidrs: tuple[list[str], list[str]],
                groups: list[str]) -> Rule:
    """A rule on a broad (60%) or narrow CIDR, or on a group (if any, 35%)."""
    proto = rng.choice(["tcp", "tcp", "tcp", "tcp", "icmp", "udp", "-1", "-1"])
    lo, hi = -1, -1
    if proto in ("tcp", "udp"):
        lo, hi = rng.choice(PORT_RANGES)
    elif proto == "icmp":
        lo, hi = rng.choice(ICMP_TYPES)
    if groups and rng.random() < 0.35:
        return Rule(proto, lo, hi, group=rng.choice(groups))
    broad, narrow = cidrs
    return Rule(proto, lo, hi, cidr=rng.choice(broad if rng.random() < 0.6 else narrow))


def sg_permission(rule: Rule) -> dict:
    return perm(rule.proto, rule.lo, rule.hi, cidr=rule.cidr, group=rule.group)


def loosen(rng: random.Random, lab, model: Model, acl_ids: dict[str, str]) -> None:
    """One step that lets more traffic through, made through the API and in the model: an
    all-traffic ingress rule from 10.0.0.0/8 on a group some instance is in, or allow-all
    entries (number 1, both directions) in a subnet's custom ACL."""
    wide = Rule("-1", cidr="10.0.0.0/8")
    groups = sorted({g for n in model.nodes for g in n.groups if wide not in model.sg_in[g]})
    acls = sorted(sid for sid, acl in acl_ids.items() if model.acl_in[sid][0].number != 1)
    if acls and (not groups or rng.random() < 0.5):
        sid = rng.choice(acls)
        head = Rule("-1", cidr=ANYWHERE, number=1)
        for egress in (False, True):
            lab.acl_entry(acl_ids[sid], egress, 1, True, ANYWHERE, "-1")
            table = model.acl_out if egress else model.acl_in
            table[sid] = [head] + table[sid]
    elif groups:
        g = rng.choice(groups)
        lab.ec2.authorize_security_group_ingress(GroupId=g, IpPermissions=[sg_permission(wide)])
        model.sg_in[g].append(wide)
    else:
        raise AssertionError("nothing left to open, yet the configuration stays degenerate")


def test_random_rules_match_an_independent_evaluation(nubo, lab):
    seed = env_seed("NUBO_E2E_NET_SEED", random.SystemRandom().randrange(2**32))
    print(f"\nNUBO_E2E_NET_SEED={seed}")
    rng = random.Random(seed)
    ec2 = lab.ec2
    model = Model()
    n_vpcs = rng.choice([2, 3])
    vpcs, subnets = [], {}
    for k in range(n_vpcs):
        cidr = f"10.{61 + k}.0.0/16"
        vpc = lab.vpc(cidr)
        vpcs.append(vpc)
        model.vpc_cidr[vpc] = cidr
        subnets[vpc] = [lab.subnet(vpc, f"10.{61 + k}.{s}.0/24") for s in (1, 2)]
    subnet_cidr = {sid: f"10.{61 + k}.{s + 1}.0/24" for k, v in enumerate(vpcs)
                   for s, sid in enumerate(subnets[v])}
    vpc_of = {sid: v for v in vpcs for sid in subnets[v]}
    pcx = lab.peering(vpcs[0], vpcs[1])
    model.peerings[pcx] = frozenset(vpcs[:2])

    # Instances: two in the first subnet of VPCs 1 and 2 (same-subnet traffic skips ACLs),
    # one in their second subnets, one in VPC 3's first subnet.
    placements = [subnets[vpcs[0]][0], subnets[vpcs[0]][0], subnets[vpcs[0]][1],
                  subnets[vpcs[1]][0], subnets[vpcs[1]][0], subnets[vpcs[1]][1]]
    if n_vpcs == 3:
        placements.append(subnets[vpcs[2]][0])
    host_numbers: dict[str, int] = {}
    for i, sid in enumerate(placements):
        host_numbers[sid] = host_numbers.get(sid, 9) + 1
        base = subnet_cidr[sid].rsplit(".", 1)[0]
        model.nodes.append(Node(f"n{i}", vpc_of[sid], sid, f"{base}.{host_numbers[sid]}", []))
    node_ips = [n.ip + "/32" for n in model.nodes]
    cidrs = ([ANYWHERE, "10.0.0.0/8"] + list(model.vpc_cidr.values()),
             list(subnet_cidr.values()) + node_ips)

    # Security groups: three per VPC plus its default group (ingress from itself, all egress).
    groups: dict[str, list[str]] = {}
    for vpc in vpcs:
        default = ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
        model.sg_in[default] = [Rule("-1", group=default)]
        model.sg_out[default] = [Rule("-1", cidr=ANYWHERE)]
        groups[vpc] = [default] + [lab.security_group(vpc) for _ in range(3)]
        for g in groups[vpc][1:]:
            model.sg_in[g], model.sg_out[g] = [], [Rule("-1", cidr=ANYWHERE)]
    for vpc in vpcs:
        # A group reference may name a group of the peer VPC (AWS allows it across a peering).
        refs = groups[vpc] + (groups[vpcs[1] if vpc == vpcs[0] else vpcs[0]]
                              if vpc in vpcs[:2] else [])
        for g in groups[vpc][1:]:
            for _ in range(rng.randint(3, 6)):
                rule = random_rule(rng, cidrs, refs)
                try:
                    ec2.authorize_security_group_ingress(GroupId=g,
                                                         IpPermissions=[sg_permission(rule)])
                except ClientError as exc:
                    if "Duplicate" in str(exc):
                        continue
                    raise
                model.sg_in[g].append(rule)
            if rng.random() < 0.35:
                ec2.revoke_security_group_egress(GroupId=g,
                                                 IpPermissions=[perm("-1", cidr=ANYWHERE)])
                model.sg_out[g] = []
                for _ in range(rng.randint(0, 4)):
                    rule = random_rule(rng, cidrs, refs)
                    try:
                        ec2.authorize_security_group_egress(
                            GroupId=g, IpPermissions=[sg_permission(rule)])
                    except ClientError as exc:
                        if "Duplicate" in str(exc):
                            continue
                        raise
                    model.sg_out[g].append(rule)
    for node in model.nodes:
        node.groups = rng.sample(groups[node.vpc], rng.choice([1, 2]))

    # Network ACLs: the default (allow all) or a custom one per subnet.
    acl_ids: dict[str, str] = {}
    for sid in subnet_cidr:
        if rng.random() < 0.4:
            model.acl_in[sid] = model.acl_out[sid] = None
            continue
        entries = []
        for egress in (False, True):
            numbers = rng.sample(range(10, 300, 10), rng.randint(1, 4))
            for number in numbers:
                rule = random_rule(rng, cidrs, [])
                entries.append((egress, Rule(rule.proto, rule.lo, rule.hi, cidr=rule.cidr,
                                             number=number, allow=rng.random() < 0.75)))
            if rng.random() < 0.75:  # the return traffic's ephemeral ports, sometimes missing
                lo, hi = rng.choice([(1024, 65535), (32768, 65535), (49152, 65535)])
                entries.append((egress, Rule("tcp", lo, hi, cidr=ANYWHERE, number=500)))
            if rng.random() < 0.6:
                entries.append((egress, Rule("icmp", -1, -1, cidr=ANYWHERE, number=510)))
            if rng.random() < 0.5:
                entries.append((egress, Rule("-1", cidr=ANYWHERE, number=900)))
        acl_ids[sid] = lab.network_acl(vpc_of[sid], [sid], [
            (eg, r.number, r.allow, r.cidr, r.proto,
             (r.lo, r.hi) if r.proto != "-1" else None) for eg, r in entries])
        model.acl_out[sid] = [r for eg, r in entries if eg]
        model.acl_in[sid] = [r for eg, r in entries if not eg]

    gone_pcx = lab.peering(vpcs[0], vpcs[2]) if n_vpcs == 3 else None
    # Route tables: a table per subnet; peered subnets route all, one subnet or none of the
    # peer's block through the peering.
    for sid in subnet_cidr:
        rtb = lab.route_table(vpc_of[sid], [sid])
        model.routes[sid] = []
        vpc = vpc_of[sid]
        if vpc not in vpcs[:2]:
            continue
        peer = vpcs[1] if vpc == vpcs[0] else vpcs[0]
        choice = rng.random()
        if choice < 0.8:
            destination = model.vpc_cidr[peer]
        elif choice < 0.92:
            destination = subnet_cidr[rng.choice(subnets[peer])]
        else:
            continue
        lab.route(rtb, destination, VpcPeeringConnectionId=pcx)
        model.routes[sid].append((destination, pcx))
        blackholed = subnet_cidr[rng.choice(subnets[peer])]
        if gone_pcx and vpc == vpcs[0] and rng.random() < 0.5 and blackholed != destination:
            # A longer prefix through a peering that is deleted below: a blackhole that wins
            # over the working route by longest-prefix match.
            lab.route(rtb, blackholed, VpcPeeringConnectionId=gone_pcx)
            model.routes[sid].append((blackholed, gone_pcx))
    if gone_pcx:
        ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=gone_pcx)

    # Probes: every ordered pair, ICMP and each port with two random source ports.
    sports = iter(rng.sample(SOURCE_PORTS, 4000))
    probes: list[tuple[Node, Node, Probe]] = []
    for src in model.nodes:
        for dst in model.nodes:
            if src is dst:
                continue
            probes.append((src, dst, Probe("icmp", dst.ip)))
            for port in PORTS:
                for _ in range(2):
                    probes.append((src, dst, Probe("tcp", dst.ip, port, sport=next(sports))))
    assert len(probes) >= 300

    # A configuration where almost nothing passes proves little: open it up through the API,
    # one rng-chosen step at a time (an all-traffic ingress rule on a group in use, or an
    # allow-all entry at the head of a custom ACL), until enough probes should pass.
    expected = {p.id: model.verdict(src, dst, p.kind, p.port, p.sport)
                for src, dst, p in probes}
    while sum(ok for ok, _ in expected.values()) < MIN_ALLOWED:
        loosen(rng, lab, model, acl_ids)
        expected = {p.id: model.verdict(src, dst, p.kind, p.port, p.sport)
                    for src, dst, p in probes}

    # Instances last: the data plane has every rule before the first packet.
    launched = lab.instances([{"subnet": n.subnet, "groups": n.groups, "ip": n.ip}
                              for n in model.nodes])
    for node, inst in zip(model.nodes, launched):
        assert inst.ip == node.ip
        node.netns = inst.netns
        lab.wait_sshd(inst)
        lab.listen(inst.netns, node.name, [f"tcp/{p}" for p in LISTEN])

    def run(batch):
        by_ns: dict[str, list[Probe]] = {}
        for src, _, p in batch:
            by_ns.setdefault(src.netns, []).append(p)
        return run_many(by_ns)

    results = run(probes)
    # A flow that should pass but did not gets one more try with the same ports: a loaded
    # machine may lose a probe's timing, never its verdict; a flow that passed really passed.
    retry = [(s, d, p) for s, d, p in probes if expected[p.id][0] and not results[p.id].ok]
    if retry:
        print(f"retrying {len(retry)} probes that should have passed")
        results.update(run(retry))

    disagreements = []
    for src, dst, p in probes:
        want, why = expected[p.id]
        got = results[p.id].ok
        if want != got:
            disagreements.append(
                f"{src.name} {src.ip} ({src.subnet}, groups {src.groups}) -> {dst.name} "
                f"{dst.ip} ({dst.subnet}, groups {dst.groups}) {p.kind} {p.port or ''} "
                f"sport {p.sport}: evaluator {want} ({why}), network {got}")
    reasons = Counter(expected[p.id][1] for _, _, p in probes)
    allowed = reasons["allowed"]
    blackholes = sum(1 for rs in model.routes.values() for _, t in rs if t == gone_pcx)
    print(f"{len(probes)} probes, evaluator: {dict(reasons)}; {blackholes} blackhole routes; "
          f"{len(disagreements)} disagreements (seed {seed})")
    assert min(allowed, len(probes) - allowed) >= MIN_ALLOWED, "a degenerate configuration"
    assert not disagreements, (f"seed {seed}: {len(disagreements)} of {len(probes)} probes "
                               "disagree:\n" + "\n".join(disagreements) + "\n" + describe(model))


def describe(model: Model) -> str:
    lines = ["model:"]
    for name, table in (("sg ingress", model.sg_in), ("sg egress", model.sg_out),
                        ("acl ingress", model.acl_in), ("acl egress", model.acl_out),
                        ("routes", model.routes)):
        for key, value in table.items():
            lines.append(f"  {name} {key}: {value}")
    return "\n".join(lines)


def test_the_evaluator_itself():
    """The oracle is checked on hand-made cases before it judges the network (no server)."""
    m = Model()
    m.vpc_cidr = {"v1": "10.1.0.0/16", "v2": "10.2.0.0/16"}
    m.peerings = {"pcx": frozenset(("v1", "v2"))}
    m.routes = {"s1": [("10.2.0.0/16", "pcx")], "s2": [], "s3": [("10.1.0.0/16", "pcx")]}
    web = [Rule("tcp", 80, 80, cidr="10.0.0.0/8")]
    m.sg_in = {"g": web, "ping": [Rule("icmp", 8, -1, cidr=ANYWHERE)], "self": []}
    m.sg_out = {"g": [Rule("-1", cidr=ANYWHERE)], "ping": [Rule("-1", cidr=ANYWHERE)],
                "self": [Rule("tcp", 80, 80, group="g")]}
    m.acl_in = {"s1": None, "s2": [Rule("tcp", 80, 80, cidr=ANYWHERE, number=10),
                                   Rule("tcp", 1, 65535, cidr=ANYWHERE, number=5,
                                        allow=False)], "s3": None}
    m.acl_out = {"s1": None, "s2": [Rule("tcp", 49152, 65535, cidr=ANYWHERE, number=10),
                                    Rule("icmp", 0, -1, cidr=ANYWHERE, number=20)],
                 "s3": None}
    a = Node("a", "v1", "s1", "10.1.1.10", ["g"])
    a2 = Node("a2", "v1", "s1", "10.1.1.11", ["g", "ping"])
    b = Node("b", "v1", "s2", "10.1.2.10", ["g", "ping"])
    c = Node("c", "v2", "s3", "10.2.1.10", ["self"])
    m.nodes = [a, a2, b, c]
    assert m.verdict(a, a2, "tcp", 80, 40000) == (True, "allowed")
    assert m.verdict(a, a2, "tcp", 22, 40000)[0] is False  # no ingress rule for 22
    assert m.verdict(a, a2, "icmp", 0, 0)[0] is True  # group union: a2 is also in "ping"
    assert m.verdict(a2, a, "icmp", 0, 0)[0] is False
    # s2's ingress: rule 5 (deny all TCP) comes before rule 10 (allow 80).
    assert m.verdict(a, b, "tcp", 80, 50000)[1] == \
        "destination subnet ACL ingress denies the request"
    m.acl_in["s2"] = [m.acl_in["s2"][0]]
    assert m.verdict(a, b, "tcp", 80, 50000) == (True, "allowed")
    # The reply's port is the client's source port: outside 49152-65535 it is denied.
    assert m.verdict(a, b, "tcp", 80, 40000)[1] == \
        "destination subnet ACL egress denies the reply"
    # ICMP: the request enters s2 (no ICMP ingress entry: denied).
    assert m.verdict(a, b, "icmp", 0, 0)[1] == "destination subnet ACL ingress denies the request"
    # Peering: routes on both sides; c's group allows egress only to members of g.
    assert m.verdict(c, a, "tcp", 80, 40000) == (True, "allowed")
    assert m.verdict(c, b, "tcp", 80, 50000)[0] is False  # b's subnet has no route back
    assert m.verdict(a, c, "tcp", 80, 40000)[1] == \
        "destination security groups: no ingress rule"
    m.routes["s3"] = [("10.1.2.0/24", "pcx")]
    assert m.verdict(c, a, "tcp", 80, 40000) == (False, "no route (both ways)")
