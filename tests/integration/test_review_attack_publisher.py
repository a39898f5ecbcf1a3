"""Review of ``confirms.BatchPublisher`` (the outbox relay's publisher), against a real RabbitMQ.

Some of these hold the broker's answers back with a local TCP proxy that can stop forwarding (a broker
that is up but does not answer: a resource alarm, a stalled node, a half-open connection)."""
import json
import select
import traceback
from urllib.parse import urlsplit

import eventlet
import pytest
import sqlalchemy as sa

from shared.platform.confirms import BatchPublisher
from shared.platform.messaging import EventPublisher, event_exchange
from tests.harness import wait_until
from tests.proxy import FreezingProxy
from tests.integration.delivery import Tap


@pytest.fixture
def proxied(rabbit_config):
    """An AMQP URI to this test's vhost through a :class:`FreezingProxy`."""
    uri = urlsplit(rabbit_config["AMQP_URI"])
    proxy = FreezingProxy((uri.hostname if uri.hostname != "localhost" else "127.0.0.1", uri.port or 5672))
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")  # the events are routed
    yield proxy, uri._replace(netloc=f"{uri.username}:{uri.password}@127.0.0.1:{proxy.port}").geturl()
    proxy.close()
    tap.close()


def events(event_type, count, start=0, size=0):
    return [(event_type, {"n": i, "pad": "x" * size}, f"{event_type}-{i}", {"nameko.call_id_stack": [f"c{i}"]})
            for i in range(start, start + count)]


def test_a_confirm_timeout_gives_the_batch_back_within_the_timeout(proxied):
    """The broker is up but does not answer (here: a proxy that stopped forwarding). The batch's
    confirms do not come within ``confirm_timeout``: ``publish_many`` should say so then, so the relay
    rolls back and tries again later. It does not return: after the timeout, ``close()`` asks the
    broker to close the connection and waits for its Close-Ok with no timeout at all, holding the
    publisher's lock (and the relay's transaction, with its outbox rows locked) for as long as the
    broker stays silent."""
    proxy, uri = proxied
    publisher = BatchPublisher(uri, event_exchange("intake"), confirm_timeout=1)
    try:
        assert publisher.publish_many(events("nomination_submitted", 1)) == [None]  # connected
        proxy.freeze()
        batch = eventlet.spawn(publisher.publish_many, events("nomination_submitted", 3, 1))
        outcome = None
        with eventlet.Timeout(10, False):
            outcome = batch.wait()
        assert outcome is not None, "publish_many still blocked 10 s after a 1 s confirm timeout, in:\n" + "".join(
            frame for frame in traceback.format_stack(batch.gr_frame)
            if "confirms.py" in frame or "amqp/connection.py" in frame)
        assert len(outcome) >= 1 and all(o is not None for o in outcome)
    finally:
        proxy.close()  # lets a blocked publisher fail
        publisher.close()


def test_consumers_get_the_same_message_from_the_batch_publisher_as_from_nameko(rabbit_config):
    """Every property, header, the body and the route of an event as the previous publisher
    (Nameko's ``Publisher``) sent it."""
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    batch = BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"))
    try:
        payload, headers = {"tên": "Nguyễn Thị Ánh", "n": [1, 2.5, None, True]}, {"nameko.call_id_stack": ["a.b.1"]}
        EventPublisher(rabbit_config["AMQP_URI"], "intake")("nomination_submitted", payload, "same-id", headers)
        batch.publish_many([("nomination_submitted", payload, "same-id", headers)])
        old, new = tap.get_all()
    finally:
        batch.close()
        tap.close()
    assert new.body == old.body and json.loads(new.body) == payload
    assert new.headers == old.headers
    assert {k: v for k, v in new.delivery_info.items() if k not in ("delivery_tag", "message_count")} == \
        {k: v for k, v in old.delivery_info.items() if k not in ("delivery_tag", "message_count")}
    assert new.properties == old.properties


def test_a_message_larger_than_a_frame_in_the_middle_of_a_batch(rabbit_config):
    """Bigger than ``frame_max`` (128 KiB): py-amqp writes it as several frames, all buffered into the
    batch's one write; the events around it arrive whole and in order."""
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    publisher = BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"), confirm_timeout=10)
    try:
        batch = [*events("nomination_submitted", 2), *events("nomination_submitted", 1, 2, size=600_000),
                 *events("nomination_submitted", 2, 3)]
        assert publisher.publish_many(batch) == [None] * 5
        got = tap.get_all()
    finally:
        publisher.close()
        tap.close()
    assert [json.loads(m.body)["n"] for m in got] == [0, 1, 2, 3, 4]
    assert len(json.loads(got[2].body)["pad"]) == 600_000
    assert [m.properties["message_id"] for m in got] == [f"nomination_submitted-{i}" for i in range(5)]


def test_concurrent_callers_each_get_their_own_outcomes(rabbit_config):
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    publisher = BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"), confirm_timeout=10)
    try:
        a = eventlet.spawn(publisher.publish_many, events("nomination_submitted", 40))
        b = eventlet.spawn(publisher.publish_many, [*events("nomination_submitted", 20, 100),
                                                    *events("nomination_amended", 1, 200),  # unroutable
                                                    *events("nomination_submitted", 19, 120)])
        outcomes_a, outcomes_b = a.wait(), b.wait()
        got = [json.loads(m.body)["n"] for m in tap.get_all()]
    finally:
        publisher.close()
        tap.close()
    assert outcomes_a == [None] * 40
    assert [type(o).__name__ for o in outcomes_b] == ["NoneType"] * 20 + ["Undeliverable"] + ["NoneType"] * 19
    assert sorted(got) == [*range(40), *range(100, 120), *range(120, 139)]


