"""Prometheus /metrics: request counters by service, action and code, and a latency histogram."""

import re
from collections import defaultdict

import pytest
from botocore.exceptions import ClientError

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(nubo) -> list[tuple[str, dict, float]]:
    r = nubo.get("/metrics")
    assert r.status == 200, r.body
    samples = []
    for line in r.body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not Prometheus text format: {line!r}"
        labels = dict(LABEL.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def requests_by_code(nubo, service, action) -> dict:
    out = defaultdict(float)
    for name, labels, value in scrape(nubo):
        if name == "nubo_requests_total" and labels.get("service") == service \
                and labels.get("action") == action:
            out[labels.get("code")] += value
    return out


def delta(before: dict, after: dict) -> dict:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0)}


def test_metrics_endpoint_needs_no_auth_and_is_prometheus_text(nubo):
    r = nubo.get("/metrics")
    assert r.status == 200
    content_type = {k.lower(): v for k, v in r.headers.items()}.get("content-type", "")
    assert content_type.startswith("text/plain"), content_type
    assert "# TYPE nubo_requests_total counter" in r.body
    assert "# TYPE nubo_request_duration_seconds histogram" in r.body
    scrape(nubo)


def test_requests_are_counted_by_action_and_code(nubo, needs_own_server, ec2):
    before = requests_by_code(nubo, "ec2", "DescribeVpcs")
    for _ in range(3):
        ec2.describe_vpcs()
    for _ in range(2):
        with pytest.raises(ClientError):
            ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    changes = delta(before, requests_by_code(nubo, "ec2", "DescribeVpcs"))
    # `code` is the outcome: success and InvalidVpcID.NotFound land in different series. Whether
    # the label carries the HTTP status or the AWS error code is Nubo's choice; both are fine.
    assert sorted(changes.values()) == [2, 3], changes
    failed = next(code for code, n in changes.items() if n == 2)
    succeeded = next(code for code, n in changes.items() if n == 3)
    assert failed in ("400", "InvalidVpcID.NotFound"), changes
    assert succeeded in ("200", "OK", "Success", "ok", "success"), changes


def test_iam_and_sts_are_counted_under_their_service(nubo, needs_own_server, iam, sts):
    before_iam = requests_by_code(nubo, "iam", "ListUsers")
    before_sts = requests_by_code(nubo, "sts", "GetCallerIdentity")
    iam.list_users()
    sts.get_caller_identity()
    sts.get_caller_identity()
    assert sum(delta(before_iam, requests_by_code(nubo, "iam", "ListUsers")).values()) == 1
    assert sum(delta(before_sts, requests_by_code(nubo, "sts", "GetCallerIdentity")).values()) == 2


def test_latency_histogram_observes_requests(nubo, needs_own_server, ec2):
    def counts():
        total, buckets = 0.0, defaultdict(float)
        for name, labels, value in scrape(nubo):
            if name == "nubo_request_duration_seconds_count":
                total += value
            elif name == "nubo_request_duration_seconds_bucket":
                buckets[labels.get("le")] += value
        return total, buckets

    before, _ = counts()
    for _ in range(4):
        ec2.describe_regions()
    after, buckets = counts()
    assert after - before >= 4
    assert "+Inf" in buckets, buckets
    # Cumulative buckets: +Inf holds every observation.
    assert buckets["+Inf"] == after
    assert any(name == "nubo_request_duration_seconds_sum" for name, _, _ in scrape(nubo))
