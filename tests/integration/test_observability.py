"""Health and metrics of a real service container over real HTTP, broker and database: a failed RPC call
moves its counter and histogram, the backlog and queue gauges are there, the probes answer, and the port
is released when the container stops."""
import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.contract.errors import NotFound
from shared.platform.healthcheck import SERVICE_CLASSES, service_class
from tests.harness import free_port, wait_until


@pytest.fixture
def http_port(monkeypatch):
    port = free_port()
    monkeypatch.setenv("TDKT_HTTP_PORT", str(port))
    return port


def get(port: int, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)


def metric(text: str, sample: str) -> float | None:
    """The value of ``sample`` (name and labels, exactly as exposed) in a Prometheus text body."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_failed_rpc_call_moves_its_counter_and_histogram(container_factory, rabbit_config, service_env,
                                                             http_port):
    container = container_factory(service_class("review"), rabbit_config)
    container.start()
    calls = 'tdkt_entrypoint_calls_total{entrypoint="get_case",outcome="error",service="review"}'
    timed = 'tdkt_entrypoint_seconds_count{entrypoint="get_case",service="review"}'
    before = get(http_port, "/metrics").text
    assert (metric(before, calls), metric(before, timed)) == (0, 0)

    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": LOCAL_ADMIN_TOKEN}, timeout=15) as proxy:
        with pytest.raises(NotFound):
            proxy.review.get_case("no-such-nomination")

    # the reply is sent before the worker's result reaches the dependencies
    def counted():
        text = get(http_port, "/metrics").text
        return metric(text, calls) == 1 and text

    exposed = wait_until(counted, what="get_case's error to be counted")
    assert metric(exposed, timed) == 1
    assert metric(exposed, 'tdkt_entrypoint_calls_total{entrypoint="get_case",outcome="ok",service="review"}') == 0
    assert metric(exposed, 'tdkt_outbox_backlog{service="review"}') == 0
    assert metric(exposed, 'tdkt_queue_consumers{queue="rpc-review"}') == 1
    assert metric(exposed, 'tdkt_queue_depth{queue="rpc-review"}') == 0
    assert metric(exposed, 'tdkt_queue_depth{queue="dlq.review"}') == 0


@pytest.mark.parametrize("service", sorted(SERVICE_CLASSES))
def test_a_running_service_is_alive_ready_and_scraped_and_its_port_is_released_when_it_stops(
        service, container_factory, rabbit_config, service_env, http_port):
    container = container_factory(service_class(service), rabbit_config)
    container.start()

    alive = get(http_port, "/healthz")
    ready = wait_until(lambda: (answer := get(http_port, "/readyz")).status_code == 200 and answer,
                       what=f"{service} to be ready")
    exposed = get(http_port, "/metrics")

    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    assert ready.json() == {"status": "ready", "reasons": []}
    assert exposed.headers["Content-Type"].startswith("text/plain")
    assert metric(exposed.text, f'tdkt_queue_consumers{{queue="rpc-{service}"}}') == 1
    assert metric(exposed.text, f'tdkt_outbox_backlog{{service="{service}"}}') is not None
    backlog = [metric(exposed.text, f'tdkt_mail_backlog{{status="{status}"}}') for status in ("pending", "failed")]
    assert backlog == ([0, 0] if service == "notify" else [None, None])

    container.stop()
    with pytest.raises(requests.ConnectionError):
        get(http_port, "/healthz")
