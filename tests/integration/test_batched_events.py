"""Deliveries handled in a batch (``inbox_event_handler(..., batch=True)``): one worker, one transaction,
and what becomes of each message exactly as if it had been handled alone: every effect once, a
duplicate ignored, a poison message dead-lettered without its neighbours, a failed batch handled again
one by one (review's ``on_nomination_submitted`` on SQLite and PostgreSQL, RabbitMQ for real); and notify's
mails of a batch inserted together as it commits.

Long because the broker's side (prefetch, poison, fallback) and the unit of work's side (one commit,
abandonment, the rows inserted at commit) of the same batches are checked side by side."""
import json

import pytest
import sqlalchemy as sa
from nameko.testing.services import entrypoint_waiter

from services.review import handlers as review_handlers
from services.review.service import MIGRATIONS as REVIEW_MIGRATIONS, ReviewService
from shared.platform import messaging
from shared.platform.messaging import EventPublisher
from shared.platform.store import BatchAbandoned
from tests.harness import wait_until
from tests.integration.delivery import Tables
from tests.integration.test_inbox import EVENT

COUNT = 30  # three prefetches' worth


@pytest.fixture
def batches(monkeypatch):
    """The size of every batch a worker ran, in order."""
    sizes = []
    run = messaging.Batch.run

    def counted(self, handle):
        sizes.append(len(self))
        return run(self, handle)
    monkeypatch.setattr(messaging.Batch, "run", counted)
    return sizes


@pytest.fixture
def waiting_queue(container_factory, rabbit_config, service_env):
    """Review's queue declared by a container that then stopped: what is published now waits in it, and
    the next container is handed it a prefetch at a time, as after a burst or an outage."""
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    container.stop()
    publish = EventPublisher(rabbit_config["AMQP_URI"], "intake")
    return lambda payload, message_id: publish("nomination_submitted", payload, message_id, {})


def event(number: int) -> dict:
    return {**EVENT, "nomination_id": f"n-batch-{number}"}


@pytest.fixture
def tables(db_urls):
    """Review's database, for counting and for units of work of its own."""
    tables = Tables(db_urls["review"], REVIEW_MIGRATIONS)
    yield tables
    tables.dispose()


def cases_and_inbox(tables):
    return tables.count("cases"), tables.count("inbox")


def test_waiting_deliveries_are_handled_in_batches_each_once(waiting_queue, batches, container_factory,
                                                            rabbit_config, tables):
    for number in range(COUNT):
        waiting_queue(event(number), f"event-{number}")
    waiting_queue(event(3), "event-3")  # a duplicate, probably in the same batch as the first
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    wait_until(lambda: cases_and_inbox(tables) == (COUNT, COUNT), what="every case once")
    assert max(batches) > 10 and sum(batches) <= COUNT + 1  # more than the default prefetch (max_workers)
    with entrypoint_waiter(container, "on_nomination_submitted", timeout=15):  # the queue is drained:
        waiting_queue(event(COUNT), f"event-{COUNT}")  # a lone event is still handled
    assert cases_and_inbox(tables) == (COUNT + 1, COUNT + 1)


def test_a_poison_message_in_a_batch_is_dead_lettered_and_its_neighbours_handled(
        waiting_queue, batches, container_factory, rabbit_config, tables, get_message_from_queue):
    for number in range(COUNT):
        if number == 5:
            waiting_queue({**event(number), "award_code": "NOT_AN_AWARD"}, "event-poison")
        else:
            waiting_queue(event(number), f"event-{number}")
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    dead = get_message_from_queue("dlq.review")
    assert dead.properties["message_id"] == "event-poison"
    assert dead.headers[messaging.REASON].startswith("invalid")
    wait_until(lambda: cases_and_inbox(tables) == (COUNT - 1, COUNT - 1), what="the others, once each")
    assert max(batches) > 1


