"""Health and metrics without a broker: the port variable, the metrics text after a call, gauges read at
scrape time (one that fails is left out, not the scrape), and the three endpoints as WSGI answers them."""
import json
from wsgiref.util import setup_testing_defaults

import pytest
from prometheus_client import generate_latest

from shared.platform.config import ConfigError
from shared.platform.observability import Metrics, ScrapedGauges, http_app, http_port

RETRY = "evt-intake-nomination_submitted--review.on_nomination_submitted.retry"
QUEUES = {"rpc-review": (2, 1), RETRY: (1, 0), "dlq.review": None}


def gauges(**sources):
    return ScrapedGauges("review", sources.get("outbox", lambda: 3), sources.get("queues", lambda: QUEUES),
                         {"rpc-review"}, sources.get("mails"))


def text(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


def get(app, path: str):
    environ = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    answer = {}
    body = b"".join(app(environ, lambda status, headers: answer.update(status=status, headers=dict(headers))))
    return answer["status"], answer["headers"], body


@pytest.mark.parametrize("value, port", [(None, None), ("", None), ("  ", None), ("0", None), ("8000", 8000),
                                         (" 8001 ", 8001), ("65535", 65535)])
def test_the_port_is_read_from_tdkt_http_port_and_zero_or_unset_serves_nothing(value, port):
    assert http_port({} if value is None else {"TDKT_HTTP_PORT": value}) == port


@pytest.mark.parametrize("value", ["abc", "-1", "65536", "80.5", "8000x", "123456"])
def test_a_malformed_port_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigError, match="TDKT_HTTP_PORT") as refused:
        http_port({"TDKT_HTTP_PORT": value})
    assert repr(value) in str(refused.value)


def test_a_call_moves_its_counter_by_outcome_and_its_latency_histogram():
    metrics = Metrics("review", ["get_case", "statistics"])

    metrics.observe("get_case", 0.02, ok=False)
    metrics.observe("get_case", 0.5, ok=True)
    metrics.observe("get_case", 0.01, ok=False)
    exposed = text(metrics)

    assert 'tdkt_entrypoint_calls_total{entrypoint="get_case",outcome="error",service="review"} 2.0' in exposed
    assert 'tdkt_entrypoint_calls_total{entrypoint="get_case",outcome="ok",service="review"} 1.0' in exposed
    assert 'tdkt_entrypoint_seconds_count{entrypoint="get_case",service="review"} 3.0' in exposed
    assert 'tdkt_entrypoint_seconds_bucket{entrypoint="get_case",le="0.025",service="review"} 2.0' in exposed
    assert 'tdkt_entrypoint_seconds_sum{entrypoint="get_case",service="review"} 0.53' in exposed


def test_a_batch_counts_its_deliveries_once_each_and_a_failed_batch_leaves_them_to_be_counted_alone():
    metrics = Metrics("review", ["on_nomination_submitted"])

    metrics.observe("on_nomination_submitted", 0.2, ok=True, handled=25)
    metrics.observe("on_nomination_submitted", 0.1, ok=False, handled=3)  # each is handled again alone
    for ok in (True, True, False):
        metrics.observe("on_nomination_submitted", 0.01, ok=ok)
    exposed = text(metrics)

    calls = 'tdkt_entrypoint_calls_total{entrypoint="on_nomination_submitted",outcome="%s",service="review"} %s'
    assert calls % ("ok", "27.0") in exposed and calls % ("error", "1.0") in exposed
    assert 'tdkt_entrypoint_seconds_count{entrypoint="on_nomination_submitted",service="review"} 4.0' in exposed


def test_every_entrypoint_is_exposed_at_zero_before_its_first_call():
    exposed = text(Metrics("review", ["statistics"]))

    assert 'tdkt_entrypoint_calls_total{entrypoint="statistics",outcome="ok",service="review"} 0.0' in exposed
    assert 'tdkt_entrypoint_calls_total{entrypoint="statistics",outcome="error",service="review"} 0.0' in exposed
    assert 'tdkt_entrypoint_seconds_count{entrypoint="statistics",service="review"} 0.0' in exposed


def test_two_services_in_one_process_keep_their_own_metrics():
    intake, review = Metrics("intake", ["get_nomination"]), Metrics("review", ["get_case"])

    review.observe("get_case", 0.1, ok=True)

    assert "get_case" not in text(intake) and "get_nomination" not in text(review)


def test_backlogs_and_queues_are_read_when_scraped():
    outbox = iter([3, 5])
    metrics = Metrics("review", [], gauges(outbox=lambda: next(outbox)))

    first, second = text(metrics), text(metrics)

    assert 'tdkt_outbox_backlog{service="review"} 3.0' in first
    assert 'tdkt_outbox_backlog{service="review"} 5.0' in second
    assert 'tdkt_queue_depth{queue="rpc-review"} 2.0' in first and f'tdkt_queue_depth{{queue="{RETRY}"}} 1.0' in first
    assert 'tdkt_queue_consumers{queue="rpc-review"} 1.0' in first
    assert f'tdkt_queue_consumers{{queue="{RETRY}"}}' not in first  # consumed by no one, by design
    assert 'queue="dlq.review"' not in first  # absent
    assert "tdkt_mail_backlog" not in first  # only notify has mail


def test_notify_reports_its_mail_backlog_by_status():
    metrics = Metrics("notify", [], gauges(mails=lambda: {"pending": 4, "failed": 0}))

    exposed = text(metrics)

    assert 'tdkt_mail_backlog{status="pending"} 4.0' in exposed
    assert 'tdkt_mail_backlog{status="failed"} 0.0' in exposed


def test_a_source_that_fails_is_left_out_of_the_scrape_and_the_others_are_served():
    def broker_down():
        raise ConnectionRefusedError(111, "Connection refused")

    metrics = Metrics("review", ["get_case"], gauges(queues=broker_down))

    exposed = text(metrics)

    assert "tdkt_queue_depth" not in exposed and "tdkt_queue_consumers" not in exposed
    assert 'tdkt_outbox_backlog{service="review"} 3.0' in exposed and "tdkt_entrypoint_calls_total" in exposed


def test_healthz_answers_200_while_the_service_runs():
    status, headers, body = get(http_app(Metrics("review", []), lambda: ["never asked"]), "/healthz")

    assert status == "200 OK" and json.loads(body) == {"status": "alive"}
    assert headers["Content-Type"] == "application/json"


def test_readyz_answers_200_when_nothing_is_wrong_and_503_with_the_reasons_otherwise():
    problems = []
    app = http_app(Metrics("review", []), lambda: list(problems))

    ready = get(app, "/readyz")
    problems += ["rpc-review: no consumer", "database: OperationalError: connection refused"]
    not_ready = get(app, "/readyz")

    assert ready[0] == "200 OK" and json.loads(ready[2]) == {"status": "ready", "reasons": []}
    assert not_ready[0].startswith("503") and json.loads(not_ready[2])["reasons"] == problems


def test_metrics_are_served_in_the_prometheus_text_format_and_other_paths_are_not_found():
    metrics = Metrics("review", ["get_case"])
    metrics.observe("get_case", 0.1, ok=False)
    app = http_app(metrics, lambda: [])

    status, headers, body = get(app, "/metrics")

    assert status.startswith("200") and headers["Content-Type"].startswith("text/plain")
    assert b'tdkt_entrypoint_calls_total{entrypoint="get_case",outcome="error",service="review"} 1.0' in body
    assert get(app, "/")[0].startswith("404") and get(app, "/admin")[0].startswith("404")
