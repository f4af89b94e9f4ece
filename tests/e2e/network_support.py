"""Shared pieces of the data-plane suites (test_network_*.py): a `lab` that builds VPC objects
and instances and always tears them down (then proves no kernel object of the test is left),
real packet probes, and the "internet" test host on the external bridge.

Probes are real packets from the instances' own network namespaces: a small Python prober runs
with `ip netns exec <prefix>-<instance-id>` and does many non-blocking TCP connects (and `ping`s)
in parallel, each with a short timeout; listeners run the same way in the destination's
namespace. The packets leave through the instance's eth0 and cross the VPC router exactly as
the instance's own would; only the process is the host's (the base image's userland has no
Python). A listener answers every TCP connection with one line `<name> <peer address>` and
records every UDP datagram's source, so a test learns which address the far end saw.

The internet host is a namespace the test creates (`<prefix>-inet<k>`, covered by the leftover
checks) with a veth whose host end is enslaved to the external bridge `<prefix>-ext` and an
unused address of the session's external network.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from conftest import AwsCliError, error_code, unique
from instance_support import DEFAULT_TYPE, terminate_and_wait, wait_state, wait_until

ANYWHERE = "0.0.0.0/0"
# The bound for a change to reach the packets is one second; probes that expect a
# change poll for up to this long (a loaded 2-core test machine needs the slack).
CONVERGE = 5.0
PROBE_TIMEOUT = 1.5

PROBER = r'''
import json, selectors, socket, subprocess, sys, time
probes = json.load(sys.stdin)
sel = selectors.DefaultSelector()
out = {}
pings = {}
for p in probes:
    if p["kind"] == "icmp":
        pings[p["id"]] = subprocess.Popen(
            ["ping", "-n", "-c1", "-W", str(max(1, int(p["timeout"] + 0.5))), p["dst"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        continue
    s = socket.socket(socket.AF_INET,
                      socket.SOCK_STREAM if p["kind"] == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if p.get("src") or p.get("sport"):
        # A chosen source port may be held for a moment by a socket of the
        # instance itself (its kernel picked the same ephemeral port): wait.
        for attempt in range(50):
            try:
                s.bind((p.get("src") or "0.0.0.0", p.get("sport") or 0))
                break
            except OSError as exc:
                if exc.errno != 98 or attempt == 49:
                    raise
                time.sleep(0.1)
    if p["kind"] == "udp":
        s.sendto(p.get("payload", "x").encode(), (p["dst"], p["port"]))
        s.close()
        out[p["id"]] = {"ok": True, "seen": None}
        continue
    s.setblocking(False)
    s.connect_ex((p["dst"], p["port"]))
    sel.register(s, selectors.EVENT_WRITE,
                 {"id": p["id"], "deadline": time.monotonic() + p["timeout"],
                  "banner": p.get("banner", False), "buf": b"", "phase": "connect"})
while sel.get_map():
    now = time.monotonic()
    for key in list(sel.get_map().values()):
        d = key.data
        if now > d["deadline"]:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            out[d["id"]] = {"ok": d["phase"] == "banner", "seen": None}
    for key, _ in sel.select(timeout=0.05):
        d, s = key.data, key.fileobj
        if d["phase"] == "connect":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err or not d["banner"]:
                sel.unregister(s)
                s.close()
                out[d["id"]] = {"ok": err == 0, "seen": None, "errno": err}
                continue
            d["phase"] = "banner"
            sel.modify(s, selectors.EVENT_READ, d)
            continue
        try:
            chunk = s.recv(4096)
        except OSError:
            chunk = b""
        d["buf"] += chunk
        if not chunk or b"\n" in d["buf"]:
            sel.unregister(s)
            s.close()
            out[d["id"]] = {"ok": True,
                            "seen": d["buf"].split(b"\n")[0].decode(errors="replace")}
for pid, proc in pings.items():
    out[pid] = {"ok": proc.wait() == 0, "seen": None}
json.dump(out, sys.stdout)
'''

LISTENER = r'''
import selectors, socket, sys
name, log = sys.argv[1], sys.argv[2]
sel = selectors.DefaultSelector()
for spec in sys.argv[3:]:
    proto, port = spec.split("/")
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    if proto != "udp":
        s.listen(512)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, (proto, int(port)))
print("ready", flush=True)
with open(log, "a", buffering=1) as f:
    while True:
        for key, _ in sel.select():
            proto, port = key.data
            try:
                if proto == "conn":
                    data = key.fileobj.recv(4096)
                    if data:
                        key.fileobj.sendall(data)
                    else:
                        sel.unregister(key.fileobj)
                        key.fileobj.close()
                    continue
                if proto == "echo":
                    c, addr = key.fileobj.accept()
                    sel.register(c, selectors.EVENT_READ, ("conn", port))
                elif proto == "tcp":
                    c, addr = key.fileobj.accept()
                    try:
                        c.sendall(f"{name} {addr[0]}\n".encode())
                    except OSError:
                        pass
                    c.close()
                else:
                    data, addr = key.fileobj.recvfrom(2048)
                    data = data.decode(errors="replace")
                f.write(f"{proto} {port} {addr[0]} {data if proto == 'udp' else ''}\n")
            except OSError:
                pass
'''


# --------------------------------------------------------------------------------------------
# Probes
# --------------------------------------------------------------------------------------------


@dataclass
class Probe:
    """One attempt from a namespace: `kind` tcp (connect; `banner` reads the first line),
    icmp (one echo), or udp (one datagram, always "sent")."""

    kind: str
    dst: str
    port: int = 0
    sport: int = 0
    src: str = ""
    banner: bool = False
    timeout: float = PROBE_TIMEOUT
    payload: str = "x"
    id: str = field(default_factory=lambda: unique("p"))


@dataclass
class Result:
    ok: bool
    seen: str | None = None


def _script(tmpdir: Path, name: str, text: str) -> Path:
    path = tmpdir / name
    if not path.exists():
        path.write_text(text)
    return path


_SCRIPTS = Path(tempfile.mkdtemp(prefix="nubo-e2e-net-"))


def run_probes(netns: str, probes: list[Probe]) -> dict[str, Result]:
    """Run the probes in parallel from `netns`; returns id -> Result."""
    if not probes:
        return {}
    prober = _script(_SCRIPTS, "prober.py", PROBER)
    payload = json.dumps([p.__dict__ for p in probes])
    budget = max(p.timeout for p in probes) + 30
    done = subprocess.run(["ip", "netns", "exec", netns, sys.executable, str(prober)],
                          input=payload, capture_output=True, text=True, timeout=budget)
    assert done.returncode == 0, f"prober in {netns} failed: {done.stderr}"
    raw = json.loads(done.stdout)
    return {k: Result(v["ok"], v.get("seen")) for k, v in raw.items()}


def probe(netns: str, kind: str, dst: str, port: int = 0, **kwargs) -> Result:
    p = Probe(kind, dst, port, **kwargs)
    return run_probes(netns, [p])[p.id]


def run_many(batches: dict[str, list[Probe]]) -> dict[str, Result]:
    """Probes from several namespaces at once (one prober process per namespace)."""
    prober = _script(_SCRIPTS, "prober.py", PROBER)
    procs = {}
    for netns, probes in batches.items():
        if not probes:
            continue
        proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, str(prober)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.stdin.write(json.dumps([p.__dict__ for p in probes]))
        proc.stdin.close()
        procs[netns] = proc
    results: dict[str, Result] = {}
    for netns, proc in procs.items():
        out = proc.stdout.read()
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, f"prober in {netns} failed: {err}"
        results.update({k: Result(v["ok"], v.get("seen")) for k, v in json.loads(out).items()})
    return results


def eventually(what: str, check: Callable[[], Any], timeout: float = CONVERGE):
    """Poll check() until truthy within `timeout` (the data plane's convergence bound)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = check()
        except AssertionError as exc:  # e.g. a command inside the instance failed this time
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what} (last: {last!r})", pytrace=False)
        time.sleep(0.1)


