#!/usr/bin/env python3
"""API benchmark for AWS-compatible EC2 endpoints (Nubo, Moto, ...).

Drives the EC2 query API through boto3 (and, optionally, through a minimal raw
HTTP client that signs with botocore's SigV4 signer but skips boto3's request
building and response parsing) with N concurrent worker processes, and reports
throughput plus end-to-end and HTTP-round-trip latency percentiles.

Scenarios (run each against fresh server state; bench/run.sh does that):

  baseline           DescribeRegions: the client floor (cheap server work).
  create_vpc         CreateVpc x1000 with distinct CIDRs 10.x.y.0/24.
  describe_vpcs      DescribeVpcs with 1000 VPCs present (seeded, untimed).
  describe_vpcs_tag  DescribeVpcs Filter tag:team=blue, 1 in 10 of the
                     1000 seeded VPCs tagged team=blue (the rest team=red).
  vpc_model, vpc_model_rule_per_call
                     build 100 VPCs x (4 subnets, 4 route tables, 10 security
                     groups of 20 rules), timed whole and per action, then
                     Describe{Subnets,RouteTables,SecurityGroups} over it: see
                     bench/vpc_model.py. Not in the default --scenarios.

Latencies:
  end-to-end      the whole client call (boto3: serialize + sign + HTTP +
                  parse; raw: sign + HTTP + a byte count of the body).
  HTTP round trip from just before the request is written to the socket to
                  the last byte of the response body (boto3: botocore events
                  `before-send` -> `before-parse`), i.e. server time plus
                  loopback and HTTP-library overhead, without serialization,
                  signing or XML parsing on the client.

Only loopback endpoints are accepted. Each measured phase is bounded in both
call count and time (--max-seconds), so a slow server cannot stall a run.

Examples:
  bench/api_bench.py --endpoint http://127.0.0.1:5000 --access-key x \\
      --secret-key y --label moto --scenarios create_vpc --json out.json
  bench/api_bench.py --report moto.json nubo.json --markdown table.md
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import multiprocessing as mp
import os
import platform
import re
import socket
import statistics
import sys
import time
from urllib.parse import urlencode, urlparse

import vpc_model

SCENARIOS = ["baseline", "create_vpc", "describe_vpcs", "describe_vpcs_tag"]
# Every scenario --scenarios accepts, and every row a report may hold, in report order.
ALL_SCENARIOS = SCENARIOS + vpc_model.MODEL_SCENARIOS
REPORT_ROWS = ALL_SCENARIOS + list(vpc_model.DESCRIBE_ROWS)
CLIENTS = ["boto3", "raw"]
EC2_API_VERSION = "2016-11-15"

SCENARIO_TITLES = {
    "baseline": "DescribeRegions (client floor)",
    "create_vpc": "CreateVpc x1000",
    "describe_vpcs": "DescribeVpcs, 1000 VPCs",
    "describe_vpcs_tag": "DescribeVpcs tag:team=blue, 1000 VPCs",
    **vpc_model.TITLES,
}

# CIDRs: every batch of VPCs (a create_vpc phase, or a seeding) takes the
# next free block of second octets, so VPC i of the first batch is
# 10.(i // 256).(i % 256).0/24 and no two VPCs of one run share a CIDR.


class CidrAllocator:
    def __init__(self):
        self.next_octet = 0

    def take(self, n: int) -> int:
        base = self.next_octet
        self.next_octet += max(1, math.ceil(n / 256))
        if self.next_octet > 256:
            raise RuntimeError("out of 10.x.y.0/24 CIDRs: too many VPC batches in one run")
        return base


def cidr_for(i: int, base: int) -> str:
    return f"10.{base + i // 256}.{i % 256}.0/24"


def check_loopback(endpoint: str) -> None:
    host = urlparse(endpoint).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    sys.exit(f"api_bench: refusing non-loopback endpoint {endpoint!r} (only 127.0.0.0/8, ::1, localhost)")


# --------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------


class Boto3Client:
    """One boto3 EC2 client; times each HTTP round trip via botocore events."""

    name = "boto3"

    def __init__(self, cfg: dict):
        import boto3
        from botocore.config import Config

        self._rt = 0.0
        self._t0 = None
        self.pages = 0
        self.client = boto3.client(
            "ec2",
            endpoint_url=cfg["endpoint"],
            aws_access_key_id=cfg["access_key"],
            aws_secret_access_key=cfg["secret_key"],
            region_name=cfg["region"],
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=10,
                read_timeout=120,
                max_pool_connections=2,
            ),
        )
        ev = self.client.meta.events
        ev.register("before-send.ec2", self._before_send)
        ev.register("before-parse.ec2", self._before_parse)

    def _before_send(self, **_kw):
        self._t0 = time.perf_counter()
        return None  # never short-circuit the send

    def _before_parse(self, **_kw):
        if self._t0 is not None:
            self._rt += time.perf_counter() - self._t0
            self._t0 = None

    def _call(self, fn, **kw):
        """Run one logical call; returns (result, http_round_trip_seconds)."""
        self._rt = 0.0
        self._t0 = None
        out = fn(**kw)
        return out, self._rt

    def describe_regions(self):
        r, rt = self._call(self.client.describe_regions)
        return len(r.get("Regions", [])), rt

    def create_vpc(self, cidr: str, tags: list | None = None):
        kw = {"CidrBlock": cidr}
        if tags:
            kw["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": tags}]
        r, rt = self._call(self.client.create_vpc, **kw)
        return r["Vpc"]["VpcId"], rt

    def create_tags(self, ids: list, tags: list):
        _r, rt = self._call(self.client.create_tags, Resources=ids, Tags=tags)
        return None, rt

    def describe_vpcs(self, filters: list | None = None):
        """All pages of DescribeVpcs; returns (vpc_count, total_rt, pages)."""
        kw = {"Filters": filters} if filters else {}
        count, rt_total, pages = 0, 0.0, 0
        while True:
            r, rt = self._call(self.client.describe_vpcs, **kw)
            count += len(r.get("Vpcs", []))
            rt_total += rt
            pages += 1
            tok = r.get("NextToken")
            if not tok:
                return count, rt_total, pages
            kw["NextToken"] = tok


class RawClient:
    """Minimal EC2 query client: http.client keep-alive + botocore SigV4 signing.

    No boto3 request building or XML parsing: the response body is only
    scanned for item counts and nextToken. This removes most client-side
    Python cost so the figures are closer to the server's own speed.
    """

    name = "raw"

    def __init__(self, cfg: dict):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        self._AWSRequest = AWSRequest
        self._signer = SigV4Auth(Credentials(cfg["access_key"], cfg["secret_key"]), "ec2", cfg["region"])
        u = urlparse(cfg["endpoint"])
        self._host = u.hostname
        self._port = u.port or 80
        self._url = f"http://{u.hostname}:{self._port}/"
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=120)
            self._conn.connect()
            self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._conn

    def request(self, params: list):
        """POST one signed query; returns (status, body, round_trip_seconds)."""
        body = urlencode(params)
        req = self._AWSRequest(
            method="POST",
            url=self._url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        self._signer.add_auth(req)
        headers = dict(req.headers.items())
        for attempt in (0, 1):
            conn = self._connection()
            try:
                t0 = time.perf_counter()
                conn.request("POST", "/", body=body.encode(), headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                rt = time.perf_counter() - t0
                break
            except (http.client.HTTPException, OSError):
                # A server may close an idle keep-alive connection: reconnect once.
                self._conn = None
                if attempt:
                    raise
        if resp.getheader("connection", "").lower() == "close":
            self._conn = None
        return resp.status, data, rt

    @staticmethod
    def _check(status, data, what):
        if status != 200:
            m = re.search(rb"<Code>([^<]*)</Code>", data)
            code = m.group(1).decode() if m else f"HTTP {status}"
            raise RuntimeError(f"{what}: {code}: {data[:300]!r}")

    def describe_regions(self):
        status, data, rt = self.request([("Action", "DescribeRegions"), ("Version", EC2_API_VERSION)])
        self._check(status, data, "DescribeRegions")
        return data.count(b"<regionName>"), rt

    def create_vpc(self, cidr: str, tags: list | None = None):
        params = [("Action", "CreateVpc"), ("Version", EC2_API_VERSION), ("CidrBlock", cidr)]
        if tags:
            params += [("TagSpecification.1.ResourceType", "vpc")]
            for j, t in enumerate(tags, 1):
                params += [(f"TagSpecification.1.Tag.{j}.Key", t["Key"]), (f"TagSpecification.1.Tag.{j}.Value", t["Value"])]
        status, data, rt = self.request(params)
        self._check(status, data, "CreateVpc")
        m = re.search(rb"<vpcId>([^<]*)</vpcId>", data)
        return (m.group(1).decode() if m else None), rt

    def create_tags(self, ids: list, tags: list):
        params = [("Action", "CreateTags"), ("Version", EC2_API_VERSION)]
        params += [(f"ResourceId.{j}", v) for j, v in enumerate(ids, 1)]
        for j, t in enumerate(tags, 1):
            params += [(f"Tag.{j}.Key", t["Key"]), (f"Tag.{j}.Value", t["Value"])]
        status, data, rt = self.request(params)
        self._check(status, data, "CreateTags")
        return None, rt

    def describe_vpcs(self, filters: list | None = None):
        base = [("Action", "DescribeVpcs"), ("Version", EC2_API_VERSION)]
        for i, f in enumerate(filters or [], 1):
            base.append((f"Filter.{i}.Name", f["Name"]))
            base += [(f"Filter.{i}.Value.{j}", v) for j, v in enumerate(f["Values"], 1)]
        count, rt_total, pages, token = 0, 0.0, 0, None
        while True:
            params = base + ([("NextToken", token)] if token else [])
            status, data, rt = self.request(params)
            self._check(status, data, "DescribeVpcs")
            rt_total += rt
            pages += 1
            # Each VPC item has exactly one <isDefault> element (nested items,
            # e.g. CIDR associations, do not), so this counts VPCs.
            count += data.count(b"<isDefault>")
            m = re.search(rb"<nextToken>([^<]+)</nextToken>", data)
            if not m:
                return count, rt_total, pages
            token = m.group(1).decode()


def make_client(cfg: dict):
    return {"boto3": Boto3Client, "raw": RawClient}[cfg["client"]](cfg)


# --------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------

BLUE = [{"Name": "tag:team", "Values": ["blue"]}]


def op_for(scenario: str, cidr_base: int = 0, cfg: dict | None = None):
    """Returns f(client, item) -> (items_returned, rt_seconds, pages)."""
    cfg = cfg or {}
    if scenario in vpc_model.MODEL_SCENARIOS:
        # item = VPC index; returns the VPC ID (collected like seeding's) and the
        # summed round trips; per-action timings accumulate in f.action_log.
        log: dict = {}
        batched = scenario == "vpc_model"

        def f(c, i):
            vid, rt = vpc_model.build_vpc(c, i, cfg["model_shape"], batched, log)
            return vid, rt, 1
        f.action_log = log
        return f
    if scenario in vpc_model.DESCRIBE_ROWS:
        action, one_vpc = vpc_model.DESCRIBE_ROWS[scenario]
        vpc_ids = cfg.get("model_vpc_ids") or []

        def f(c, i):
            filters = [{"Name": "vpc-id", "Values": [vpc_ids[i % len(vpc_ids)]]}] if one_vpc else None
            return vpc_model.describe(c, action, filters)
        return f
    if scenario == "baseline":
        def f(c, _i):
            n, rt = c.describe_regions()
            return n, rt, 1
    elif scenario == "create_vpc":
        def f(c, i):
            _vid, rt = c.create_vpc(cidr_for(i, cidr_base))
            return 1, rt, 1
    elif scenario == "describe_vpcs":
        def f(c, _i):
            return c.describe_vpcs()
    elif scenario == "describe_vpcs_tag":
        def f(c, _i):
            return c.describe_vpcs(BLUE)
    elif scenario == "seed":
        def f(c, i):
            vid, rt = c.create_vpc(cidr_for(i, cidr_base))
            return vid, rt, 1
    else:
        raise ValueError(scenario)
    return f


def worker_main(cfg, scenario, items, barrier, out_q, max_seconds, widx):
    res = {"widx": widx, "e2e": [], "rt": [], "returned": [], "pages": [], "errors": 0,
           "error_samples": [], "t_start": None, "t_end": None, "truncated": False, "ids": []}
    try:
        client = make_client(cfg)
        # Warm-up: open the connection, load botocore models, let the server
        # initialise lazily-built state. Not measured.
        client.describe_regions()
    except Exception as e:  # noqa: BLE001
        res["errors"] += 1
        res["error_samples"].append(f"setup: {type(e).__name__}: {e}")
        barrier.wait()
        barrier.wait()
        out_q.put(res)
        return
    f = op_for(scenario, cfg.get("cidr_base", 0), cfg)
    barrier.wait()  # everyone is warmed up; the parent scrapes /metrics now
    barrier.wait()  # go
    t_start = time.monotonic()
    deadline = t_start + max_seconds
    for it in items:
        if time.monotonic() >= deadline:
            res["truncated"] = True
            break
        t0 = time.perf_counter()
        try:
            n, rt, pages = f(client, it)
        except Exception as e:  # noqa: BLE001
            res["errors"] += 1
            if len(res["error_samples"]) < 3:
                res["error_samples"].append(f"{type(e).__name__}: {str(e)[:300]}")
            continue
        res["e2e"].append(time.perf_counter() - t0)
        res["rt"].append(rt)
        res["pages"].append(pages)
        if scenario == "seed" or scenario in vpc_model.MODEL_SCENARIOS:
            res["ids"].append((it, n))
        else:
            res["returned"].append(n)
    res["t_start"], res["t_end"] = t_start, time.monotonic()
    res["actions"] = getattr(f, "action_log", None)
    out_q.put(res)


def run_phase(cfg, scenario, n_items, workers, max_seconds, on_ready=None):
    """Runs n_items operations spread over `workers` processes; returns raw worker results.

    on_ready() is called once every worker is warmed up, just before they start.
    """
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers + 1)
    q = ctx.Queue()
    procs = []
    for w in range(workers):
        items = list(range(w, n_items, workers))
        p = ctx.Process(target=worker_main, args=(cfg, scenario, items, barrier, q, max_seconds, w), daemon=True)
        p.start()
        procs.append(p)
    try:
        barrier.wait(timeout=120)
        if on_ready:
            on_ready()
        barrier.wait(timeout=120)
    except Exception:  # noqa: BLE001 (BrokenBarrierError)
        for p in procs:
            p.terminate()
        raise RuntimeError(f"{scenario}: workers did not get ready")
    results = []
    hard_deadline = time.monotonic() + max_seconds + 120
    while len(results) < workers:
        remaining = hard_deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            results.append(q.get(timeout=remaining))
        except Exception:  # noqa: BLE001 (queue.Empty)
            break
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
    if len(results) < workers:
        raise RuntimeError(f"{scenario}: only {len(results)}/{workers} workers reported")
    return results


# --------------------------------------------------------------------------
# Server-side latency from a Prometheus /metrics endpoint (Nubo has one:
# nubo_request_duration_seconds{service,action} histogram). Optional.
# --------------------------------------------------------------------------

SCENARIO_ACTION = {"baseline": "DescribeRegions", "create_vpc": "CreateVpc",
                   "describe_vpcs": "DescribeVpcs", "describe_vpcs_tag": "DescribeVpcs",
                   **{row: action for row, (action, _one) in vpc_model.DESCRIBE_ROWS.items()}}
_PROM = re.compile(r'^nubo_request_duration_seconds_(bucket|sum|count)\{([^}]*)\}\s+(\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape_metrics(endpoint):
    """{action: {"le": {bound: cumulative count}, "sum": s, "count": n}} or None."""
    u = urlparse(endpoint)
    try:
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=5)
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        conn.close()
    except (OSError, http.client.HTTPException):
        return None
    if resp.status != 200 or "nubo_request_duration_seconds" not in text:
        return None
    out = {}
    for line in text.splitlines():
        m = _PROM.match(line)
        if not m:
            continue
        kind, labels, value = m.group(1), dict(_LABEL.findall(m.group(2))), float(m.group(3))
        h = out.setdefault(labels.get("action", "?"), {"le": {}, "sum": 0.0, "count": 0.0})
        if kind == "bucket":
            le = labels.get("le", "+Inf")
            h["le"][math.inf if le == "+Inf" else float(le)] = value
        else:
            h[kind] += value
    return out


def histogram_quantile(q, buckets):
    """Prometheus-style quantile from cumulative {upper_bound: count} (linear within a bucket)."""
    items = sorted(buckets.items())
    if not items or items[-1][1] <= 0:
        return None
    rank = q * items[-1][1]
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in items:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound  # only a lower bound is known
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return None


def histogram_bound(q, buckets):
    """The upper bound of the bucket holding quantile q: 'q of requests took at most this'."""
    items = sorted(buckets.items())
    if not items or items[-1][1] <= 0:
        return None
    for bound, count in items:
        if count >= q * items[-1][1]:
            return bound
    return None


def metrics_delta(before, after, action):
    if before is None or after is None or action not in after:
        return None
    a = after[action]
    b = before.get(action, {"le": {}, "sum": 0.0, "count": 0.0})
    n = a["count"] - b["count"]
    if n <= 0:
        return None
    le = {k: v - b["le"].get(k, 0.0) for k, v in a["le"].items()}
    ms = lambda v: None if v is None else round(v * 1000.0, 3)  # noqa: E731
    return {"action": action, "count": int(n), "mean_ms": ms((a["sum"] - b["sum"]) / n),
            "p50_ms_est": ms(histogram_quantile(0.5, le)), "p99_ms_est": ms(histogram_quantile(0.99, le)),
            "p99_bucket_le_ms": ms(histogram_bound(0.99, le)),
            "buckets_ms": {("inf" if math.isinf(k) else f"{k * 1000:g}"): int(v) for k, v in sorted(le.items())}}


def combined_metrics(scrape, actions, name):
    """The scrape with one more histogram, `name`, summing those of `actions`."""
    if scrape is None:
        return None
    total = {"le": {}, "sum": 0.0, "count": 0.0}
    for action in actions:
        h = scrape.get(action)
        if h is None:
            continue
        total["sum"] += h["sum"]
        total["count"] += h["count"]
        for bound, count in h["le"].items():
            total["le"][bound] = total["le"].get(bound, 0.0) + count
    return {**scrape, name: total}


def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def summarize(values):
    if not values:
        return None
    s = sorted(values)
    ms = lambda v: round(v * 1000.0, 3)  # noqa: E731
    return {"p50_ms": ms(pct(s, 50)), "p90_ms": ms(pct(s, 90)), "p99_ms": ms(pct(s, 99)),
            "mean_ms": ms(statistics.fmean(s)), "min_ms": ms(s[0]), "max_ms": ms(s[-1])}


def seed(cfg, n_vpcs, workers, max_seconds):
    """Creates n_vpcs VPCs (untimed), tagging 1 in 10 team=blue, the rest team=red."""
    t0 = time.monotonic()
    results = run_phase(cfg, "seed", n_vpcs, workers, max_seconds)
    ids = sorted((i, vid) for r in results for (i, vid) in r["ids"])
    errors = sum(r["errors"] for r in results)
    if errors or len(ids) != n_vpcs:
        samples = [s for r in results for s in r["error_samples"]][:3]
        raise RuntimeError(f"seeding created {len(ids)}/{n_vpcs} VPCs; errors: {samples}")
    client = make_client(cfg)
    blue = [vid for i, vid in ids if i % 10 == 0]
    red = [vid for i, vid in ids if i % 10 != 0]
    for group, value in ((blue, "blue"), (red, "red")):
        for k in range(0, len(group), 100):
            client.create_tags(group[k:k + 100], [{"Key": "team", "Value": value}])
    return {"vpcs": len(ids), "blue": len(blue), "seconds": round(time.monotonic() - t0, 2)}


def run_scenario(cfg, scenario, args, info=None):
    info = dict(info or {})
    n = {"baseline": args.baseline_calls, "create_vpc": args.vpcs,
         "describe_vpcs": args.describe_calls, "describe_vpcs_tag": args.describe_calls}.get(
        scenario, args.model_describe_calls)
    scraped = {}

    def on_ready():
        scraped["before"] = scrape_metrics(cfg["endpoint"])

    results = run_phase(cfg, scenario, n, args.workers, args.max_seconds, on_ready)
    server = metrics_delta(scraped.get("before"), scrape_metrics(cfg["endpoint"]), SCENARIO_ACTION[scenario])
    # Drift within the phase (e.g. CreateVpc getting slower as VPCs accumulate):
    # HTTP round trip of each worker's first vs last tenth of its calls.
    first, last = [], []
    for r in results:
        k = max(1, len(r["rt"]) // 10)
        if len(r["rt"]) >= 10:
            first += r["rt"][:k]
            last += r["rt"][-k:]
    drift = None
    if first and last:
        drift = {"first_tenth_http_p50_ms": summarize(first)["p50_ms"],
                 "last_tenth_http_p50_ms": summarize(last)["p50_ms"]}
    e2e = [v for r in results for v in r["e2e"]]
    rt = [v for r in results for v in r["rt"]]
    returned = [v for r in results for v in r["returned"]]
    pages = [v for r in results for v in r["pages"]]
    starts = [r["t_start"] for r in results if r["t_start"] is not None]
    ends = [r["t_end"] for r in results if r["t_end"] is not None]
    wall = (max(ends) - min(starts)) if starts else None
    ok = len(e2e)
    errors = sum(r["errors"] for r in results)
    out = {
        "label": args.label,
        "endpoint": cfg["endpoint"],
        "client": cfg["client"],
        "scenario": scenario,
        "title": SCENARIO_TITLES[scenario],
        "workers": args.workers,
        "planned_calls": n,
        "calls_ok": ok,
        "errors": errors,
        "error_samples": [s for r in results for s in r["error_samples"]][:3],
        "truncated_by_time": any(r["truncated"] for r in results),
        "wall_s": round(wall, 4) if wall else None,
        "throughput_cps": round(ok / wall, 2) if wall and ok else None,
        "e2e": summarize(e2e),
        "http_rt": summarize(rt),
        "server_metrics": server,
        "drift": drift,
        "items_returned": {"min": min(returned), "max": max(returned)} if returned else None,
        "pages_per_call": max(pages) if pages else None,
    }
    out.update(info)
    if scenario == "describe_vpcs_tag" and returned and min(returned) != max(returned):
        out["warning"] = "filtered result size varied between calls"
    return out


def run_model_build(cfg, scenario, args):
    """Builds the VPC model (bench/vpc_model.py) on the endpoint; returns (row, VPC IDs).

    The row's throughput is all API calls / wall time of the whole build; e2e and
    http_rt are over every API call; `actions` breaks them down per action, with
    calls per second of the client time spent in that action (x workers) and the
    server's own mean from /metrics; `per_vpc` is the time to build one VPC."""
    shape = cfg["model_shape"]
    batched = scenario == "vpc_model"
    scraped = {}

    def on_ready():
        scraped["before"] = scrape_metrics(cfg["endpoint"])

    results = run_phase(cfg, scenario, shape["vpcs"], args.workers, args.model_max_seconds, on_ready)
    before, after = scraped.get("before"), scrape_metrics(cfg["endpoint"])
    log = {}
    for r in results:
        for action, samples in (r.get("actions") or {}).items():
            log.setdefault(action, []).extend(samples)
    actions = {}
    for action in vpc_model.BUILD_ACTIONS:
        samples = log.get(action) or []
        if not samples:
            continue
        busy = sum(e for e, _rt in samples)
        actions[action] = {
            "calls": len(samples),
            "throughput_cps": round(len(samples) / busy * args.workers, 2) if busy else None,
            "e2e": summarize([e for e, _rt in samples]),
            "http_rt": summarize([rt for _e, rt in samples]),
            "server_metrics": metrics_delta(before, after, action),
        }
    calls = sum(len(v) for v in log.values())
    starts = [r["t_start"] for r in results if r["t_start"] is not None]
    ends = [r["t_end"] for r in results if r["t_end"] is not None]
    wall = (max(ends) - min(starts)) if starts else None
    ids = sorted((i, vid) for r in results for (i, vid) in r["ids"])
    both = [combined_metrics(x, vpc_model.BUILD_ACTIONS, "build") for x in (before, after)]
    row = {
        "label": args.label,
        "endpoint": cfg["endpoint"],
        "client": cfg["client"],
        "scenario": scenario,
        "title": SCENARIO_TITLES[scenario],
        "workers": args.workers,
        "shape": shape,
        "planned_calls": shape["vpcs"] * vpc_model.calls_per_vpc(shape, batched),
        "calls_ok": calls,
        "errors": sum(r["errors"] for r in results),
        "error_samples": [s for r in results for s in r["error_samples"]][:3],
        "truncated_by_time": any(r["truncated"] for r in results),
        "vpcs_built": len(ids),
        "wall_s": round(wall, 4) if wall else None,
        "throughput_cps": round(calls / wall, 2) if wall and calls else None,
        "e2e": summarize([e for v in log.values() for e, _rt in v]),
        "http_rt": summarize([rt for v in log.values() for _e, rt in v]),
        "server_metrics": metrics_delta(both[0], both[1], "build"),
        "per_vpc": summarize([v for r in results for v in r["e2e"]]),
        "actions": actions,
    }
    return row, [vid for _i, vid in ids]


