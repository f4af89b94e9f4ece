#!/usr/bin/env python3
"""Data-plane benchmarks (issue 5): real packets through a VPC router, on this machine.

Phases (each can be skipped with --phases):

  throughput  TCP throughput (iperf3, one stream and -P 2, --seconds each) and latency (ping
              -i 0.01 and a one-byte TCP request/response loop: p50/p99 RTT), --rounds times
              alternately (the server and its instances are up for both), between
              (a) a bare veth pair: two namespaces this script creates, one veth between them;
              (a') a bare router: the same with a forwarding namespace between (two veths,
                  no firewall): the routed design's floor;
              (b) two Nubo instances in two subnets of one VPC, so the packets cross eth0 ->
                  the VPC router (forwarding, conntrack, the network ACLs of both subnets, the
                  security groups) -> eth0. 1,000 security-group rules are present (10 groups
                  x 100 rules; AWS's quotas — 60 rules per group and direction, 5 groups per
                  interface — cap what one ENI sees at 5 groups: the server's ingress meets 295
                  rules, the allowing ones last; the client's egress 205) and 100 network-ACL
                  entries (20 per direction per ACL is the quota: 40 on each instance's
                  subnet, a packet meets the 20 of its source subnet's egress then the 20 of
                  its destination's ingress, the allowing entry after 19 non-matching ones;
                  20 more on a third subnet). The tools run with `ip netns exec <prefix>-<instance-id>`: the packets
                  leave through the instance's own eth0.
  sg_apply    time for a security-group change to reach the packets: t0 = the
              AuthorizeSecurityGroupIngress call starts; t1 = the first new TCP connection from
              the client instance's namespace to a listener in the server's succeeds (polled,
              each attempt a fresh connection with a 5 ms connect timeout). The reverse: t0 =
              RevokeSecurityGroupIngress starts, t1 = the first new connection that fails.
              --changes of each (default 60): p50/p90/p99/max, with the 1,000 rules present.
  resync      the agent's full network apply after a restart with --enis ENIs (default 200,
              instances) and 2,000 security-group rules: kill -9 the server, start it again on
              the same data dir, read the duration of its first `network applied` (the agent's
              log line: `elapsed_ms` the apply, `read_ms` the store read and model build
              before it); --restarts times. An iperf3 stream
              between two instances runs across each restart: it must not reset.

Usage:
  bench/network.py [--nubo target/release/nubo] [--phases throughput,sg_apply,resync]
                   [--json out.json] [--markdown out.md]

Needs root, iperf3 (`apt-get install -y iperf3`), ping, nft, the base image
(scripts/build-base-image.sh) and a server built with the data plane. The server is started
here on a free 127.0.0.1 port with a fresh data dir, a bench-unique NUBO_HOST_PREFIX and its own
external network and public pool in 198.18.0.0/15; every kernel object with the prefix is swept
at exit (tests/e2e/conftest.py). Traffic never leaves namespaces this script or the server
created.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))
from conftest import _external_networks, sweep_kernel_objects  # noqa: E402
from instances import (ADMIN, Server, base_image, meminfo_kib, pct, summary_ms,  # noqa: E402
                       terminate, wait_all, wait_for)

INSTANCE_TYPE = "t3.nano"
VPC_CIDR = "10.0.0.0/16"
SUBNETS = ("10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
IPERF_PORT, ECHO_PORT, PROBE_PORT = 5201, 5202, 7000
GROUPS_PER_ENI = 5
INGRESS_PER_GROUP, EGRESS_PER_GROUP = 59, 41   # 100 rules a group; one ingress slot left free
ACL_PER_DIRECTION = 20

# A helper run inside a namespace with `ip netns exec`: `echo <port>` serves TCP echo;
# `rr <dst> <port> <n>` prints the RTTs (µs) of n one-byte round trips on one connection;
# `poll <dst> <port>` reads commands `up <seconds>` / `down <seconds>` and answers with the
# CLOCK_MONOTONIC time of the first new connection that succeeds (up) or fails (down).
HELPER = r'''
import json, selectors, socket, sys, time
mode = sys.argv[1]
if mode == "echo":
    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(sys.argv[2])))
    ls.listen(1024)
    sel.register(ls, selectors.EVENT_READ, None)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                c, _ = ls.accept()
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(c, selectors.EVENT_READ, "c")
                continue
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if data:
                key.fileobj.sendall(data)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
elif mode == "rr":
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(int(sys.argv[4])):
        t0 = time.perf_counter_ns()
        s.sendall(b"x")
        s.recv(1)
        rtts.append((time.perf_counter_ns() - t0) / 1000)
    print(json.dumps(rtts))
elif mode == "poll":
    dst, port = sys.argv[2], int(sys.argv[3])
    def attempt():
        s = socket.socket()
        s.settimeout(0.005)
        try:
            s.connect((dst, port))
            return True
        except OSError:
            return False
        finally:
            s.close()
    print("ready", flush=True)
    for line in sys.stdin:
        want, budget = line.split()
        deadline = time.monotonic() + float(budget)
        answer = "timeout"
        while time.monotonic() < deadline:
            began = time.monotonic()
            ok = attempt()
            if want == "up" and ok:
                answer = f"{time.monotonic():.6f}"
                break
            if want == "down" and not ok:
                answer = f"{began:.6f}"
                break
            if ok:
                time.sleep(0.002)
        print(answer, flush=True)
'''


def log(msg: str) -> None:
    print(f"[network.py {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*argv: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def in_ns(netns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


# --------------------------------------------------------------------------------------------
# Measurements between two namespaces (bare pair or instances)
# --------------------------------------------------------------------------------------------


class Daemons:
    """Processes started in namespaces for one measurement; all killed by stop()."""

    def __init__(self, helper: Path):
        self.helper, self.procs = helper, []

    def start(self, netns: str, *argv: str, ready: str | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(in_ns(netns, *argv), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        if ready and proc.stdout.readline().strip() != ready:
            raise RuntimeError(f"{argv} in {netns} did not start: {proc.stderr.read()}")
        return proc

    def python(self, netns: str, *args: str, ready: str | None = "ready",
               cpu: int | None = None) -> subprocess.Popen:
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        return self.start(netns, *pin, sys.executable, str(self.helper), *args, ready=ready)

    def iperf_server(self, netns: str) -> None:
        self.start(netns, "iperf3", "-s", "-p", str(IPERF_PORT))
        wait_for(f"iperf3 listening in {netns}", lambda: f":{IPERF_PORT}" in sh(
            *in_ns(netns, "ss", "-Hltn", f"sport = :{IPERF_PORT}")), timeout=10, every=0.05)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
            for pipe in (p.stdin, p.stdout, p.stderr):
                if pipe:
                    pipe.close()
        self.procs = []


def iperf(client_ns: str, dst: str, seconds: int, streams: int) -> dict:
    out = sh(*in_ns(client_ns, "iperf3", "-c", dst, "-p", str(IPERF_PORT), "-t", str(seconds),
                    "-P", str(streams), "-J"), check=False, timeout=seconds + 60)
    result = json.loads(out)
    if "error" in result:
        raise RuntimeError(f"iperf3 from {client_ns} to {dst}: {result['error']}")
    end = result["end"]
    return {"gbit_s": end["sum_received"]["bits_per_second"] / 1e9,
            "retransmits": end["sum_sent"].get("retransmits"),
            "sender_cpu_pct": end.get("cpu_utilization_percent", {}).get("host_total")}


def ping_rtts(client_ns: str, dst: str, count: int) -> list[float]:
    out = sh(*in_ns(client_ns, "ping", "-n", "-c", str(count), "-i", "0.01", "-W", "1", dst),
             check=False, timeout=count + 30)
    return [float(x) * 1000 for x in re.findall(r"time=([\d.]+) ms", out)]


def rtt_summary(us: list[float]) -> dict:
    return {"n": len(us), "p50_us": pct(us, 50), "p99_us": pct(us, 99),
            "max_us": max(us) if us else None}


def measure_pair(helper: Path, client_ns: str, server_ns: str, dst: str, seconds: int,
                 label: str) -> dict:
    d = Daemons(helper)
    try:
        d.iperf_server(server_ns)
        # Both ends of the request/response loop on one CPU: a wake-up across CPUs costs an
        # IPI, which in this VM is 20-70 µs and would drown the path's own latency.
        d.python(server_ns, "echo", str(ECHO_PORT), cpu=0)
        row = {}
        for streams in (1, 2):
            row[f"iperf_P{streams}"] = iperf(client_ns, dst, seconds, streams)
            log(f"{label}: iperf3 -P {streams}: {row[f'iperf_P{streams}']['gbit_s']:.2f} Gbit/s")
        row["ping"] = rtt_summary(ping_rtts(client_ns, dst, 200))
        rr = json.loads(sh(*in_ns(client_ns, "taskset", "-c", "0", sys.executable, str(helper),
                                  "rr", dst,
                                  str(ECHO_PORT), "5000")))
        row["tcp_rr"] = rtt_summary(rr)
        log(f"{label}: ping p50 {row['ping']['p50_us']} µs, TCP RR p50 {row['tcp_rr']['p50_us']:.0f}"
            f" µs p99 {row['tcp_rr']['p99_us']:.0f} µs")
        return row
    finally:
        d.stop()


class BarePair:
    """Namespaces this script creates: `a` and `b` joined by one veth and nothing else; with
    `routed`, a third namespace `r` between them instead (two veths, IP forwarding, no
    firewall, no conntrack): the floor of any routed design, Nubo's without its filters."""

    def __init__(self, prefix: str, routed: bool = False):
        tag = "rt" if routed else "bare"
        self.a, self.b, self.r = f"{prefix}-{tag}1", f"{prefix}-{tag}2", f"{prefix}-{tag}r"
        self.names = [self.a, self.b] + ([self.r] if routed else [])
        try:
            for ns in self.names:
                sh("ip", "netns", "add", ns)
                sh(*in_ns(ns, "ip", "link", "set", "lo", "up"))
            if not routed:
                self.dst = "10.99.0.2"
                self.link(f"{prefix}bv1", self.a, "10.99.0.1/24", f"{prefix}bv2", self.b,
                          "10.99.0.2/24")
                return
            self.dst = "10.98.2.2"
            sh(*in_ns(self.r, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
            self.link(f"{prefix}rv1", self.a, "10.98.1.2/24", f"{prefix}rv2", self.r,
                      "10.98.1.1/24")
            self.link(f"{prefix}rv3", self.b, "10.98.2.2/24", f"{prefix}rv4", self.r,
                      "10.98.2.1/24")
            sh(*in_ns(self.a, "ip", "route", "add", "default", "via", "10.98.1.1"))
            sh(*in_ns(self.b, "ip", "route", "add", "default", "via", "10.98.2.1"))
        except Exception:
            self.delete()
            raise

    @staticmethod
    def link(name1: str, ns1: str, addr1: str, name2: str, ns2: str, addr2: str) -> None:
        sh("ip", "link", "add", name1, "type", "veth", "peer", "name", name2)
        for ns, link, addr in ((ns1, name1, addr1), (ns2, name2, addr2)):
            sh("ip", "link", "set", link, "netns", ns)
            sh(*in_ns(ns, "ip", "addr", "add", addr, "dev", link))
            sh(*in_ns(ns, "ip", "link", "set", link, "up"))

    def delete(self) -> None:
        for ns in self.names:
            sh("ip", "netns", "delete", ns, check=False)


# --------------------------------------------------------------------------------------------
# The Nubo server and the lab
# --------------------------------------------------------------------------------------------


class Nubo:
    """`nubo server` on a fixed data dir, prefix and external network, restartable."""

    def __init__(self, binary: Path, workdir: Path, prefix: str):
        self.binary, self.workdir, self.prefix = binary, workdir, prefix
        self.data = workdir / "nubo-data"
        self.data.mkdir(parents=True)
        self.config = workdir / "nubo.toml"
        self.config.write_text("# bench: defaults only\n")
        self.logfile = workdir / "nubo.log"
        self.external_cidr, self.public_pool = _external_networks()
        self.server: Server | None = None

    def start(self) -> Server:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUBO_")}
        env.update(ADMIN, NUBO_HOST_PREFIX=self.prefix,
                   NUBO_BASE_IMAGES=os.environ.get("NUBO_BASE_IMAGES",
                                                   "/var/lib/nubo/base-images"),
                   NUBO_CPU_OVERCOMMIT=os.environ.get("NUBO_CPU_OVERCOMMIT", "1024"),
                   NUBO_MEMORY_OVERCOMMIT=os.environ.get("NUBO_MEMORY_OVERCOMMIT", "32"),
                   NUBO_EXTERNAL_CIDR=self.external_cidr, NUBO_PUBLIC_POOL=self.public_pool)
        logf = open(self.logfile, "ab")
        proc = subprocess.Popen([str(self.binary), "server", "--data-dir", str(self.data),
                                 "--config", str(self.config), "--listen",
                                 f"127.0.0.1:{port}"], env=env, stdout=logf,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        url = f"http://127.0.0.1:{port}"
        wait_for("nubo /healthz", lambda: proc.poll() is None and urllib.request.urlopen(
            url + "/healthz", timeout=2).status == 200)
        self.server = Server("nubo", url, proc, ADMIN["NUBO_ADMIN_ACCESS_KEY_ID"],
                             ADMIN["NUBO_ADMIN_SECRET_ACCESS_KEY"])
        return self.server

    def kill9(self) -> None:
        if self.server and self.server.proc.poll() is None:
            self.server.proc.kill()
            self.server.proc.wait()

    def applies(self) -> list[dict]:
        """Every `network applied` line of the log so far: the apply's duration and the
        store read + model build before it (ms)."""
        found = []
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.logfile.read_text(errors="replace"))
        for line in text.splitlines():
            if "network applied" not in line:
                continue
            row = {k: float(v) for k, v in re.findall(r'\b(elapsed_ms|read_ms)"?[=:]([\d.]+)',
                                                        line)}
            if "elapsed_ms" in row:
                found.append(row)
        return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def filler_ingress(group: int, count: int) -> list[dict]:
    """Distinct rules that match nothing the bench sends (other sources, other ports)."""
    return [{"IpProtocol": "tcp", "FromPort": 10000 + group * 100 + i,
             "ToPort": 10000 + group * 100 + i,
             "IpRanges": [{"CidrIp": f"172.{16 + group % 16}.{i}.0/24"}]} for i in range(count)]


def filler_egress(group: int, count: int) -> list[dict]:
    return [{"IpProtocol": "udp", "FromPort": 20000 + group * 100 + i,
             "ToPort": 20000 + group * 100 + i,
             "IpRanges": [{"CidrIp": f"192.168.{group % 256}.{i}/32"}]} for i in range(count)]


def make_group(ec2, vpc: str, name: str, ingress: list[dict], egress: list[dict]) -> str:
    gid = ec2.create_security_group(VpcId=vpc, GroupName=name, Description=name)["GroupId"]
    ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    for rules, call in ((ingress, ec2.authorize_security_group_ingress),
                        (egress, ec2.authorize_security_group_egress)):
        for i in range(0, len(rules), 60):
            call(GroupId=gid, IpPermissions=rules[i:i + 60])
    return gid


def make_acl(ec2, vpc: str, subnet: str, allow_cidr: str, per_direction: int) -> str:
    """An ACL of `per_direction` entries each way: non-matching denies first, then the
    allowing entry (all protocols within `allow_cidr`, so return traffic passes too);
    associated with the subnet."""
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for egress in (False, True):
        for n in range(1, per_direction):
            ec2.create_network_acl_entry(
                NetworkAclId=acl, RuleNumber=n * 10, Protocol="6", RuleAction="deny",
                Egress=egress, CidrBlock=f"172.31.{n}.0/24",
                PortRange={"From": 30000 + n, "To": 30000 + n})
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=per_direction * 10,
                                     Protocol="-1", RuleAction="allow", Egress=egress,
                                     CidrBlock=allow_cidr)
    assoc = [a for a in ec2.describe_network_acls(Filters=[
        {"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"][0]["Associations"]
        if a["SubnetId"] == subnet][0]
    ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"],
                                        NetworkAclId=acl)
    return acl


class Lab:
    """One VPC, three subnets with their ACLs (100 entries), 10 groups (1,000 rules), a client
    instance in subnet 1 and a server instance in subnet 2."""

    def __init__(self, server: Server, prefix: str):
        ec2 = self.ec2 = server.ec2
        self.server, self.prefix = server, prefix
        self.image = base_image(server)
        self.vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        self.subnets = [ec2.create_subnet(VpcId=self.vpc, CidrBlock=c,
                                          AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
                        for c in SUBNETS]
        # 20 + 20 on each instance's subnet (the quota), 10 + 10 on the third: 100 entries.
        self.acls = [make_acl(ec2, self.vpc, s, VPC_CIDR, n)
                     for s, n in zip(self.subnets, (ACL_PER_DIRECTION, ACL_PER_DIRECTION, 10))]
        # Client groups 0-4 (egress: fillers, then everything to subnet 2), server groups 5-9
        # (ingress: fillers, then iperf/echo and ICMP from subnet 1).
        self.groups: list[str] = []
        for g in range(10):
            ingress = filler_ingress(g, INGRESS_PER_GROUP)
            egress = filler_egress(g, EGRESS_PER_GROUP)
            if g == 4:
                egress[-1] = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": SUBNETS[1]}]}
            if g == 9:
                ingress[-2] = {"IpProtocol": "tcp", "FromPort": IPERF_PORT, "ToPort": ECHO_PORT,
                               "IpRanges": [{"CidrIp": SUBNETS[0]}]}
                ingress[-1] = {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1,
                               "IpRanges": [{"CidrIp": SUBNETS[0]}]}
            self.groups.append(make_group(ec2, self.vpc, f"bench-{g}", ingress, egress))
        self.client = self.launch(self.subnets[0], self.groups[:5], 1)[0]
        self.target = self.launch(self.subnets[1], self.groups[5:], 1)[0]
        self.ids = [self.client, self.target]
        wait_all(server, self.ids, "running", every=0.1)
        self.ip = {i["InstanceId"]: i["PrivateIpAddress"] for r in ec2.describe_instances(
            InstanceIds=self.ids)["Reservations"] for i in r["Instances"]}

    def launch(self, subnet: str, groups: list[str], count: int) -> list[str]:
        resp = self.ec2.run_instances(ImageId=self.image, InstanceType=INSTANCE_TYPE,
                                      SubnetId=subnet, SecurityGroupIds=groups,
                                      MinCount=count, MaxCount=count)
        return [i["InstanceId"] for i in resp["Instances"]]

    def netns(self, iid: str) -> str:
        return f"{self.prefix}-{iid}"

    def rule_count(self) -> int:
        total = 0
        for g in self.ec2.describe_security_groups(GroupIds=self.groups)["SecurityGroups"]:
            for perm in g["IpPermissions"] + g["IpPermissionsEgress"]:
                total += max(1, len(perm.get("IpRanges", [])) + len(
                    perm.get("UserIdGroupPairs", [])))
        return total

    def acl_entries(self) -> int:
        return sum(1 for a in self.ec2.describe_network_acls(NetworkAclIds=self.acls)[
            "NetworkAcls"] for e in a["Entries"] if e["RuleNumber"] != 32767)

    def router_rules(self) -> int:
        """Rules in the VPC router's nftables table (what the kernel evaluates from)."""
        out = sh(*in_ns(f"{self.prefix}-{self.vpc}", "nft", "-a", "list", "table", "inet",
                        "nubo"), check=False)
        return sum(1 for line in out.splitlines() if "# handle" in line and line.split()[0]
                   not in ("table", "chain", "set", "map"))


def cpu_idle_share(seconds: float = 2.0) -> float:
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)
    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet(share: float = 0.75, limit: float = 240.0) -> float:
    """Wait (bounded) until the CPUs are at least `share` idle over 2 s: 200 instances boot
    for minutes (SSH host keys), and others share this machine. Returns the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < limit and cpu_idle_share() < share:
        pass
    return time.monotonic() - began


def wait_reachable(helper: Path, src_ns: str, dst: str, port: int, timeout: float = 30) -> None:
    d = Daemons(helper)
    try:
        poller = d.python(src_ns, "poll", dst, str(port))
        poller.stdin.write(f"up {timeout}\n")
        poller.stdin.flush()
        if poller.stdout.readline().strip() == "timeout":
            raise RuntimeError(f"{dst}:{port} not reachable from {src_ns} in {timeout}s")
    finally:
        d.stop()


def phase_throughput(helper: Path, lab: Lab, seconds: int, rounds: int) -> dict:
    """The bare pair and the instances, alternately, `rounds` times each (same machine state
    for both: the server and its instances are up during the bare pair's runs too)."""
    client_ns, server_ns = lab.netns(lab.client), lab.netns(lab.target)
    dst = lab.ip[lab.target]
    d = Daemons(helper)
    try:   # the data plane is converged when the echo port answers through every filter
        d.python(server_ns, "echo", str(ECHO_PORT))
        wait_reachable(helper, client_ns, dst, ECHO_PORT, timeout=60)
    finally:
        d.stop()
    out_waited = wait_quiet(limit=90)   # the two instances' first boot
    bare = BarePair(lab.prefix)
    routed = BarePair(lab.prefix, routed=True)
    out: dict = {"bare": [], "routed": [], "nubo": [], "waited_for_quiet_s": out_waited}
    try:
        for r in range(rounds):
            out["bare"].append(measure_pair(helper, bare.a, bare.b, bare.dst, seconds,
                                            f"bare veth pair, round {r + 1}"))
            out["routed"].append(measure_pair(helper, routed.a, routed.b, routed.dst,
                                              seconds, f"bare router, round {r + 1}"))
            out["nubo"].append(measure_pair(helper, client_ns, server_ns, dst, seconds,
                                            f"nubo instances, round {r + 1}"))
    finally:
        bare.delete()
        routed.delete()
    for streams in ("iperf_P1", "iperf_P2"):
        median = {k: pct([row[streams]["gbit_s"] for row in out[k]], 50)
                  for k in ("bare", "routed", "nubo")}
        out[f"median_{streams}"] = median
        out[f"ratio_{streams}"] = median["nubo"] / median["bare"]
        out[f"ratio_routed_{streams}"] = median["nubo"] / median["routed"]
    out["security_group_rules"] = lab.rule_count()
    out["network_acl_entries"] = lab.acl_entries()
    out["router_nft_rules"] = lab.router_rules()
    return out


def nft_check_ms(lab: Lab, runs: int = 5) -> float | None:
    """The kernel's and nft's share of an apply: the router's whole table as one transaction
    in check mode (`nft -c -f`: parsed, sent, validated, then aborted), median of `runs`."""
    router = f"{lab.prefix}-{lab.vpc}"
    table = sh(*in_ns(router, "nft", "list", "table", "inet", "nubo"), check=False)
    if not table:
        return None
    script = Path(tempfile.mkstemp(suffix=".nft")[1])
    script.write_text("table inet nubo {}\ndelete table inet nubo\n" + table)
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        sh(*in_ns(router, "nft", "-c", "-f", str(script)))
        times.append((time.monotonic() - t0) * 1000)
    script.unlink()
    return pct(times, 50)


def phase_sg_apply(helper: Path, lab: Lab, changes: int) -> dict:
    """Authorize then revoke a rule for tcp/PROBE_PORT, `changes` times each."""
    client_ns, server_ns = lab.netns(lab.client), lab.netns(lab.target)
    dst = lab.ip[lab.target]
    perm = [{"IpProtocol": "tcp", "FromPort": PROBE_PORT, "ToPort": PROBE_PORT,
             "IpRanges": [{"CidrIp": f"{lab.ip[lab.client]}/32"}]}]
    group = lab.groups[9]
    d = Daemons(helper)
    up, down, api_up, api_down, misses = [], [], [], [], 0
    try:
        d.python(server_ns, "echo", str(PROBE_PORT))
        poller = d.python(client_ns, "poll", dst, str(PROBE_PORT))

        def ask(want: str, budget: float = 5.0) -> float | None:
            poller.stdin.write(f"{want} {budget}\n")
            poller.stdin.flush()
            line = poller.stdout.readline().strip()
            return None if line in ("timeout", "") else float(line)

        if ask("down", 1.0) is None:
            raise RuntimeError(f"tcp/{PROBE_PORT} is open before any rule allows it")
        for n in range(changes):
            for want, call, times, api in (
                    ("up", lab.ec2.authorize_security_group_ingress, up, api_up),
                    ("down", lab.ec2.revoke_security_group_ingress, down, api_down)):
                t0 = time.monotonic()
                call(GroupId=group, IpPermissions=perm)
                api.append(time.monotonic() - t0)
                t1 = ask(want)
                if t1 is None:
                    misses += 1
                    # Let it settle before the next change; a flow that never opened makes
                    # the revoke that follows meaningless: stop.
                    if ask(want, 30.0) is None:
                        raise RuntimeError(f"tcp/{PROBE_PORT}: the {call.__name__} never "
                                           "reached the packets (30 s)")
                else:
                    times.append(t1 - t0)
            if (n + 1) % 20 == 0:
                log(f"sg_apply: {n + 1}/{changes}, authorize p50 {pct(up, 50) * 1000:.0f} ms, "
                    f"revoke p50 {pct(down, 50) * 1000:.0f} ms")
    finally:
        d.stop()
    return {"nft_check_ms": nft_check_ms(lab), "router_nft_rules": lab.router_rules(),
            "authorize": summary_ms(up), "revoke": summary_ms(down),
            "authorize_call": summary_ms(api_up), "revoke_call": summary_ms(api_down),
            "over_5s": misses}


def phase_resync(helper: Path, nubo: Nubo, lab: Lab, enis: int, restarts: int,
                 seconds: int) -> dict:
    """Grow the lab to `enis` instances and 2,000 rules, then restart the server `restarts`
    times with a stream running across each restart."""
    ec2 = lab.ec2
    for g in range(10, 20):
        lab.groups.append(make_group(ec2, lab.vpc, f"bench-{g}", filler_ingress(g, 59),
                                     filler_egress(g, 41)))
    more, k = [], 0
    while len(lab.ids) + len(more) < enis:
        want = min(50, enis - len(lab.ids) - len(more))
        groups = [lab.groups[10 + (k + j) % 10] for j in range(GROUPS_PER_ENI)]
        more += lab.launch(lab.subnets[k % 2], groups, want)
        k += 1
        wait_all(nubo.server, more, "running", every=0.5, timeout=900)
        log(f"resync: {len(lab.ids) + len(more)} instances running")
    lab.ids += more
    rules = lab.rule_count()
    runs = []
    for n in range(restarts):
        waited = wait_quiet()
        d = Daemons(helper)
        try:
            d.iperf_server(lab.netns(lab.target))
            stream = d.start(lab.netns(lab.client), "iperf3", "-c", lab.ip[lab.target], "-p",
                             str(IPERF_PORT), "-t", str(seconds), "-J", "-b", "200M")
            time.sleep(2)
            before = len(nubo.applies())
            load = Path("/proc/loadavg").read_text().split()[:3]
            t_kill = time.monotonic()
            nubo.kill9()
            server = nubo.start()
            t_healthy = time.monotonic()
            wait_for("the first network apply after the restart",
                     lambda: len(nubo.applies()) > before, timeout=120, every=0.05)
            t_applied = time.monotonic()
            lab.ec2 = server.ec2
            out, _ = stream.communicate(timeout=seconds + 60)
            result = json.loads(out)
            intervals = [i["sum"]["bits_per_second"] / 1e6 for i in result.get("intervals", [])]
            first = nubo.applies()[before]
            run = {"apply_ms": first["elapsed_ms"], "read_ms": first.get("read_ms"),
                   "waited_for_quiet_s": waited,
                   "healthy_s": t_healthy - t_kill,
                   "kill_to_applied_s": t_applied - t_kill, "load": load,
                   "stream_error": result.get("error"), "stream_exit": stream.returncode,
                   "stream_min_interval_mbit_s": min(intervals) if intervals else None,
                   "stream_intervals": len(intervals)}
            runs.append(run)
            log(f"resync {n + 1}/{restarts}: apply {run['apply_ms']:.1f} ms (read "
                f"{run['read_ms']} ms), stream "
                f"{'survived' if not run['stream_error'] else run['stream_error']}, min "
                f"interval {run['stream_min_interval_mbit_s']} Mbit/s")
        finally:
            d.stop()
    return {"enis": len(lab.ids), "security_group_rules": rules,
            "router_nft_rules": lab.router_rules(), "runs": runs,
            "apply_ms": summary_ms([r["apply_ms"] / 1000 for r in runs]),
            "read_ms": summary_ms([r["read_ms"] / 1000 for r in runs if r["read_ms"]])}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt(v, nd=1) -> str:
    return "—" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def markdown(result: dict) -> str:
    out = [f"Data-plane bench: {result['when']}, commit {result['commit']}, "
           f"{result['cpus']} CPUs, {result['mem_total_mib']:.0f} MiB RAM, load before "
           f"{' '.join(result['load_before'])}, after {' '.join(result.get('load_after', []))}.",
           ""]
    thr = result.get("throughput")
    if thr:
        out += ["| path | iperf3 1 stream Gbit/s | -P 2 Gbit/s | ping p50 / p99 µs | "
                "TCP RR p50 / p99 µs |", "|---|---|---|---|---|"]
        for r in range(len(thr["bare"])):
            for name, label in (("bare", "bare veth pair"),
                                ("routed", "bare router (veth, forwarding, veth; no filter)"),
                                ("nubo", "Nubo: instance → router → instance")):
                row = thr[name][r]
                out.append(f"| {label} (round {r + 1}) | {fmt(row['iperf_P1']['gbit_s'], 2)} | "
                           f"{fmt(row['iperf_P2']['gbit_s'], 2)} | "
                           f"{fmt(row['ping']['p50_us'], 0)} / {fmt(row['ping']['p99_us'], 0)} | "
                           f"{fmt(row['tcp_rr']['p50_us'], 0)} / "
                           f"{fmt(row['tcp_rr']['p99_us'], 0)} |")
        out += ["", f"Nubo / bare (medians of the rounds): **{thr['ratio_iperf_P1']:.0%}** (1 stream),"
                    f" {thr['ratio_iperf_P2']:.0%} (2 streams); target ≥ 80%. Nubo / bare "
                    f"router: {thr['ratio_routed_iperf_P1']:.0%} (1 stream), "
                    f"{thr['ratio_routed_iperf_P2']:.0%} (2 streams). Present: "
                    f"{thr['security_group_rules']} security-group rules, "
                    f"{thr['network_acl_entries']} ACL entries, {thr['router_nft_rules']} "
                    "nftables rules in the router.", ""]
    sg = result.get("sg_apply")
    if sg:
        out += ["| security-group change → packets | n | p50 ms | p90 ms | p99 ms | max ms |",
                "|---|---|---|---|---|---|"]
        for key, label in (("authorize", "authorize → first new connection passes"),
                           ("revoke", "revoke → first new connection fails"),
                           ("authorize_call", "(the Authorize call alone)"),
                           ("revoke_call", "(the Revoke call alone)")):
            s = sg[key]
            out.append(f"| {label} | {s['n']} | {fmt(s['p50_ms'])} | {fmt(s['p90_ms'])} | "
                       f"{fmt(s['p99_ms'])} | {fmt(s['max_ms'])} |")
        out += ["", f"Changes not seen within 5 s: {sg['over_5s']}. Target: p99 < 100 ms. The "
                    f"router's whole table ({sg['router_nft_rules']} rules) as one `nft -c -f` "
                    f"transaction (check mode): {fmt(sg['nft_check_ms'])} ms.", ""]
    rs = result.get("resync")
    if rs:
        applies = ", ".join(f"{r['apply_ms']:.0f}" for r in rs["runs"])
        reads = ", ".join(fmt(r["read_ms"], 0) for r in rs["runs"])
        survived = sum(1 for r in rs["runs"] if not r["stream_error"] and r["stream_exit"] == 0)
        out += [f"Full resync after kill -9 and restart, {rs['enis']} ENIs, "
                f"{rs['security_group_rules']} security-group rules ({rs['router_nft_rules']} "
                f"nftables rules in the router): the agent's first network apply took "
                f"**{applies} ms** ({len(rs['runs'])} restarts; before it, reading the store and "
                f"building the model: {reads} ms); kill → applied "
                + ", ".join(f"{r['kill_to_applied_s']:.1f} s" for r in rs["runs"])
                + " (each after waiting for the CPUs to be ≥ 75% idle: "
                + ", ".join(f"{r['waited_for_quiet_s']:.0f} s" for r in rs["runs"])
                + "; load average then " + "; ".join(" ".join(r["load"]) for r in rs["runs"])
                + f"). A TCP stream across the restart survived {survived}/{len(rs['runs'])} "
                "times (lowest 1-s interval: "
                + ", ".join(f"{fmt(r['stream_min_interval_mbit_s'], 0)} Mbit/s"
                            for r in rs["runs"]) + ").", ""]
    for k, v in result.get("errors", {}).items():
        out.append(f"- {k}: failed: {v}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nubo", default=os.environ.get("NUBO_BIN",
                                                     str(ROOT / "target" / "release" / "nubo")))
    ap.add_argument("--phases", default="throughput,sg_apply,resync")
    ap.add_argument("--seconds", type=int, default=10, help="iperf3 duration")
    ap.add_argument("--rounds", type=int, default=3,
                    help="throughput: bare pair and instances, alternately, this many times")
    ap.add_argument("--changes", type=int, default=60)
    ap.add_argument("--enis", type=int, default=200)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (server log)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args(argv)
    phases = set(args.phases.split(","))
    if os.geteuid() != 0:
        sys.exit("network.py: namespaces and instances need root")
    if not shutil.which("iperf3"):
        sys.exit("network.py: iperf3 is not installed (apt-get install -y iperf3)")

    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "?"
    result = {"when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "commit": commit, "cpus": os.cpu_count(),
              "mem_total_mib": meminfo_kib()["MemTotal"] / 1024,
              "load_before": Path("/proc/loadavg").read_text().split()[:3], "errors": {}}
    prefix = "b" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(3))
    workdir = Path(tempfile.mkdtemp(prefix="nubo-bench-network-"))
    helper = workdir / "helper.py"
    helper.write_text(HELPER)
    nubo = Nubo(Path(args.nubo), workdir, prefix)
    try:
        if phases & {"throughput", "sg_apply", "resync"}:
            server = nubo.start()
            log(f"nubo on {server.endpoint}, prefix {prefix}, external {nubo.external_cidr}")
            lab = Lab(server, prefix)
            log(f"lab: {lab.ids}, {lab.rule_count()} rules")
            for name, fn in (
                    ("throughput", lambda: phase_throughput(helper, lab, args.seconds,
                                                            args.rounds)),
                    ("sg_apply", lambda: phase_sg_apply(helper, lab, args.changes)),
                    ("resync", lambda: phase_resync(helper, nubo, lab, args.enis,
                                                    args.restarts, args.seconds + 10))):
                if name not in phases:
                    continue
                log(f"phase {name}")
                try:
                    got = fn()
                except Exception as exc:  # noqa: BLE001 - report and go on
                    result["errors"][name] = repr(exc)
                    log(f"{name} failed: {exc!r}")
                    continue
                result[name] = got
    except Exception as exc:  # noqa: BLE001 - the lab itself failed: report it
        result["errors"]["lab"] = repr(exc)
        log(f"lab failed: {exc!r}")
    finally:
        if nubo.server and nubo.server.proc.poll() is None:
            try:
                left = [i["InstanceId"] for r in nubo.server.ec2.describe_instances(Filters=[
                    {"Name": "instance-state-name", "Values": ["pending", "running"]}])[
                    "Reservations"] for i in r["Instances"]]
                if left:
                    terminate(nubo.server, left, wait=False)
                    wait_all(nubo.server, left, "terminated", every=0.5, timeout=300)
            except Exception as exc:  # noqa: BLE001 - the sweep below still runs
                log(f"terminating what is left failed: {exc!r}")
            nubo.server.stop()
        swept = {k: len(v) for k, v in sweep_kernel_objects(prefix, nubo.data).items() if v}
        if swept:
            log(f"swept leftovers of prefix {prefix}: {swept}")
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
    text = markdown(result)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
