"""The issue's acceptance lab: two VPCs built, read back exactly and torn down, through boto3, the
AWS CLI and across two accounts.

VPC 1 (10.0.0.0/16): a public subnet (10.0.1.0/24) and a private one (10.0.2.0/24), an internet
gateway, a NAT gateway in the public subnet with an Elastic IP, one route table per subnet
(public: 0.0.0.0/0 -> IGW; private: 0.0.0.0/0 -> NAT) and a security group allowing SSH and ICMP.
VPC 2 (10.1.0.0/16): public and private subnets, no gateways, the same kind of route tables and
security group. A peering connection requested by VPC 1's owner and accepted by VPC 2's, and in
all four route tables a route to the other VPC through it.

After building, every resource is described and compared whole (CIDRs, states, associations,
every route with its target and state, every rule, the NAT's address, the peering's two sides,
the tags put on everything); then the lab is torn down in dependency order and nothing of it may
be left. Another test checks the dependency-order refusals on the lab and that routes turn
`blackhole` when their peering connection or NAT gateway goes away.

Accounts may have other VPCs (a default VPC, other tests'): every Describe is narrowed to the
lab's own IDs.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from dataclasses import dataclass, field

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from conftest import AwsCliError, Creds, error_code, unique

REGION = "us-east-1"
AZ = "us-east-1a"
ANYWHERE = "0.0.0.0/0"
WAIT_SECONDS = 60.0

VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
NAT_ID = re.compile(r"^nat-[0-9a-f]{8}([0-9a-f]{9})?$")
PCX_ID = re.compile(r"^pcx-[0-9a-f]{8}([0-9a-f]{9})?$")
ENI_ID = re.compile(r"^eni-[0-9a-f]{8}([0-9a-f]{9})?$")
EIP_ASSOC_ID = re.compile(r"^eipassoc-[0-9a-f]{8}([0-9a-f]{9})?$")
RTB_ASSOC_ID = re.compile(r"^rtbassoc-[0-9a-f]{8}([0-9a-f]{9})?$")


# --------------------------------------------------------------------------------------------
# One way to call EC2 for the whole lab: boto3, or the AWS CLI with the same names and values
# --------------------------------------------------------------------------------------------


class Ec2:
    """EC2 through boto3 (`cli=False`) or the real AWS CLI (`cli=True`), called alike:
    `ec2("create_vpc", CidrBlock=...)` -> the response as a dict. CLI arguments are built from
    the parameter names (`VpcPeeringConnectionId` -> `--vpc-peering-connection-id`); strings and
    numbers are passed as they are, lists of strings as several values, structures as JSON, and
    booleans (also AWS's `{"Value": bool}` attribute structures) as `--flag`/`--no-flag`."""

    def __init__(self, nubo, creds: Creds | None = None, cli: bool = False):
        self.nubo, self.creds, self.cli = nubo, creds or nubo.admin, cli
        self.client = nubo.client("ec2", self.creds)
        self.account_id = self.creds.account_id

    def __call__(self, op: str, **params) -> dict:
        if not self.cli:
            out = getattr(self.client, op)(**params)
            out.pop("ResponseMetadata", None)
            return out
        return self.nubo.aws("ec2", op.replace("_", "-"), *cli_args(params), creds=self.creds)

    def error(self, code: str, op: str, **params) -> None:
        """Call and assert it fails with exactly this AWS error code."""
        try:
            self(op, **params)
        except ClientError as exc:
            got = error_code(exc)
        except AwsCliError as exc:
            got = exc.code
        else:
            pytest.fail(f"{op}({params}) succeeded; expected {code}")
        assert got == code, f"{op}({params}): expected {code}, got {got}"


def cli_args(params: dict) -> list[str]:
    args: list[str] = []
    for name, value in params.items():
        flag = "--" + xform_name(name, "-")
        if isinstance(value, dict) and set(value) == {"Value"} and isinstance(value["Value"], bool):
            value = value["Value"]
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            args += [flag, *value]
        elif isinstance(value, (list, dict)):
            args += [flag, json.dumps(value)]
        else:
            args += [flag, str(value)]
    return args


def wait_for(what: str, probe, timeout: float = WAIT_SECONDS):
    """Poll probe() until it returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


# --------------------------------------------------------------------------------------------
# The lab
# --------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One VPC of the lab and everything in it (the IDs are filled in as it is built)."""

    role: str                  # "vpc1" / "vpc2"
    cidr: str
    public_cidr: str
    private_cidr: str
    gateways: bool             # VPC 1 has the IGW, the EIP and the NAT gateway
    ec2: Ec2 | None = None
    vpc: str = ""
    public: str = ""
    private: str = ""
    public_rtb: str = ""
    private_rtb: str = ""
    public_assoc: str = ""
    private_assoc: str = ""
    sg: str = ""
    igw: str = ""
    eip: str = ""
    public_ip: str = ""
    nat: str = ""


@dataclass
class Lab:
    name: str
    one: Side
    two: Side
    pcx: str = ""
    created: list = field(default_factory=list)  # (side, kind, id) in creation order

    def tags(self, role: str) -> list[dict]:
        return [{"Key": "lab", "Value": self.name}, {"Key": "Name", "Value": f"{self.name}-{role}"}]

    def spec(self, resource_type: str, role: str) -> list[dict]:
        return [{"ResourceType": resource_type, "Tags": self.tags(role)}]

    def expected_tags(self, role: str) -> dict:
        return {"lab": self.name, "Name": f"{self.name}-{role}"}


def new_lab(one: Ec2, two: Ec2) -> Lab:
    return Lab(unique("lab"),
               Side("vpc1", "10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24", True, one),
               Side("vpc2", "10.1.0.0/16", "10.1.1.0/24", "10.1.2.0/24", False, two))


def tagmap(resource: dict) -> dict:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def build_side(lab: Lab, s: Side) -> None:
    ec2, r = s.ec2, s.role
    s.vpc = ec2("create_vpc", CidrBlock=s.cidr,
                TagSpecifications=lab.spec("vpc", r))["Vpc"]["VpcId"]
    lab.created.append((s, "vpc", s.vpc))
    for attr, cidr, kind in (("public", s.public_cidr, "public"),
                             ("private", s.private_cidr, "private")):
        sid = ec2("create_subnet", VpcId=s.vpc, CidrBlock=cidr, AvailabilityZone=AZ,
                  TagSpecifications=lab.spec("subnet", f"{r}-{kind}"))["Subnet"]["SubnetId"]
        setattr(s, attr, sid)
        lab.created.append((s, "subnet", sid))
    ec2("modify_subnet_attribute", SubnetId=s.public, MapPublicIpOnLaunch={"Value": True})

    if s.gateways:
        s.igw = ec2("create_internet_gateway", TagSpecifications=lab.spec(
            "internet-gateway", f"{r}-igw"))["InternetGateway"]["InternetGatewayId"]
        lab.created.append((s, "igw", s.igw))
        ec2("attach_internet_gateway", InternetGatewayId=s.igw, VpcId=s.vpc)
        address = ec2("allocate_address", Domain="vpc",
                      TagSpecifications=lab.spec("elastic-ip", f"{r}-eip"))
        s.eip, s.public_ip = address["AllocationId"], address["PublicIp"]
        lab.created.append((s, "eip", s.eip))
        nat = ec2("create_nat_gateway", SubnetId=s.public, AllocationId=s.eip,
                  ConnectivityType="public",
                  TagSpecifications=lab.spec("natgateway", f"{r}-nat"))["NatGateway"]
        s.nat = nat["NatGatewayId"]
        lab.created.append((s, "nat", s.nat))
        assert NAT_ID.match(s.nat), nat
        assert nat["State"] in ("pending", "available"), nat
        assert (nat["SubnetId"], nat["VpcId"]) == (s.public, s.vpc), nat
        wait_for(f"{s.nat} to become available",
                 lambda: nat_gateway(ec2, s.nat)["State"] == "available")

    for attr, subnet, kind in (("public", s.public, "public"), ("private", s.private, "private")):
        rtb = ec2("create_route_table", VpcId=s.vpc, TagSpecifications=lab.spec(
            "route-table", f"{r}-{kind}-rt"))["RouteTable"]["RouteTableId"]
        setattr(s, f"{attr}_rtb", rtb)
        lab.created.append((s, "rtb", rtb))
        assoc = ec2("associate_route_table", RouteTableId=rtb, SubnetId=subnet)["AssociationId"]
        setattr(s, f"{attr}_assoc", assoc)
    if s.gateways:
        ec2("create_route", RouteTableId=s.public_rtb, DestinationCidrBlock=ANYWHERE,
            GatewayId=s.igw)
        ec2("create_route", RouteTableId=s.private_rtb, DestinationCidrBlock=ANYWHERE,
            NatGatewayId=s.nat)

    s.sg = ec2("create_security_group", GroupName=f"{lab.name}-{r}-ssh-icmp",
               Description=f"SSH and ICMP into {r}", VpcId=s.vpc,
               TagSpecifications=lab.spec("security-group", f"{r}-sg"))["GroupId"]
    lab.created.append((s, "sg", s.sg))
    ec2("authorize_security_group_ingress", GroupId=s.sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": ANYWHERE, "Description": "ssh"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1,
         "IpRanges": [{"CidrIp": ANYWHERE, "Description": "ping"}]}])


