"""EC2 key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair.

The private key of a created pair must work with OpenSSH's own tools: `ssh-keygen -y` derives
from it exactly the public key Nubo stores, and fingerprints match what AWS documents.
"""

import base64
import hashlib
import shutil
import subprocess
import sys

import pytest

from conftest import expect_error, tags_of, unique

needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None,
                                      reason="ssh-keygen (openssh-client) is not installed")


def _key_line(text: str) -> str:
    """An OpenSSH public key line without its comment."""
    return " ".join(text.split()[:2])


@pytest.fixture
def make_key(ec2, cleanup):
    def make(name=None, **kwargs):
        name = name or unique("key")
        pair = ec2.create_key_pair(KeyName=name, **kwargs)
        cleanup(lambda: ec2.delete_key_pair(KeyPairId=pair["KeyPairId"]))
        return pair
    return make


def _ssh_keygen(tmp_path, *args):
    return subprocess.run(["ssh-keygen", *args], capture_output=True, text=True, check=True,
                          cwd=tmp_path).stdout


@needs_ssh_keygen
@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_created_private_key_matches_described_public_key(ec2, make_key, tmp_path, key_type):
    pair = make_key(KeyType=key_type)
    assert pair["KeyPairId"].startswith("key-") and len(pair["KeyPairId"]) == 21
    pem = tmp_path / "k.pem"
    pem.write_text(pair["KeyMaterial"] + "\n")
    pem.chmod(0o600)
    derived = _ssh_keygen(tmp_path, "-y", "-f", str(pem))
    [info] = ec2.describe_key_pairs(KeyPairIds=[pair["KeyPairId"]], IncludePublicKey=True)["KeyPairs"]
    assert _key_line(info["PublicKey"]) == _key_line(derived)
    assert info["KeyType"] == key_type
    assert info["KeyFingerprint"] == pair["KeyFingerprint"]
    assert info["CreateTime"]
    if key_type == "rsa":
        assert pair["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
        # AWS: SHA-1 of the DER PKCS#8 private key.
        der = subprocess.run(["openssl", "pkcs8", "-in", str(pem), "-topk8", "-nocrypt",
                              "-outform", "DER"], capture_output=True, check=True).stdout
        sha1 = hashlib.sha1(der).hexdigest()
        assert pair["KeyFingerprint"] == ":".join(sha1[i:i + 2] for i in range(0, 40, 2))
    else:
        assert pair["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        printed = _ssh_keygen(tmp_path, "-l", "-E", "sha256", "-f", str(pem)).split()[1]
        assert printed.startswith("SHA256:")
        assert pair["KeyFingerprint"].rstrip("=") == printed[len("SHA256:"):]
        assert pair["KeyFingerprint"].endswith("=")
    # Without IncludePublicKey the public key is not returned.
    [plain] = ec2.describe_key_pairs(KeyNames=[pair["KeyName"]])["KeyPairs"]
    assert "PublicKey" not in plain


@needs_ssh_keygen
def test_create_key_pair_with_aws_cli(nubo, ec2, cleanup, tmp_path):
    name = unique("cli-key")
    cleanup(lambda: ec2.delete_key_pair(KeyName=name))
    exe = shutil.which("aws")
    prefix = [exe] if exe else [sys.executable, "-m", "awscli"]
    done = subprocess.run(prefix + ["--endpoint-url", nubo.endpoint, "ec2", "create-key-pair",
                                    "--key-name", name, "--query", "KeyMaterial",
                                    "--output", "text"],
                          env=nubo.aws_env(), capture_output=True, text=True, check=True)
    pem = tmp_path / "k.pem"
    pem.write_text(done.stdout)
    pem.chmod(0o600)
    derived = _ssh_keygen(tmp_path, "-y", "-f", str(pem))
    out = nubo.aws("ec2", "describe-key-pairs", "--key-names", name, "--include-public-key")
    [info] = out["KeyPairs"]
    assert _key_line(info["PublicKey"]) == _key_line(derived)
    assert info["KeyType"] == "rsa"


@needs_ssh_keygen
@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
def test_import_key_pair(ec2, cleanup, tmp_path, key_type):
    args = ["-q", "-N", "", "-C", "e2e", "-t", key_type, "-f", str(tmp_path / "id")]
    if key_type == "rsa":
        args += ["-b", "3072", "-m", "PEM"]
    _ssh_keygen(tmp_path, *args)
    public = (tmp_path / "id.pub").read_text()
    name = unique("imported")
    pair = ec2.import_key_pair(KeyName=name, PublicKeyMaterial=public.encode(),
                               TagSpecifications=[{"ResourceType": "key-pair",
                                                   "Tags": [{"Key": "team", "Value": "e2e"}]}])
    cleanup(lambda: ec2.delete_key_pair(KeyName=name))
    assert tags_of(pair) == {"team": "e2e"}
    if key_type == "rsa":
        # AWS: MD5 of the DER SubjectPublicKeyInfo.
        der = subprocess.run(["openssl", "rsa", "-in", str(tmp_path / "id"), "-pubout",
                              "-outform", "DER"], capture_output=True, check=True).stdout
        md5 = hashlib.md5(der).hexdigest()
        assert pair["KeyFingerprint"] == ":".join(md5[i:i + 2] for i in range(0, 32, 2))
    else:
        printed = _ssh_keygen(tmp_path, "-l", "-E", "sha256", "-f", str(tmp_path / "id.pub"))
        assert pair["KeyFingerprint"].rstrip("=") == printed.split()[1][len("SHA256:"):]
    [info] = ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"]
    assert _key_line(info["PublicKey"]) == _key_line(public)
    assert info["KeyType"] == key_type
    assert tags_of(info) == {"team": "e2e"}


def test_import_garbage_and_short_keys_are_refused(ec2):
    name = unique("bad")
    expect_error("InvalidKey.Format", ec2.import_key_pair, KeyName=name,
                 PublicKeyMaterial=b"this is not a key")
    expect_error("InvalidKey.Format", ec2.import_key_pair, KeyName=name,
                 PublicKeyMaterial=b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHp7Ven")
    assert ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name]}])["KeyPairs"] == []