def eventually_all(what: str, check: Callable[[], dict], want: bool = True,
                   timeout: float = CONVERGE) -> dict:
    """Poll check() -> {name: outcome or tuple of outcomes} until every outcome is `want`;
    on failure, name the ones that are not."""
    def flat(v):
        return v if isinstance(v, tuple) else (v,)
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        wrong = {k: v for k, v in last.items() if any(x != want for x in flat(v))}
        if not wrong:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}; not {want}: {wrong}", pytrace=False)
        time.sleep(0.1)


def steadily(what: str, check: Callable[[], Any], settle: float = CONVERGE):
    """A negative outcome: check() must become falsy within `settle` and stay so for three
    more probes (each probe already waits PROBE_TIMEOUT for a packet that never comes)."""
    deadline = time.monotonic() + settle
    while check():
        if time.monotonic() > deadline:
            pytest.fail(f"still happening after {settle}s: {what}", pytrace=False)
        time.sleep(0.1)
    for _ in range(2):
        assert not check(), f"intermittent: {what}"


class Listener:
    """A listener process in a namespace. Specs: `tcp/<port>` answers every connection with
    `<name> <peer>` and closes it; `echo/<port>` keeps connections open and echoes;
    `udp/<port>` receives datagrams. Connections and datagrams are logged with their source."""

    def __init__(self, netns: str, name: str, specs: list[str]):
        self.netns, self.name = netns, name
        self.log = _SCRIPTS / f"{unique('log')}.txt"
        self.log.touch()
        script = _script(_SCRIPTS, "listener.py", LISTENER)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, str(script), name, str(self.log),
             *specs], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            pytest.fail(f"listener in {netns} did not start: {line!r} {err}", pytrace=False)

    def seen(self) -> list[tuple[str, int, str, str]]:
        """(proto, port, source address, udp payload) of everything received so far."""
        rows = []
        for line in self.log.read_text().splitlines():
            parts = line.split(" ", 3)
            if len(parts) >= 3:
                rows.append((parts[0], int(parts[1]), parts[2],
                             parts[3] if len(parts) > 3 else ""))
        return rows

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()


