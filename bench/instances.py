#!/usr/bin/env python3
"""Instance benchmarks (issue 4), Nubo with real container instances, Moto for DescribeInstances,
both in the same run on this machine.

Phases (each can be skipped or resized with its flag):

  latency     RunInstances -> `running` (as DescribeInstances reports it), one instance at a
              time, --launches times (default 100): p50/p90/p99/max. Each instance is
              terminated (and waited for) before the next launch, so launches do not
              overlap and capacity never runs out.
  throughput  one RunInstances with MinCount=1, MaxCount=--batch (default 50): time until every
              launched instance is running; instances per second. If the host holds fewer,
              AWS's rule applies (as many as fit, at least MinCount) and the count is reported.
  memory      host memory per idle instance, --idle (default 20) of them settled: the
              instance's own (its memory cgroup) and the host's overhead beyond it = its
              supervisor's PSS + the kernel's growth (slab, stacks, page tables) + the server's
              RSS growth, each per instance; MemTotal-MemAvailable as a (noisy) cross-check.
  describe    DescribeInstances with --describe (default 1000) instances present: Nubo vs
              Moto's server, raw SigV4 HTTP requests on one keep-alive connection (so the
              figure is the server's, not boto3's XML parsing), all instances in one response;
              calls/s and p50/p99. Nubo's instances are real: up to --describe-live (default
              200) stay running, and the remainder are launched and terminated (terminated
              instances are still described, as on AWS) — the split is reported. Moto's are
              all running.

Usage:
  bench/instances.py [--nubo target/release/nubo] [--phases latency,throughput,memory,describe]
                     [--json out.json] [--markdown out.md]

Servers are started here on free 127.0.0.1 ports with fresh data dirs; Nubo gets a
bench-unique NUBO_HOST_PREFIX and every kernel object with that prefix is swept at exit (the
e2e harness's sweep, tests/e2e/conftest.py). Needs root (Nubo's instances are containers) and
the base image (scripts/build-base-image.sh; NUBO_BASE_IMAGES).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import CGROUP_ROOT, sweep_kernel_objects  # noqa: E402

REGION = "us-east-1"
ADMIN = {
    "NUBO_ADMIN_ACCOUNT_ID": os.environ.get("NUBO_ADMIN_ACCOUNT_ID", "111122223333"),
    "NUBO_ADMIN_ACCESS_KEY_ID": os.environ.get("NUBO_ADMIN_ACCESS_KEY_ID", "AKIANUBOBENCHADMIN01"),
    "NUBO_ADMIN_SECRET_ACCESS_KEY": os.environ.get(
        "NUBO_ADMIN_SECRET_ACCESS_KEY", "nuboBenchSecretKey0123456789abcdefghijklm"),
}
INSTANCE_TYPE = "t3.nano"
WAIT = 120.0


def log(msg: str) -> None:
    print(f"[instances.py {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": pct(ms, 50), "p90_ms": pct(ms, 90), "p99_ms": pct(ms, 99),
            "max_ms": max(ms) if ms else None, "mean_ms": sum(ms) / len(ms) if ms else None}


def meminfo_kib() -> dict:
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        k, v = line.split(":", 1)
        out[k] = int(v.split()[0])
    return out


def host_used_mib() -> float:
    m = meminfo_kib()
    return (m["MemTotal"] - m["MemAvailable"]) / 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


class Server:
    def __init__(self, label: str, endpoint: str, proc: subprocess.Popen, access: str,
                 secret: str):
        self.label, self.endpoint, self.proc = label, endpoint, proc
        self.access, self.secret = access, secret
        self.ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint,
                                aws_access_key_id=access, aws_secret_access_key=secret,
                                config=Config(retries={"total_max_attempts": 1},
                                              read_timeout=300, connect_timeout=5))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(what: str, probe, timeout: float = 60.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            got = probe()
            if got:
                return got
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        time.sleep(every)
    raise RuntimeError(f"timed out waiting for {what}: {last!r}")


def start_nubo(binary: Path, workdir: Path, prefix: str) -> Server:
    port = free_port()
    data = workdir / "nubo-data"
    data.mkdir(parents=True)
    config = workdir / "nubo.toml"
    if not config.exists():
        config.write_text("# bench: defaults only\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUBO_")}
    env.update(ADMIN, NUBO_HOST_PREFIX=prefix,
               NUBO_BASE_IMAGES=os.environ.get("NUBO_BASE_IMAGES", "/var/lib/nubo/base-images"),
               # 1,000 t3.nano (2 vCPUs, 512 MiB each) on a 2-core host: the operator's
               # overcommit knobs, so placement admits what the bench asks for.
               NUBO_CPU_OVERCOMMIT=os.environ.get("NUBO_CPU_OVERCOMMIT", "1024"),
               NUBO_MEMORY_OVERCOMMIT=os.environ.get("NUBO_MEMORY_OVERCOMMIT", "32"))
    logf = open(workdir / "nubo.log", "ab")
    proc = subprocess.Popen([str(binary), "server", "--data-dir", str(data), "--config",
                             str(config), "--listen", f"127.0.0.1:{port}"], env=env,
                            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for("nubo /healthz", lambda: proc.poll() is None and urllib.request.urlopen(
        url + "/healthz", timeout=2).status == 200)
    return Server("nubo", url, proc, ADMIN["NUBO_ADMIN_ACCESS_KEY_ID"],
                  ADMIN["NUBO_ADMIN_SECRET_ACCESS_KEY"])


def start_moto(workdir: Path) -> Server:
    exe = shutil.which("moto_server")
    if not exe:
        raise RuntimeError("moto_server not installed (pip install 'moto[server]')")
    port = free_port()
    logf = open(workdir / "moto.log", "ab")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=logf,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server("moto", f"http://127.0.0.1:{port}", proc, "testing", "testing")
    wait_for("moto", lambda: server.ec2.describe_regions())
    return server


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


def base_image(server: Server) -> str:
    if server.label == "moto":
        images = server.ec2.describe_images(Owners=["amazon"])["Images"]
        return sorted(i["ImageId"] for i in images)[0]
    images = server.ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["debian-12-nubo-*"]}])["Images"]
    if not images:
        raise RuntimeError("no debian-12-nubo-* image: build it with scripts/build-base-image.sh")
    return max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"]


def make_subnet(server: Server) -> str:
    vpc = server.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # A /20 holds the describe phase's instances that stay running.
    return server.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/20",
                                    AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]


def states(server: Server, ids: list[str]) -> dict:
    out = {}
    for i in range(0, len(ids), 200):
        resp = server.ec2.describe_instances(InstanceIds=ids[i:i + 200])
        for r in resp["Reservations"]:
            for inst in r["Instances"]:
                out[inst["InstanceId"]] = inst["State"]["Name"]
    return out


def wait_all(server: Server, ids: list[str], state: str, every: float = 0.02,
             timeout: float = WAIT) -> float:
    """Wait until every instance is in `state`; returns the monotonic time it was first seen."""
    deadline = time.monotonic() + timeout
    while True:
        now = states(server, ids)
        if len(now) == len(ids) and all(s == state for s in now.values()):
            return time.monotonic()
        bad = {i: s for i, s in now.items() if s in ("terminated", "shutting-down")
               and state not in ("terminated", "shutting-down")}
        if bad:
            raise RuntimeError(f"instances ended instead of reaching {state}: {bad}")
        if time.monotonic() > deadline:
            counts: dict = {}
            for st in now.values():
                counts[st] = counts.get(st, 0) + 1
            raise RuntimeError(f"{len(ids)} instances not all {state} after {timeout}s: {counts}")
        time.sleep(every)


def terminate(server: Server, ids: list[str], wait: bool = True) -> None:
    for i in range(0, len(ids), 200):
        server.ec2.terminate_instances(InstanceIds=ids[i:i + 200])
    if wait:
        wait_all(server, ids, "terminated", every=0.2)


def run(server: Server, image: str, subnet: str, min_count: int, max_count: int) -> list[str]:
    resp = server.ec2.run_instances(ImageId=image, InstanceType=INSTANCE_TYPE, SubnetId=subnet,
                                    MinCount=min_count, MaxCount=max_count)
    return [i["InstanceId"] for i in resp["Instances"]]


def phase_latency(server: Server, image: str, subnet: str, launches: int) -> dict:
    lat = []
    for n in range(launches):
        t0 = time.monotonic()
        [iid] = run(server, image, subnet, 1, 1)
        t_api = time.monotonic() - t0
        seen = wait_all(server, [iid], "running")
        lat.append((seen - t0, t_api))
        terminate(server, [iid])
        if (n + 1) % 20 == 0:
            log(f"latency: {n + 1}/{launches}, p50 so far "
                f"{pct([a for a, _ in lat], 50) * 1000:.0f} ms")
    out = summary_ms([a for a, _ in lat])
    out["run_instances_call"] = summary_ms([b for _, b in lat])
    return out


def phase_throughput(server: Server, image: str, subnet: str, batch: int) -> dict:
    t0 = time.monotonic()
    try:
        ids = run(server, image, subnet, 1, batch)
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"], "requested": batch}
    t_api = time.monotonic() - t0
    seen = wait_all(server, ids, "running", every=0.05, timeout=600)
    elapsed = seen - t0
    terminate(server, ids)
    return {"requested": batch, "launched": len(ids), "run_instances_call_s": t_api,
            "all_running_s": elapsed, "instances_per_s": len(ids) / elapsed}


def instance_cgroup_mib(prefix: str, iid: str) -> float:
    """The instance's own memory use, from its memory cgroup (v1 or v2)."""
    for path in (CGROUP_ROOT / "memory" / prefix / iid / "memory.usage_in_bytes",
                 CGROUP_ROOT / prefix / iid / "memory.current"):
        try:
            return int(path.read_text()) / 2 ** 20
        except (OSError, ValueError):
            continue
    return 0.0


