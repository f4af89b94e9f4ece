#!/usr/bin/env bash
# Runs the cloud on this machine: installs what is missing (Debian, as root),
# builds nubo in release mode and starts `nubo server` on 127.0.0.1:8773 with
# SQLite in /var/lib/nubo (override with NUBO_DATA_DIR / NUBO_LISTEN).
# Stop it with Ctrl-C; state persists in the data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
command -v ssh >/dev/null 2>&1 || need_apt+=(openssh-client)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" ||
  need_apt+=(busybox-static)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: missing ${need_apt[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "==> installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "==> installing the Rust toolchain from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cargo rustc
  fi
fi

echo "==> building nubo (release)"
cargo build --release -p nubo

# `nubo exec`, `nubo account`, … from any shell.
if [ "$(id -u)" -eq 0 ]; then
  ln -sf "$PWD/target/release/nubo" /usr/local/bin/nubo
fi

export NUBO_DATA_DIR="${NUBO_DATA_DIR:-/var/lib/nubo}"
export NUBO_LISTEN="${NUBO_LISTEN:-127.0.0.1:8773}"
# The base image (Debian 12 from the machine's Debian mirror; skipped when up
# to date), registered by the server at start as a public `amazon` image.
export NUBO_BASE_IMAGES="${NUBO_BASE_IMAGES:-/var/lib/nubo/base-images}"
echo "==> base image in $NUBO_BASE_IMAGES"
scripts/build-base-image.sh "$NUBO_BASE_IMAGES"
echo "==> starting nubo server on $NUBO_LISTEN (data in $NUBO_DATA_DIR)"
exec ./target/release/nubo server
