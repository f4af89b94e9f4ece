#!/usr/bin/env python3
"""Where does a request's time go? A raw-HTTP breakdown of one server's hot path.

Uses api_bench's raw client (http.client keep-alive + botocore's SigV4 signer,
no boto3) from ONE process, sequentially, so each figure is the server's answer
time plus a small, constant loopback/http.client floor. Request variants are
chosen so that differences isolate one stage:

  GET /healthz                         HTTP stack only (no auth, no store)
  DescribeRegions                      + SigV4 verify, key lookup, tiny render
  bad signature (401 AuthFailure)      SigV4 parse + key lookup + verify, error render
  DescribeVpcs VpcId=<one>             + load/decode all VPCs of the account, render 1
  DescribeVpcs MaxResults=5            + load/decode all, page, render 5
  DescribeVpcs tag:team=blue           + load/decode all, filter, render 100
  DescribeVpcs (all)                   + load/decode all, render 1000
  CreateVpc, by number already present write path (transaction, quota check, audit)

and botocore's parse time of the same DescribeVpcs bodies (the boto3 floor).

so   render(1000 VPCs)  ~ DescribeVpcs(all) - DescribeVpcs(MaxResults=5)
     store load+decode  ~ DescribeVpcs(MaxResults=5) - DescribeRegions
     auth               ~ DescribeRegions - /healthz

Where the server exports Nubo's /metrics histogram, the server-side mean per
variant is shown too (its clock excludes HTTP parsing and the audit write).

  bench/probe.py --endpoint http://127.0.0.1:8773 --access-key .. --secret-key ..
Run it against a FRESH server: it creates --vpcs VPCs (default 1000).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_bench as ab  # noqa: E402


def timed(fn, n):
    rts, sizes = [], set()
    for _ in range(n):
        rt, size = fn()
        rts.append(rt)
        sizes.add(size)
    return rts, sizes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--access-key", default="testing")
    ap.add_argument("--secret-key", default="testing")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--vpcs", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=100, help="calls per read variant (default 100)")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args(argv)
    ab.check_loopback(args.endpoint)
    cfg = {"endpoint": args.endpoint, "access_key": args.access_key, "secret_key": args.secret_key,
           "region": args.region, "client": "raw"}
    c = ab.RawClient(cfg)
    bad = ab.RawClient(dict(cfg, secret_key=args.secret_key + "x"))
    u = urlparse(args.endpoint)
    hc = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
    has_metrics = ab.scrape_metrics(args.endpoint) is not None
    out = {"endpoint": args.endpoint, "variants": [], "create_by_present": []}

    def row(name, fn, n, action=None):
        before = ab.scrape_metrics(args.endpoint) if has_metrics and action else None
        rts, sizes = timed(fn, n)
        server = ab.metrics_delta(before, ab.scrape_metrics(args.endpoint), action) if before is not None else None
        s = ab.summarize(rts)
        r = {"variant": name, "calls": n, "http_p50_ms": s["p50_ms"], "http_p99_ms": s["p99_ms"],
             "http_mean_ms": s["mean_ms"], "server_mean_ms": server and server["mean_ms"],
             "response_bytes": sorted(sizes)}
        out["variants"].append(r)
        print(f"{name:42s} p50 {s['p50_ms']:8.3f}  p99 {s['p99_ms']:8.3f}  mean {s['mean_ms']:8.3f} ms"
              + (f"  server mean {server['mean_ms']:8.3f} ms" if server else "")
              + f"  {','.join(str(x) for x in sorted(sizes))} B", flush=True)

    def healthz():
        t0 = time.perf_counter()
        hc.request("GET", "/healthz")
        body = hc.getresponse().read()
        return time.perf_counter() - t0, len(body)

    def query(client, params, expect=200):
        def f():
            status, data, rt = client.request(params)
            if status != expect:
                raise RuntimeError(f"{params[0]}: HTTP {status}: {data[:200]!r}")
            return rt, len(data)
        return f

    v = [("Version", ab.EC2_API_VERSION)]
    row("GET /healthz", healthz, args.calls)
    row("DescribeRegions", query(c, [("Action", "DescribeRegions")] + v), args.calls, "DescribeRegions")
    row("DescribeRegions, bad signature (401)", query(bad, [("Action", "DescribeRegions")] + v, 401), args.calls)

    # Write path: create VPCs one by one, and see how a CreateVpc's time grows
    # with the number of VPCs already present.
    print(f"creating {args.vpcs} VPCs (every 10th tagged team=blue) ...", flush=True)
    ids, block, blocks = [], [], []
    step = max(1, args.vpcs // 10)
    before = ab.scrape_metrics(args.endpoint) if has_metrics else None
    for i in range(args.vpcs):
        tags = [{"Key": "team", "Value": "blue" if i % 10 == 0 else "red"}]
        vid, rt = c.create_vpc(ab.cidr_for(i, 0), tags)
        ids.append(vid)
        block.append(rt)
        if len(block) == step or i == args.vpcs - 1:
            after = ab.scrape_metrics(args.endpoint) if has_metrics else None
            server = ab.metrics_delta(before, after, "CreateVpc") if before is not None else None
            s = ab.summarize(block)
            b = {"present_from": i + 1 - len(block), "present_to": i, "http_p50_ms": s["p50_ms"],
                 "http_mean_ms": s["mean_ms"], "server_mean_ms": server and server["mean_ms"]}
            blocks.append(b)
            print(f"CreateVpc with {b['present_from']:5d}-{b['present_to']:5d} present: "
                  f"http p50 {s['p50_ms']:7.3f} mean {s['mean_ms']:7.3f} ms"
                  + (f"  server mean {server['mean_ms']:7.3f} ms" if server else ""), flush=True)
            block, before = [], after
    out["create_by_present"] = blocks

    dv = [("Action", "DescribeVpcs")] + v
    row("DescribeVpcs VpcId=<one>", query(c, dv + [("VpcId.1", ids[len(ids) // 2])]), args.calls, "DescribeVpcs")
    row("DescribeVpcs MaxResults=5", query(c, dv + [("MaxResults", "5")]), args.calls, "DescribeVpcs")
    row("DescribeVpcs tag:team=blue", query(c, dv + [("Filter.1.Name", "tag:team"), ("Filter.1.Value.1", "blue")]),
        args.calls, "DescribeVpcs")
    row("DescribeVpcs (all)", query(c, dv), args.calls, "DescribeVpcs")
    row("DescribeVpcs MaxResults=1000", query(c, dv + [("MaxResults", "1000")]), args.calls, "DescribeVpcs")

    # The client floor of the read scenarios: botocore parsing the very same
    # DescribeVpcs response bodies, offline (no server involved).
    import botocore.session
    from botocore.parsers import create_parser
    op = botocore.session.get_session().get_service_model("ec2").operation_model("DescribeVpcs")
    parser = create_parser("ec2")
    for name, params in (("all", dv), ("tag:team=blue", dv + [("Filter.1.Name", "tag:team"), ("Filter.1.Value.1", "blue")])):
        status, body, _rt = c.request(params)
        ts = []
        for _ in range(10):
            t0 = time.perf_counter()
            parsed = parser.parse({"status_code": status, "headers": {}, "body": body}, op.output_shape)
            ts.append(time.perf_counter() - t0)
        s = ab.summarize(ts)
        out.setdefault("botocore_parse", []).append({"variant": name, "bytes": len(body), "vpcs": len(parsed["Vpcs"]),
                                                     "p50_ms": s["p50_ms"]})
        print(f"botocore parse of DescribeVpcs ({name}, {len(parsed['Vpcs'])} VPCs, {len(body)} B): "
              f"p50 {s['p50_ms']:.2f} ms  (client-side floor, no server)", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