def test_a_batch_that_fails_midway_is_undone_and_each_delivery_handled_alone(
        waiting_queue, batches, container_factory, rabbit_config, tables, monkeypatch):
    """The first time nomination 7 is handled (in a batch, after others of it wrote their rows) the
    database connection fails; nothing of that batch stays, and alone every delivery has its effect."""
    record, failed = review_handlers.record_submission, []

    def flaky(payload, uow, now):
        if payload["nomination_id"] == "n-batch-7" and not failed:
            failed.append(uow.message_id)
            raise ConnectionError("the database went away")
        return record(payload, uow, now)
    monkeypatch.setattr(review_handlers, "record_submission", flaky)
    for number in range(COUNT):
        waiting_queue(event(number), f"event-{number}")
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    wait_until(lambda: cases_and_inbox(tables) == (COUNT, COUNT), what="every case once")
    assert failed == ["event-7"] and max(batches) > 1


def test_a_delivery_claimed_and_not_committed_sends_the_batch_back_to_one_by_one(
        waiting_queue, batches, container_factory, rabbit_config, tables, monkeypatch):
    """Alone, a handler that claims its message and returns without committing leaves nothing (its
    transaction is rolled back); in a batch the other deliveries' commit must not carry that claim."""
    alone = set()

    def claims_and_forgets(payload, uow, now):
        with uow:
            uow.claim_message()
        if not uow.batched:
            alone.add(payload["nomination_id"])
    monkeypatch.setattr(review_handlers, "record_submission", claims_and_forgets)
    for number in range(COUNT):
        waiting_queue(event(number), f"event-{number}")
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    wait_until(lambda: len(alone) == COUNT, what="every delivery handled alone")
    assert max(batches) > 1
    assert cases_and_inbox(tables) == (0, 0)


# The unit of work in batch mode, without the broker (a review database: its inbox and outbox)

def batched_uow(tables, woken):
    uow = tables.uow(consumer="on_test", on_commit=woken.append)
    uow.batched = True
    return uow


def handle(uow, message_id, publish=None, commit=True):
    uow.begin_item(message_id, {"nameko.call_id_stack": [f"call-{message_id}"]})
    with uow:
        if uow.claim_message():
            if publish:
                uow.publish(publish, {"of": message_id})
            uow.wake_after_commit("mail")
            if commit:
                uow.commit()
    uow.end_item()


def test_a_batch_commits_once_after_its_last_delivery(tables):
    woken = []
    uow = batched_uow(tables, woken)
    handle(uow, "m-1", publish="x_happened")
    handle(uow, "m-1")  # a duplicate within the batch: no effect
    handle(uow, "m-2", publish="y_happened")
    if tables.engine.dialect.name == "postgresql":  # (SQLite's reader would wait for this writer)
        assert (tables.count("inbox"), tables.count("outbox")) == (0, 0)  # nothing committed yet
    assert woken == []
    uow.commit_batch()
    uow.close()
    assert (tables.count("inbox"), tables.count("outbox")) == (2, 2)
    assert woken == [{"outbox", "mail"}]
    with tables.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT event_type, headers FROM outbox ORDER BY seq")).all()
    assert [(row[0], _json(row[1])) for row in rows] == [
        ("x_happened", {"nameko.call_id_stack": ["call-m-1"]}),
        ("y_happened", {"nameko.call_id_stack": ["call-m-2"]})]


def test_a_delivery_claimed_but_not_committed_abandons_the_batch(tables):
    woken = []
    uow = batched_uow(tables, woken)
    handle(uow, "m-1")
    with pytest.raises(BatchAbandoned):
        handle(uow, "m-2", commit=False)
    uow.close()
    assert tables.count("inbox") == 0 and woken == []