def test_duplicate_names_and_delete(ec2, make_key):
    pair = make_key()
    name = pair["KeyName"]
    expect_error("InvalidKeyPair.Duplicate", ec2.create_key_pair, KeyName=name)
    expect_error("InvalidKeyPair.Duplicate", ec2.create_key_pair, KeyName=name, KeyType="ed25519")
    deleted = ec2.delete_key_pair(KeyName=name)
    assert deleted.get("KeyPairId") == pair["KeyPairId"]
    expect_error("InvalidKeyPair.NotFound", ec2.describe_key_pairs, KeyNames=[name])
    expect_error("InvalidKeyPair.NotFound", ec2.describe_key_pairs, KeyPairIds=[pair["KeyPairId"]])
    # As AWS: deleting a name that does not exist succeeds.
    ec2.delete_key_pair(KeyName=name)
    # The name is free again.
    again = ec2.create_key_pair(KeyName=name, KeyType="ed25519")
    ec2.delete_key_pair(KeyPairId=again["KeyPairId"])
    expect_error("InvalidKeyPair.NotFound", ec2.delete_key_pair, KeyPairId=again["KeyPairId"])


def test_describe_filters(ec2, make_key):
    rsa = make_key(TagSpecifications=[{"ResourceType": "key-pair",
                                       "Tags": [{"Key": "env", "Value": "prod"}]}])
    ed = make_key(KeyType="ed25519")

    def ids(*filters):
        pairs = ec2.describe_key_pairs(
            Filters=[{"Name": n, "Values": v} for n, v in filters])["KeyPairs"]
        return {p["KeyPairId"] for p in pairs} & {rsa["KeyPairId"], ed["KeyPairId"]}

    assert ids(("key-type", ["ed25519"])) == {ed["KeyPairId"]}
    assert ids(("key-type", ["rsa"])) == {rsa["KeyPairId"]}
    assert ids(("key-name", [rsa["KeyName"]])) == {rsa["KeyPairId"]}
    assert ids(("key-pair-id", [ed["KeyPairId"]])) == {ed["KeyPairId"]}
    assert ids(("fingerprint", [ed["KeyFingerprint"]])) == {ed["KeyPairId"]}
    assert ids(("tag:env", ["prod"])) == {rsa["KeyPairId"]}
    assert ids(("tag-key", ["env"])) == {rsa["KeyPairId"]}
    assert tags_of(rsa) == {"env": "prod"}
    expect_error("InvalidParameterValue", ec2.describe_key_pairs,
                 Filters=[{"Name": "colour", "Values": ["x"]}])
    expect_error("InvalidKeyPair.NotFound", ec2.describe_key_pairs, KeyNames=[unique("missing")])


def test_bad_parameters_change_nothing(ec2):
    name = unique("ppk")
    expect_error("InvalidParameterValue", ec2.create_key_pair, KeyName=name, KeyFormat="ppk")
    expect_error("InvalidParameterValue", ec2.create_key_pair, KeyName=name, KeyType="dsa")
    expect_error("DryRunOperation", ec2.create_key_pair, KeyName=name, DryRun=True, status=412)
    expect_error("InvalidKeyPair.NotFound", ec2.describe_key_pairs, KeyNames=[name])
    expect_error("DryRunOperation", ec2.describe_key_pairs, DryRun=True, status=412)


def test_key_pairs_are_private_to_their_account(nubo, account, make_key):
    pair = make_key()
    other = nubo.client("ec2", account.creds)
    expect_error("InvalidKeyPair.NotFound", other.describe_key_pairs, KeyNames=[pair["KeyName"]])
    expect_error("InvalidKeyPair.NotFound", other.describe_key_pairs,
                 KeyPairIds=[pair["KeyPairId"]])
    # The same name is free in another account.
    mine = other.create_key_pair(KeyName=pair["KeyName"], KeyType="ed25519")
    other.delete_key_pair(KeyPairId=mine["KeyPairId"])
