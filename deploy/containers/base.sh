#!/usr/bin/env bash
# A Debian bookworm base image with Python 3.11, made from Debian's packages (no public container
# registry is reachable here): debootstrap a minimal Debian into var/containers/, `podman import` it,
# then add Python (deploy/containers/base.Containerfile). It stands in for deploy/Dockerfile's
# python:3.11-slim-bookworm (`--build-arg PYTHON_IMAGE=...`); the stand-ins for RabbitMQ, PostgreSQL
# and Mailpit (deploy/containers/*.Containerfile) start from it too. Cached: the images stay in podman's
# storage and the debootstrap as var/containers/debian-bookworm.tar, so a rerun takes seconds.
#
#   deploy/containers/base.sh [IMAGE]     (default localhost/tdkt-base:bookworm)
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${1:-localhost/tdkt-base:bookworm}
debian=localhost/tdkt-debian:bookworm
mirror=${TDKT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=var/containers
tarball=$cache/debian-bookworm.tar

podman image exists "$image" && exit 0
mkdir -p "$cache"
if ! podman image exists "$debian"; then
    if [ ! -s "$tarball" ]; then
        rootfs=$(mktemp -d "$PWD/$cache/rootfs.XXXXXX")
        trap 'rm -rf "$rootfs"' EXIT
        if ! debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror"; then
            tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
            exit 1
        fi
        # what an image wants and a debootstrap leaves: apt's sources, no caches, no machine id
        printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
            > "$rootfs/etc/apt/sources.list"
        printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
            > "$rootfs/etc/apt/apt.conf.d/90tdkt-slim"
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/etc/machine-id
        tar --numeric-owner -C "$rootfs" -cf "$tarball.part" .
        mv "$tarball.part" "$tarball"
    fi
    podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$debian"
fi
podman build --pull=never --network host --build-arg DEBIAN="$debian" \
    -f deploy/containers/base.Containerfile -t "$image" deploy/containers
