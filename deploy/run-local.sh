#!/usr/bin/env bash
# `make run`: the mail sink and the three services against the local defaults, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
# eventlet prints a deprecation banner at import unless this is set; it changes nothing else
export EVENTLET_TESTS=${EVENTLET_TESTS:-1}
export TDKT_LOG_FORMAT=${TDKT_LOG_FORMAT:-text}  # plain lines for a terminal; JSON elsewhere
# nameko's CLI imports pkg_resources, which warns that it is deprecated (hence setuptools<82)
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore:pkg_resources is deprecated:UserWarning}
# the services read it from the environment through deploy/nameko.yml, never their command line (ps)
export AMQP_URI=${AMQP_URI:-amqp://guest:guest@localhost:5672/}
export SMTP_HOST=${SMTP_HOST:-127.0.0.1} SMTP_PORT=${SMTP_PORT:-1025}
mkdir -p var/mail var/log

python -m shared.preflight || exit 1

pids=()
stop() {
    trap - INT TERM EXIT
    [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

if [ "$SMTP_HOST" = 127.0.0.1 ] || [ "$SMTP_HOST" = localhost ]; then
    python -m shared.mailsink --host 127.0.0.1 --port "$SMTP_PORT" --dir var/mail &
    pids+=($!)
fi
# each service's /healthz, /readyz and /metrics on a port of its own
declare -A http_ports=([intake]=8001 [review]=8002 [notify]=8003)
for service in intake review notify; do
    class="$(tr '[:lower:]' '[:upper:]' <<<"${service:0:1}")${service:1}Service"
    # the prefixing sed in a process substitution, so that $! (whom stop() signals) is nameko itself
    TDKT_HTTP_PORT=${http_ports[$service]} nameko run --config deploy/nameko.yml "services.$service.service:$class" \
        > >(sed -u "s/^/[$service] /") 2>&1 &
    pids+=($!)
done
echo "tdkt is running: mail goes to var/mail/; health and metrics on http://localhost:8001 (intake), :8002"
echo "(review) and :8003 (notify), at /healthz, /readyz and /metrics. Press Ctrl-C to stop."
wait -n "${pids[@]}"
echo "a process stopped; stopping the others" >&2
exit 1
