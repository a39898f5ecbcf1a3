"""Failing handlers: retried with growing delays a bounded number of times, then dead-lettered."""
import json

import pytest
from nameko.testing.services import entrypoint_waiter

from shared.platform.messaging import MAX_ATTEMPTS, EventPublisher, inbox_event_handler
from tests.harness import wait_until

CALLS = []


class Flaky:
    """Fails on the first ``payload["fail"]`` deliveries of a message, then succeeds."""

    name = "flaky"

    @inbox_event_handler("intake", "nomination_submitted")
    def handle(self, payload):  # payload: {"n": id, "fail": how many deliveries fail, ...}
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


def test_the_operator_lists_and_replays_dead_letters_without_seeing_tokens(flaky, rabbit_config, monkeypatch):
    from click.testing import CliRunner

    from shared.cli.commands import main

    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    EventPublisher(rabbit_config["AMQP_URI"], "intake")("nomination_submitted", {
        "n": 4, "fail": MAX_ATTEMPTS, "ballot_token": "secret-token-value"}, "message-4", {})
    wait_until(lambda: "message-4" in CliRunner().invoke(main, ["dlq", "list", "flaky"]).output, what="dead letter")
    listed = CliRunner().invoke(main, ["dlq", "list", "flaky"]).output
    assert "secret-token-value" not in listed and "1 dead letter(s)" in listed

    with entrypoint_waiter(flaky, "handle", callback=lambda ctx, result, exc: exc is None, timeout=15):
        replayed = CliRunner().invoke(main, ["dlq", "replay", "flaky"])
    assert "1 message(s) replayed" in replayed.output
    assert CALLS.count(4) == MAX_ATTEMPTS + 1  # five failures, then the replay succeeded
    assert "0 dead letter(s)" in CliRunner().invoke(main, ["dlq", "list", "flaky"]).output
