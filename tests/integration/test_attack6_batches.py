"""Attack 6 on batched inbox handlers (``inbox_event_handler(..., batch=True)``, the commits after 774f91b),
through RabbitMQ and the database for real: hostile deliveries mixed into batches, a message handled in an
earlier batch delivered again, two replicas on one batched queue, the broker connection dropped and the
container killed under a batch, a batch worker that dies outside its method.

Long because each attack needs its own publishing, waiting and settling around one shared set of helpers."""
import json
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Queue
from nameko.testing.services import entrypoint_waiter

from services.review import handlers as review_handlers
from services.review.service import ReviewService
from shared.platform import messaging
from shared.platform.logs import JsonLogging
from shared.platform.messaging import event_exchange
from tests.harness import wait_until
from tests.integration.test_batched_events import batches, tables  # noqa: F401 (fixtures)
from tests.integration.test_inbox import EVENT

QUEUE = "evt-intake-nomination_submitted--review.on_nomination_submitted"
POSTGRESQL = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


@pytest.fixture
def raw(container_factory, rabbit_config, service_env):
    """Review's queues declared by a container that then stopped; ``raw(body, **properties)`` publishes
    anything on intake's exchange as ``nomination_submitted`` (``body`` bytes as they are, else JSON)."""
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    container.stop()
    exchange = event_exchange("intake")

    def publish(body, routing_key="nomination_submitted", **properties):
        if isinstance(body, bytes):
            properties.setdefault("content_type", "application/json")
            properties.setdefault("content_encoding", "utf-8")
        else:
            properties.setdefault("serializer", "json")
        with Connection(rabbit_config["AMQP_URI"]) as connection:  # one each: the broker may close any
            connection.Producer().publish(body, exchange=exchange, routing_key=routing_key, delivery_mode=2,
                                          **properties)
    return publish


def event(number) -> dict:
    return {**EVENT, "nomination_id": f"n-a6-{number}"}


def review_handler(container, name="on_nomination_submitted"):
    return next(ep for ep in container.entrypoints if getattr(ep, "method_name", None) == name)


def queue_state(rabbit_manager, rabbit_config, name=QUEUE):
    queue = rabbit_manager.get_queue(rabbit_config["vhost"], name)
    return queue.get("messages", -1), queue.get("messages_unacknowledged", -1)


def drain(amqp_uri, name) -> list:
    """Every message of queue ``name``, taken off it (bodies left undecoded)."""
    got = []
    with Connection(amqp_uri) as connection:
        queue = Queue(name, channel=connection.default_channel, no_declare=True)
        while (message := queue.get(no_ack=True)) is not None:
            got.append(message)
    return got


def case_ids(tables) -> list:
    with tables.engine.connect() as connection:
        return sorted(connection.execute(sa.text("SELECT nomination_id FROM cases")).scalars())


def settled(handler) -> bool:
    return not handler._counted and not handler._waiting


def each_once_and_still_dispatching(container, tables, raw, rabbit_manager, rabbit_config, count: int,
                                    timeout: float = 30):
    """Every one of ``count`` cases there once, the queue drained with nothing unacknowledged and no
    worker counted, and a lone event after it still handled."""
    handler = review_handler(container)
    wait_until(lambda: tables.count("cases") == count, timeout=timeout, what="every case")
    wait_until(lambda: queue_state(rabbit_manager, rabbit_config) == (0, 0) and settled(handler),
               timeout=2 * timeout, what="the queue settled")
    assert tables.count("cases") == count and tables.count("inbox") == count
    with entrypoint_waiter(container, "on_nomination_submitted", timeout=15):
        raw(event("after"), message_id="a6-after")


# 1. hostile deliveries mixed into batches ----------------------------------------------------------------

