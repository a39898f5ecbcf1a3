#!/usr/bin/env bash
# A local three-node RabbitMQ cluster for the on-demand cluster test (tests/cluster/):
#   deploy/rabbitmq/cluster.sh start|stop|stop-node N|start-node N|status
# Nodes tdkt1..3@localhost listen on AMQP ports 5701..5703 (distribution 25701..25703), keep their
# data under ${TDKT_CLUSTER_DIR:-/tmp/tdkt-cluster}, and run beside the machine's own broker.
set -euo pipefail
BASE=${TDKT_CLUSTER_DIR:-/tmp/tdkt-cluster}
as_rabbit() { if id rabbitmq >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then runuser -u rabbitmq -- "$@"; else "$@"; fi; }

node_env() {
    local n=$1
    echo RABBITMQ_NODENAME=tdkt$n@localhost RABBITMQ_NODE_PORT=$((5700 + n)) \
        RABBITMQ_DIST_PORT=$((25700 + n)) RABBITMQ_MNESIA_BASE=$BASE/tdkt$n/mnesia \
        RABBITMQ_LOG_BASE=$BASE/tdkt$n/log RABBITMQ_PID_FILE=$BASE/tdkt$n/pid \
        RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/enabled_plugins RABBITMQ_CONFIG_FILE=$BASE/rabbitmq
}

start_node() {
    local n=$1
    mkdir -p "$BASE/tdkt$n"
    [ -f "$BASE/enabled_plugins" ] || echo "[]." > "$BASE/enabled_plugins"
    [ -f "$BASE/rabbitmq.conf" ] || echo "loopback_users = none" > "$BASE/rabbitmq.conf"
    if id rabbitmq >/dev/null 2>&1; then chown -R rabbitmq: "$BASE"; fi
    as_rabbit env $(node_env "$n") rabbitmq-server -detached
    as_rabbit rabbitmqctl -n "tdkt$n@localhost" wait "$BASE/tdkt$n/pid" --timeout 90 >/dev/null
}

ctl() { as_rabbit rabbitmqctl -n "tdkt$1@localhost" "${@:2}"; }

case "${1:-}" in
    start)
        for n in 1 2 3; do start_node "$n"; done
        for n in 2 3; do
            ctl "$n" stop_app >/dev/null
            ctl "$n" join_cluster tdkt1@localhost >/dev/null
            ctl "$n" start_app >/dev/null
        done
        ctl 1 cluster_status | grep -A4 -i "running nodes" ;;
    stop)
        for n in 3 2 1; do ctl "$n" stop >/dev/null 2>&1 || true; done
        rm -rf "$BASE" ;;
    stop-node) ctl "$2" stop_app >/dev/null ;;
    start-node) ctl "$2" start_app >/dev/null; ctl "$2" await_startup >/dev/null ;;
    status) ctl 1 cluster_status ;;
    *) echo "usage: $0 start|stop|stop-node N|start-node N|status" >&2; exit 2 ;;
esac