def peer(lab: Lab) -> None:
    """VPC 1's owner requests, VPC 2's owner accepts, both sides route to the other VPC."""
    one, two = lab.one, lab.two
    cross = one.ec2.account_id != two.ec2.account_id
    request = {"VpcId": one.vpc, "PeerVpcId": two.vpc,
               "TagSpecifications": lab.spec("vpc-peering-connection", "pcx")}
    if cross:
        request["PeerOwnerId"] = two.ec2.account_id
    pcx = one.ec2("create_vpc_peering_connection", **request)["VpcPeeringConnection"]
    lab.pcx = pcx["VpcPeeringConnectionId"]
    lab.created.append((one, "pcx", lab.pcx))
    assert PCX_ID.match(lab.pcx), pcx
    assert pcx["Status"]["Code"] in ("initiating-request", "pending-acceptance"), pcx
    wait_for(f"{lab.pcx} to await acceptance", lambda: peering(
        two.ec2, lab.pcx)["Status"]["Code"] == "pending-acceptance")
    if cross:
        # Only the owner of the accepter VPC may accept.
        one.ec2.error("OperationNotPermitted", "accept_vpc_peering_connection",
                      VpcPeeringConnectionId=lab.pcx)
    accepted = two.ec2("accept_vpc_peering_connection",
                       VpcPeeringConnectionId=lab.pcx)["VpcPeeringConnection"]
    assert accepted["VpcPeeringConnectionId"] == lab.pcx
    assert accepted["Status"]["Code"] in ("provisioning", "active"), accepted
    for side in (one, two):
        wait_for(f"{lab.pcx} to be active for {side.role}",
                 lambda side=side: peering(side.ec2, lab.pcx)["Status"]["Code"] == "active")
    for side, other in ((one, two), (two, one)):
        for rtb in (side.public_rtb, side.private_rtb):
            side.ec2("create_route", RouteTableId=rtb, DestinationCidrBlock=other.cidr,
                     VpcPeeringConnectionId=lab.pcx)


