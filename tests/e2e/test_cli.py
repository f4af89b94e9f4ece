"""The operator CLI (`nubo account ...`) and the administrator credentials file."""

import configparser
import json
import re
import stat

import pytest

from conftest import AwsCliError, Creds, expect_error, unique


@pytest.fixture(autouse=True)
def _own_server(needs_own_server):
    pass


def test_account_create_prints_working_credentials(nubo):
    name = unique("acct")
    done = nubo.nubo_cli("account", "create", name, "--output", "json")
    data = json.loads(done.stdout)
    assert set(data) >= {"AccountId", "Name", "AccessKeyId", "SecretAccessKey"}, data
    assert re.fullmatch(r"\d{12}", data["AccountId"]), data
    assert data["Name"] == name
    assert data["AccountId"] != nubo.admin.account_id

    creds = Creds(data["AccessKeyId"], data["SecretAccessKey"])
    ident = nubo.client("sts", creds).get_caller_identity()
    assert ident["Account"] == data["AccountId"]
    assert ident["Arn"] == f"arn:aws:iam::{data['AccountId']}:root"
    # A new account's root may do everything in it.
    nubo.client("ec2", creds).describe_vpcs()
    nubo.client("iam", creds).list_users()


def test_account_list_and_delete(nubo):
    acct = nubo.new_account()
    listed = nubo.list_accounts()
    assert isinstance(listed, list)
    by_id = {a["AccountId"]: a for a in listed}
    assert nubo.admin.account_id in by_id, "the administrator account is an account too"
    assert by_id[acct.account_id]["Name"] == acct.name
    for a in listed:
        assert set(a) >= {"AccountId", "Name", "CreatedAt"}, a
        assert re.fullmatch(r"\d{12}", a["AccountId"]), a

    nubo.delete_account(acct.account_id)
    assert acct.account_id not in {a["AccountId"] for a in nubo.list_accounts()}
    # Its root credentials no longer authenticate.
    expect_error("AuthFailure", nubo.client("ec2", acct.creds).describe_vpcs)
    expect_error("InvalidClientTokenId", nubo.client("sts", acct.creds).get_caller_identity)


def test_account_delete_of_unknown_account_fails(nubo):
    done = nubo.nubo_cli("account", "delete", "999999999999", check=False)
    assert done.returncode != 0


def test_account_commands_read_environment(nubo):
    env = {"NUBO_DATA_DIR": str(nubo.data_dir)}
    if nubo.database_url:
        env["NUBO_DATABASE_URL"] = nubo.database_url
    done = nubo.nubo_cli("account", "list", "--output", "json", env=env, with_flags=False)
    assert nubo.admin.account_id in {a["AccountId"] for a in json.loads(done.stdout)}


def test_credentials_file(nubo):
    path = nubo.data_dir / "credentials"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parser = configparser.ConfigParser()
    parser.read(path)
    assert parser["default"]["aws_access_key_id"] == nubo.admin.access_key_id
    assert parser["default"]["aws_secret_access_key"] == nubo.admin.secret_access_key

    # Usable as-is by the AWS CLI.
    ident = nubo.aws("sts", "get-caller-identity", credentials_file=path)
    assert ident["Account"] == nubo.admin.account_id
    regions = nubo.aws("ec2", "describe-regions", credentials_file=path)["Regions"]
    assert "us-east-1" in [r["RegionName"] for r in regions]


def test_aws_cli_without_credentials_file_entry_fails(nubo, tmp_path):
    # Control for test_credentials_file: with an empty credentials file the CLI cannot sign.
    empty = tmp_path / "credentials"
    empty.write_text("")
    with pytest.raises(AwsCliError) as info:
        nubo.aws("sts", "get-caller-identity", credentials_file=empty)
    assert "credentials" in info.value.stderr.lower()


def test_server_tells_how_to_use_the_credentials(nubo):
    assert str(nubo.data_dir / "credentials") in nubo.log(), nubo.log()[-3000:]