def test_closing_while_a_batch_waits_for_its_confirms_reports_nothing_confirmed(proxied, rabbit_config):
    """``Store.stop`` calls ``close()`` without the publisher's lock while the relay may be waiting for
    confirms: the stop must not hang, and the waiting batch must not report an unconfirmed event as
    confirmed."""
    proxy, uri = proxied
    publisher = BatchPublisher(uri, event_exchange("intake"), confirm_timeout=5)
    try:
        assert publisher.publish_many(events("nomination_submitted", 1)) == [None]
        proxy.freeze()
        batch = eventlet.spawn(publisher.publish_many, events("nomination_submitted", 3, 1))
        wait_until(lambda: proxy.held > 0, timeout=10, what="the batch written")
        stopper = eventlet.spawn(publisher.close)
        stopped = False
        with eventlet.Timeout(3, False):
            stopper.wait()
            stopped = True
        proxy.close()
        outcome = batch.wait()
        assert None not in outcome
        assert stopped, "Store.stop's publisher.close() blocked while a batch was in flight"
    finally:
        proxy.close()
        publisher.close()


def test_an_event_that_cannot_be_encoded_mid_batch_sends_nothing(rabbit_config):
    """The buffered write is dropped when building the batch fails: none of it reaches the broker (so
    none of it can be confirmed), and the next batch starts clean."""
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    publisher = BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"), confirm_timeout=10)
    try:
        assert publisher.publish_many(events("nomination_submitted", 1)) == [None]
        bad = ("nomination_submitted", {"n": 99, "not json": {1, 2}}, "bad", {})
        outcomes = publisher.publish_many([*events("nomination_submitted", 2, 1), bad, *events("nomination_submitted", 1, 3)])
        assert len(outcomes) == 1 and outcomes[0] is not None
        assert publisher.publish_many(events("nomination_submitted", 2, 4)) == [None, None]
        assert [json.loads(m.body)["n"] for m in tap.get_all()] == [0, 4, 5]
    finally:
        publisher.close()
        tap.close()


def test_a_connection_the_broker_closed_between_batches_fails_one_batch_and_the_next_reconnects(rabbit_config):
    """As after a broker restart: RabbitMQ closes the connection (``CONNECTION_FORCED``) while the
    publisher is idle. The next batch fails whole (nothing of it reported confirmed) and the one after
    it goes out on a new connection."""
    import requests

    from tests.harness import RABBIT_API

    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    publisher = BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"), confirm_timeout=10)
    try:
        assert publisher.publish_many(events("nomination_submitted", 1)) == [None]
        port = publisher._connection.connection.sock.getsockname()[1]
        connections = f"{RABBIT_API}/vhosts/{rabbit_config['vhost']}/connections"
        [mine] = wait_until(lambda: [c["name"] for c in requests.get(connections, timeout=10).json()
                                     if c.get("peer_port") == port], what="the publisher's connection listed")
        requests.delete(f"{RABBIT_API}/connections/{mine}", timeout=10).raise_for_status()
        sock = publisher._connection.connection.sock
        wait_until(lambda: select.select([sock], [], [], 0)[0], what="the broker's Connection.Close to arrive")
        failed = publisher.publish_many(events("nomination_submitted", 2, 1))
        assert failed and None not in failed
        assert publisher.publish_many(events("nomination_submitted", 2, 3)) == [None, None]
        got = [json.loads(m.body)["n"] for m in tap.get_all()]
        assert got[0] == 0 and got[-2:] == [3, 4] and set(got) <= {0, 1, 2, 3, 4}
    finally:
        publisher.close()
        tap.close()


@pytest.mark.parametrize("publisher_kind", ["batch", "one by one"])
def test_events_behind_one_the_broker_refuses_are_not_published_again_and_again(db_urls, rabbit_config,
                                                                                 publisher_kind):
    """With the batch publisher the events behind a refused (nacked) one are already out when the nack
    comes. Were they kept (the batch ending at the nack), every relay step would publish all of them
    again for as long as the broker refuses the first. So a refused event is put off like an unroutable
    one, the others leave the outbox, and each is delivered once; one by one, the same."""
    from kombu import Connection, Queue

    from services.intake.service import MIGRATIONS
    from shared.platform.outbox import publish_pending
    from shared.platform.store import OUTBOX
    from tests.integration.delivery import Tables

    with Connection(rabbit_config["AMQP_URI"]) as connection:  # refuses every sitting_closed (a nack)
        Queue("full", exchange=event_exchange("intake"), routing_key="sitting_closed", durable=False,
              queue_arguments={"x-max-length": 0, "x-overflow": "reject-publish"})(connection.default_channel).declare()
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    tables = Tables(db_urls["intake"], MIGRATIONS)
    publisher = (BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"), confirm_timeout=10)
                 if publisher_kind == "batch" else EventPublisher(rabbit_config["AMQP_URI"], "intake"))
    try:
        with tables.uow() as uow:
            uow.publish("sitting_closed", {"n": 0})
            for n in (1, 2, 3):
                uow.publish("nomination_submitted", {"n": n})
            uow.commit()
        assert publish_pending(tables.sessions, OUTBOX, publisher) == 4  # three published, one put off
        for _ in range(2):  # more relay steps while the refused event waits its turn
            assert publish_pending(tables.sessions, OUTBOX, publisher) == 0
        with tables.engine.connect() as connection:
            assert connection.execute(sa.select(OUTBOX.c.event_type, OUTBOX.c.attempts)).all() == [("sitting_closed", 1)]
        copies = [json.loads(m.body)["n"] for m in tap.get_all()]
        assert copies == [1, 2, 3], f"published again at every step: {copies}"
    finally:
        getattr(publisher, "close", lambda: None)()
        tables.dispose()
        tap.close()
