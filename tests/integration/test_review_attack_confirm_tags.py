"""Review of ``confirms.BatchPublisher``'s bookkeeping of confirms by delivery tag: the broker's
answers scripted (out of order, ``multiple``, nacks, returns before their acks), no broker needed."""
from types import SimpleNamespace

import pytest

from shared.platform.confirms import BatchPublisher, NotConfirmed
from shared.platform.messaging import event_exchange
from shared.platform.outbox import Undeliverable


class ScriptedBroker:
    """Stands in for the connection and channel: ``drain_events`` plays the next scripted answer."""

    def __init__(self, publisher):
        self.publisher, self.script, self.published = publisher, [], []
        self.connection = SimpleNamespace(transport=SimpleNamespace())  # no ``_write``: written as usual

    def basic_publish(self, message, exchange, routing_key, mandatory):
        self.published.append(message.properties["message_id"])

    def drain_events(self, timeout):
        kind, *args = self.script.pop(0)
        if kind == "return":
            self.publisher._on_return(None, "intake.events", "x", SimpleNamespace(properties={"message_id": args[0]}))
        else:
            getattr(self.publisher, f"_on_{kind}")(*args)


@pytest.fixture
def scripted():
    publisher = BatchPublisher("memory://", event_exchange("intake"))
    broker = ScriptedBroker(publisher)
    publisher._connection = publisher._channel = broker
    return publisher, broker


def batch(count, start=0):
    return [("t", {}, f"e{i}", {}) for i in range(start, start + count)]


def kinds(outcomes):
    return [type(o).__name__ for o in outcomes]


@pytest.mark.parametrize("script, expected", [
    ([("ack", 3, False), ("ack", 1, False), ("ack", 2, False)], ["NoneType"] * 3),
    ([("ack", 2, True), ("nack", 3, False), ("ack", 4, False)], ["NoneType", "NoneType", "NotConfirmed", "NoneType"]),
    ([("ack", 2, False), ("nack", 3, True), ("ack", 4, False)], ["NotConfirmed", "NoneType", "NotConfirmed", "NoneType"]),
    ([("nack", 2, False), ("ack", 4, True)], ["NoneType", "NotConfirmed", "NoneType", "NoneType"]),
    ([("return", "e1"), ("ack", 3, True)], ["NoneType", "Undeliverable", "NoneType"]),
    ([("ack", 1, False), ("return", "e2"), ("nack", 3, True)], ["NoneType", "NotConfirmed", "NotConfirmed"]),
])
def test_each_answer_is_given_to_its_own_event(scripted, script, expected):
    publisher, broker = scripted
    size = len(expected)
    broker.script = list(script)
    assert kinds(publisher.publish_many(batch(size))) == expected
    assert broker.script == []


def test_the_next_batch_starts_where_the_last_one_ended(scripted):
    """Tags go on counting on the same channel; nothing of the first batch's answers carries over."""
    publisher, broker = scripted
    broker.script = [("return", "e1"), ("ack", 2, True), ("nack", 3, False)]
    assert kinds(publisher.publish_many(batch(3))) == ["NoneType", "Undeliverable", "NotConfirmed"]
    broker.script = [("ack", 5, False), ("ack", 4, False)]
    assert publisher.publish_many(batch(2, 0)) == [None, None]  # the same event ids again: not returned now
    broker.script = [("ack", 6, True)]
    assert publisher.publish_many(batch(1, 9)) == [None]


def test_a_missing_answer_leaves_the_whole_batch_unconfirmed(scripted):
    """The connection is lost (or times out) after some acks: no event of the batch counts as confirmed."""
    publisher, broker = scripted

    def lost(timeout):
        raise ConnectionResetError("gone")

    broker.script = [("ack", 1, False)]
    original = broker.drain_events
    broker.drain_events = lambda timeout: original(timeout) if broker.script else lost(timeout)
    outcomes = publisher.publish_many(batch(3))
    assert all(o is not None and not isinstance(o, (Undeliverable, NotConfirmed)) for o in outcomes)
    assert publisher._connection is None  # the next batch reconnects
