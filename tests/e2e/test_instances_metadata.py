"""The instance metadata service, seen from inside instances: each instance reads its own
values (and only its own), IMDSv2 sessions, `HttpTokens=required` refusing requests without a
token, and ModifyInstanceMetadataOptions."""

import json

from conftest import expect_error, unique
from instance_support import (  # noqa: F401  (fixtures)
    base_image, describe, hostname_for, imds, launch, make_network, network, run, running,
    user_data_script, wait_exec_ready, wait_state, wait_until)

MD = "/latest/meta-data"
TTL = {"X-aws-ec2-metadata-token-ttl-seconds": "300"}


def token_for(nubo, iid) -> str:
    status, token = imds(nubo, iid, "/latest/api/token", method="PUT", headers=TTL)
    assert status == 200 and token, (status, token)
    return token


def test_metadata_answers_with_the_instances_own_values(nubo, ec2, network, launch, cleanup,
                                                         base_image):
    key = unique("key")
    ec2.create_key_pair(KeyName=key)
    cleanup(lambda: ec2.delete_key_pair(KeyName=key))
    script = user_data_script("echo hello")
    resp = launch(MinCount=2, KeyName=key, UserData=script)
    ids = [i["InstanceId"] for i in resp["Instances"]]
    wait_state(ec2, ids, "running")
    for iid in ids:
        wait_exec_ready(nubo, iid)
        desc = describe(ec2, iid)
        ip, mac = desc["PrivateIpAddress"], desc["NetworkInterfaces"][0]["MacAddress"]

        def get(path):
            status, body = imds(nubo, iid, MD + path)
            assert status == 200, (path, status, body)
            return body.strip()

        assert get("/instance-id") == iid
        assert get("/ami-id") == base_image
        assert get("/instance-type") == "t3.nano"
        assert get("/local-ipv4") == ip
        assert get("/local-hostname").split(".")[0] == hostname_for(ip)
        assert get("/hostname").split(".")[0] == hostname_for(ip)
        assert get("/mac") == mac
        assert get("/placement/availability-zone") == "us-east-1a"
        assert get("/placement/region") == "us-east-1"
        assert get("/security-groups").split() == ["default"]
        assert get("/reservation-id") == resp["ReservationId"]
        assert get("/ami-launch-index") == str(desc["AmiLaunchIndex"])
        assert get("/public-keys/") == f"0={key}"
        assert get("/public-keys/0/openssh-key").startswith("ssh-")
        assert f"{mac}/" in get("/network/interfaces/macs/").split()
        nic = f"/network/interfaces/macs/{mac}"
        assert get(nic + "/local-ipv4s").split() == [ip]
        assert get(nic + "/subnet-id") == network.subnet_id
        assert get(nic + "/vpc-id") == network.vpc_id
        assert get(nic + "/interface-id") == desc["NetworkInterfaces"][0]["NetworkInterfaceId"]
        assert get(nic + "/subnet-ipv4-cidr-block") == network.subnet["CidrBlock"]
        assert get(nic + "/security-group-ids").split() == [network.default_group()]
        assert get("/block-device-mapping/").split()  # at least `ami` and `root`
        categories = get("/").split()
        for c in ("ami-id", "instance-id", "instance-type", "local-ipv4", "mac", "placement/",
                  "network/", "public-keys/", "security-groups", "block-device-mapping/"):
            assert c in categories, (c, categories)

        status, user_data = imds(nubo, iid, "/latest/user-data")
        assert status == 200 and user_data == script
        status, doc = imds(nubo, iid, "/latest/dynamic/instance-identity/document")
        assert status == 200
        doc = json.loads(doc)
        assert doc["instanceId"] == iid and doc["imageId"] == base_image
        assert doc["instanceType"] == "t3.nano" and doc["privateIp"] == ip
        assert doc["region"] == "us-east-1" and doc["availabilityZone"] == "us-east-1a"
        assert doc["accountId"] == nubo.admin.account_id
        assert doc["architecture"] == "x86_64"
        # An unknown path is a 404, as on EC2.
        assert imds(nubo, iid, MD + "/no-such-category")[0] == 404


def test_no_user_data_is_404(nubo, running):
    desc = running()
    assert imds(nubo, desc["InstanceId"], "/latest/user-data")[0] == 404


def test_imdsv2_tokens_and_required_mode(nubo, ec2, running):
    desc = running()
    iid = desc["InstanceId"]
    # Optional (the default): v1 and v2 both work.
    assert desc["MetadataOptions"]["HttpTokens"] in ("optional", "required")
    assert desc["MetadataOptions"]["HttpEndpoint"] == "enabled"
    if desc["MetadataOptions"]["HttpTokens"] == "optional":
        assert imds(nubo, iid, MD + "/instance-id") == (200, iid)
    token = token_for(nubo, iid)
    assert imds(nubo, iid, MD + "/instance-id", token=token) == (200, iid)
    # A token request without a TTL is a 400; a TTL outside 1..21600 too.
    assert imds(nubo, iid, "/latest/api/token", method="PUT")[0] == 400
    assert imds(nubo, iid, "/latest/api/token", method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": "21601"})[0] == 400

    resp = ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="required",
                                                HttpEndpoint="enabled")
    assert resp["InstanceId"] == iid
    assert resp["InstanceMetadataOptions"]["HttpTokens"] == "required"
    assert resp["InstanceMetadataOptions"]["State"] in ("pending", "applied")
    wait_until("metadata options applied", lambda: describe(ec2, iid)["MetadataOptions"][
        "State"] == "applied")
    assert describe(ec2, iid)["MetadataOptions"]["HttpTokens"] == "required"

    wait_until("a request without a token to be refused",
               lambda: imds(nubo, iid, MD + "/instance-id")[0] == 401)
    assert imds(nubo, iid, MD + "/instance-id", token="not-a-token")[0] == 401
    token = token_for(nubo, iid)
    assert imds(nubo, iid, MD + "/instance-id", token=token) == (200, iid)
    # Tokens are per instance: this one opens nothing elsewhere (checked in the two-instance
    # test through the identity document); and an expired one is refused.
    status, short = imds(nubo, iid, "/latest/api/token", method="PUT",
                         headers={"X-aws-ec2-metadata-token-ttl-seconds": "1"})
    assert status == 200
    wait_until("a 1 s token to expire",
               lambda: imds(nubo, iid, MD + "/instance-id", token=short)[0] == 401, timeout=10)

    # Back to optional; endpoint disabled answers nothing.
    ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="optional")
    wait_until("tokens optional again", lambda: imds(nubo, iid, MD + "/instance-id") == (200, iid))
    ec2.modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="disabled")
    wait_until("the endpoint to be disabled",
               lambda: imds(nubo, iid, MD + "/instance-id")[0] in (403, 404))
    ec2.modify_instance_metadata_options(InstanceId=iid, HttpEndpoint="enabled")
    expect_error("InvalidParameterValue", ec2.modify_instance_metadata_options,
                 InstanceId=iid, HttpTokens="sometimes")
    expect_error("InvalidParameterValue", ec2.modify_instance_metadata_options,
                 InstanceId=iid, HttpPutResponseHopLimit=65)


def test_run_instances_metadata_options_required(nubo, ec2, launch):
    [inst] = launch(MetadataOptions={"HttpTokens": "required"})["Instances"]
    iid = inst["InstanceId"]
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    wait_state(ec2, iid, "running")
    wait_exec_ready(nubo, iid)
    assert imds(nubo, iid, MD + "/instance-id")[0] == 401
    assert imds(nubo, iid, MD + "/instance-id", token=token_for(nubo, iid)) == (200, iid)