@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_hostile_deliveries_mixed_into_batches(raw, batches, container_factory, rabbit_config, rabbit_manager,
                                               tables, get_message_from_queue):
    """Valid events carrying forged headers, duplicates inside one batch, bodies of every JSON type, an
    undecodable body, absent/overlong/unprintable message ids: each valid nomination has its case once,
    each invalid delivery is dead-lettered once with a reason, the queue ends empty with nothing
    unacknowledged, and the handler still dispatches afterwards."""
    forged = [  # headers a sender may forge, on valid events
        {"nameko.call_id_stack": 5}, {"nameko.call_id_stack": ["x" * 1000]},
        {"nameko.call_id_stack": [f"c{i}" for i in range(500)]}, {"nameko.call_id_stack": [1, None]},
        {"nameko.call_id_stack": {"a": "b"}}, {messaging.ATTEMPTS: "4"}, {messaging.ATTEMPTS: -3},
        {messaging.ATTEMPTS: 10 ** 30}, {messaging.ATTEMPTS: True}, {messaging.ATTEMPTS: 4},
        {"x-tdkt-queue": "dlq.intake", messaging.REASON: "forged"}, {"CC": ["dlq.review"]},
    ]
    valid = set()
    for number in range(40):
        headers = forged[number % len(forged)] if number % 3 == 0 else {}
        raw(event(number), message_id=f"a6-{number}", headers=headers)
        valid.add(f"n-a6-{number}")
        if number % 7 == 0:  # the same message again, right behind: in the same batch, most likely
            raw(event(number), message_id=f"a6-{number}", headers=headers)
    invalid_ids = []
    for index, body in enumerate([[1, 2], "a string", None, 42, 1.5, True, {}, {**event("bad"), "award_code": "NOPE"}]):
        raw(body, message_id=f"bad-{index}", headers={messaging.ATTEMPTS: 4} if index % 2 else {})
        invalid_ids.append(f"bad-{index}")
    raw(b"{not json", message_id="bad-undecodable")
    raw(b"[" * 100000 + b"]" * 100000, message_id="bad-deep")
    invalid_ids += ["bad-undecodable", "bad-deep"]
    # message ids of no use: absent (twice the same body: one message), empty, overlong, unprintable
    raw(event("noid"))
    raw(event("noid"))
    raw(event("emptyid"), message_id="")
    raw(event("longid"), message_id="L" * 200)
    raw(event("ctrlid"), message_id="id\x1b[31m")
    valid |= {"n-a6-noid", "n-a6-emptyid", "n-a6-longid", "n-a6-ctrlid"}

    container = container_factory(ReviewService, rabbit_config)
    container.start()
    handler = review_handler(container)
    wait_until(lambda: case_ids(tables) == sorted(valid), timeout=30, what="every valid nomination's case")
    dead = []
    wait_until(lambda: dead.extend(drain(rabbit_config["AMQP_URI"], "dlq.review")) or len(dead) >= len(invalid_ids),
               what="every invalid delivery dead-lettered")
    wait_until(lambda: queue_state(rabbit_manager, rabbit_config) == (0, 0) and settled(handler), timeout=30,
               what="the queue drained, nothing unacknowledged, no worker counted")
    assert case_ids(tables) == sorted(valid)
    assert tables.count("inbox") == len(valid)
    dead += drain(rabbit_config["AMQP_URI"], "dlq.review")
    reasons = {m.properties.get("message_id"): m.headers.get(messaging.REASON) for m in dead}
    assert sorted(reasons) == sorted(invalid_ids), reasons
    assert all(reason for reason in reasons.values()), reasons
    assert max(batches) > 1
    with entrypoint_waiter(container, "on_nomination_submitted", timeout=15):  # still dispatching
        raw(event("after"), message_id="a6-after")
    wait_until(lambda: "n-a6-after" in case_ids(tables), what="the lone event after")


