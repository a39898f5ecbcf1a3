#!/usr/bin/env bash
# Enable RabbitMQ's management plugin on this machine's broker if its HTTP API does not answer yet
# (the tests and the benchmark make a vhost per run through it); wait until it does.
set -euo pipefail
api=http://127.0.0.1:15672/api/overview
if ! curl -fsS -u guest:guest "$api" >/dev/null 2>&1; then
    rabbitmq-plugins enable rabbitmq_management >/dev/null
    for _ in $(seq 1 60); do
        curl -fsS -u guest:guest "$api" >/dev/null 2>&1 && exit 0
        sleep 1
    done
    echo "the RabbitMQ management API did not answer on $api" >&2
    exit 1
fi