CONVERSATION = r'''
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
print("connected", flush=True)
s.settimeout(float(sys.argv[3]))
for line in sys.stdin:
    try:
        s.sendall(line.encode())
        print("echo " + s.recv(4096).decode().strip(), flush=True)
    except OSError as exc:
        print("lost " + type(exc).__name__, flush=True)
'''


class Conversation:
    """One long-lived TCP connection from a namespace to an `echo/<port>` listener: `say()`
    sends a line and returns the echo, or None if nothing came back in time."""

    def __init__(self, netns: str, dst: str, port: int, timeout: float = 3.0):
        script = _script(_SCRIPTS, "conversation.py", CONVERSATION)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, str(script), dst, str(port),
             str(timeout)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.connected = self.proc.stdout.readline().strip() == "connected"

    def say(self, text: str) -> str | None:
        if self.proc.poll() is not None:
            return None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        return line[len("echo "):] if line.startswith("echo ") else None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()


# --------------------------------------------------------------------------------------------
# Lab: VPC objects and instances with teardown and a leftover check
# --------------------------------------------------------------------------------------------


@dataclass
class Inst:
    id: str
    ip: str
    subnet_id: str
    netns: str
    eni_id: str
    public_ip: str | None = None


@dataclass
class InternetHost:
    netns: str
    address: str
    link: str


def perm(proto: str, lo: int = -1, hi: int | None = None, cidr: str | None = None,
         group: str | None = None) -> dict:
    """One IpPermissions entry: perm("tcp", 22, cidr=...), perm("icmp", 8, -1, ...),
    perm("-1", cidr=...)."""
    p: dict = {"IpProtocol": proto}
    if proto != "-1":
        p["FromPort"], p["ToPort"] = lo, (lo if hi is None else hi)
    if cidr:
        p["IpRanges"] = [{"CidrIp": cidr}]
    if group:
        p["UserIdGroupPairs"] = [{"GroupId": group}]
    return p


_inet_counter = itertools.count(1)