def build(lab: Lab) -> None:
    build_side(lab, lab.one)
    build_side(lab, lab.two)
    peer(lab)


# ---- reading back ---------------------------------------------------------------------------


def nat_gateway(ec2: Ec2, nat_id: str) -> dict:
    [nat] = ec2("describe_nat_gateways", NatGatewayIds=[nat_id])["NatGateways"]
    return nat


def peering(ec2: Ec2, pcx_id: str) -> dict:
    [pcx] = ec2("describe_vpc_peering_connections",
                VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"]
    return pcx


def by_vpc(vpc_id: str) -> list[dict]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]


def local(cidr: str) -> dict:
    return {"DestinationCidrBlock": cidr, "GatewayId": "local", "Origin": "CreateRouteTable",
            "State": "active"}


def route(cidr: str, state: str = "active", **target) -> dict:
    return {"DestinationCidrBlock": cidr, **target, "Origin": "CreateRoute", "State": state}


def sorted_routes(routes: list[dict]) -> list[dict]:
    return sorted(routes, key=lambda r: (r.get("DestinationCidrBlock", ""), sorted(r.items())))


def expected_routes(lab: Lab, s: Side, pcx_state: str = "active",
                    nat_state: str = "active") -> dict:
    """{route table id: routes} of one side's two custom tables."""
    other = lab.two if s is lab.one else lab.one
    to_peer = route(other.cidr, pcx_state, VpcPeeringConnectionId=lab.pcx)
    public = [local(s.cidr)] + ([to_peer] if lab.pcx else [])
    private = [local(s.cidr)] + ([to_peer] if lab.pcx else [])
    if s.gateways:
        public.append(route(ANYWHERE, GatewayId=s.igw))
        private.append(route(ANYWHERE, nat_state, NatGatewayId=s.nat))
    return {s.public_rtb: sorted_routes(public), s.private_rtb: sorted_routes(private)}


