#!/usr/bin/env bash
# Builds Nubo's base image, Debian 12 (bookworm), from Debian's packages only:
#
#   scripts/build-base-image.sh [DEST_DIR]      (default /var/lib/nubo/base-images)
#
# Result: DEST_DIR/debian-12/rootfs/ (the image's userland) and
# DEST_DIR/debian-12/image.json (name, description, architecture, version),
# which `nubo server` registers at start as a public image owned by `amazon`
# (see docs/ARCHITECTURE.md, "Images").
#
# The rootfs is a debootstrap `minbase` with busybox as init (PID 1 of the
# instance's container), an SSH server, ip/ping/curl, sudo, a default user
# `admin` (passwordless sudo, key-only SSH) and /usr/local/sbin/nubo-init, the
# first-boot agent: it reads the instance metadata service (IMDSv2), installs
# the key pair's public key for `admin`, sets the hostname and runs the
# user-data script once per instance.
#
# Idempotent: nothing happens when image.json already carries this script's
# VERSION. The image is built in a temporary directory next to the result and
# moved into place, so a crash never leaves half an image behind. The only
# network this needs is the Debian mirror of the machine's apt sources.
set -euo pipefail

# Bump when the image's content changes: a different version rebuilds.
VERSION=3
DEST_DIR=${1:-/var/lib/nubo/base-images}
IMAGE=debian-12
SUITE=bookworm
PACKAGES=busybox,iproute2,iputils-ping,openssh-server,curl,ca-certificates,sudo

log() { echo "build-base-image: $*"; }

target="$DEST_DIR/$IMAGE"
if [ -f "$target/image.json" ] && grep -q "\"version\": $VERSION[,}]" "$target/image.json"; then
    log "$target is up to date (version $VERSION)"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    log "must run as root (debootstrap and chroot)" >&2
    exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
fi

# The machine's own Debian mirror: deb822 sources first, then sources.list.
mirror() {
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
            /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=$(mirror)

start=$(date +%s)
mkdir -p "$DEST_DIR"
work=$(mktemp -d "$DEST_DIR/.$IMAGE.build.XXXXXX")
chmod 0755 "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"

log "debootstrap $SUITE from $MIRROR into $rootfs"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" \
    >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    log "debootstrap failed" >&2
    exit 1
}

# --- init: busybox, with its applets for init, poweroff, reboot, halt -------
for applet in init poweroff reboot halt; do
    if [ ! -e "$rootfs/sbin/$applet" ]; then
        ln -s /bin/busybox "$rootfs/sbin/$applet"
    fi
done
cat >"$rootfs/etc/inittab" <<'EOF'
# Nubo base image: busybox init. SIGUSR2 = power off, SIGTERM = reboot.
::sysinit:/usr/local/sbin/nubo-init
::respawn:/usr/sbin/sshd -D -e
::ctrlaltdel:/sbin/reboot
::shutdown:/usr/local/sbin/nubo-shutdown
EOF

cat >"$rootfs/usr/local/sbin/nubo-shutdown" <<'EOF'
#!/bin/sh
# Runs when busybox init stops the instance. Busybox init itself then sends
# every process SIGTERM, waits a second, sends SIGKILL and powers off.
echo "nubo-init: shutting down"
sync
EOF
chmod 0755 "$rootfs/usr/local/sbin/nubo-shutdown"

# --- the first-boot agent ----------------------------------------------------
cat >"$rootfs/usr/local/sbin/nubo-init" <<'EOF'
#!/bin/sh
# nubo-init: runs at every boot (busybox init's sysinit). The container driver
# has mounted /proc, /sys and /dev and configured eth0; this brings up lo,
# makes SSH host keys on first need, reads the instance metadata service
# (IMDSv2), sets the hostname, installs the key pair's public key for
# `admin`, and on an instance's first boot runs its user-data script.
IMDS=http://169.254.169.254
STATE=/var/lib/nubo-init
USER_NAME=admin

say() { echo "nubo-init: $*"; }

say "starting"
ip link set lo up 2>/dev/null || say "could not bring up lo"
mkdir -p /run/sshd "$STATE"
chmod 0755 /run/sshd
if ! ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1; then
    say "generating SSH host keys"
    ssh-keygen -A >/dev/null
fi

TOKEN=""
get_token() {
    curl -sf -m 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" \
        "$IMDS/latest/api/token"
}
tries=0
while [ "$tries" -lt 20 ]; do
    if TOKEN=$(get_token) && [ -n "$TOKEN" ]; then
        break
    fi
    tries=$((tries + 1))
    sleep 0.5