class Lab:
    """Builds VPC objects and instances for one test and removes them, last first, at the
    end; then waits (bounded) until every kernel object the test caused is gone."""

    def __init__(self, nubo, base_image: str):
        self.nubo = nubo
        self.ec2 = nubo.client("ec2")
        self.base_image = base_image
        self.prefix = nubo.host_prefix
        self._undo: list[tuple[str, Callable[[], Any]]] = []
        self.baseline = nubo.kernel_objects()
        self.listeners: list[Listener] = []
        self.groups: list[str] = []

    def later(self, what: str, fn: Callable[[], Any]) -> None:
        self._undo.append((what, fn))

    def teardown(self) -> list[str]:
        errors = []
        # Rules referencing other groups keep those from being deleted (as on AWS).
        for gid in self.groups:
            try:
                [g] = self.ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
                if g["IpPermissions"]:
                    self.ec2.revoke_security_group_ingress(GroupId=gid,
                                                           IpPermissions=g["IpPermissions"])
                if g["IpPermissionsEgress"]:
                    self.ec2.revoke_security_group_egress(
                        GroupId=gid, IpPermissions=g["IpPermissionsEgress"])
            except ClientError as exc:
                errors.append(f"revoke the rules of {gid}: {exc}")
        for what, fn in reversed(self._undo):
            try:
                fn()
            except ClientError as exc:
                # Already gone (the test deleted it itself) is fine.
                if "NotFound" not in error_code(exc) and "InvalidStateTransition" not in \
                        error_code(exc):
                    errors.append(f"{what}: {exc}")
            except (AwsCliError, subprocess.SubprocessError, OSError) as exc:
                errors.append(f"{what}: {exc}")
        self._undo.clear()
        return errors

    # ---- VPC objects ------------------------------------------------------------------

    def vpc(self, cidr: str) -> str:
        vpc_id = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        self.later(f"delete {vpc_id}", lambda: self.ec2.delete_vpc(VpcId=vpc_id))
        return vpc_id

    def subnet(self, vpc_id: str, cidr: str, az: str = "us-east-1a") -> str:
        sid = self.ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr,
                                     AvailabilityZone=az)["Subnet"]["SubnetId"]
        self.later(f"delete {sid}", lambda: self.ec2.delete_subnet(SubnetId=sid))
        return sid

    def route_table(self, vpc_id: str, subnet_ids: list[str] = ()) -> str:
        rtb = self.ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        self.later(f"delete {rtb}", lambda: self.ec2.delete_route_table(RouteTableId=rtb))
        for sid in subnet_ids:
            assoc = self.ec2.associate_route_table(RouteTableId=rtb,
                                                   SubnetId=sid)["AssociationId"]
            self.later(f"disassociate {assoc}",
                       lambda a=assoc: self.ec2.disassociate_route_table(AssociationId=a))
        return rtb

    def route(self, rtb: str, destination: str, **target) -> None:
        self.ec2.create_route(RouteTableId=rtb, DestinationCidrBlock=destination, **target)

    def igw(self, vpc_id: str) -> str:
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.later(f"delete {igw}", lambda: self.ec2.delete_internet_gateway(
            InternetGatewayId=igw))
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        self.later(f"detach {igw}", lambda: self.ec2.detach_internet_gateway(
            InternetGatewayId=igw, VpcId=vpc_id))
        return igw

    def eip(self) -> tuple[str, str]:
        """(allocation id, public ip)."""
        a = self.ec2.allocate_address(Domain="vpc")
        self.later(f"release {a['AllocationId']}",
                   lambda: self.ec2.release_address(AllocationId=a["AllocationId"]))
        return a["AllocationId"], a["PublicIp"]

    def nat(self, subnet_id: str) -> tuple[str, str, str]:
        """A public NAT gateway with a new Elastic IP, available: (id, public ip, private ip)."""
        alloc, public = self.eip()
        nat_id = self.ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=alloc)[
            "NatGateway"]["NatGatewayId"]

        def delete():
            self.ec2.delete_nat_gateway(NatGatewayId=nat_id)
            self.ec2.get_waiter("nat_gateway_deleted").wait(
                NatGatewayIds=[nat_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self.later(f"delete {nat_id}", delete)
        self.ec2.get_waiter("nat_gateway_available").wait(
            NatGatewayIds=[nat_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        [nat] = self.ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
        [addr] = nat["NatGatewayAddresses"]
        return nat_id, public, addr["PrivateIp"]

    def security_group(self, vpc_id: str, ingress: list[dict] = (),
                       egress: list[dict] | None = None) -> str:
        """A group with these ingress rules; `egress` None keeps AWS's default allow-all
        egress rule, a list replaces it (empty: no egress at all)."""
        gid = self.ec2.create_security_group(VpcId=vpc_id, GroupName=unique("grp"),
                                             Description="e2e data plane")["GroupId"]
        self.later(f"delete {gid}", lambda: self.ec2.delete_security_group(GroupId=gid))
        self.groups.append(gid)
        if ingress:
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=list(ingress))
        if egress is not None:
            self.ec2.revoke_security_group_egress(GroupId=gid,
                                                  IpPermissions=[perm("-1", cidr=ANYWHERE)])
            if egress:
                self.ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=list(egress))
        return gid

    def network_acl(self, vpc_id: str, subnet_ids: list[str],
                    entries: list[tuple[bool, int, bool, str, str, Any]]) -> str:
        """A custom ACL associated with the subnets. Entries: (egress, rule number, allow,
        cidr, protocol "-1"/"tcp"/"udp"/"icmp", ports (lo, hi) or icmp (type, code) or None).
        The subnets go back to the VPC's default ACL at teardown."""
        acl = self.ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
        self.later(f"delete {acl}", lambda: self.ec2.delete_network_acl(NetworkAclId=acl))
        for egress, number, allow, cidr, proto, extra in entries:
            self.acl_entry(acl, egress, number, allow, cidr, proto, extra)
        default = self.ec2.describe_network_acls(Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]["NetworkAclId"]
        for sid in subnet_ids:
            self.associate_acl(acl, sid)
            self.later(f"restore the default ACL of {sid}",
                       lambda sid=sid: self.associate_acl(default, sid))
        return acl

    def associate_acl(self, acl: str, subnet_id: str) -> None:
        [current] = self.ec2.describe_network_acls(Filters=[
            {"Name": "association.subnet-id", "Values": [subnet_id]}])["NetworkAcls"]
        [assoc] = [a["NetworkAclAssociationId"] for a in current["Associations"]
                   if a["SubnetId"] == subnet_id]
        self.ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl)

    def acl_entry(self, acl: str, egress: bool, number: int, allow: bool, cidr: str,
                  proto: str, extra: Any = None, replace: bool = False) -> None:
        numbers = {"-1": "-1", "tcp": "6", "udp": "17", "icmp": "1"}
        kwargs: dict = dict(NetworkAclId=acl, RuleNumber=number, Egress=egress,
                            RuleAction="allow" if allow else "deny", CidrBlock=cidr,
                            Protocol=numbers[proto])
        if proto in ("tcp", "udp"):
            lo, hi = extra
            kwargs["PortRange"] = {"From": lo, "To": hi}
        elif proto == "icmp":
            t, c = extra if extra else (-1, -1)
            kwargs["IcmpTypeCode"] = {"Type": t, "Code": c}
        if replace:
            self.ec2.replace_network_acl_entry(**kwargs)
        else:
            self.ec2.create_network_acl_entry(**kwargs)

    def peering(self, vpc_a: str, vpc_b: str) -> str:
        pcx = self.ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b)[
            "VpcPeeringConnection"]["VpcPeeringConnectionId"]
        self.later(f"delete {pcx}", lambda: self.ec2.delete_vpc_peering_connection(
            VpcPeeringConnectionId=pcx))
        self.ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        wait_until(f"{pcx} active", lambda: self.ec2.describe_vpc_peering_connections(
            VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]["Status"]["Code"]
            == "active")
        return pcx

    def transit_gateway(self) -> str:
        tgw = self.ec2.create_transit_gateway(Options={
            "DefaultRouteTableAssociation": "disable",
            "DefaultRouteTablePropagation": "disable"})["TransitGateway"]["TransitGatewayId"]
        self.later(f"delete {tgw}", lambda: self.ec2.delete_transit_gateway(
            TransitGatewayId=tgw))
        wait_until(f"{tgw} available", lambda: self.ec2.describe_transit_gateways(
            TransitGatewayIds=[tgw])["TransitGateways"][0]["State"] == "available")
        return tgw

    def tgw_attachment(self, tgw: str, vpc_id: str, subnet_id: str) -> str:
        att = self.ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw, VpcId=vpc_id, SubnetIds=[subnet_id])[
            "TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]

        def delete():
            self.ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
            wait_until(f"{att} deleted", lambda: self.attachment_gone(att))
        self.later(f"delete {att}", delete)
        wait_until(f"{att} available", lambda: self.ec2.describe_transit_gateway_attachments(
            TransitGatewayAttachmentIds=[att])["TransitGatewayAttachments"][0]["State"]
            == "available")
        return att

    def attachment_gone(self, att: str) -> bool:
        try:
            found = self.ec2.describe_transit_gateway_attachments(
                TransitGatewayAttachmentIds=[att])["TransitGatewayAttachments"]
        except ClientError as exc:
            return "NotFound" in error_code(exc)
        return all(a["State"] == "deleted" for a in found)

    def tgw_route_table(self, tgw: str, attachments: list[str]) -> str:
        table = self.ec2.create_transit_gateway_route_table(TransitGatewayId=tgw)[
            "TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
        self.later(f"delete {table}", lambda: self.ec2.delete_transit_gateway_route_table(
            TransitGatewayRouteTableId=table))
        for att in attachments:
            self.ec2.associate_transit_gateway_route_table(
                TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=att)
            self.later(f"disassociate {att}",
                       lambda a=att: self.ec2.disassociate_transit_gateway_route_table(
                           TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=a))
        return table

    def key_pair(self) -> tuple[str, str]:
        """(name, private key material) of a new ed25519 key pair."""
        name = unique("key")
        pair = self.ec2.create_key_pair(KeyName=name, KeyType="ed25519")
        self.later(f"delete key {name}", lambda: self.ec2.delete_key_pair(KeyName=name))
        return name, pair["KeyMaterial"]

    # ---- instances --------------------------------------------------------------------

    def instances(self, specs: list[dict]) -> list[Inst]:
        """Launch one instance per spec (subnet, groups, public=False, ip=None, key=None),
        all at once; wait until every one runs and its eth0 has its address."""
        launched = []
        for spec in specs:
            nic: dict = {"DeviceIndex": 0, "SubnetId": spec["subnet"],
                         "Groups": list(spec.get("groups", []))}
            if spec.get("public"):
                nic["AssociatePublicIpAddress"] = True
            if spec.get("ip"):
                nic["PrivateIpAddress"] = spec["ip"]
            kwargs: dict = dict(ImageId=self.base_image, InstanceType=DEFAULT_TYPE, MinCount=1,
                                MaxCount=1, NetworkInterfaces=[nic], ClientToken=unique("ct"))
            if spec.get("key"):
                kwargs["KeyName"] = spec["key"]
            token = kwargs["ClientToken"]

            def finalizer(token=token):
                ids = [i["InstanceId"] for r in self.ec2.describe_instances(Filters=[
                    {"Name": "client-token", "Values": [token]}])["Reservations"]
                    for i in r["Instances"]]
                terminate_and_wait(self.ec2, ids)
            self.later(f"terminate {token}", finalizer)
            [inst] = self.ec2.run_instances(**kwargs)["Instances"]
            launched.append(inst)
        ids = [i["InstanceId"] for i in launched]
        described = {d["InstanceId"]: d for d in wait_state(self.ec2, ids, "running")}
        out = []
        for iid in ids:
            d = described[iid]
            nic = d["NetworkInterfaces"][0]
            inst = Inst(iid, d["PrivateIpAddress"], d["SubnetId"], f"{self.prefix}-{iid}",
                        nic["NetworkInterfaceId"], d.get("PublicIpAddress"))
            wait_until(f"{iid}'s eth0 with {inst.ip}", lambda inst=inst: f" {inst.ip}/" in
                       subprocess.run(["ip", "-n", inst.netns, "-o", "-4", "addr", "show",
                                       "dev", "eth0"], capture_output=True, text=True).stdout)
            out.append(inst)
        return out

    def wait_sshd(self, inst: Inst, timeout: float = 60.0) -> None:
        """Wait until the instance's SSH server listens (its first boot is done with it)."""
        wait_until(f"sshd in {inst.id}", lambda: ":22 " in subprocess.run(
            ["ip", "netns", "exec", inst.netns, "ss", "-Hltn"], capture_output=True,
            text=True).stdout, timeout)

    def converse(self, netns: str, dst: str, port: int) -> Conversation:
        talk = Conversation(netns, dst, port)
        self.later(f"close a conversation from {netns}", talk.close)
        return talk

    def listen(self, netns: str, name: str, specs: list[str]) -> Listener:
        listener = Listener(netns, name, specs)
        self.listeners.append(listener)
        self.later(f"stop listener in {netns}", listener.stop)
        return listener

    # ---- the internet host ------------------------------------------------------------

    def internet_host(self, host_number: int = 200) -> InternetHost:
        """A namespace on the external bridge with an unused external address and a default
        route onto the bridge. The bridge exists while a VPC router does: launch first."""
        k = next(_inet_counter)
        netns = f"{self.prefix}-inet{k}"
        link = f"{self.prefix}-inh{k}"
        net = ipaddress.ip_network(self.nubo.external_cidr)
        address = str(net.network_address + host_number + k)
        bridge = f"{self.prefix}-ext"
        wait_until(f"the external bridge {bridge}", lambda: subprocess.run(
            ["ip", "link", "show", "dev", bridge], capture_output=True).returncode == 0,
            timeout=20)

        def sh(*argv: str) -> None:
            done = subprocess.run(argv, capture_output=True, text=True)
            assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr}"

        def remove():
            subprocess.run(["ip", "netns", "delete", netns], capture_output=True)
            subprocess.run(["ip", "link", "delete", link], capture_output=True)
        self.later(f"remove {netns}", remove)
        sh("ip", "netns", "add", netns)
        sh("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", netns)
        sh("ip", "link", "set", link, "master", bridge, "up")
        sh("ip", "-n", netns, "addr", "add", f"{address}/{net.prefixlen}", "dev", "eth0")
        sh("ip", "-n", netns, "link", "set", "lo", "up")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
        sh("ip", "-n", netns, "route", "add", "default", "dev", "eth0", "scope", "link")
        return InternetHost(netns, address, link)


@pytest.fixture
def lab(nubo, base_image):
    """A Lab for one test: torn down after it (last built first), then no kernel object the
    test caused may remain (netns, links, nft tables, host rules and routes, processes)."""
    if nubo.external:
        pytest.skip("the data plane needs the harness's own server")
    built = Lab(nubo, base_image)
    yield built
    errors = built.teardown()
    nubo.assert_no_kernel_leftovers(baseline=built.baseline)
    assert not errors, f"teardown failed: {errors}"


def host_connect(address: str, port: int, timeout: float = PROBE_TIMEOUT) -> Result:
    """A TCP connection from the host's own namespace (how a user SSHes to a public IP);
    returns the first line the far end sends."""
    import socket
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            try:
                line = s.recv(4096).split(b"\n")[0].decode(errors="replace")
            except OSError:
                line = None
            return Result(True, line)
    except OSError:
        return Result(False)


def ssh_argv(netns: str, key_file: Path, ip: str, timeout: int = 3) -> list[str]:
    """Real `ssh` as admin with the key pair, from an instance's namespace."""
    return ["ip", "netns", "exec", netns, "ssh", "-i", str(key_file),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", f"ConnectTimeout={timeout}", "-o", "LogLevel=ERROR",
            f"admin@{ip}"]


def env_seed(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


__all__ = ["ANYWHERE", "CONVERGE", "Conversation", "Inst", "InternetHost", "Lab", "Listener", "Probe",
           "Result", "env_seed", "eventually", "eventually_all", "host_connect", "lab", "perm", "probe",
           "run_many", "run_probes", "ssh_argv", "steadily", "error_code"]
