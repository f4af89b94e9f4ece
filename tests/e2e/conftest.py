"""Black-box end-to-end harness: one real `nubo server` per pytest session.

The session fixture `nubo` builds (or finds) the binary, starts it on a free port with a fresh
data directory and fixed, randomly generated administrator credentials, and hands tests an
object with real clients: boto3 (`nubo.client("ec2")`), the AWS CLI (`nubo.aws("ec2", ...)`),
raw SigV4 requests (`nubo.raw(...)`) and the `nubo` operator CLI (`nubo.new_account()`).

Environment:
  NUBO_BIN                  path to the binary (default: target/release/nubo, else build it)
  NUBO_E2E_DATABASE_URL     postgres://... to run against PostgreSQL (a fresh database per
                            session is created on that server); unset means SQLite
  NUBO_E2E_KEEP=1           keep the temporary directory (data dir and server log)
  NUBO_BASE_IMAGES          where the base images are (default /var/lib/nubo/base-images, built
                            by scripts/build-base-image.sh); given to the server
  NUBO_E2E_ENDPOINT         test an already running server instead (with NUBO_E2E_ACCESS_KEY_ID,
                            NUBO_E2E_SECRET_ACCESS_KEY, NUBO_E2E_ACCOUNT_ID); tests that need the
                            process or the operator CLI are skipped. Used to sanity-check the
                            harness against Moto.
"""

from __future__ import annotations

import datetime as dt
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
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from unittest import mock

import boto3
import botocore.auth
import botocore.config
import botocore.credentials
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
API_VERSIONS = {"ec2": "2016-11-15", "iam": "2010-05-08", "sts": "2011-06-15"}
HEALTH_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
DEFAULT_BASE_IMAGES = "/var/lib/nubo/base-images"
CGROUP_ROOT = Path("/sys/fs/cgroup")

