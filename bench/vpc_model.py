"""The VPC-model scenarios of bench/api_bench.py: build a realistic model, then read it.

Scenarios (each on a fresh server; bench/run.sh does that):

  vpc_model                100 VPCs, each with 4 subnets, 4 route tables and 10
                           security groups of 20 ingress rules, the 20 rules of a
                           group given as 20 IpPermissions of ONE
                           AuthorizeSecurityGroupIngress (29 calls per VPC); then
                           DescribeSubnets / DescribeRouteTables /
                           DescribeSecurityGroups over the built model, unfiltered
                           (everything) and filtered to one VPC (Filter vpc-id).
  vpc_model_rule_per_call  the same model with one AuthorizeSecurityGroupIngress
                           per rule (219 calls per VPC); build only.

The build is timed as a whole (wall time, all API calls / wall time) and per
action (calls, latency, and calls per second of the time spent in that action).
Workers split the VPCs; each worker builds whole VPCs.

This module holds the model and the calls for both client engines of
api_bench.py (boto3 and raw); api_bench.py runs the phases and the report.
"""

from __future__ import annotations

import re
import time

MODEL_SCENARIOS = ["vpc_model", "vpc_model_rule_per_call"]
BUILD_ACTIONS = ["CreateVpc", "CreateSubnet", "CreateRouteTable", "CreateSecurityGroup",
                 "AuthorizeSecurityGroupIngress"]

# Read rows measured on the server vpc_model built: row -> (action, one VPC only?)
DESCRIBE_ROWS = {
    "model_describe_subnets": ("DescribeSubnets", False),
    "model_describe_route_tables": ("DescribeRouteTables", False),
    "model_describe_security_groups": ("DescribeSecurityGroups", False),
    "model_describe_subnets_vpc": ("DescribeSubnets", True),
    "model_describe_route_tables_vpc": ("DescribeRouteTables", True),
    "model_describe_security_groups_vpc": ("DescribeSecurityGroups", True),
}

TITLES = {
    "vpc_model": "VPC model build, 20 rules per Authorize call",
    "vpc_model_rule_per_call": "VPC model build, 1 rule per Authorize call",
    "model_describe_subnets": "DescribeSubnets, all (model)",
    "model_describe_route_tables": "DescribeRouteTables, all (model)",
    "model_describe_security_groups": "DescribeSecurityGroups, all (model)",
    "model_describe_subnets_vpc": "DescribeSubnets vpc-id=one (model)",
    "model_describe_route_tables_vpc": "DescribeRouteTables vpc-id=one (model)",
    "model_describe_security_groups_vpc": "DescribeSecurityGroups vpc-id=one (model)",
}

DEFAULT_SHAPE = {"vpcs": 100, "subnets": 4, "tables": 4, "groups": 10, "rules": 20}

EC2_API_VERSION = "2016-11-15"

# boto3 method and result key, and for the raw engine a tag that occurs exactly
# once per top-level item of the response (nested items do not carry it).
_DESCRIBE = {
    "DescribeSubnets": ("describe_subnets", "Subnets", b"<defaultForAz>"),
    "DescribeRouteTables": ("describe_route_tables", "RouteTables", b"<routeSet>"),
    "DescribeSecurityGroups": ("describe_security_groups", "SecurityGroups", b"<groupDescription>"),
}


def calls_per_vpc(shape: dict, batched: bool) -> int:
    rule_calls = shape["groups"] * (1 if batched else shape["rules"])
    return 1 + shape["subnets"] + shape["tables"] + shape["groups"] + rule_calls


def rules(shape: dict) -> list[dict]:
    """The ingress rules of every group: TCP port 10000+k from 10.k.0.0/16."""
    return [{"IpProtocol": "tcp", "FromPort": 10000 + k, "ToPort": 10000 + k,
             "IpRanges": [{"CidrIp": f"10.{k}.0.0/16"}]} for k in range(shape["rules"])]


# --------------------------------------------------------------------------
# One API call through either engine: (result, http_round_trip_seconds)
# --------------------------------------------------------------------------