@POSTGRESQL
def test_messages_handled_in_an_earlier_batch_come_again_inside_a_new_batch(raw, batches, container_factory,
                                                                             rabbit_config, rabbit_manager, tables):
    """A first container handles 30 events in batches; the same 30 message ids (some with other bodies)
    are then delivered again interleaved with 30 new ones to a new container: only the new ones have an
    effect, the cases of the first keep what the first delivery made."""
    for number in range(30):
        raw(event(number), message_id=f"a6-{number}")
    first = container_factory(ReviewService, rabbit_config)
    first.start()
    wait_until(lambda: tables.count("cases") == 30, what="the first 30")
    first.stop()
    for number in range(30):
        again = event(number) if number % 2 else {**event(number), "contact_email": "forged@example.vn"}
        raw(again, message_id=f"a6-{number}")
        raw(event(100 + number), message_id=f"a6-{100 + number}")
    second = container_factory(ReviewService, rabbit_config)
    second.start()
    handler = review_handler(second)
    wait_until(lambda: tables.count("cases") == 60, what="the 30 new cases")
    wait_until(lambda: queue_state(rabbit_manager, rabbit_config) == (0, 0) and settled(handler), timeout=30,
               what="the queue drained")
    assert tables.count("cases") == 60 and tables.count("inbox") == 60
    assert tables.count("cases WHERE contact_email = 'forged@example.vn'") == 0
    assert max(batches) > 1


# 2. two replicas, connection drops, kills, worker deaths ----------------------------------------------------

@POSTGRESQL
def test_two_replicas_take_every_message_twice_in_opposite_orders(raw, batches, container_factory, rabbit_config,
                                                                  rabbit_manager, tables, monkeypatch):
    """Every message published twice, the copies in opposite orders, to two review replicas whose batches
    lock the same nominations in opposite orders (PostgreSQL detects the deadlocks): each case once,
    nothing dead-lettered, both queues settle."""
    record = review_handlers.record_submission

    def slow(payload, uow, now):
        record(payload, uow, now)
        eventlet.sleep(0.01)  # batches overlap in time
    monkeypatch.setattr(review_handlers, "record_submission", slow)
    count = 60
    for number in range(count):
        raw(event(number), message_id=f"a6-{number}")
    for number in reversed(range(count)):
        raw(event(number), message_id=f"a6-{number}")
    one, two = container_factory(ReviewService, rabbit_config), container_factory(ReviewService, rabbit_config)
    eventlet.spawn(one.start)
    two.start()
    handlers = [review_handler(one), review_handler(two)]
    wait_until(lambda: tables.count("cases") == count, timeout=30, what="every case")
    wait_until(lambda: queue_state(rabbit_manager, rabbit_config) == (0, 0) and all(map(settled, handlers)),
               timeout=60, what="both replicas settled")
    assert tables.count("cases") == count and tables.count("inbox") == count
    assert drain(rabbit_config["AMQP_URI"], "dlq.review") == []


@POSTGRESQL
def test_the_broker_connection_dropped_under_batches(raw, batches, container_factory, rabbit_config, rabbit_manager,
                                                    tables, monkeypatch):
    """The consumer's connection closed by the broker while batches run: after the
    reconnection every case is there once, the queue settles and the handler goes on dispatching."""
    record, started = review_handlers.record_submission, []

    def slow(payload, uow, now):
        started.append(payload["nomination_id"])
        record(payload, uow, now)
        eventlet.sleep(0.02)
    monkeypatch.setattr(review_handlers, "record_submission", slow)
    count = 120
    for number in range(count):
        raw(event(number), message_id=f"a6-{number}")
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    handler = review_handler(container)
    wait_until(lambda: len(started) >= 10 and handler._counted, what="batches running")
    vhost = rabbit_config["vhost"]
    for connection in rabbit_manager._get("connections"):
        if connection.get("vhost") == vhost:
            rabbit_manager.delete_connection(connection["name"])
    each_once_and_still_dispatching(container, tables, raw, rabbit_manager, rabbit_config, count, timeout=40)
    assert drain(rabbit_config["AMQP_URI"], "dlq.review") == []