def settle(seconds: float = 3.0) -> None:
    """Let page reclaim and the instances' boot finish; this is a measurement pause, not a
    wait for a condition."""
    subprocess.run(["sync"])
    time.sleep(seconds)


def kernel_mib() -> float:
    """Kernel memory that grows with namespaces, links, cgroups and processes."""
    m = meminfo_kib()
    return (m["Slab"] + m["KernelStack"] + m["PageTables"]) / 1024


def pss_mib(pid: int) -> float:
    """Proportional set size: shared pages (the binary) split among the processes sharing them."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def supervisors(prefix: str, ids: list[str]) -> dict[str, list[int]]:
    """Host-side processes of each instance outside its cgroup (its supervisor): their command
    line names the instance, their cgroup is not the instance's."""
    found: dict[str, list[int]] = {i: [] for i in ids}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            cg = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        for iid in ids:
            if iid in cmd and f"/{prefix}/{iid}" not in cg:
                found[iid].append(int(entry))
    return found


def phase_memory(server: Server, image: str, subnet: str, prefix: str, idle: int) -> dict:
    settle()
    before_used, before_rss = host_used_mib(), rss_mib(server.proc.pid)
    before_kernel = kernel_mib()
    ids = run(server, image, subnet, idle, idle)
    wait_all(server, ids, "running", every=0.1)
    settle(10.0)
    after_used, after_rss, after_kernel = host_used_mib(), rss_mib(server.proc.pid), kernel_mib()
    own = [instance_cgroup_mib(prefix, i) for i in ids]
    sups = supervisors(prefix, ids)
    sup_pss = [sum(pss_mib(p) for p in pids) for pids in sups.values()]
    sup_rss = [sum(rss_mib(p) for p in pids) for pids in sups.values()]
    terminate(server, ids)
    kernel = (after_kernel - before_kernel) / idle
    server_share = (after_rss - before_rss) / idle
    supervisor = sum(sup_pss) / idle
    return {"instances": idle,
            "instance_own_mib_mean": sum(own) / idle,
            "supervisor_pss_mib_mean": supervisor,
            "supervisor_rss_mib_mean": sum(sup_rss) / idle,
            "supervisor_processes": sum(len(p) for p in sups.values()),
            "kernel_mib_per_instance": kernel,
            "server_rss_mib_per_instance": server_share,
            "host_overhead_per_instance_mib": supervisor + kernel + server_share,
            "host_used_delta_mib": after_used - before_used,
            "host_used_per_instance_mib": (after_used - before_used) / idle}


