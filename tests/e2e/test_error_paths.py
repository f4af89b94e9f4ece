"""Error paths from the issue's list that the per-family files do not cover yet: a NAT gateway's
address outside its subnet or in AWS's reserved range, a NAT gateway in an exhausted subnet, an
Elastic IP mapped to an address its interface does not hold, and releasing an Elastic IP that
is still mapped. Each refused call changes nothing.

(Malformed and unknown IDs are in test_malformed_ids.py; the NAT gateway / peering dependency
refusals on a whole lab in test_vpc_lab.py.)
"""

import pytest
from conftest import expect_error
from test_vpc_lab import wait_for


@pytest.fixture
def net(ec2, cleanup):
    """A VPC with an attached internet gateway, a /28 subnet and an Elastic IP."""
    vpc = ec2.create_vpc(CidrBlock="10.93.0.0/16")["Vpc"]["VpcId"]
    cleanup(lambda: ec2.delete_vpc(VpcId=vpc))
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    cleanup(lambda: ec2.delete_internet_gateway(InternetGatewayId=igw))
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    cleanup(lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc))
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.93.0.0/28")["Subnet"]["SubnetId"]
    cleanup(lambda: ec2.delete_subnet(SubnetId=subnet))
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    cleanup(lambda: ec2.release_address(AllocationId=eip))
    return {"vpc": vpc, "subnet": subnet, "eip": eip}


def nat_ids(ec2, vpc) -> list:
    return [n["NatGatewayId"] for n in ec2.describe_nat_gateways(
        Filter=[{"Name": "vpc-id", "Values": [vpc]}])["NatGateways"]]


def free_addresses(ec2, subnet) -> int:
    [s] = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"]
    return s["AvailableIpAddressCount"]


@pytest.mark.parametrize("address", [
    "10.93.1.5",     # another subnet's range in the same VPC
    "10.94.0.5",     # outside the VPC
    "10.93.0.0",     # the network address
    "10.93.0.1",     # AWS's reserved: router, DNS, future use
    "10.93.0.3",
    "10.93.0.15",    # the broadcast address
])
def test_nat_gateway_address_outside_its_subnet_or_reserved(ec2, net, address):
    expect_error("InvalidParameterValue", ec2.create_nat_gateway, SubnetId=net["subnet"],
                 AllocationId=net["eip"], PrivateIpAddress=address)
    assert nat_ids(ec2, net["vpc"]) == []
    assert free_addresses(ec2, net["subnet"]) == 11


def test_nat_gateway_in_an_exhausted_subnet_fails(ec2, net, cleanup):
    enis = []
    while True:
        try:
            eni = ec2.create_network_interface(SubnetId=net["subnet"])["NetworkInterface"]
        except Exception as exc:  # noqa: BLE001
            assert exc.response["Error"]["Code"] == "InsufficientFreeAddressesInSubnet", exc
            break
        enis.append(eni["NetworkInterfaceId"])
        cleanup(lambda e=eni["NetworkInterfaceId"]: ec2.delete_network_interface(
            NetworkInterfaceId=e))
    assert len(enis) == 11 and free_addresses(ec2, net["subnet"]) == 0
    # AWS accepts the request and the gateway fails: state `failed`, with the reason.
    nat = ec2.create_nat_gateway(SubnetId=net["subnet"], AllocationId=net["eip"])["NatGateway"]
    cleanup(lambda: ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"]))
    failed = wait_for("the NAT gateway to fail", lambda: [
        n for n in ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"]
        if n["State"] == "failed"])
    assert failed[0]["FailureCode"] == "InsufficientFreeAddressesInSubnet", failed
    assert failed[0]["FailureMessage"], failed
    # It holds nothing: no address, no interface, the Elastic IP stays free.
    assert free_addresses(ec2, net["subnet"]) == 0
    [eip] = ec2.describe_addresses(AllocationIds=[net["eip"]])["Addresses"]
    assert "AssociationId" not in eip, eip
    assert {e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(Filters=[
        {"Name": "subnet-id", "Values": [net["subnet"]]}])["NetworkInterfaces"]} == set(enis)


def test_elastic_ip_mapping_errors(ec2, net, cleanup):
    eni = ec2.create_network_interface(SubnetId=net["subnet"],
                                       PrivateIpAddress="10.93.0.10")["NetworkInterface"]
    eni_id = eni["NetworkInterfaceId"]
    cleanup(lambda: ec2.delete_network_interface(NetworkInterfaceId=eni_id))
    # An address the interface does not hold, even inside its subnet.
    expect_error("InvalidParameterValue", ec2.associate_address, AllocationId=net["eip"],
                 NetworkInterfaceId=eni_id, PrivateIpAddress="10.93.0.11")
    [eip] = ec2.describe_addresses(AllocationIds=[net["eip"]])["Addresses"]
    assert "AssociationId" not in eip, eip
    assoc = ec2.associate_address(AllocationId=net["eip"], NetworkInterfaceId=eni_id,
                                  PrivateIpAddress="10.93.0.10")["AssociationId"]
    cleanup(lambda: ec2.disassociate_address(AssociationId=assoc))
    # A mapped address cannot be released; unmapped, it can.
    expect_error("InvalidIPAddress.InUse", ec2.release_address, AllocationId=net["eip"])
    [eip] = ec2.describe_addresses(AllocationIds=[net["eip"]])["Addresses"]
    assert (eip["AssociationId"], eip["NetworkInterfaceId"], eip["PrivateIpAddress"]) == (
        assoc, eni_id, "10.93.0.10"), eip
    ec2.disassociate_address(AssociationId=assoc)
    expect_error("InvalidAssociationID.NotFound", ec2.disassociate_address, AssociationId=assoc)
    [eip] = ec2.describe_addresses(AllocationIds=[net["eip"]])["Addresses"]
    assert "AssociationId" not in eip and "NetworkInterfaceId" not in eip, eip
