#!/usr/bin/env bash
# `make container-test`'s machine setup (Debian bookworm, as root): podman with runc (crun fails on a
# cgroups v1 hybrid host), debootstrap for a base image made from Debian's packages, podman-compose, and
# the engine settings that work without systemd. Idempotent: a second run only checks.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "deploy/containers/setup.sh: run as root (apt-get, /etc/containers)" >&2; exit 1; }

# catatonit: the init of `init: true` (podman --init)
# the dnsname CNI plugin: compose services find each other by name on podman-compose's network
packages=(podman runc catatonit debootstrap podman-compose golang-github-containernetworking-plugin-dnsname uidmap slirp4netns fuse-overlayfs)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# cgroupfs (no systemd here), no default ulimits (the host's hard limits are lower than podman's
# defaults) and an events log in a file (no journald)
conf=/etc/containers/containers.conf
wanted=$'[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n'
if [ ! -f "$conf" ] || [ "$(cat "$conf")"$'\n' != "$wanted" ]; then
    mkdir -p /etc/containers
    [ -f "$conf" ] && cp "$conf" "$conf.before-tdkt"
    printf '%s' "$wanted" > "$conf"
fi
podman --version
