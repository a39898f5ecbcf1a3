"""Failing handlers: retried with growing delays a bounded number of times, then dead-lettered."""
import json

import pytest
from nameko.testing.services import entrypoint_waiter

from shared.messaging import MAX_ATTEMPTS, EventPublisher, inbox_event_handler
from tests.harness import wait_until

CALLS = []


class Flaky:
    """Fails on the first ``payload["fail"]`` deliveries of a message, then succeeds."""

    name = "flaky"

    @inbox_event_handler("intake", "nomination_submitted")
    def handle(self, payload):
        CALLS.append(payload["n"])
        if CALLS.count(payload["n"]) <= payload["fail"]:
            raise RuntimeError(f"the database is away (call {CALLS.count(payload['n'])})")


@pytest.fixture
def flaky(container_factory, rabbit_config, monkeypatch):
    CALLS.clear()
    monkeypatch.setenv("TDKT_RETRY_SECONDS", "0.05")
    container = container_factory(Flaky, rabbit_config)
    container.start()
    return container


def publish(rabbit_config, n, fail):
    EventPublisher(rabbit_config["AMQP_URI"], "intake")("nomination_submitted", {"n": n, "fail": fail},
                                                         f"message-{n}", {})


def test_a_handler_that_fails_twice_is_retried_and_succeeds_once(flaky, rabbit_config, get_message_from_queue):
    def handled(worker_ctx, result, exc_info):
        return exc_info is None

    with entrypoint_waiter(flaky, "handle", callback=handled, timeout=15):
        publish(rabbit_config, 1, fail=2)
    assert CALLS == [1, 1, 1]


def test_a_poison_message_is_dead_lettered_after_the_last_attempt_and_others_go_on(flaky, rabbit_config,
                                                                                   get_message_from_queue):
    publish(rabbit_config, 2, fail=99)
    with entrypoint_waiter(flaky, "handle", callback=lambda ctx, result, exc: ctx.args[0]["n"] == 3, timeout=15):
        publish(rabbit_config, 3, fail=0)  # not held up behind the poison message
    wait_until(lambda: CALLS.count(2) == MAX_ATTEMPTS, what="every attempt")
    message = wait_until(lambda: _get(get_message_from_queue, "dlq.flaky"), what="the dead letter")
    assert json.loads(message.body) == {"n": 2, "fail": 99}
    assert message.headers["x-tdkt-attempts"] == MAX_ATTEMPTS - 1
    assert message.properties["message_id"] == "message-2"


def _get(get_message_from_queue, queue):
    from queue import Empty

    try:
        return get_message_from_queue(queue, timeout=0.2)
    except Empty:
        return None