done
if [ -z "$TOKEN" ]; then
    say "the metadata service did not answer; booting without it"
    say "ready"
    exit 0
fi

# md PATH: one metadata document, empty (and status 1) when absent.
md() {
    curl -sf -m 5 -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/$1"
}

INSTANCE_ID=$(md meta-data/instance-id) || INSTANCE_ID=""
say "instance $INSTANCE_ID"

if HOST=$(md meta-data/local-hostname) && [ -n "$HOST" ]; then
    # The short name, as EC2's Debian images set it (ip-10-0-1-5).
    echo "${HOST%%.*}" >/etc/hostname
    hostname "${HOST%%.*}" 2>/dev/null || true
    # Make the name resolve locally (sudo and others look it up).
    grep -v '^127\.0\.1\.1[[:space:]]' /etc/hosts >/etc/hosts.nubo 2>/dev/null || true
    echo "127.0.1.1 $HOST ${HOST%%.*}" >>/etc/hosts.nubo
    mv /etc/hosts.nubo /etc/hosts
    say "hostname $HOST"
fi

if KEY=$(md meta-data/public-keys/0/openssh-key) && [ -n "$KEY" ]; then
    home=$(getent passwd "$USER_NAME" | cut -d: -f6)
    mkdir -p "$home/.ssh"
    echo "$KEY" >"$home/.ssh/authorized_keys"
    chmod 0700 "$home/.ssh"
    chmod 0600 "$home/.ssh/authorized_keys"
    chown -R "$USER_NAME:$USER_NAME" "$home/.ssh"
    say "installed the key pair's public key for $USER_NAME"
fi

if [ -n "$INSTANCE_ID" ] && [ "$(cat "$STATE/instance-id" 2>/dev/null)" != "$INSTANCE_ID" ]; then
    # First boot of this instance: remember it before running user-data, so
    # a user-data script that reboots the instance does not run again.
    echo "$INSTANCE_ID" >"$STATE/instance-id"
    if md user-data >"$STATE/user-data" && [ "$(head -c 2 "$STATE/user-data")" = "#!" ]; then
        chmod 0700 "$STATE/user-data"
        say "running user-data"
        "$STATE/user-data" 2>&1 | tee /var/log/nubo-user-data.log
        say "user-data finished"
    elif [ -s "$STATE/user-data" ]; then
        say "user-data is not a script (no #!); not run"
    fi
fi
say "ready"
EOF
chmod 0755 "$rootfs/usr/local/sbin/nubo-init"

# --- the default user --------------------------------------------------------
chroot "$rootfs" useradd --create-home --shell /bin/bash --groups sudo admin
# `*`: no password can match, but the account is not locked, so key login works.
chroot "$rootfs" usermod --password '*' admin
echo 'admin ALL=(ALL) NOPASSWD:ALL' >"$rootfs/etc/sudoers.d/90-nubo-admin"
chmod 0440 "$rootfs/etc/sudoers.d/90-nubo-admin"

# --- sshd: keys only, host keys made at first boot ---------------------------
rm -f "$rootfs"/etc/ssh/ssh_host_*
cat >"$rootfs/etc/ssh/sshd_config.d/50-nubo.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
EOF
# A container may not set the audit login UID; do not fail sessions for it.
if [ -f "$rootfs/etc/pam.d/sshd" ]; then
    sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' \
        "$rootfs/etc/pam.d/sshd"
fi

# --- small: no caches, no logs of the build ------------------------------------
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/*
: >"$rootfs/etc/machine-id"
echo localhost >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"

stamp=$(date -u +%Y%m%d)
cat >"$work/image.json" <<EOF
{"name": "$IMAGE-nubo-$stamp", "description": "Debian 12 (bookworm) minimal with busybox init, OpenSSH, sudo and the Nubo first-boot agent", "architecture": "x86_64", "version": $VERSION}
EOF

# Swap the finished image in. An earlier version is kept aside, not deleted:
# running instances may still have it as their read-only lower layer.
rm -f "$work/debootstrap.log"
if [ -e "$target" ]; then
    retired="$DEST_DIR/.retired-$IMAGE-$(date +%s)"
    mv "$target" "$retired"
    log "kept the previous version at $retired (remove it once no instance launched before now runs)"
fi
mv "$work" "$target"
trap - EXIT

size=$(du -sh "$target/rootfs" | cut -f1)
log "built $target ($size) in $(($(date +%s) - start)) s"