# Keep the developer's own AWS configuration (profiles, default region, SSO, IMDS) out of every
# client this process creates; each client gets explicit credentials.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE"):
    os.environ.pop(_var, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    account_id: str | None = None

    @classmethod
    def from_access_key(cls, access_key: dict, account_id: str | None = None) -> "Creds":
        """From IAM CreateAccessKey's `AccessKey` structure."""
        return cls(access_key["AccessKeyId"], access_key["SecretAccessKey"], account_id)


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    creds: Creds


@dataclass(frozen=True)
class User:
    name: str
    creds: Creds
    arn: str
    user_id: str


@dataclass
class RawResponse:
    status: int
    body: str
    headers: dict

    @property
    def code(self) -> str | None:
        m = re.search(r"<Code>([^<]*)</Code>", self.body)
        return m.group(1) if m else None


class AwsCliError(Exception):
    """The AWS CLI exited non-zero; `code` is the AWS error code it reported, if any."""

    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr
        m = re.search(r"An error occurred \(([^)]+)\)", stderr)
        self.code = m.group(1) if m else None
        super().__init__(f"aws {' '.join(argv)} exited {returncode}: {stderr.strip()}")


class NuboCliError(Exception):
    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr
        super().__init__(f"nubo {' '.join(argv)} exited {returncode}:\n{stdout}\n{stderr}")


# --------------------------------------------------------------------------------------------
# Helpers usable by every test
# --------------------------------------------------------------------------------------------


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def http_status(exc: ClientError) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


def expect_error(code: str, fn: Callable, *args, status: int | None = None, **kwargs) -> ClientError:
    """Call fn and assert it fails with exactly this AWS error code (and HTTP status)."""
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    got = error_code(info.value)
    assert got == code, f"expected {code}, got {got}: {info.value.response.get('Error')}"
    if status is not None:
        assert http_status(info.value) == status, (
            f"{code}: expected HTTP {status}, got {http_status(info.value)}")
    return info.value


def unique(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def policy_doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*") -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def tags_of(resource: dict) -> dict:
    # Most shapes name the list Tags; NetworkInterface names it TagSet.
    return {t["Key"]: t["Value"] for t in resource.get("Tags", resource.get("TagSet", []))}


def _random_account_id() -> str:
    return str(secrets.choice(range(1, 10))) + "".join(secrets.choice(string.digits) for _ in range(11))


def _random_access_key_id() -> str:
    # AWS long-term access key ids: AKIA + 16 characters of base32.
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def _random_secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _external_networks() -> tuple[str, str]:
    """(external cidr, public pool) = (198.18.<n>.0/24, 198.19.<n>.0/24) for a random n that
    no address or route of this host uses yet."""
    used = " ".join(_run_lines("ip", "-4", "-o", "addr", "show") + _run_lines("ip", "-4", "route"))
    candidates = list(range(1, 255))
    secrets.SystemRandom().shuffle(candidates)
    for n in candidates:
        if f"198.18.{n}." not in used and f"198.19.{n}." not in used:
            return f"198.18.{n}.0/24", f"198.19.{n}.0/24"
    return "198.18.0.0/24", "198.19.0.0/24"


def _tail(path: Path, limit: int = 20000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log: {exc}>"
    return text[-limit:]


# --------------------------------------------------------------------------------------------
# Binary and database
# --------------------------------------------------------------------------------------------


def locate_binary() -> Path:
    env = os.environ.get("NUBO_BIN")
    if env:
        path = Path(env)
        if not path.is_absolute():
            path = (REPO_ROOT / path).resolve()
        if not os.access(path, os.X_OK):
            pytest.exit(f"NUBO_BIN={env} is not an executable file", returncode=2)
        return path
    release = REPO_ROOT / "target" / "release" / "nubo"
    if not os.access(release, os.X_OK):
        print("e2e: building nubo (cargo build --release -p nubo)", file=sys.stderr, flush=True)
        built = subprocess.run(["cargo", "build", "--release", "-p", "nubo"], cwd=REPO_ROOT)
        if built.returncode != 0 or not os.access(release, os.X_OK):
            pytest.exit("cargo build --release -p nubo failed", returncode=2)
    return release


def _psql(url: str, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                          capture_output=True, text=True, timeout=60)


class PostgresScratch:
    """A fresh database (or, without CREATEDB, a fresh schema) for one test session."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.name = f"nubo_e2e_{uuid.uuid4().hex[:12]}"
        self.kind = None
        parts = urllib.parse.urlsplit(base_url)
        created = _psql(base_url, f'CREATE DATABASE "{self.name}"')
        if created.returncode == 0:
            self.kind = "database"
            self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))
            return
        schema = _psql(base_url, f'CREATE SCHEMA "{self.name}"')
        if schema.returncode != 0:
            pytest.exit("cannot create a scratch PostgreSQL database or schema on "
                        f"{base_url}:\n{created.stderr}\n{schema.stderr}", returncode=2)
        self.kind = "schema"
        query = urllib.parse.parse_qsl(parts.query)
        query.append(("options", f"-c search_path={self.name}"))
        self.url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    def drop(self) -> None:
        if self.kind == "database":
            _psql(self.base_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.kind == "schema":
            _psql(self.base_url, f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


# --------------------------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------------------------


class Nubo:
    def __init__(self, binary: Path | None, workdir: Path, database_url: str | None,
                 external_endpoint: str | None = None, admin: Creds | None = None):
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "server.log"
        self.database_url = database_url
        self.external = external_endpoint is not None
        self.port = _free_port() if not self.external else None
        self.endpoint = external_endpoint or f"http://127.0.0.1:{self.port}"
        self.admin = admin or Creds(_random_access_key_id(), _random_secret(), _random_account_id())
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        # Every kernel object the server creates is named with this test-unique prefix (netns
        # `<prefix>-i-<id>`, links, cgroups `<prefix>/...`), so a test can prove nothing leaked
        # and the session can sweep what a failed test left behind.
        self.host_prefix = "t" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(3))
        self.base_images = Path(os.environ.get("NUBO_BASE_IMAGES", DEFAULT_BASE_IMAGES))
        # The external ("internet") network and the public address pool of this session, inside
        # 198.18.0.0/15 (benchmarking space, never routed), so concurrent servers never collide.
        self.external_cidr, self.public_pool = _external_networks()
        self._session = boto3.session.Session(botocore_session=botocore.session.Session())
        self._clients: dict[tuple, Any] = {}
        self._log_file = None

    # ---- process lifecycle ------------------------------------------------------------

    def _db_args(self) -> list[str]:
        # An empty configuration file keeps a machine's /etc/nubo/nubo.toml out of the test.
        config = self.workdir / "nubo.toml"
        if not config.exists():
            config.write_text("# e2e: defaults only\n")
        db = ["--database-url", self.database_url] if self.database_url else []
        return ["--config", str(config), *db]

    def _base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUBO_")}
        env.setdefault("RUST_BACKTRACE", "1")
        env.update(NUBO_HOST_PREFIX=self.host_prefix, NUBO_BASE_IMAGES=str(self.base_images),
                   NUBO_EXTERNAL_CIDR=self.external_cidr, NUBO_PUBLIC_POOL=self.public_pool)
        return env

    def start(self) -> None:
        if self.external:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self._base_env()
        env.update(NUBO_ADMIN_ACCOUNT_ID=self.admin.account_id,
                   NUBO_ADMIN_ACCESS_KEY_ID=self.admin.access_key_id,
                   NUBO_ADMIN_SECRET_ACCESS_KEY=self.admin.secret_access_key)
        argv = [str(self.binary), "server", "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}", *self._db_args()]
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n===== start #{self.starts + 1}: {' '.join(argv)}\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir)
        self.starts += 1
        self._clients.clear()
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"nubo server exited with {self.proc.returncode} before becoming "
                            f"healthy; log:\n{_tail(self.log_path)}", pytrace=False)
            try:
                with urllib.request.urlopen(self.endpoint + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
                    last = f"HTTP {r.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"nubo server not healthy after {HEALTH_TIMEOUT}s (last: {last}); log:\n"
                    f"{_tail(self.log_path)}", pytrace=False)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT. Returns the exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self.stop()

    def restart(self) -> None:
        if self.external:
            pytest.skip("restart needs a server started by the harness")
        self.stop()
        self.start()

    def log(self) -> str:
        return _tail(self.log_path, 10 ** 7)

    # ---- clients ----------------------------------------------------------------------

    def client(self, service: str, creds: Creds | None = None, **config):
        creds = creds or self.admin
        key = (service, creds.access_key_id, creds.secret_access_key, tuple(sorted(config.items())))
        if key not in self._clients:
            cfg = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=10,
                                         read_timeout=60, **config)
            self._clients[key] = self._session.client(
                service, region_name=REGION, endpoint_url=self.endpoint,
                aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
                config=cfg)
        return self._clients[key]

    def aws_env(self, creds: Creds | None = None, credentials_file: Path | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_DEFAULT_REGION=REGION, AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard",
                   AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true",
                   AWS_CONFIG_FILE=str(self.workdir / "no-aws-config"))
        if credentials_file is not None:
            env["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials_file)
        else:
            creds = creds or self.admin
            env.update(AWS_SHARED_CREDENTIALS_FILE=str(self.workdir / "no-aws-credentials"),
                       AWS_ACCESS_KEY_ID=creds.access_key_id,
                       AWS_SECRET_ACCESS_KEY=creds.secret_access_key)
        return env

    def aws(self, *args: str, creds: Creds | None = None, credentials_file: Path | None = None):
        """Run the real AWS CLI; returns parsed JSON ({} for empty output) or raises AwsCliError."""
        exe = shutil.which("aws")
        prefix = [exe] if exe else [sys.executable, "-m", "awscli"]
        argv = ["--endpoint-url", self.endpoint, "--output", "json", *map(str, args)]
        done = subprocess.run(prefix + argv, env=self.aws_env(creds, credentials_file),
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AwsCliError(list(args), done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def raw(self, service: str, params: dict, creds: Creds | None = None, *, sign: bool = True,
            when: dt.datetime | None = None, method: str = "POST") -> RawResponse:
        """Send a hand-built Query API request, SigV4-signed (optionally at another time)."""
        creds = creds or self.admin
        params = dict(params)
        params.setdefault("Version", API_VERSIONS[service])
        body = urllib.parse.urlencode(params)
        if method == "POST":
            req = AWSRequest(method="POST", url=self.endpoint + "/", data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        else:
            req = AWSRequest(method=method, url=self.endpoint + "/?" + body)
        if sign:
            signer = botocore.auth.SigV4Auth(
                botocore.credentials.Credentials(creds.access_key_id, creds.secret_access_key),
                service, REGION)
            if when is None:
                signer.add_auth(req)
            else:
                naive_utc = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
                with mock.patch("botocore.auth.get_current_datetime", return_value=naive_utc):
                    signer.add_auth(req)
        prepared = req.prepare()
        return self.http(prepared.method, prepared.url, prepared.body, dict(prepared.headers))

    def http(self, method: str, url: str, body=None, headers: dict | None = None) -> RawResponse:
        if isinstance(body, str):
            body = body.encode()
        request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return RawResponse(r.status, r.read().decode(errors="replace"), dict(r.headers))
        except urllib.error.HTTPError as exc:
            return RawResponse(exc.code, exc.read().decode(errors="replace"), dict(exc.headers))

    def get(self, path: str) -> RawResponse:
        return self.http("GET", self.endpoint + path)

    # ---- the operator CLI -------------------------------------------------------------

    def nubo_cli(self, *args: str, check: bool = True, env: dict | None = None,
                 with_flags: bool = True) -> subprocess.CompletedProcess:
        if self.external:
            pytest.skip("the operator CLI needs the harness's own server")
        argv = [*map(str, args)]
        if with_flags:
            argv += ["--data-dir", str(self.data_dir), *self._db_args()]
        full_env = self._base_env()
        full_env.update(env or {})
        done = subprocess.run([str(self.binary), *argv], env=full_env, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise NuboCliError(argv, done.returncode, done.stdout, done.stderr)
        return done

    def exec(self, instance_id: str, *argv: str, check: bool = True,
             timeout: float = 60) -> subprocess.CompletedProcess:
        """`nubo exec <instance-id> -- argv...`: run a command inside the instance."""
        if self.external:
            pytest.skip("nubo exec needs the harness's own server")
        cli = [str(self.binary), "exec", instance_id, "--data-dir", str(self.data_dir),
               *self._db_args(), "--", *map(str, argv)]
        env = self._base_env()
        env["NUBO_DATA_DIR"] = str(self.data_dir)
        done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise NuboCliError(cli[1:], done.returncode, done.stdout, done.stderr)
        return done

    # ---- kernel objects (instances) ---------------------------------------------------

    def kernel_objects(self) -> dict[str, set[str]]:
        """Everything on this host that carries this server's prefix or lives in its data dir:
        netns, links (host and inside its namespaces), cgroups, mounts, nftables tables,
        instance state dirs and processes (by cgroup), each as a set of names."""
        return kernel_objects(self.host_prefix, self.data_dir)

    def instance_processes(self, instance_id: str) -> set[int]:
        """Host pids of the instance's processes: in its cgroup or in its network namespace."""
        pids = {pid for pid, path in _proc_cgroups() if f"/{self.host_prefix}/" in path
                and instance_id in path}
        try:
            ns = os.stat(f"/run/netns/{self.host_prefix}-{instance_id}").st_ino
        except OSError:
            return pids
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}/ns/net").st_ino == ns:
                        pids.add(int(entry))
                except OSError:
                    pass
        return pids

    def assert_no_kernel_leftovers(self, instance_ids: Iterable[str] = (),
                                   baseline: dict[str, set[str]] | None = None,
                                   timeout: float = 60.0, everything: bool = False) -> None:
        """Wait (bounded) until nothing of these instances is left: no netns, cgroup, mount,
        state dir or process naming them. With `baseline` (a `kernel_objects()` snapshot taken
        before they existed) also nothing prefixed that the baseline did not have (links, the
        VPC router's veths, nft tables). With `everything`: nothing of the prefix at all."""
        ids = list(instance_ids)
        if not ids and baseline is None and not everything:
            return
        left: dict[str, set[str]] = {}
        deadline = time.monotonic() + timeout
        while True:
            now = self.kernel_objects()
            left = {}
            for kind, names in now.items():
                extra = {n for n in names if any(i in n for i in ids)}
                if baseline is not None:
                    extra |= names - baseline.get(kind, set())
                elif everything:
                    extra |= names
                if extra:
                    left[kind] = extra
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert not left, f"kernel objects left behind (prefix {self.host_prefix}): {left}"

    def new_account(self, name: str | None = None) -> Account:
        name = name or unique("acct")
        done = self.nubo_cli("account", "create", name, "--output", "json")
        try:
            data = json.loads(done.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"`nubo account create --output json` printed non-JSON:\n{done.stdout}\n"
                        f"{done.stderr}", pytrace=False)
        return Account(data["AccountId"], data["Name"],
                       Creds(data["AccessKeyId"], data["SecretAccessKey"], data["AccountId"]))

    def list_accounts(self) -> list[dict]:
        return json.loads(self.nubo_cli("account", "list", "--output", "json").stdout)

    def delete_account(self, account_id: str) -> None:
        self.nubo_cli("account", "delete", account_id)

    # ---- IAM conveniences -------------------------------------------------------------

    def make_user(self, policy: str | dict | None = None, *, owner: Creds | None = None,
                  name: str | None = None, policy_name: str = "e2e") -> User:
        """Create an IAM user with one access key (and an inline policy) as `owner` (root)."""
        iam = self.client("iam", owner)
        name = name or unique("user")
        created = iam.create_user(UserName=name)["User"]
        if policy is not None:
            document = policy if isinstance(policy, str) else json.dumps(policy)
            iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=document)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        account = created["Arn"].split(":")[4]
        return User(name, Creds.from_access_key(key, account), created["Arn"], created["UserId"])


# --------------------------------------------------------------------------------------------
# Kernel objects of one host prefix (instances): listing and the end-of-session sweep
# --------------------------------------------------------------------------------------------


def _run_lines(*argv: str) -> list[str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return done.stdout.splitlines() if done.returncode == 0 else []


def _netns_names() -> list[str]:
    return [line.split()[0] for line in _run_lines("ip", "netns", "list") if line.strip()]


def _link_names(netns: str | None = None) -> list[str]:
    argv = ["ip", "-o", "link", "show"] if netns is None else ["ip", "-n", netns, "-o", "link",
                                                                  "show"]
    names = []
    for line in _run_lines(*argv):
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names


def _proc_cgroups() -> list[tuple[int, str]]:
    """(pid, cgroup path) for every process and every hierarchy it is in."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            out.append((int(entry), line.split(":", 2)[-1]))
    return out


def _cgroup_prefix_dirs(prefix: str) -> list[Path]:
    """`<root>/<controller>/<prefix>` (v1) and `<root>/<prefix>` (v2) that exist."""
    found = []
    if (CGROUP_ROOT / prefix).is_dir():
        found.append(CGROUP_ROOT / prefix)
    try:
        controllers = [c for c in CGROUP_ROOT.iterdir() if c.is_dir() and not c.is_symlink()]
    except OSError:
        controllers = []
    for c in controllers:
        if (c / prefix).is_dir():
            found.append(c / prefix)
    return found


def kernel_objects(prefix: str, data_dir: Path) -> dict[str, set[str]]:
    netns = {n for n in _netns_names() if n.startswith(prefix + "-")}
    links = {f"host/{n}" for n in _link_names() if n.startswith(prefix)}
    for ns in netns:
        links |= {f"{ns}/{n}" for n in _link_names(ns) if n != "lo"}
    cgroups = set()
    for top in _cgroup_prefix_dirs(prefix):
        for dirpath, dirnames, _ in os.walk(top):
            for d in dirnames:
                cgroups.add(str(Path(dirpath, d).relative_to(CGROUP_ROOT)))
    mounts = {line for line in _run_lines("findmnt", "-rn", "-o", "TARGET")
              if str(data_dir) in line or f"/{prefix}-" in line or f"/{prefix}/" in line}
    nft = {line.strip() for line in _run_lines("nft", "list", "tables")
           if line.split()[-1:] and line.split()[-1].startswith(prefix)}
    try:
        state_dirs = {p.name for p in (data_dir / "instances").iterdir()}
    except OSError:
        state_dirs = set()
    processes = {f"{pid}:{path}" for pid, path in _proc_cgroups() if f"/{prefix}/" in path}
    # The host namespace's policy rules and routes that name one of the prefix's links (the
    # external bridge's pool routes, anything an operator-mode uplink adds).
    rules = {line.strip() for line in _run_lines("ip", "-4", "rule", "show")
             if re.search(rf"\b(iif|oif) {re.escape(prefix)}", line)}
    routes = {line.strip() for line in _run_lines("ip", "-4", "route", "show", "table", "all")
              if re.search(rf"\bdev {re.escape(prefix)}", line)}
    return {"netns": netns, "links": links, "cgroups": cgroups, "mounts": mounts, "nft": nft,
            "state_dirs": state_dirs, "processes": processes, "rules": rules,
            "host_routes": routes}


def sweep_kernel_objects(prefix: str, data_dir: Path) -> dict[str, set[str]]:
    """Remove every kernel object of this prefix (what a failed test or a buggy server left):
    kill its processes, unmount, delete its netns, links, nft tables and cgroups. Returns
    what was found, so the session can report a leak."""
    found = kernel_objects(prefix, data_dir)
    for _ in range(3):
        pids = {pid for pid, path in _proc_cgroups() if f"/{prefix}/" in path}
        nss = {os.stat(f"/run/netns/{n}").st_ino for n in _netns_names()
               if n.startswith(prefix + "-") and os.path.exists(f"/run/netns/{n}")}
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat(f"/proc/{entry}/ns/net").st_ino in nss:
                    pids.add(int(entry))
            except OSError:
                pass
        pids.discard(os.getpid())
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not pids:
            break
        time.sleep(0.5)
    mounts = sorted(kernel_objects(prefix, data_dir)["mounts"], key=len, reverse=True)
    for target in mounts:
        subprocess.run(["umount", "-l", target], capture_output=True)
    for ns in found["netns"]:
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
    for link in found["links"]:
        where, name = link.split("/", 1)
        if where == "host":
            subprocess.run(["ip", "link", "delete", name], capture_output=True)
    for rule in found["rules"]:
        priority, _, selector = rule.partition(":")
        subprocess.run(["ip", "-4", "rule", "del", "priority", priority, *selector.split()],
                       capture_output=True)
    for table in found["nft"]:
        subprocess.run(["nft", "delete", *table.split()[:1], *table.split()[1:]],
                       capture_output=True)
    for top in _cgroup_prefix_dirs(prefix):
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
    return found


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the server's latest warnings: CI keeps no data dir."""
    outcome = yield
    report = outcome.get_result()
    server = item.funcargs.get("nubo") if hasattr(item, "funcargs") else None
    if report.failed and call.when == "call" and server is not None and not server.external:
        warnings = [line for line in _tail(server.log_path, 4_000_000).splitlines()
                    if " WARN " in line or " ERROR " in line]
        report.sections.append(("nubo server: the last 30 warnings",
                                "\n".join(warnings[-30:]) or "(none)"))


@pytest.fixture(scope="session")
def nubo() -> Iterable[Nubo]:
    external = os.environ.get("NUBO_E2E_ENDPOINT")
    workdir = Path(tempfile.mkdtemp(prefix="nubo-e2e-"))
    scratch = None
    server = None
    try:
        if external:
            admin = Creds(os.environ.get("NUBO_E2E_ACCESS_KEY_ID", "testing"),
                          os.environ.get("NUBO_E2E_SECRET_ACCESS_KEY", "testing"),
                          os.environ.get("NUBO_E2E_ACCOUNT_ID", "123456789012"))
            server = Nubo(None, workdir, None, external_endpoint=external.rstrip("/"), admin=admin)
        else:
            binary = locate_binary()
            base_url = os.environ.get("NUBO_E2E_DATABASE_URL")
            if base_url:
                scratch = PostgresScratch(base_url)
            server = Nubo(binary, workdir, scratch.url if scratch else None)
            server.start()
        yield server
    finally:
        if server is not None:
            server.stop()  # SIGTERM, SIGKILL if it does not exit in time
            if not server.external:
                left = {k: v for k, v in sweep_kernel_objects(
                    server.host_prefix, server.data_dir).items() if v}
                if left:
                    print(f"\ne2e: swept kernel objects of prefix {server.host_prefix}: {left}",
                          file=sys.stderr)
        if scratch is not None:
            scratch.drop()
        if os.environ.get("NUBO_E2E_KEEP") == "1":
            print(f"\ne2e: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def needs_own_server(nubo):
    if nubo.external:
        pytest.skip("needs a server started by the harness")


@pytest.fixture
def ec2(nubo):
    return nubo.client("ec2")


@pytest.fixture
def iam(nubo):
    return nubo.client("iam")


@pytest.fixture
def sts(nubo):
    return nubo.client("sts")


@pytest.fixture
def cleanup():
    """Register callables to run after the test, last first; their AWS errors are ignored."""
    actions: list[Callable[[], Any]] = []
    yield actions.append
    for action in reversed(actions):
        try:
            action()
        except (ClientError, AwsCliError):
            pass


@pytest.fixture
def make_vpc(nubo, cleanup):
    """make_vpc(cidr, client=None, tags=None) -> the created Vpc dict; deleted after the test."""

    def make(cidr: str = "10.0.0.0/16", client=None, tags: dict | None = None, **kwargs) -> dict:
        client = client or nubo.client("ec2")
        if tags:
            kwargs["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]}]
        vpc = client.create_vpc(CidrBlock=cidr, **kwargs)["Vpc"]
        cleanup(lambda: client.delete_vpc(VpcId=vpc["VpcId"]))
        return vpc

    return make


@pytest.fixture
def account(nubo, needs_own_server) -> Account:
    """A fresh tenant account, created through `nubo account create`."""
    return nubo.new_account()