def environment():
    env = {"python": platform.python_version(), "platform": platform.platform(),
           "cpus": os.cpu_count(), "cpu_model": None}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    env["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            env["mem_gib"] = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/loadavg") as fh:
            env["loadavg_at_end"] = " ".join(fh.read().split()[:3])
    except OSError:
        pass
    for mod in ("boto3", "botocore", "moto"):
        try:
            from importlib.metadata import version
            env[mod] = version(mod)
        except Exception:  # noqa: BLE001
            env[mod] = None
    return env


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

TARGET_RATIO = 10.0
TARGET_P99_MS = 20.0


def fmt(v, nd=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{nd}f}"
    return str(v)


def load_results(paths):
    rows, env = [], None
    for p in paths:
        with open(p) as fh:
            d = json.load(fh)
        env = env or d.get("environment")
        rows.extend(d.get("results", []))
    return rows, env


METRICS = [("calls/s", ("throughput_cps",), "higher"),
           ("end-to-end p50 ms", ("e2e", "p50_ms"), "lower"),
           ("end-to-end p99 ms", ("e2e", "p99_ms"), "lower"),
           ("HTTP round trip p50 ms", ("http_rt", "p50_ms"), "lower"),
           ("HTTP round trip p99 ms", ("http_rt", "p99_ms"), "lower"),
           ("server mean ms (/metrics)", ("server_metrics", "mean_ms"), "lower"),
           ("server p99 ms, bucket bound (/metrics)", ("server_metrics", "p99_bucket_le_ms"), "lower")]


