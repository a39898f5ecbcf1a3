#!/usr/bin/env bash
# Builds, with podman and no public container registry, what `make container-test` runs:
#   localhost/tdkt:0.1.0            deploy/Dockerfile as written, on the Debian-made base (base.sh)
#                                   instead of python:3.11-slim-bookworm (its PYTHON_IMAGE argument)
#   localhost/tdkt-rabbitmq:standin  Debian's rabbitmq-server        for rabbitmq:3.13-management
#   localhost/tdkt-postgres:standin  Debian's postgresql              for postgres:16
#   localhost/tdkt-mailpit:standin   Debian's python3-aiosmtpd        for axllent/mailpit
# The builds reach PyPI and Debian's mirror over the host's network; the host's trust store is mounted
# into the build steps (never into a layer), for a machine whose TLS goes through a proxy of its own.
#
#   deploy/containers/build.sh [tdkt|standins|all]     (default all)
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
base=localhost/tdkt-base:bookworm
deploy/containers/base.sh "$base"

trust=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p var/containers
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > var/containers/pip.conf
    trust=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
           --volume "$PWD/var/containers/pip.conf:/etc/pip.conf:ro")
fi
build() { podman build --pull=never --network host "$@"; }

if [ "$what" = tdkt ] || [ "$what" = all ]; then
    build "${trust[@]}" --build-arg PYTHON_IMAGE="$base" -f deploy/Dockerfile -t localhost/tdkt:0.1.0 .
fi
if [ "$what" = standins ] || [ "$what" = all ]; then
    for standin in rabbitmq postgres mailpit; do
        build --build-arg BASE="$base" -f "deploy/containers/$standin.Containerfile" \
            -t "localhost/tdkt-$standin:standin" deploy/containers
    done
fi