def check_route_tables(lab: Lab, s: Side, **states) -> None:
    tables = {t["RouteTableId"]: t for t in
              s.ec2("describe_route_tables", Filters=by_vpc(s.vpc))["RouteTables"]}
    [main_id] = [t for t, v in tables.items() if any(a["Main"] for a in v["Associations"])]
    assert set(tables) == {main_id, s.public_rtb, s.private_rtb}, tables
    main = tables[main_id]
    assert main["Routes"] == [local(s.cidr)], main
    [assoc] = main["Associations"]
    assert assoc["Main"] is True and "SubnetId" not in assoc and \
        assoc["AssociationState"] == {"State": "associated"}, main
    want = expected_routes(lab, s, **states)
    for rtb, subnet, assoc_id, kind in ((s.public_rtb, s.public, s.public_assoc, "public"),
                                        (s.private_rtb, s.private, s.private_assoc, "private")):
        t = tables[rtb]
        assert t["VpcId"] == s.vpc and t["OwnerId"] == s.ec2.account_id, t
        assert sorted_routes(t["Routes"]) == want[rtb], (kind, t["Routes"])
        assert RTB_ASSOC_ID.match(assoc_id)
        assert t["Associations"] == [{"Main": False, "RouteTableAssociationId": assoc_id,
                                      "RouteTableId": rtb, "SubnetId": subnet,
                                      "AssociationState": {"State": "associated"}}], t
        assert t["PropagatingVgws"] == [], t
        assert tagmap(t) == lab.expected_tags(f"{s.role}-{kind}-rt"), t
    # The filters a user would reach for find the same tables.
    if lab.pcx:
        assert {t["RouteTableId"] for t in s.ec2("describe_route_tables", Filters=by_vpc(s.vpc) + [
            {"Name": "route.vpc-peering-connection-id", "Values": [lab.pcx]}])["RouteTables"]} \
            == {s.public_rtb, s.private_rtb}


def check_vpc_and_subnets(lab: Lab, s: Side) -> None:
    ec2 = s.ec2
    [vpc] = ec2("describe_vpcs", VpcIds=[s.vpc])["Vpcs"]
    assert VPC_ID.match(s.vpc)
    assert (vpc["CidrBlock"], vpc["State"], vpc["IsDefault"], vpc["InstanceTenancy"],
            vpc["OwnerId"]) == (s.cidr, "available", False, "default", ec2.account_id), vpc
    assert [(a["CidrBlock"], a["CidrBlockState"]) for a in vpc["CidrBlockAssociationSet"]] == \
        [(s.cidr, {"State": "associated"})], vpc
    assert tagmap(vpc) == lab.expected_tags(s.role), vpc

    subnets = {x["SubnetId"]: x for x in
               ec2("describe_subnets", Filters=by_vpc(s.vpc))["Subnets"]}
    assert set(subnets) == {s.public, s.private}, subnets
    for sid, cidr, kind, public in ((s.public, s.public_cidr, "public", True),
                                    (s.private, s.private_cidr, "private", False)):
        x = subnets[sid]
        # A /24 has 256 addresses, AWS reserves 5; the NAT gateway's interface takes one more.
        free = 251 - (1 if s.gateways and public else 0)
        assert (x["VpcId"], x["CidrBlock"], x["AvailabilityZone"], x["State"],
                x["AvailableIpAddressCount"], x["MapPublicIpOnLaunch"], x["DefaultForAz"],
                x["OwnerId"]) == (s.vpc, cidr, AZ, "available", free, public, False,
                                  ec2.account_id), x
        assert tagmap(x) == lab.expected_tags(f"{s.role}-{kind}"), x
    # The VPC's default network ACL holds both subnets.
    [acl] = ec2("describe_network_acls", Filters=by_vpc(s.vpc))["NetworkAcls"]
    assert acl["IsDefault"] is True and acl["OwnerId"] == ec2.account_id, acl
    assert sorted(a["SubnetId"] for a in acl["Associations"]) == sorted([s.public, s.private]), acl


def rule_key(p: dict):
    return (p["IpProtocol"], p.get("FromPort", 0), p.get("ToPort", 0))


def check_security_groups(lab: Lab, s: Side) -> None:
    ec2 = s.ec2
    groups = {g["GroupId"]: g for g in
              ec2("describe_security_groups", Filters=by_vpc(s.vpc))["SecurityGroups"]}
    names = {g["GroupName"]: gid for gid, g in groups.items()}
    assert set(names) == {"default", f"{lab.name}-{s.role}-ssh-icmp"}, names
    g = groups[s.sg]
    assert (g["GroupName"], g["Description"], g["VpcId"], g["OwnerId"]) == (
        f"{lab.name}-{s.role}-ssh-icmp", f"SSH and ICMP into {s.role}", s.vpc, ec2.account_id), g
    assert sorted(g["IpPermissions"], key=rule_key) == [
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "UserIdGroupPairs": [],
         "IpRanges": [{"CidrIp": ANYWHERE, "Description": "ping"}], "Ipv6Ranges": [],
         "PrefixListIds": []},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [],
         "IpRanges": [{"CidrIp": ANYWHERE, "Description": "ssh"}], "Ipv6Ranges": [],
         "PrefixListIds": []}], g
    assert g["IpPermissionsEgress"] == [
        {"IpProtocol": "-1", "UserIdGroupPairs": [], "IpRanges": [{"CidrIp": ANYWHERE}],
         "Ipv6Ranges": [], "PrefixListIds": []}], g
    assert tagmap(g) == lab.expected_tags(f"{s.role}-sg"), g
    rules = ec2("describe_security_group_rules",
                Filters=[{"Name": "group-id", "Values": [s.sg]}])["SecurityGroupRules"]
    assert sorted((r["IsEgress"], r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIpv4"],
                   r.get("Description"), r["GroupOwnerId"]) for r in rules) == sorted([
        (False, "tcp", 22, 22, ANYWHERE, "ssh", ec2.account_id),
        (False, "icmp", -1, -1, ANYWHERE, "ping", ec2.account_id),
        (True, "-1", -1, -1, ANYWHERE, None, ec2.account_id)]), rules