class RawEc2:
    """SigV4-signed Query requests on one keep-alive connection: times the server, not boto3."""

    def __init__(self, server: Server):
        u = urllib.parse.urlsplit(server.endpoint)
        self.host, self.port, self.endpoint = u.hostname, u.port, server.endpoint
        self.signer = botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(server.access, server.secret), "ec2", REGION)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)

    def call(self, params: dict) -> tuple[int, bytes]:
        body = urllib.parse.urlencode({**params, "Version": "2016-11-15"})
        req = AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        self.signer.add_auth(req)
        p = req.prepare()
        self.conn.request("POST", "/", body=p.body, headers=dict(p.headers))
        r = self.conn.getresponse()
        return r.status, r.read()


def fill(server: Server, image: str, subnet: str, count: int, max_live: int) -> dict:
    """Bring `count` instances into existence: up to `max_live` live ones while capacity
    lasts, then launched and terminated ones (still described, as on AWS)."""
    live: list[str] = []
    batch = 50 if server.label == "nubo" else 100
    capacity_hit = False
    while len(live) < min(count, max_live):
        want = min(batch, min(count, max_live) - len(live))
        try:
            ids = run(server, image, subnet, want, want)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "InsufficientInstanceCapacity":
                raise
            if want == 1:
                capacity_hit = True
                break
            batch = want // 2   # all-or-nothing at MinCount: retry smaller
            continue
        if server.label == "nubo":
            wait_all(server, ids, "running", every=0.2, timeout=600)
        live += ids
        log(f"describe fill ({server.label}): {len(live)} live")
    terminated = 0
    while len(live) + terminated < count:
        try:
            want = min(50, count - len(live) - terminated)
            ids = run(server, image, subnet, want, want)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "InsufficientInstanceCapacity":
                raise
            if not live:
                raise
            # Make room: terminate some live ones (they stay described).
            victims, live = live[-20:], live[:-20]
            terminate(server, victims)
            terminated += len(victims)
            continue
        terminate(server, ids)
        terminated += len(ids)
        log(f"describe fill ({server.label}): {len(live)} live, {terminated} terminated")
    return {"live": len(live), "terminated": terminated, "capacity_hit": capacity_hit,
            "live_ids": live}


