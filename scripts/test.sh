#!/usr/bin/env bash
# The project's test command: `sudo ./scripts/test.sh` (CI runs the same via .ci/run).
#
# On a fresh Debian machine, as root, it installs what is missing (apt packages, the Python
# test requirements), starts a local PostgreSQL, then runs, stopping at the first failure:
#   fmt      cargo fmt --all -- --check
#   clippy   cargo clippy --workspace --all-targets -- -D warnings
#   unit     cargo nextest run --workspace (or cargo test), against SQLite and PostgreSQL
#   build    cargo build --release -p nubo
#   e2e      pytest tests/e2e against the release binary, once on SQLite, once on PostgreSQL
# Extra arguments go to pytest (e.g. `./scripts/test.sh -k vpcs -x`).
# Apt work is skipped when every package is already installed, so local runs stay fast
# (NUBO_TEST_SKIP_APT=1 skips it altogether).
set -euo pipefail
cd "$(dirname "$0")/.."

START=$(date +%s)
STEP="setup"
DONE_STEPS=()

summary() {
    local status=$? elapsed=$(( $(date +%s) - START ))
    echo
    if [ "$status" -eq 0 ]; then
        echo "test.sh: PASSED — ${DONE_STEPS[*]} (${elapsed}s)"
    else
        echo "test.sh: FAILED at step '${STEP}' (exit ${status}) after ${elapsed}s;" \
             "passed before it: ${DONE_STEPS[*]:-none}"
    fi
    exit "$status"
}
trap summary EXIT

step() { STEP="$1"; echo; echo "==> [$1] ${*:2}"; }
passed() { DONE_STEPS+=("$STEP"); }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# ---- system packages ---------------------------------------------------------------------------
step apt "system packages"
have() { command -v "$1" >/dev/null 2>&1; }
missing=()
{ have cc && have make; } || missing+=(build-essential)
have pkg-config || missing+=(pkg-config)
{ have pg_lsclusters && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; } || missing+=(postgresql)
have nft || missing+=(nftables)
have ip || missing+=(iproute2)
have ping || missing+=(iputils-ping)
installed busybox-static || missing+=(busybox-static)
installed debootstrap || missing+=(debootstrap)
have python3 || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
have curl || missing+=(curl)
have ssh-keygen || missing+=(openssh-client)
qemu_missing=0
{ installed qemu-utils && installed qemu-system-x86; } || qemu_missing=1

# Refresh the package lists first on CI (a fresh machine may hold stale or no
# lists); locally only when something must be installed.
if [ "${NUBO_TEST_SKIP_APT:-0}" != 1 ] && [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq || echo "apt-get update failed; continuing with the lists at hand" >&2
fi
if [ "${NUBO_TEST_SKIP_APT:-0}" = 1 ]; then
    echo "NUBO_TEST_SKIP_APT=1: not installing ${missing[*]:-} $([ $qemu_missing = 1 ] && echo qemu)"
elif [ "${#missing[@]}" -gt 0 ] || [ "$qemu_missing" -eq 1 ]; then
    if [ "$(id -u)" -ne 0 ] && ! have sudo; then
        echo "test.sh: missing packages (${missing[*]:-} qemu=$qemu_missing); run as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]}"
        as_root apt-get install -y -qq "${missing[@]}"
    fi
    if [ "$qemu_missing" -eq 1 ]; then
        # qemu-utils and qemu-system-x86 must come from the same suite: installing one from
        # bookworm can remove a newer other from backports (and with it qemu-img). Install both
        # at one version: the one already installed if apt offers it for both, else the
        # candidate of qemu-system-x86.
        offered() { apt-cache madison "$1" | awk -v v="$2" '$3 == v { found = 1 } END { exit !found }'; }
        qemu_version=""
        for pkg in qemu-utils qemu-system-x86; do
            v="$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)"
            if [ -n "$v" ] && offered qemu-utils "$v" && offered qemu-system-x86 "$v"; then
                qemu_version="$v"
            fi
        done
        [ -n "$qemu_version" ] ||
            qemu_version="$(apt-cache policy qemu-system-x86 | awk '/Candidate:/ { print $2 }')"
        echo "installing qemu-system-x86 and qemu-utils $qemu_version"
        as_root apt-get install -y -qq --allow-downgrades \
            "qemu-system-x86=$qemu_version" "qemu-utils=$qemu_version"
    fi
else
    echo "all present"
fi
passed

# ---- Rust toolchain -------------------------------------------------------------------------------
step toolchain "cargo, rustfmt, clippy"
if ! command -v cargo >/dev/null 2>&1; then
    # sudo resets PATH; look where rustup installs for root and for the invoking user.
    for dir in "$HOME/.cargo/bin" ${SUDO_USER:+"$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin"}; do
        if [ -x "$dir/cargo" ]; then export PATH="$dir:$PATH"; break; fi
    done
fi
if ! command -v cargo >/dev/null 2>&1; then
    # Debian's own rustc is older than the workspace's rust-version; use rustup.
    echo "installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --profile minimal -c rustfmt -c clippy
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi
cargo --version
passed

# ---- Python test requirements -----------------------------------------------------------------------
step pip "python3 -m pip install -r requirements-test.txt"
pip_install() {
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
        "$@" -r requirements-test.txt
}
if ! pip_out="$(pip_install 2>&1)"; then
    if grep -q "externally-managed-environment" <<<"$pip_out"; then
        pip_install --break-system-packages
    else
        echo "$pip_out" >&2
        exit 1
    fi
fi
python3 -m pytest --version
passed

# ---- PostgreSQL ---------------------------------------------------------------------------------------
step postgres "scripts/start-postgres.sh"
PG_URL="$(scripts/start-postgres.sh)"
export NUBO_TEST_POSTGRES_URL="$PG_URL"
echo "NUBO_TEST_POSTGRES_URL=$PG_URL"
passed

# ---- Rust checks and tests ----------------------------------------------------------------------------
step fmt "cargo fmt --all -- --check"
cargo fmt --all -- --check
passed

step clippy "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
passed

if cargo nextest --version >/dev/null 2>&1; then
    step unit "cargo nextest run --workspace"
    cargo nextest run --workspace
else
    step unit "cargo test --workspace"
    cargo test --workspace
fi
passed

step build "cargo build --release -p nubo"
cargo build --release -p nubo
export NUBO_BIN="$PWD/target/release/nubo"
passed

# ---- end-to-end -----------------------------------------------------------------------------------------
step base-image "scripts/build-base-image.sh (skipped when up to date)"
export NUBO_BASE_IMAGES="${NUBO_BASE_IMAGES:-/var/lib/nubo/base-images}"
as_root scripts/build-base-image.sh "$NUBO_BASE_IMAGES"
echo "NUBO_BASE_IMAGES=$NUBO_BASE_IMAGES"
passed

step e2e-sqlite "pytest tests/e2e (SQLite)"
env -u NUBO_E2E_DATABASE_URL -u NUBO_E2E_ENDPOINT python3 -m pytest tests/e2e -q "$@"
passed

step e2e-postgres "pytest tests/e2e (PostgreSQL)"
env -u NUBO_E2E_ENDPOINT NUBO_E2E_DATABASE_URL="$PG_URL" python3 -m pytest tests/e2e -q "$@"
passed

STEP="done"