def _flatten(prefix: str, value, out: list) -> None:
    """EC2 query encoding of nested lists/structures (`IpPermissions.1.IpRanges.1.CidrIp`)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value, 1):
            _flatten(f"{prefix}.{i}", v, out)
    else:
        out.append((prefix, str(value)))


_RAW_NAMES = {"Description": "GroupDescription"}  # CreateSecurityGroup's query name
_RAW_ID = {"CreateVpc": b"vpcId", "CreateSubnet": b"subnetId", "CreateRouteTable": b"routeTableId",
           "CreateSecurityGroup": b"groupId"}
_BOTO_ID = {"CreateVpc": ("create_vpc", lambda r: r["Vpc"]["VpcId"]),
            "CreateSubnet": ("create_subnet", lambda r: r["Subnet"]["SubnetId"]),
            "CreateRouteTable": ("create_route_table", lambda r: r["RouteTable"]["RouteTableId"]),
            "CreateSecurityGroup": ("create_security_group", lambda r: r["GroupId"]),
            "AuthorizeSecurityGroupIngress": ("authorize_security_group_ingress", lambda r: None)}


def call(client, action: str, params: dict):
    """A create/authorize call; returns (new resource ID or None, http_round_trip_seconds)."""
    if client.name == "boto3":
        method, pick = _BOTO_ID[action]
        r, rt = client._call(getattr(client.client, method), **params)
        return pick(r), rt
    query = [("Action", action), ("Version", EC2_API_VERSION)]
    for k, v in params.items():
        _flatten(_RAW_NAMES.get(k, k) if action == "CreateSecurityGroup" else k, v, query)
    status, data, rt = client.request(query)
    client._check(status, data, action)
    tag = _RAW_ID.get(action)
    if tag is None:
        return None, rt
    m = re.search(rb"<" + tag + rb">([^<]*)</" + tag + rb">", data)
    return (m.group(1).decode() if m else None), rt


def describe(client, action: str, filters: list | None = None):
    """All pages of a Describe; returns (items, total_rt, pages)."""
    method, key, tag = _DESCRIBE[action]
    count, rt_total, pages, token = 0, 0.0, 0, None
    while True:
        if client.name == "boto3":
            kw = {"Filters": filters} if filters else {}
            if token:
                kw["NextToken"] = token
            r, rt = client._call(getattr(client.client, method), **kw)
            count += len(r.get(key, []))
            token = r.get("NextToken")
        else:
            query = [("Action", action), ("Version", EC2_API_VERSION)]
            _flatten("Filter", filters or [], query)
            query = [(k.replace(".Values.", ".Value."), v) for k, v in query]
            if token:
                query.append(("NextToken", token))
            status, data, rt = client.request(query)
            client._check(status, data, action)
            count += data.count(tag)
            m = re.search(rb"<nextToken>([^<]+)</nextToken>", data)
            token = m.group(1).decode() if m else None
        rt_total += rt
        pages += 1
        if not token:
            return count, rt_total, pages


# --------------------------------------------------------------------------
# Building one VPC of the model
# --------------------------------------------------------------------------


def build_vpc(client, i: int, shape: dict, batched: bool, log: dict):
    """Builds VPC i (10.i.0.0/16) and its children; appends (e2e_s, rt_s) per call to
    log[action]. Returns (vpc_id, summed http round trips)."""
    total_rt = 0.0

    def timed(action, **params):
        nonlocal total_rt
        t0 = time.perf_counter()
        out, rt = call(client, action, params)
        log.setdefault(action, []).append((time.perf_counter() - t0, rt))
        total_rt += rt
        return out

    vpc = timed("CreateVpc", CidrBlock=f"10.{i}.0.0/16")
    for k in range(shape["subnets"]):
        timed("CreateSubnet", VpcId=vpc, CidrBlock=f"10.{i}.{k}.0/24")
    for _ in range(shape["tables"]):
        timed("CreateRouteTable", VpcId=vpc)
    perms = rules(shape)
    for j in range(shape["groups"]):
        group = timed("CreateSecurityGroup", GroupName=f"model-{i}-{j}",
                      Description=f"model group {j} of VPC {i}", VpcId=vpc)
        if batched:
            timed("AuthorizeSecurityGroupIngress", GroupId=group, IpPermissions=perms)
        else:
            for p in perms:
                timed("AuthorizeSecurityGroupIngress", GroupId=group, IpPermissions=[p])
    return vpc, total_rt