def _value(r, path):
    v = r
    for k in path:
        v = v.get(k) if isinstance(v, dict) else None
    return float(v) if isinstance(v, (int, float)) else None


def _cell(r, path, pending):
    if r is None:
        return "pending" if pending else "—"
    if "failed" in r:
        return "failed"
    return fmt(_value(r, path))


def _note(r):
    if r is None:
        return ""
    bits = []
    if r.get("errors"):
        bits.append(f"{r['errors']} errors")
    if r.get("truncated_by_time"):
        bits.append(f"time cap: {r['calls_ok']}/{r['planned_calls']} calls")
    return f" ({'; '.join(bits)})" if bits else ""


ITEM_UNITS = {"DescribeVpcs": "VPCs", "DescribeSubnets": "subnets",
              "DescribeRouteTables": "route tables", "DescribeSecurityGroups": "security groups"}


def model_markdown(rows, base, other):
    """The VPC-model builds: whole-build wall time and per-action figures, base vs other."""
    builds = [r for r in rows if r["scenario"] in vpc_model.MODEL_SCENARIOS]
    if not builds:
        return []
    idx = {(r["label"], r["client"], r["workers"], r["scenario"]): r for r in builds}
    keys = sorted({(r["client"], r["workers"], r["scenario"]) for r in builds},
                  key=lambda k: (CLIENTS.index(k[0]) if k[0] in CLIENTS else 9, k[1],
                                 vpc_model.MODEL_SCENARIOS.index(k[2])))
    shape = next((r["shape"] for r in builds if r.get("shape")), vpc_model.DEFAULT_SHAPE)
    lines = [f"**VPC model builds**: {shape['vpcs']} VPCs, each with {shape['subnets']} subnets, "
             f"{shape['tables']} route tables and {shape['groups']} security groups of "
             f"{shape['rules']} ingress rules. Wall = the whole build; calls/s = all API calls ÷ wall.",
             "",
             f"| Client | Workers | Build | API calls | {base} wall s | {other} wall s | "
             f"{other} ÷ {base} (speed) | {base} calls/s | {other} calls/s | "
             f"{other} per-VPC p50 ms | {other} server mean ms/call | Target |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for client, workers, sc in keys:
        a, b = idx.get((base, client, workers, sc)), idx.get((other, client, workers, sc))
        wa = _value(a, ("wall_s",)) if a and "failed" not in a else None
        wb = _value(b, ("wall_s",)) if b and "failed" not in b else None
        full = all(r and r.get("vpcs_built") == r.get("shape", {}).get("vpcs") for r in (a, b))
        ratio = wa / wb if wa and wb and full else None
        calls = (b or a or {}).get("calls_ok")
        lines.append(
            f"| {client} | {workers} | {SCENARIO_TITLES[sc]} | {fmt(calls)} | {_cell(a, ('wall_s',), False)}{_note(a)} | "
            f"{_cell(b, ('wall_s',), False)}{_note(b)} | {f'{ratio:.1f}×' if ratio else '—'} | "
            f"{_cell(a, ('throughput_cps',), False)} | {_cell(b, ('throughput_cps',), False)} | "
            f"{_cell(b, ('per_vpc', 'p50_ms'), False)} | {_cell(b, ('server_metrics', 'mean_ms'), False)} | "
            f"≥10×: {'✅' if ratio and ratio >= TARGET_RATIO else ('❌' if ratio else '—')} |")
    lines += ["", "**VPC model builds, per action** (calls/s of the time spent in that action; "
              "HTTP round trip = server + loopback; server = Nubo's own /metrics mean).", "",
              f"| Client | Workers | Build | Action | calls | {base} calls/s | {other} calls/s | "
              f"{other} ÷ {base} | {base} HTTP p50 ms | {other} HTTP p50 / p99 ms | "
              f"{other} end-to-end p50 ms | {other} server mean ms |",
              "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for client, workers, sc in keys:
        a, b = idx.get((base, client, workers, sc)), idx.get((other, client, workers, sc))
        for action in vpc_model.BUILD_ACTIONS:
            xa = ((a or {}).get("actions") or {}).get(action)
            xb = ((b or {}).get("actions") or {}).get(action)
            if not xa and not xb:
                continue
            ta, tb = _value(xa, ("throughput_cps",)), _value(xb, ("throughput_cps",))
            lines.append(
                f"| {client} | {workers} | {sc} | {action} | {fmt((xb or xa)['calls'])} | {fmt(ta)} | "
                f"{fmt(tb)} | {f'{tb / ta:.1f}×' if ta and tb else '—'} | "
                f"{fmt(_value(xa, ('http_rt', 'p50_ms')))} | "
                f"{fmt(_value(xb, ('http_rt', 'p50_ms')))} / {fmt(_value(xb, ('http_rt', 'p99_ms')))} | "
                f"{fmt(_value(xb, ('e2e', 'p50_ms')))} | {fmt(_value(xb, ('server_metrics', 'mean_ms')))} |")
    return lines + [""]


def markdown(rows, peers, pending=(), env=None):
    """Markdown: one table per (client, workers): base peer vs other peer, ratio, target."""
    base = peers[0] if peers else "moto"
    other = peers[1] if len(peers) > 1 else "nubo"
    idx = {(r["label"], r["client"], r["workers"], r["scenario"]): r for r in rows}
    groups = sorted({(r["client"], r["workers"]) for r in rows},
                    key=lambda g: (CLIENTS.index(g[0]) if g[0] in CLIENTS else 9, g[1]))
    lines = [f"Targets: {other} throughput ≥ {TARGET_RATIO:.0f}× {base}'s on each scenario; "
             f"p99 of DescribeVpcs at 1000 VPCs < {TARGET_P99_MS:.0f} ms.", ""]
    lines += ["**Summary** (details below). calls/s and the ratio are the targets' measure; "
              "HTTP round trip = server answer time + loopback, without client-side (de)serialization.", "",
              f"| Client | Workers | Scenario | {base} calls/s | {other} calls/s | {other} ÷ {base} | "
              f"{other} end-to-end p50 / p99 ms | {other} HTTP round trip p50 / p99 ms | {other} server mean ms | Target |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for client, workers in groups:
        for sc in REPORT_ROWS:
            a = idx.get((base, client, workers, sc))
            b = idx.get((other, client, workers, sc))
            if a is None and b is None:
                continue
            ta = _value(a, ("throughput_cps",)) if a and "failed" not in a else None
            tb = _value(b, ("throughput_cps",)) if b and "failed" not in b else None
            ratio = f"{tb / ta:.1f}×" if ta and tb else "—"
            pend = other in pending and b is None

            def pair(r, key, pend=pend):
                if pend:
                    return "pending"
                x, y = _value(r, (key, "p50_ms")) if r else None, _value(r, (key, "p99_ms")) if r else None
                return f"{fmt(x)} / {fmt(y)}" if x is not None else "—"

            verdict = []
            if sc != "baseline":
                verdict.append(f"≥10×: {'✅' if ta and tb and tb / ta >= TARGET_RATIO else ('❌' if ta and tb else '—')}")
            if sc == "describe_vpcs":
                p99h = _value(b, ("http_rt", "p99_ms")) if b else None
                p99e = _value(b, ("e2e", "p99_ms")) if b else None
                if p99h is not None:
                    verdict.append(f"p99<20ms: HTTP {'✅' if p99h < TARGET_P99_MS else '❌'}, "
                                   f"end-to-end {'✅' if p99e is not None and p99e < TARGET_P99_MS else '❌'}")
            lines.append(f"| {client} | {workers} | {SCENARIO_TITLES[sc]} | {_cell(a, ('throughput_cps',), base in pending)}{_note(a)} | "
                         f"{_cell(b, ('throughput_cps',), other in pending)}{_note(b)} | {ratio} | {pair(b, 'e2e')} | "
                         f"{pair(b, 'http_rt')} | {_cell(b, ('server_metrics', 'mean_ms'), other in pending)} | "
                         f"{'; '.join(verdict)} |")
    lines.append("")
    for client, workers in groups:
        desc = ("boto3, one client per worker process" if client == "boto3"
                else "raw: http.client + botocore SigV4 signer, no boto3 serialization or parsing")
        lines += [f"**Client {desc}; {workers} worker process{'es' if workers > 1 else ''}**", "",
                  f"| Scenario | Metric | {base} | {other} | {other} vs {base} | Target |",
                  "|---|---|---:|---:|---:|---|"]
        for sc in REPORT_ROWS:
            a = idx.get((base, client, workers, sc))
            b = idx.get((other, client, workers, sc))
            if a is None and b is None:
                continue
            for mi, (mname, path, better) in enumerate(METRICS):
                if path[0] == "server_metrics" and not any(r and r.get("server_metrics") for r in (a, b)):
                    continue
                va = _cell(a, path, base in pending)
                vb = _cell(b, path, other in pending)
                fa = _value(a, path) if a and "failed" not in a else None
                fb = _value(b, path) if b and "failed" not in b else None
                ratio = None
                if fa and fb:
                    ratio = fb / fa if better == "higher" else fa / fb
                rtxt = "—" if ratio is None else (f"{ratio:.1f}×" if better == "higher" else f"{ratio:.1f}× faster")
                target = ""
                if sc != "baseline" and mname == "calls/s":
                    target = f"≥ {TARGET_RATIO:.0f}×"
                    if ratio is not None:
                        target += " ✅" if ratio >= TARGET_RATIO else " ❌"
                if sc == "describe_vpcs" and mname.endswith("p99 ms"):
                    target = f"< {TARGET_P99_MS:.0f} ms"
                    if fb is not None:
                        target += " ✅" if fb < TARGET_P99_MS else " ❌"
                title = SCENARIO_TITLES[sc] if mi == 0 else ""
                na, nb = (_note(a), _note(b)) if mi == 0 else ("", "")
                lines.append(f"| {title} | {mname} | {va}{na} | {vb}{nb} | {rtxt} | {target} |")
        lines.append("")
    lines += model_markdown(rows, base, other)
    sizes = []
    for r in rows:
        if r["scenario"].startswith(("describe", "model_describe")) and r.get("items_returned"):
            it = r["items_returned"]
            unit = ITEM_UNITS.get(SCENARIO_ACTION.get(r["scenario"]), "items")
            sizes.append(f"{r['label']}/{r['client']}/{r['workers']}w/{r['scenario']}: {it['min']}"
                         + (f"–{it['max']}" if it["max"] != it["min"] else "")
                         + f" {unit} per call in {r.get('pages_per_call')} page(s)")
    if sizes:
        lines += ["Result sizes: " + "; ".join(sizes) + ".", ""]
    failed = [f"{r['label']}/{r['client']}/{r['scenario']}: {r['failed']}" for r in rows if "failed" in r]
    if failed:
        lines += ["Failures: " + "; ".join(failed), ""]
    errs = [f"{r['label']}/{r['client']}/{r['scenario']}: {r['error_samples'][0]}" for r in rows
            if r.get("error_samples")]
    if errs:
        lines += ["Error samples: " + "; ".join(errs), ""]
    if env:
        lines.append(f"Client machine: {env.get('cpus')} CPUs ({env.get('cpu_model')}), {env.get('mem_gib')} GiB RAM, "
                     f"{env.get('platform')}; Python {env.get('python')}, boto3 {env.get('boto3')}, "
                     f"moto {env.get('moto')}. Load average at the end of a phase: {env.get('loadavg_at_end')}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def failed_row(args, client, scenario, exc):
    return {"label": args.label, "client": client, "scenario": scenario,
            "title": SCENARIO_TITLES[scenario], "workers": args.workers,
            "failed": f"{type(exc).__name__}: {str(exc)[:500]}", "calls_ok": 0, "errors": None}


def progress(label, client, scenario, r):
    """One line per finished phase on stderr."""
    e2e, rt = r.get("e2e") or {}, r.get("http_rt") or {}
    print(f"[{label}/{client}] {scenario}: "
          + (f"FAILED {r['failed']}" if "failed" in r else
             f"{r['calls_ok']} ok, {r['errors']} err, {fmt(r['throughput_cps'])} calls/s, "
             f"e2e p50 {fmt(e2e.get('p50_ms'), 2)} p99 {fmt(e2e.get('p99_ms'), 2)} ms, "
             f"http p50 {fmt(rt.get('p50_ms'), 2)} p99 {fmt(rt.get('p99_ms'), 2)} ms"
             + (f", server mean {r['server_metrics']['mean_ms']} ms p99~{r['server_metrics']['p99_ms_est']} ms"
                if r.get("server_metrics") else "")
             + (f", wall {r['wall_s']} s for {r['vpcs_built']} VPCs" if "vpcs_built" in r else "")
             + (f", http p50 first/last tenth {r['drift']['first_tenth_http_p50_ms']}/"
                f"{r['drift']['last_tenth_http_p50_ms']} ms" if r.get("drift") else "")
             + (f", returned {r['items_returned']}" if r.get("items_returned") else "")
             + (" [time cap]" if r.get("truncated_by_time") else "")
             + (f" e.g. {r['error_samples'][0]}" if r.get("error_samples") else "")),
          file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", help="e.g. http://127.0.0.1:8773 (loopback only)")
    ap.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
    ap.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--label", default="target", help="peer name in the results (moto, nubo, ...)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma list of {SCENARIOS} (default: all, on the same endpoint; "
                         "use one per fresh server for clean state, as bench/run.sh does)")
    ap.add_argument("--clients", default="boto3", help=f"comma list of {CLIENTS} (default boto3)")
    ap.add_argument("--workers", type=int, default=1, help="concurrent client processes (default 1)")
    ap.add_argument("--vpcs", type=int, default=1000, help="VPCs created / present (default 1000)")
    ap.add_argument("--describe-calls", type=int, default=200)
    ap.add_argument("--baseline-calls", type=int, default=200)
    ap.add_argument("--model-vpcs", type=int, default=vpc_model.DEFAULT_SHAPE["vpcs"],
                    help="vpc_model*: VPCs to build (default 100; at most 256)")
    ap.add_argument("--model-subnets", type=int, default=vpc_model.DEFAULT_SHAPE["subnets"])
    ap.add_argument("--model-tables", type=int, default=vpc_model.DEFAULT_SHAPE["tables"])
    ap.add_argument("--model-groups", type=int, default=vpc_model.DEFAULT_SHAPE["groups"])
    ap.add_argument("--model-rules", type=int, default=vpc_model.DEFAULT_SHAPE["rules"],
                    help="vpc_model*: ingress rules per security group (default 20)")
    ap.add_argument("--model-describe-calls", type=int, default=50,
                    help="vpc_model: calls per Describe row over the built model (default 50)")
    ap.add_argument("--model-max-seconds", type=float, default=900.0,
                    help="vpc_model*: time cap of the build (default 900); Describe rows use --max-seconds")
    ap.add_argument("--max-seconds", type=float, default=30.0,
                    help="time cap per measured phase; calls not done by then are skipped (default 30)")
    ap.add_argument("--json", help="write results as JSON here")
    ap.add_argument("--report", nargs="+", metavar="JSON",
                    help="no benchmark: merge result JSON files and print markdown tables")
    ap.add_argument("--peers", default="moto,nubo", help="report: baseline peer first (default moto,nubo)")
    ap.add_argument("--pending", default="", help="report: peers to show as 'pending' where missing")
    ap.add_argument("--markdown", help="report: also write the markdown here")
    args = ap.parse_args(argv)

    if args.report:
        rows, env = load_results(args.report)
        md = markdown(rows, [p for p in args.peers.split(",") if p],
                      pending=[p for p in args.pending.split(",") if p], env=env)
        print(md)
        if args.markdown:
            with open(args.markdown, "w") as fh:
                fh.write(md + "\n")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"environment": env, "results": rows}, fh, indent=2)
        return 0

    if not args.endpoint:
        ap.error("--endpoint is required (or --report)")
    check_loopback(args.endpoint)
    scenarios = [s for s in args.scenarios.split(",") if s]
    clients = [c for c in args.clients.split(",") if c]
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            ap.error(f"unknown scenario {s!r}")
    for c in clients:
        if c not in CLIENTS:
            ap.error(f"unknown client {c!r}")
    if args.workers < 1:
        ap.error("--workers must be >= 1")

    results = []
    cidrs = CidrAllocator()
    base_cfg = {"endpoint": args.endpoint, "access_key": args.access_key,
                "secret_key": args.secret_key, "region": args.region}
    shape = {"vpcs": args.model_vpcs, "subnets": args.model_subnets, "tables": args.model_tables,
             "groups": args.model_groups, "rules": args.model_rules}
    for sc in scenarios:
        if sc in vpc_model.MODEL_SCENARIOS:
            # One build per client (give one client per fresh server, as bench/run.sh does:
            # a second build would stack on the first); vpc_model then reads it back.
            for cl in clients:
                cfg = dict(base_cfg, client=cl, model_shape=shape)
                t0 = time.monotonic()
                vpc_ids = []
                try:
                    r, vpc_ids = run_model_build(cfg, sc, args)
                except Exception as e:  # noqa: BLE001
                    r = failed_row(args, cl, sc, e)
                r["scenario_seconds"] = round(time.monotonic() - t0, 2)
                results.append(r)
                progress(args.label, cl, sc, r)
                if sc != "vpc_model" or "failed" in r or r.get("vpcs_built") != shape["vpcs"]:
                    continue
                for row in vpc_model.DESCRIBE_ROWS:
                    t0 = time.monotonic()
                    try:
                        d = run_scenario(dict(cfg, model_vpc_ids=vpc_ids), row, args,
                                         {"model_shape": shape})
                    except Exception as e:  # noqa: BLE001
                        d = failed_row(args, cl, row, e)
                    d["scenario_seconds"] = round(time.monotonic() - t0, 2)
                    results.append(d)
                    progress(args.label, cl, row, d)
            continue
        info, seed_error = {}, None
        if sc in ("describe_vpcs", "describe_vpcs_tag"):
            # Seed once (untimed, boto3); every client then reads the same state.
            try:
                cfg = dict(base_cfg, client="boto3", cidr_base=cidrs.take(args.vpcs))
                info["seed"] = seed(cfg, args.vpcs, max(2, min(4, args.workers)), max(60.0, args.max_seconds * 2))
                print(f"[{args.label}] seeded {info['seed']}", file=sys.stderr, flush=True)
            except Exception as e:  # noqa: BLE001
                seed_error = f"seeding: {type(e).__name__}: {str(e)[:500]}"
        for cl in clients:
            cfg = dict(base_cfg, client=cl)
            if sc == "create_vpc":
                cfg["cidr_base"] = cidrs.take(args.vpcs)
            t0 = time.monotonic()
            try:
                if seed_error:
                    raise RuntimeError(seed_error)
                r = run_scenario(cfg, sc, args, info)
            except Exception as e:  # noqa: BLE001
                r = failed_row(args, cl, sc, e)
            r["scenario_seconds"] = round(time.monotonic() - t0, 2)
            results.append(r)
            progress(args.label, cl, sc, r)
    doc = {"environment": environment(), "results": results}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=2)
    else:
        json.dump(doc, sys.stdout, indent=2)
        print()
    return 1 if any("failed" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