def check_gateways(lab: Lab, s: Side) -> None:
    ec2 = s.ec2
    igws = ec2("describe_internet_gateways", Filters=[
        {"Name": "attachment.vpc-id", "Values": [s.vpc]}])["InternetGateways"]
    nats = ec2("describe_nat_gateways", Filter=by_vpc(s.vpc))["NatGateways"]
    if not s.gateways:
        assert igws == [] and nats == [], (igws, nats)
        return
    [igw] = igws
    assert igw["InternetGatewayId"] == s.igw and igw["OwnerId"] == ec2.account_id, igw
    assert igw["Attachments"] == [{"State": "available", "VpcId": s.vpc}], igw
    assert tagmap(igw) == lab.expected_tags(f"{s.role}-igw"), igw

    [nat] = nats
    assert (nat["NatGatewayId"], nat["State"], nat["SubnetId"], nat["VpcId"],
            nat["ConnectivityType"]) == (s.nat, "available", s.public, s.vpc, "public"), nat
    assert nat.get("CreateTime") and "DeleteTime" not in nat and "FailureCode" not in nat, nat
    assert tagmap(nat) == lab.expected_tags(f"{s.role}-nat"), nat
    [addr] = nat["NatGatewayAddresses"]
    private_ip = ipaddress.ip_address(addr["PrivateIp"])
    subnet = ipaddress.ip_network(s.public_cidr)
    hosts = list(subnet.hosts())
    # AWS reserves the first four addresses and the last one of every subnet.
    assert private_ip in subnet and hosts[3] <= private_ip < subnet.broadcast_address, addr
    assert (addr["AllocationId"], addr["PublicIp"], addr["IsPrimary"], addr["Status"]) == (
        s.eip, s.public_ip, True, "succeeded"), addr
    assert ENI_ID.match(addr["NetworkInterfaceId"]) and EIP_ASSOC_ID.match(
        addr["AssociationId"]), addr

    # The Elastic IP is mapped to the NAT gateway's interface ...
    [eip] = ec2("describe_addresses", AllocationIds=[s.eip])["Addresses"]
    assert (eip["PublicIp"], eip["Domain"], eip["AssociationId"], eip["NetworkInterfaceId"],
            eip["PrivateIpAddress"]) == (s.public_ip, "vpc", addr["AssociationId"],
                                         addr["NetworkInterfaceId"], addr["PrivateIp"]), eip
    assert tagmap(eip) == lab.expected_tags(f"{s.role}-eip"), eip
    # ... a requester-managed interface in the public subnet, AWS's `nat_gateway` type.
    [eni] = ec2("describe_network_interfaces",
                NetworkInterfaceIds=[addr["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert (eni["SubnetId"], eni["VpcId"], eni["PrivateIpAddress"], eni["InterfaceType"],
            eni["RequesterManaged"], eni["Status"]) == (
        s.public, s.vpc, addr["PrivateIp"], "nat_gateway", True, "in-use"), eni
    assert s.nat in eni["Description"], eni
    assert eni["Association"]["PublicIp"] == s.public_ip, eni
    # The NAT's interface is the only one in the lab.
    assert [e["NetworkInterfaceId"] for e in ec2("describe_network_interfaces",
                                                 Filters=by_vpc(s.vpc))["NetworkInterfaces"]] \
        == [addr["NetworkInterfaceId"]]


def check_peering(lab: Lab, s: Side) -> None:
    ec2, one, two = s.ec2, lab.one, lab.two
    pcx = peering(ec2, lab.pcx)
    assert pcx["Status"]["Code"] == "active" and pcx["Status"].get("Message"), pcx
    for info, side in ((pcx["RequesterVpcInfo"], one), (pcx["AccepterVpcInfo"], two)):
        assert (info["VpcId"], info["OwnerId"], info["CidrBlock"], info["Region"]) == (
            side.vpc, side.ec2.account_id, side.cidr, REGION), pcx
        assert info["CidrBlockSet"] == [{"CidrBlock": side.cidr}], pcx
    if s is one:  # the requester tagged it
        assert tagmap(pcx) == lab.expected_tags("pcx"), pcx
    for name, vpc in (("requester-vpc-info.vpc-id", one.vpc), ("accepter-vpc-info.vpc-id", two.vpc)):
        found = ec2("describe_vpc_peering_connections", Filters=[
            {"Name": name, "Values": [vpc]},
            {"Name": "status-code", "Values": ["active"]}])["VpcPeeringConnections"]
        assert [p["VpcPeeringConnectionId"] for p in found] == [lab.pcx], (name, found)


def check_tags(lab: Lab, ec2: Ec2, sides: list[Side]) -> None:
    """DescribeTags finds every resource the lab tagged, with AWS's resource types."""
    kinds = {"vpc": "vpc", "subnet": "subnet", "igw": "internet-gateway", "eip": "elastic-ip",
             "nat": "natgateway", "rtb": "route-table", "sg": "security-group",
             "pcx": "vpc-peering-connection"}
    want = {(rid, kinds[kind]) for side, kind, rid in lab.created if side in sides}
    tags = ec2("describe_tags", Filters=[{"Name": "key", "Values": ["lab"]},
                                         {"Name": "value", "Values": [lab.name]}])["Tags"]
    assert {(t["ResourceId"], t["ResourceType"]) for t in tags} == want, tags


def check(lab: Lab) -> None:
    """Read the whole lab back from each owner's point of view."""
    for s in (lab.one, lab.two):
        check_vpc_and_subnets(lab, s)
        check_gateways(lab, s)
        check_route_tables(lab, s)
        check_security_groups(lab, s)
        check_peering(lab, s)
    if lab.one.ec2.account_id == lab.two.ec2.account_id:
        check_tags(lab, lab.one.ec2, [lab.one, lab.two])
    else:
        check_tags(lab, lab.one.ec2, [lab.one])
        check_tags(lab, lab.two.ec2, [lab.two])


# ---- tearing down ---------------------------------------------------------------------------


def delete_peering(lab: Lab) -> None:
    lab.one.ec2("delete_vpc_peering_connection", VpcPeeringConnectionId=lab.pcx)
    wait_for(f"{lab.pcx} to be deleted", lambda: peering_gone(lab.one.ec2, lab.pcx))


def peering_gone(ec2: Ec2, pcx_id: str) -> bool:
    """AWS keeps a deleted peering connection visible as `deleted` for a while."""
    found = ec2("describe_vpc_peering_connections", Filters=[
        {"Name": "vpc-peering-connection-id", "Values": [pcx_id]}])["VpcPeeringConnections"]
    return all(p["Status"]["Code"] == "deleted" for p in found)


def delete_nat(s: Side) -> None:
    s.ec2("delete_nat_gateway", NatGatewayId=s.nat)
    wait_for(f"{s.nat} to be deleted", lambda: nat_gone(s.ec2, s.nat))


def nat_gone(ec2: Ec2, nat_id: str) -> bool:
    """AWS keeps a deleted NAT gateway visible as `deleted` for about an hour."""
    found = ec2("describe_nat_gateways", Filter=[
        {"Name": "nat-gateway-id", "Values": [nat_id]}])["NatGateways"]
    return all(n["State"] == "deleted" for n in found)


def teardown_side(s: Side, gateways_gone: bool = False) -> None:
    ec2 = s.ec2
    if s.gateways and not gateways_gone:
        if s.nat:
            delete_nat(s)
        if s.eip:
            ec2("release_address", AllocationId=s.eip)
        if s.igw:
            ec2("detach_internet_gateway", InternetGatewayId=s.igw, VpcId=s.vpc)
            ec2("delete_internet_gateway", InternetGatewayId=s.igw)
    for assoc, rtb in ((s.public_assoc, s.public_rtb), (s.private_assoc, s.private_rtb)):
        if assoc:
            ec2("disassociate_route_table", AssociationId=assoc)
        if rtb:
            ec2("delete_route_table", RouteTableId=rtb)
    if s.sg:
        ec2("delete_security_group", GroupId=s.sg)
    for subnet in (s.public, s.private):
        if subnet:
            ec2("delete_subnet", SubnetId=subnet)
    if s.vpc:
        ec2("delete_vpc", VpcId=s.vpc)


def teardown(lab: Lab, peering_gone_already: bool = False,
             gateways_gone: bool = False) -> None:
    if not peering_gone_already:
        delete_peering(lab)
    teardown_side(lab.one, gateways_gone)
    teardown_side(lab.two)


def check_nothing_left(lab: Lab) -> None:
    for s in (lab.one, lab.two):
        ec2 = s.ec2
        ec2.error("InvalidVpcID.NotFound", "describe_vpcs", VpcIds=[s.vpc])
        assert ec2("describe_vpcs", Filters=[{"Name": "vpc-id", "Values": [s.vpc]}])["Vpcs"] == []
        for op, key in (("describe_subnets", "Subnets"), ("describe_route_tables", "RouteTables"),
                        ("describe_security_groups", "SecurityGroups"),
                        ("describe_network_acls", "NetworkAcls"),
                        ("describe_network_interfaces", "NetworkInterfaces")):
            assert ec2(op, Filters=by_vpc(s.vpc))[key] == [], op
        assert ec2("describe_internet_gateways", Filters=[
            {"Name": "attachment.vpc-id", "Values": [s.vpc]}])["InternetGateways"] == []
        assert all(n["State"] == "deleted" for n in
                   ec2("describe_nat_gateways", Filter=by_vpc(s.vpc))["NatGateways"])
        if s.gateways:
            ec2.error("InvalidInternetGatewayID.NotFound", "describe_internet_gateways",
                      InternetGatewayIds=[s.igw])
            ec2.error("InvalidAllocationID.NotFound", "describe_addresses", AllocationIds=[s.eip])
        # Deleted NAT gateways and peering connections stay visible (as `deleted`) for a while
        # on AWS, with their tags; everything else must be gone.
        left = ec2("describe_tags", Filters=[{"Name": "key", "Values": ["lab"]},
                                             {"Name": "value", "Values": [lab.name]}])["Tags"]
        assert [t for t in left if t["ResourceType"] not in
                ("natgateway", "vpc-peering-connection")] == [], left
        assert peering_gone(ec2, lab.pcx)


def force_teardown(lab: Lab) -> None:
    """After a failure: delete whatever was created, newest first, ignoring errors."""
    for side, kind, rid in reversed(lab.created):
        ec2 = side.ec2
        steps = {
            "pcx": [lambda: ec2("delete_vpc_peering_connection", VpcPeeringConnectionId=rid)],
            "nat": [lambda: ec2("delete_nat_gateway", NatGatewayId=rid),
                    lambda: wait_for("NAT deletion", lambda: nat_gone(ec2, rid), 30)],
            "eip": [lambda: ec2("release_address", AllocationId=rid)],
            "igw": [lambda: ec2("detach_internet_gateway", InternetGatewayId=rid,
                                VpcId=side.vpc),
                    lambda: ec2("delete_internet_gateway", InternetGatewayId=rid)],
            "rtb": [lambda: [ec2("disassociate_route_table", AssociationId=a) for a in
                             (side.public_assoc, side.private_assoc) if a],
                    lambda: ec2("delete_route_table", RouteTableId=rid)],
            "sg": [lambda: ec2("delete_security_group", GroupId=rid)],
            "subnet": [lambda: ec2("delete_subnet", SubnetId=rid)],
            "vpc": [lambda: ec2("delete_vpc", VpcId=rid)],
        }[kind]
        for step in steps:
            try:
                step()
            except (ClientError, AwsCliError, pytest.fail.Exception):
                pass


@pytest.fixture
def lab_guard():
    """Registers a lab to be force-deleted if the test does not tear it down itself."""
    labs: list[Lab] = []
    yield labs.append
    for lab in labs:
        if lab.created:
            force_teardown(lab)


def run_lab(lab: Lab) -> None:
    build(lab)
    check(lab)
    teardown(lab)
    lab.created = []  # torn down: nothing left for the guard
    check_nothing_left(lab)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------



def test_two_vpc_lab_with_boto3(nubo, lab_guard):
    ec2 = Ec2(nubo)
    lab = new_lab(ec2, ec2)
    lab_guard(lab)
    run_lab(lab)


def test_two_vpc_lab_with_the_aws_cli(nubo, lab_guard):
    ec2 = Ec2(nubo, cli=True)
    lab = new_lab(ec2, ec2)
    lab_guard(lab)
    run_lab(lab)


def test_two_vpc_lab_across_two_accounts(nubo, needs_own_server, lab_guard):
    owner_one = nubo.new_account()
    owner_two = nubo.new_account()
    stranger = Ec2(nubo, nubo.new_account().creds)
    lab = new_lab(Ec2(nubo, owner_one.creds), Ec2(nubo, owner_two.creds))
    lab_guard(lab)
    build_side(lab, lab.one)
    build_side(lab, lab.two)
    # Neither owner sees the other's VPC except through the peering connection.
    lab.one.ec2.error("InvalidVpcID.NotFound", "describe_vpcs", VpcIds=[lab.two.vpc])
    lab.two.ec2.error("InvalidVpcID.NotFound", "describe_vpcs", VpcIds=[lab.one.vpc])
    peer(lab)
    # A third account neither sees nor can accept or delete it.
    stranger.error("InvalidVpcPeeringConnectionID.NotFound", "describe_vpc_peering_connections",
                   VpcPeeringConnectionIds=[lab.pcx])
    stranger.error("InvalidVpcPeeringConnectionID.NotFound", "accept_vpc_peering_connection",
                   VpcPeeringConnectionId=lab.pcx)
    stranger.error("InvalidVpcPeeringConnectionID.NotFound", "delete_vpc_peering_connection",
                   VpcPeeringConnectionId=lab.pcx)
    # A route in one account's table cannot point at the other account's NAT gateway.
    lab.two.ec2.error("InvalidNatGatewayID.NotFound", "create_route",
                      RouteTableId=lab.two.private_rtb, DestinationCidrBlock=ANYWHERE,
                      NatGatewayId=lab.one.nat)
    check(lab)
    # The accepter's routes go blackhole when the requester deletes the connection.
    delete_peering(lab)
    for s in (lab.one, lab.two):
        check_route_tables(lab, s, pcx_state="blackhole")
    teardown(lab, peering_gone_already=True)
    lab.created = []
    check_nothing_left(lab)


def test_lab_dependency_order_and_blackholes(nubo, lab_guard):
    ec2 = Ec2(nubo)
    lab = new_lab(ec2, ec2)
    lab_guard(lab)
    build(lab)
    one = lab.one
    # Each of these is refused while its dependents exist, and changes nothing.
    ec2.error("DependencyViolation", "delete_vpc", VpcId=one.vpc)
    ec2.error("DependencyViolation", "delete_vpc", VpcId=lab.two.vpc)
    ec2.error("DependencyViolation", "detach_internet_gateway", InternetGatewayId=one.igw,
              VpcId=one.vpc)  # the NAT gateway's Elastic IP is still mapped
    ec2.error("DependencyViolation", "delete_internet_gateway", InternetGatewayId=one.igw)
    ec2.error("DependencyViolation", "delete_subnet", SubnetId=one.public)  # holds the NAT
    ec2.error("DependencyViolation", "delete_route_table", RouteTableId=one.private_rtb)
    # A peering connection between overlapping VPCs is created `failed` (AWS) and cannot be
    # accepted.
    overlap = ec2("create_vpc", CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    try:
        failed = ec2("create_vpc_peering_connection", VpcId=one.vpc,
                     PeerVpcId=overlap)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
        wait_for("the overlapping peering to fail",
                 lambda: peering(ec2, failed)["Status"]["Code"] == "failed")
        ec2.error("InvalidStateTransition", "accept_vpc_peering_connection",
                  VpcPeeringConnectionId=failed)
    finally:
        ec2("delete_vpc", VpcId=overlap)
    check(lab)

    # Deleting the peering connection blackholes the routes through it, in all four tables.
    delete_peering(lab)
    for s in (lab.one, lab.two):
        check_route_tables(lab, s, pcx_state="blackhole")
        assert {t["RouteTableId"] for t in ec2("describe_route_tables", Filters=by_vpc(s.vpc) + [
            {"Name": "route.state", "Values": ["blackhole"]}])["RouteTables"]} == {
            s.public_rtb, s.private_rtb}

    # Deleting the NAT gateway blackholes the private default route and unmaps the address.
    delete_nat(one)
    check_route_tables(lab, one, pcx_state="blackhole", nat_state="blackhole")
    [eip] = ec2("describe_addresses", AllocationIds=[one.eip])["Addresses"]
    assert "AssociationId" not in eip and "NetworkInterfaceId" not in eip, eip
    assert ec2("describe_network_interfaces", Filters=by_vpc(one.vpc))["NetworkInterfaces"] == []
    # With the address unmapped, the gateway detaches, and the route to it goes blackhole.
    ec2("detach_internet_gateway", InternetGatewayId=one.igw, VpcId=one.vpc)
    [public_table] = ec2("describe_route_tables", RouteTableIds=[one.public_rtb])["RouteTables"]
    assert route(ANYWHERE, "blackhole", GatewayId=one.igw) in public_table["Routes"]
    ec2("delete_internet_gateway", InternetGatewayId=one.igw)
    ec2("release_address", AllocationId=one.eip)
    teardown(lab, peering_gone_already=True, gateways_gone=True)
    lab.created = []
    check_nothing_left(lab)
