"""The outbox relay's publisher (``confirms.BatchPublisher``) against a real RabbitMQ: a batch goes out
in order as Nameko's events do, and each event's outcome is the broker's own answer to it: confirmed,
returned unroutable, or refused (a nack); a broken connection fails the batch and the next one
reconnects."""
import json

import pytest
from kombu import Connection, Queue

from shared.platform.confirms import BatchPublisher, NotConfirmed
from shared.platform.messaging import event_exchange
from shared.platform.outbox import Undeliverable
from tests.integration.delivery import Tap


@pytest.fixture
def publisher(rabbit_config):
    publisher = BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"), confirm_timeout=10)
    yield publisher
    publisher.close()


def events(event_type, count, start=0):
    return [(event_type, {"n": i, "name": "Nguyễn Thị Ánh"}, f"{event_type}-{i}", {"nameko.call_id_stack": [f"c{i}"]})
            for i in range(start, start + count)]


def test_a_batch_is_confirmed_and_arrives_in_order_as_nameko_events(publisher, rabbit_config):
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    try:
        assert publisher.publish_many(events("nomination_submitted", 50)) == [None] * 50
        assert publisher.publish_many(events("nomination_submitted", 3, start=50)) == [None] * 3  # same channel
        publisher("nomination_submitted", {"n": 53, "name": "x"}, "nomination_submitted-53", {})
        got = tap.get_all()
    finally:
        tap.close()
    assert [json.loads(m.body)["n"] for m in got] == list(range(54))
    first = got[0]
    assert json.loads(first.body) == {"n": 0, "name": "Nguyễn Thị Ánh"}
    assert (first.content_type, first.content_encoding) == ("application/json", "utf-8")
    assert first.properties["delivery_mode"] == 2 and first.properties["message_id"] == "nomination_submitted-0"
    assert first.headers == {"nameko.call_id_stack": ["c0"]}


def test_an_unroutable_event_is_returned_without_failing_the_others(publisher, rabbit_config):
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_withdrawn")
    try:
        batch = [*events("nomination_withdrawn", 2), *events("nomination_amended", 1), *events("nomination_withdrawn", 2, 2)]
        outcomes = publisher.publish_many(batch)
        assert [type(o).__name__ for o in outcomes] == ["NoneType", "NoneType", "Undeliverable", "NoneType", "NoneType"]
        assert isinstance(outcomes[2], Undeliverable)
        assert len(tap.get_all()) == 4
        with pytest.raises(Undeliverable):  # one at a time, as EventPublisher raises
            publisher("nomination_amended", {}, "alone", {})
        assert publisher.publish_many(events("nomination_withdrawn", 1, 9)) == [None]  # nothing carried over
    finally:
        tap.close()


def test_an_event_the_broker_refuses_is_not_confirmed(publisher, rabbit_config):
    """A queue full with ``reject-publish`` makes RabbitMQ nack what it cannot take."""
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        Queue("full", exchange=event_exchange("intake"), routing_key="sitting_closed", durable=False,
              queue_arguments={"x-max-length": 2, "x-overflow": "reject-publish"})(connection.default_channel).declare()
        outcomes = publisher.publish_many(events("sitting_closed", 4))
        assert outcomes[:2] == [None, None]
        assert all(isinstance(outcome, NotConfirmed) for outcome in outcomes[2:])


def test_a_broken_connection_fails_its_batch_and_the_next_reconnects(publisher, rabbit_config):
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    try:
        assert publisher.publish_many(events("nomination_submitted", 1)) == [None]
        publisher._connection.connection.transport.sock.close()  # the broker went away under it
        [failure] = publisher.publish_many(events("nomination_submitted", 2, 1))
        assert isinstance(failure, Exception) and not isinstance(failure, Undeliverable)
        assert publisher.publish_many(events("nomination_submitted", 2, 3)) == [None, None]
        assert [json.loads(m.body)["n"] for m in tap.get_all()][-2:] == [3, 4]
    finally:
        tap.close()


def test_a_connection_idle_too_long_is_replaced_before_it_is_used(publisher, rabbit_config, monkeypatch):
    """No heartbeat: a connection idle past IDLE_RECONNECT may be dead without knowing it (a firewall
    dropped it), so it is replaced, not tried; one used recently is kept."""
    from shared.platform import confirms

    clock = [1000.0]
    monkeypatch.setattr(confirms.time, "monotonic", lambda: clock[0])
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    try:
        assert publisher.publish_many(events("nomination_submitted", 1)) == [None]
        first = publisher._connection
        clock[0] += confirms.IDLE_RECONNECT - 1
        assert publisher.publish_many(events("nomination_submitted", 1, 1)) == [None]
        assert publisher._connection is first  # used within the idle limit: kept
        clock[0] += confirms.IDLE_RECONNECT + 1
        assert publisher.publish_many(events("nomination_submitted", 1, 2)) == [None]
        assert publisher._connection is not first
        assert [json.loads(m.body)["n"] for m in tap.get_all()] == [0, 1, 2]
    finally:
        tap.close()