@POSTGRESQL
def test_a_container_killed_under_a_batch_leaves_nothing_that_blocks_the_next(raw, batches, container_factory,
                                                                             rabbit_config, rabbit_manager, tables,
                                                                             monkeypatch):
    """A container killed while a batch is between two deliveries (the first ones' claims, rows and
    nomination locks written, not committed): the batch's transaction ends with it (``Batch.run`` rolls
    back on the kill, ``Store.kill`` closes what a killed worker held), so the next container's batch
    does not wait on those rows and locks. Before, it stayed idle in transaction for as long as the
    killed container's process lived."""
    record, hold, holding = review_handlers.record_submission, eventlet.event.Event(), []

    def held(payload, uow, now):
        record(payload, uow, now)
        if uow.batched and payload["nomination_id"] == "n-a6-k3":
            holding.append(uow)
            hold.wait()  # after its claim and lock, inside the batch's transaction
    monkeypatch.setattr(review_handlers, "record_submission", held)
    count = 30
    for number in range(count):
        raw(event(f"k{number}"), message_id=f"a6-k{number}")
    first = container_factory(ReviewService, rabbit_config)
    idle = "pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()"
    try:
        first.start()
        wait_until(lambda: holding, what="a batch holding its transaction open")
        first.kill()
        monkeypatch.setattr(review_handlers, "record_submission", record)
        wait_until(lambda: tables.count(idle) == 0, timeout=5, what="the killed batch's transaction to end")
        second = container_factory(ReviewService, rabbit_config)
        second.start()
        handler = review_handler(second)
        wait_until(lambda: tables.count("cases") == count, timeout=20,
                   what="every case, handled by the second container")
        wait_until(lambda: queue_state(rabbit_manager, rabbit_config) == (0, 0) and settled(handler),
                   what="the queue settled")
    finally:
        hold.send()
        for uow in holding:  # the test's own cleanup: the advisory locks it holds are the whole database's
            uow.session.close()


@POSTGRESQL
def test_a_batch_worker_dying_outside_its_method_hands_each_delivery_on(raw, batches, container_factory,
                                                                      rabbit_config, rabbit_manager, tables,
                                                                      monkeypatch):
    """A dependency's ``worker_setup`` raising for the first two batch workers: each of their deliveries is
    handled alone instead, every case once, and the handler's count of running workers comes back to 0
    (a leak would stop the handler dispatching forever)."""
    setup, deaths = JsonLogging.worker_setup, []

    def failing(self, worker_ctx):
        if messaging.batch_of(worker_ctx) is not None and len(deaths) < 2:
            deaths.append(len(messaging.batch_of(worker_ctx)))
            raise RuntimeError("a dependency failed to set the worker up")
        return setup(self, worker_ctx)
    monkeypatch.setattr(JsonLogging, "worker_setup", failing)
    count = 40
    for number in range(count):
        raw(event(number), message_id=f"a6-{number}")
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    each_once_and_still_dispatching(container, tables, raw, rabbit_manager, rabbit_config, count)
    assert len(deaths) == 2


# 3. what logs show of a batch --------------------------------------------------------------------------------

@POSTGRESQL
def test_a_failed_batch_logs_no_payload(raw, batches, container_factory, rabbit_config, tables, monkeypatch,
                                        caplog):
    """A batch that fails (a handler error) is logged by Nameko and by the entrypoint: neither line may
    carry a delivery's payload (a nominee's e-mail address here)."""
    record, failed = review_handlers.record_submission, []

    def flaky(payload, uow, now):
        if uow.batched and not failed:
            failed.append(1)
            raise RuntimeError("boom")
        return record(payload, uow, now)
    monkeypatch.setattr(review_handlers, "record_submission", flaky)
    secret = "secret.nominee.address@example.vn"
    for number in range(20):
        raw({**event(number), "nominee": {**EVENT["nominee"], "email": secret}}, message_id=f"a6-{number}")
    container = container_factory(ReviewService, rabbit_config)
    with caplog.at_level("DEBUG"):
        container.start()
        wait_until(lambda: tables.count("cases") == 20, what="every case")
    assert failed and max(batches) > 1
    text = "\n".join(record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
                     for record in caplog.records)
    assert secret not in text