def phase_describe(server: Server, image: str, subnet: str, count: int, max_live: int,
                   max_seconds: float) -> dict:
    filled = fill(server, image, subnet, count, max_live)
    raw = RawEc2(server)
    status, body = raw.call({"Action": "DescribeInstances"})
    n = len(re.findall(rb"<instanceId>", body))
    if status != 200 or n < count:
        raise RuntimeError(f"{server.label}: DescribeInstances answered {status} with {n} "
                           f"instances, expected {count}")
    rows = {}
    for name, params in (
            ("all", {"Action": "DescribeInstances"}),
            ("running_filter", {"Action": "DescribeInstances", "Filter.1.Name":
                                "instance-state-name", "Filter.1.Value.1": "running"}),
            ("one_id", {"Action": "DescribeInstances", "InstanceId.1":
                        (filled["live_ids"] or [""])[0]})):
        if name == "one_id" and not filled["live_ids"]:
            continue
        lat = []
        t_end = time.monotonic() + max_seconds
        while time.monotonic() < t_end and len(lat) < 2000:
            t0 = time.perf_counter()
            st, _ = raw.call(params)
            lat.append(time.perf_counter() - t0)
            if st != 200:
                raise RuntimeError(f"{server.label} {name}: HTTP {st}")
        row = summary_ms(lat)
        row["calls_per_s"] = len(lat) / sum(lat)
        rows[name] = row
    # boto3 (what users run, parsing included), a few calls.
    lat = []
    for _ in range(5):
        t0 = time.perf_counter()
        server.ec2.describe_instances()
        lat.append(time.perf_counter() - t0)
    rows["all_boto3"] = summary_ms(lat)
    return {"instances": count, "live": filled["live"], "terminated": filled["terminated"],
            "response_bytes": len(body), "rows": rows}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt(v, nd=1) -> str:
    return "—" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def markdown(result: dict) -> str:
    out = [f"Instances bench: {result['when']}, commit {result['commit']}, "
           f"{result['cpus']} CPUs, {result['mem_total_mib']:.0f} MiB RAM, "
           f"load before {result['load_before']}.", ""]
    lat = result.get("latency")
    if lat:
        out += ["| RunInstances → running | n | p50 ms | p90 ms | p99 ms | max ms |",
                "|---|---|---|---|---|---|",
                f"| Nubo | {lat['n']} | {fmt(lat['p50_ms'])} | {fmt(lat['p90_ms'])} | "
                f"{fmt(lat['p99_ms'])} | {fmt(lat['max_ms'])} |",
                f"| (the RunInstances call alone) | {lat['run_instances_call']['n']} | "
                f"{fmt(lat['run_instances_call']['p50_ms'])} | "
                f"{fmt(lat['run_instances_call']['p90_ms'])} | "
                f"{fmt(lat['run_instances_call']['p99_ms'])} | "
                f"{fmt(lat['run_instances_call']['max_ms'])} |", ""]
    thr = result.get("throughput")
    if thr:
        if "error" in thr:
            out += [f"Launch throughput (MaxCount={thr['requested']}): {thr['error']}", ""]
        else:
            out += [f"Launch throughput: RunInstances MaxCount={thr['requested']} launched "
                    f"{thr['launched']}, all running after {thr['all_running_s']:.2f} s "
                    f"(the call itself {thr['run_instances_call_s'] * 1000:.0f} ms): "
                    f"**{thr['instances_per_s']:.1f} instances/s**.", ""]
    mem = result.get("memory")
    if mem:
        out += [f"Memory, {mem['instances']} idle instances, per instance: the instance's own "
                f"(its memory cgroup) {mem['instance_own_mib_mean']:.1f} MiB; **host overhead "
                f"{mem['host_overhead_per_instance_mib']:.1f} MiB** = supervisor "
                f"{mem['supervisor_pss_mib_mean']:.1f} MiB PSS ({mem['supervisor_rss_mib_mean']:.1f}"
                f" MiB RSS, {mem['supervisor_processes']} processes in all) + kernel (slab, "
                f"stacks, page tables) {mem['kernel_mib_per_instance']:.1f} MiB + the server's "
                f"growth {mem['server_rss_mib_per_instance']:.2f} MiB. Cross-check, host "
                f"MemTotal-MemAvailable: {mem['host_used_per_instance_mib']:+.1f} MiB per instance "
                "(noisy: anything else on the machine moves it).", ""]
    desc = result.get("describe", {})
    if desc:
        out += ["| DescribeInstances (raw HTTP) | instances | calls/s | p50 ms | p99 ms | "
                "boto3 p50 ms |", "|---|---|---|---|---|---|"]
        for peer, d in desc.items():
            if "error" in d:
                out.append(f"| {peer} | — | {d['error']} | | | |")
                continue
            for name, row in d["rows"].items():
                if name == "all_boto3":
                    continue
                boto = d["rows"].get("all_boto3", {}).get("p50_ms") if name == "all" else None
                out.append(f"| {peer} {name} | {d['instances']} ({d['live']} live) | "
                           f"{fmt(row['calls_per_s'])} | {fmt(row['p50_ms'])} | "
                           f"{fmt(row['p99_ms'])} | {fmt(boto)} |")
        if "nubo" in desc and "moto" in desc and "rows" in desc["nubo"] and "rows" in desc["moto"]:
            ratio = desc["nubo"]["rows"]["all"]["calls_per_s"] / desc["moto"]["rows"]["all"][
                "calls_per_s"]
            out += ["", f"DescribeInstances (all {desc['nubo']['instances']}): Nubo / Moto = "
                        f"**{ratio:.1f}×**."]
        out.append("")
    for k, v in result.get("errors", {}).items():
        out.append(f"- {k}: failed: {v}")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nubo", default=os.environ.get("NUBO_BIN",
                                                     str(ROOT / "target" / "release" / "nubo")))
    ap.add_argument("--phases", default="latency,throughput,memory,describe")
    ap.add_argument("--launches", type=int, default=100)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--idle", type=int, default=20)
    ap.add_argument("--describe", type=int, default=1000)
    ap.add_argument("--describe-live", type=int, default=200,
                    help="at most this many of Nubo's describe instances stay running (each "
                         "boot generates SSH host keys: 1,000 at once saturate 2 cores for "
                         "many minutes); the rest are launched and terminated")
    ap.add_argument("--describe-peers", default="moto,nubo")
    ap.add_argument("--max-seconds", type=float, default=15.0)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (server logs)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args(argv)
    phases = set(args.phases.split(","))
    if os.geteuid() != 0:
        sys.exit("instances.py: Nubo's instances are containers; run as root")

    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "?"
    result = {"when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "commit": commit, "cpus": os.cpu_count(),
              "mem_total_mib": meminfo_kib()["MemTotal"] / 1024,
              "load_before": Path("/proc/loadavg").read_text().split()[:3],
              "errors": {}}
    prefix = "b" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(3))
    workdir = Path(tempfile.mkdtemp(prefix="nubo-bench-instances-"))
    servers: list[Server] = []
    try:
        nubo_phases = phases & {"latency", "throughput", "memory"}
        peers = args.describe_peers.split(",") if "describe" in phases else []
        if nubo_phases or "nubo" in peers:
            nubo = start_nubo(Path(args.nubo), workdir, prefix)
            servers.append(nubo)
            image, subnet = base_image(nubo), make_subnet(nubo)
            log(f"nubo on {nubo.endpoint}, prefix {prefix}, image {image}")
            for name, fn in (("latency", lambda: phase_latency(nubo, image, subnet,
                                                                args.launches)),
                             ("throughput", lambda: phase_throughput(nubo, image, subnet,
                                                                     args.batch)),
                             ("memory", lambda: phase_memory(nubo, image, subnet, prefix,
                                                             args.idle))):
                if name in phases:
                    log(f"phase {name}")
                    try:
                        result[name] = fn()
                    except Exception as exc:  # noqa: BLE001 - report and go on
                        result["errors"][name] = repr(exc)
                        log(f"{name} failed: {exc!r}")
            if "nubo" in peers:
                log("phase describe (nubo)")
                try:
                    result.setdefault("describe", {})["nubo"] = phase_describe(
                        nubo, image, subnet, args.describe, args.describe_live,
                        args.max_seconds)
                except Exception as exc:  # noqa: BLE001
                    result.setdefault("describe", {})["nubo"] = {"error": repr(exc)}
                    log(f"describe nubo failed: {exc!r}")
        if "moto" in peers:
            moto = start_moto(workdir)
            servers.append(moto)
            log("phase describe (moto)")
            try:
                result.setdefault("describe", {})["moto"] = phase_describe(
                    moto, base_image(moto), make_subnet(moto), args.describe, args.describe,
                    args.max_seconds)
            except Exception as exc:  # noqa: BLE001
                result.setdefault("describe", {})["moto"] = {"error": repr(exc)}
    finally:
        for s in servers:
            if s.label == "nubo" and s.proc.poll() is None:
                try:
                    left = [i["InstanceId"] for r in s.ec2.describe_instances(Filters=[
                        {"Name": "instance-state-name", "Values": ["pending", "running",
                                                                   "stopping", "stopped"]}])[
                        "Reservations"] for i in r["Instances"]]
                    if left:
                        terminate(s, left)
                except Exception as exc:  # noqa: BLE001 - the sweep below still runs
                    log(f"terminating what is left failed: {exc!r}")
            s.stop()
        swept = {k: len(v) for k, v in sweep_kernel_objects(prefix, workdir / "nubo-data")
                 .items() if v}
        if swept:
            log(f"swept leftovers of prefix {prefix}: {swept}")
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for d in result.get("describe", {}).values():
        d.pop("live_ids", None)
    text = markdown(result)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