def test_an_error_a_handler_swallowed_still_abandons_the_batch(tables):
    """The transaction holds what the failed block did (alone, it would have been rolled back)."""
    woken = []
    uow = batched_uow(tables, woken)
    handle(uow, "m-1")
    uow.begin_item("m-2", {})
    try:
        with uow:
            uow.claim_message()
            raise LookupError("a handler's own error, caught below")
    except LookupError:
        pass
    with pytest.raises(BatchAbandoned):
        uow.end_item()
    with pytest.raises(BatchAbandoned):
        uow.commit_batch()
    uow.close()
    assert tables.count("inbox") == 0 and woken == []


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def test_each_consumer_holds_its_own_prefetch(container_factory, rabbit_config, rabbit_manager, service_env):
    """A batched handler's queue is handed more deliveries at once than a worker pool's worth; every
    other consumer (the RPC queue, the other handlers) keeps Nameko's, the pool's size, whatever order
    they start in on their shared channel."""
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    vhost = rabbit_config["vhost"]
    queues = {ep.queue.name for ep in container.entrypoints if getattr(ep, "queue", None) is not None}

    def prefetch():
        return {consumer["queue"]["name"]: consumer["prefetch_count"]
                for consumer in rabbit_manager._get("consumers", vhost)}
    wait_until(lambda: set(prefetch()) >= queues, what="the management API to list every consumer")
    prefetch = prefetch()
    batched = {name for name in prefetch if name.endswith(("on_nomination_submitted", "on_nomination_awarded"))}
    assert len(batched) == 2, prefetch
    assert {prefetch[name] for name in batched} == {messaging.BATCH_PREFETCH}
    assert set(prefetch.values()) - {messaging.BATCH_PREFETCH} == {container.max_workers}
    assert len(prefetch) > 5


# Notify's mails in a batch: inserted together as the batch commits

def acknowledge(uow, message_id: str, contact: str) -> None:
    from services.notify import domain, handlers
    from services.notify.mail import Renderer
    from shared.platform.outbox import utcnow

    submitted = {**EVENT, "contact_email": contact, "nomination_id": f"n-{message_id}"}
    uow.begin_item(message_id, {})
    handlers.queue_mails(domain.acknowledgement(submitted, message_id), uow, Renderer(), utcnow())
    uow.end_item()


def test_a_batchs_mails_are_inserted_in_one_statement_as_it_commits(notify_db, monkeypatch):
    from shared.platform import db, store

    inserts = []
    def counted(session, table, rows):
        inserts.append(len(rows))
        db.insert_new_rows(session, table, rows)
    monkeypatch.setattr(store, "insert_new_rows", counted)
    woken = []
    uow = batched_uow(notify_db, woken)
    for number in range(5):
        acknowledge(uow, f"m-{number}", f"unit{number}@example.vn")
    acknowledge(uow, "m-2", "unit2@example.vn")  # a duplicate within the batch: no second mail
    assert inserts == [] and woken == []  # nothing written yet
    uow.commit_batch()
    uow.close()
    assert inserts == [5] and woken == [{"mail"}]
    assert (notify_db.count("inbox"), notify_db.count("mails")) == (5, 5)


def test_an_abandoned_batch_inserts_none_of_its_mails(notify_db):
    uow = batched_uow(notify_db, [])
    acknowledge(uow, "m-1", "unit1@example.vn")
    acknowledge(uow, "m-2", "unit2@example.vn")
    uow.abandon()
    with pytest.raises(BatchAbandoned):
        uow.commit_batch()
    uow.close()
    assert (notify_db.count("inbox"), notify_db.count("mails")) == (0, 0)


@pytest.mark.parametrize("odd", [{"not_a_column": 1}, "missing"], ids=["an unknown name", "a column missing"])
def test_rows_for_commit_that_name_other_columns_are_refused_not_dropped(notify_db, odd):
    """An ``executemany`` would drop an unknown name silently (or fail on the row without one)."""
    from services.notify.models import mails as mails_table
    from shared.platform.db import insert_new_rows

    uow = batched_uow(notify_db, [])
    acknowledge(uow, "m-1", "unit1@example.vn")
    (row,) = uow._inserts[mails_table]
    other = {**row, "key": "f" * 64, **(odd if isinstance(odd, dict) else {})}
    if odd == "missing":
        del other["html"]
    with pytest.raises(ValueError, match="same columns"):
        insert_new_rows(uow.session, mails_table, [row, other])
    uow.abandon()
    uow.close()
    assert notify_db.count("mails") == 0
