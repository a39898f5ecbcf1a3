#!/usr/bin/env bash
# `make run`: the mail sink and the three services against the local defaults, until Ctrl-C.
#
# One copy at a time: a second start is refused while this one runs (it holds $TDKT_VAR_DIR/run.lock,
# which the services it starts inherit, so orphans would hold it too) or while anything answers on the
# ports it would use. Each process it starts runs in a process group of its own; Ctrl-C, SIGTERM or any
# one of them ending stops every group (SIGTERM, then SIGKILL after STOP_SECONDS).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
case "$VENV" in /*) bin="$VENV/bin" ;; *) bin="$PWD/$VENV/bin" ;; esac
export PATH="$bin:$PATH"
# eventlet prints a deprecation banner at import unless this is set; it changes nothing else
export EVENTLET_TESTS=${EVENTLET_TESTS:-1}
export TDKT_LOG_FORMAT=${TDKT_LOG_FORMAT:-text}  # plain lines for a terminal; JSON elsewhere
# nameko's CLI imports pkg_resources, which warns that it is deprecated (hence setuptools<82)
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore:pkg_resources is deprecated:UserWarning}
# the services read it from the environment through deploy/nameko.yml, never their command line (ps)
export AMQP_URI=${AMQP_URI:-amqp://guest:guest@localhost:5672/}
export SMTP_HOST=${SMTP_HOST:-127.0.0.1} SMTP_PORT=${SMTP_PORT:-1025}
export TDKT_VAR_DIR=${TDKT_VAR_DIR:-var}
# each service's /healthz, /readyz and /metrics on a port of its own
read -r -a ports <<<"${TDKT_RUN_HTTP_PORTS:-8001 8002 8003}"
declare -A http_ports=([intake]=${ports[0]} [review]=${ports[1]} [notify]=${ports[2]})
# where members open their ballot page (review's port); behind a TLS proxy, its public https address
export TDKT_PUBLIC_URL=${TDKT_PUBLIC_URL:-http://localhost:${ports[1]}}
STOP_SECONDS=${STOP_SECONDS:-20}
mkdir -p "$TDKT_VAR_DIR/mail" "$TDKT_VAR_DIR/log"

exec {lock}>"$TDKT_VAR_DIR/run.lock"
if ! flock --nonblock "$lock"; then
    echo "tdkt: already running from this directory ($TDKT_VAR_DIR/run.lock is held); stop it first" \
         "(Ctrl-C where it runs)" >&2
    exit 1
fi
local_sink=false
if [ "$SMTP_HOST" = 127.0.0.1 ] || [ "$SMTP_HOST" = localhost ]; then local_sink=true; fi
busy=("${ports[@]:0:3}")
$local_sink && busy+=("$SMTP_PORT")
for port in "${busy[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "tdkt: port $port is in use (another tdkt still running?); stop it first" >&2
        exit 1
    fi
done

python -m shared.platform.preflight || exit 1

pids=()
start() {  # start NAME COMMAND...: COMMAND in a session (and process group) of its own, lines prefixed
    local name=$1
    shift
    setsid "$@" > >(trap '' INT; exec sed -u "s/^/[$name] /") 2>&1 &
    pids+=($!)
}
stop() {
    trap - INT TERM EXIT
    local pid deadline=$((SECONDS + STOP_SECONDS))  # seconds of the clock: a busy machine slows each round
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    while [ $SECONDS -lt $deadline ]; do
        alive=false
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=true; done
        $alive || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

if $local_sink; then
    start mail python -m shared.devtools.mailsink --host 127.0.0.1 --port "$SMTP_PORT" --dir "$TDKT_VAR_DIR/mail"
fi
for service in intake review notify; do
    class="$(tr '[:lower:]' '[:upper:]' <<<"${service:0:1}")${service:1}Service"
    TDKT_HTTP_PORT=${http_ports[$service]} start "$service" \
        nameko run --config deploy/nameko.yml "services.$service.service:$class"
done
echo "tdkt is running: mail goes to $TDKT_VAR_DIR/mail/; health and metrics on http://localhost:${ports[0]}" \
     "(intake), :${ports[1]} (review) and :${ports[2]} (notify), at /healthz, /readyz and /metrics." \
     "Press Ctrl-C to stop."
wait -n "${pids[@]}"
echo "a process stopped; stopping the others" >&2
exit 1
