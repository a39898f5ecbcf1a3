"""The SQLAlchemy dependency provider every service uses, with its unit of work and relays.

``Store`` builds the engine and applies migrations in ``setup``, hands each worker a fresh
:class:`UnitOfWork` (the handler commits it inside the entrypoint, before a reply or an ack is sent),
closes it in ``worker_teardown``, and runs background relays (the outbox publisher, and any a service
adds, such as notify's mail sender) as managed threads woken after each commit.

Long because the unit of work's ways to claim a message (alone, or with the read or insert that follows
it in one statement) belong with the transaction they are part of.
"""
from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from nameko.constants import HEARTBEAT_CONFIG_KEY
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from shared.platform.auth import credential_id
from shared.platform.config import load_settings, read_at_start
from shared.contract import AUTH_TOKEN
from shared.contract.errors import Forbidden, Unauthorized
from shared.platform.db import (insert_new, insert_new_rows, insert_new_then_insert_new, insert_new_then_read,
                                make_engine, migrate)
from shared.platform.confirms import BatchPublisher
from shared.platform.messaging import MESSAGE_ID, batch_of, event_exchange
from shared.platform.outbox import delivery_tables, publish_pending, utcnow

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15
OUTBOX_BATCH = 200  # rows the outbox relay publishes per step

OUTBOX, INBOX = delivery_tables(sa.MetaData())
AUDIT = sa.Table(  # security rejections (and review's vote rejections), one row each
    "audit", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("sitting_id", sa.String(64), nullable=True),
    sa.Column("detail", sa.String(500), nullable=False),
)
SECURITY_REJECTIONS = (Unauthorized, Forbidden)


class Relay:
    """Runs ``step`` (which returns how much work it did) until stopped; sleeps when idle.

    A step that did a full ``batch`` (or, without one, any work) is followed at once by the next; one
    that did less found everything that was due, so its runner waits for a wake, which a commit made
    meanwhile has already given (``wake`` after commit, the flag cleared before the step reads), or
    ``idle_interval``. ``runners`` green threads run it side by side (each step must claim its own work,
    as the mail relay does with ``SKIP LOCKED``); a wake sets one runner going, in turn, not all of
    them to find one mail between them, and a runner that finds a full batch calls the next one in."""

    def __init__(self, name: str, step, idle_interval: float = 1.0, runners: int = 1, batch: int | None = None):
        self.name, self.step, self.idle_interval, self.runners = name, step, idle_interval, runners
        self.batch = batch
        self._wakes = [threading.Event() for _ in range(runners)]
        self._turn = itertools.count()
        self._stopping = False

    def wake(self):
        self._wakes[next(self._turn) % self.runners].set()

    def run(self, runner: int = 0):
        wake = self._wakes[runner]
        while not self._stopping:
            wake.clear()
            try:
                did = self.step()
            except Exception:  # the relay must outlive a broker or database outage
                log.exception("relay %s: step failed", self.name)
                did = 0
            more = did > 0 if self.batch is None else did >= self.batch
            if more and self.runners > 1:  # a backlog: the next runner joins in
                self._wakes[(runner + 1) % self.runners].set()
            if not more:
                wake.wait(self.idle_interval)

    def stop(self):
        self._stopping = True
        for wake in self._wakes:
            wake.set()


class BatchAbandoned(RuntimeError):
    """A delivery of a batch went wrong in a way its transaction cannot carry past: the batch fails and
    each of its deliveries is handled alone."""


class UnitOfWork:
    """One transaction of one worker: ``session``, ``publish`` (outbox) and ``claim_message`` (inbox).

    In batch mode (a worker given a ``Batch``), the handler runs once per delivery between
    :meth:`begin_item` and :meth:`end_item`; its ``commit`` only marks that delivery done, and
    :meth:`commit_batch` commits them all at once. A delivery that raised (even if the handler caught
    it) or that claimed its message and did not commit fails the whole batch (``BatchAbandoned``)."""

    def __init__(self, session, consumer: str, message_id: str | None, headers: dict, on_commit,
                 batched: bool = False):
        self.session = session
        self.consumer, self.message_id, self.headers = consumer, message_id, headers
        self._on_commit = on_commit
        self._wake = set()
        self._events = []
        self._inserts = {}  # table -> rows, inserted at commit (insert_at_commit)
        self.batched = batched
        self._claimed = self._committed = self._broken = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.batched:
            if exc[0] is not None:  # the batch's transaction held what this block did: none of it commits
                self._broken = True
                self.session.rollback()
            return
        self._events, self._inserts = [], {}
        self.session.rollback()  # a no-op after commit; undoes everything otherwise

    def begin_item(self, message_id: str, headers: dict) -> None:
        self.message_id, self.headers = message_id, headers
        self._claimed = self._committed = False

    def end_item(self) -> None:
        if self._broken or (self._claimed and not self._committed):
            raise BatchAbandoned(f"{self.consumer}: message {self.message_id} was not committed")

    def abandon(self) -> None:
        """End a batch that failed or was killed: its transaction rolls back now, releasing its locks."""
        self._broken, self._events, self._inserts = True, [], {}
        self.session.rollback()

    def commit_batch(self) -> None:
        if self._broken:
            raise BatchAbandoned(f"{self.consumer}: a message of the batch failed")
        self._commit_now()

    def publish(self, event_type: str, payload: dict) -> str:
        """Record an event to be published once this transaction commits; returns its id. The
        transaction's events are written to the outbox together, in order, at commit."""
        event_id = str(uuid.uuid4())
        now = utcnow()
        self._events.append({"event_id": event_id, "event_type": event_type,
                             "payload": json.loads(json.dumps(payload)), "headers": self.headers,
                             "created_at": now, "next_attempt_at": now, "attempts": 0})
        self._wake.add("outbox")
        return event_id

    def insert_at_commit(self, table, values: dict) -> None:
        """Insert ``values`` in ``table`` unless its key exists, as this transaction commits: the rows
        given so for a table (every mail of a batch, say) go in one statement, before the outbox's.
        For rows nothing reads before the commit."""
        self._inserts.setdefault(table, []).append(values)

    def claim_message(self) -> bool:
        """Record the message being handled as processed, in this transaction.

        False when an earlier delivery of the same message already had its effect: the handler then
        does nothing. A concurrent duplicate waits for the first transaction: if it commits, the
        duplicate does nothing; if it rolls back, the duplicate has the effect instead.
        """
        claimed = insert_new(self.session, INBOX, **self._inbox_row())
        self._claimed_now(claimed or None)
        return claimed

    def claim_message_reading(self, query, params: dict | None = None) -> list | None:
        """:meth:`claim_message` and, when claimed, ``query`` (its rows as mappings), in one statement on
        PostgreSQL: None when the message had its effect already (see ``insert_new_then_read``). No
        ``query``: the claim alone, and no rows."""
        if query is None:
            return [] if self.claim_message() else None
        return self._claimed_now(insert_new_then_read(self.session, INBOX, self._inbox_row(), query, params))

    def claim_message_adding(self, table, values: dict) -> int | None:
        """:meth:`claim_message` and, when claimed, ``insert_new`` of ``values`` in ``table``, in one
        statement on PostgreSQL: None when the message had its effect already, else 1 or 0 as the row
        was added or existed (see ``insert_new_then_insert_new``)."""
        return self._claimed_now(insert_new_then_insert_new(self.session, INBOX, self._inbox_row(), table, values))

    def _claimed_now(self, outcome):
        """What a claim statement gave: None when the message had its effect already (said in the log),
        else noted as claimed in this transaction (a batch checks every claim is committed)."""
        if outcome is None:
            log.info("inbox: %s already handled %s", self.consumer, self.message_id)
        else:
            self._claimed = True
        return outcome

    def _inbox_row(self) -> dict:
        if self.message_id is None:
            raise RuntimeError("claim_message outside an inbox event handler")
        return {"consumer": self.consumer, "message_id": self.message_id, "received_at": utcnow()}

    def wake_after_commit(self, relay_name: str):
        self._wake.add(relay_name)

    def commit(self):
        if self.batched:  # the batch commits after its last delivery
            self._committed = True
        else:
            self._commit_now()

    def _commit_now(self):
        for table, rows in self._inserts.items():
            insert_new_rows(self.session, table, rows)
        self._inserts = {}
        if self._events:
            self.session.execute(sa.insert(OUTBOX), self._events)
            self._events = []
        self.session.commit()
        self._on_commit(self._wake)
        self._wake = set()

    def close(self):
        self.session.close()


class Store(DependencyProvider):
    """Inject a :class:`UnitOfWork` per worker; ``relays`` maps names to ``factory(store)``, which
    returns a step or a :class:`Relay`."""

    def __init__(self, service: str, migrations: Path, relays: dict | None = None):
        self.service, self.migrations = service, Path(migrations)
        self.relay_factories = dict(relays or {})

    def setup(self):
        # read by Nameko's queue consumer when it connects, after every setup: a dead peer is
        # noticed within about 15 s instead of Nameko's default 60
        self.container.config.setdefault(HEARTBEAT_CONFIG_KEY, HEARTBEAT_SECONDS)
        self.settings = read_at_start(self.service, load_settings)
        url = read_at_start(self.service, self.database_url)
        self.engine = make_engine(url, pool_size=self.container.max_workers + 2)
        migrate(self.engine, self.migrations)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.publisher = publisher = BatchPublisher(self.container.config["AMQP_URI"],
                                                    event_exchange(self.container.service_name))
        self.relays = {"outbox": Relay("outbox", lambda: publish_pending(self.sessions, OUTBOX, publisher,
                                                                         OUTBOX_BATCH), batch=OUTBOX_BATCH)}
        for name, factory in self.relay_factories.items():
            made = factory(self)
            self.relays[name] = made if isinstance(made, Relay) else Relay(name, made)
        self.workers = {}

    def database_url(self) -> str:
        return self.settings.db_url(self.service)

    def start(self):
        for relay in self.relays.values():
            for runner in range(relay.runners):
                self.container.spawn_managed_thread(partial(relay.run, runner),
                                                    identifier=f"relay.{relay.name}.{runner}")

    def stop(self):
        """After the workers: stop the relays and close the pool's connections (a stopped container
        holds none, which matters to a PostgreSQL that counts its clients)."""
        for relay in self.relays.values():
            relay.stop()
        self.publisher.close()
        self.engine.dispose()

    def kill(self):
        """Killed workers have no teardown: their sessions are closed here (a transaction left open would
        keep its row and advisory locks for as long as this process lives)."""
        for uow in list(self.workers.values()):
            try:
                uow.close()
            except Exception:  # the connection may be gone already
                log.warning("store: a killed worker's session could not be closed", exc_info=True)
        self.workers.clear()
        self.stop()

    def get_dependency(self, worker_ctx):
        headers = {"nameko.call_id_stack": list(worker_ctx.call_id_stack)}
        batch = batch_of(worker_ctx)
        uow = UnitOfWork(self.sessions(), worker_ctx.entrypoint.method_name,
                         worker_ctx.data.get(MESSAGE_ID), headers, self._wake, batched=batch is not None)
        if batch is not None:
            batch.bind(uow, worker_ctx)
        self.workers[worker_ctx] = uow
        return uow

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        """Audit every security rejection of an entrypoint, in its own transaction."""
        if exc_info is None or not isinstance(exc_info[1], SECURITY_REJECTIONS):
            return
        token = worker_ctx.data.get(AUTH_TOKEN)
        caller = credential_id(token) if token else "none"
        detail = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name} caller={caller}: {exc_info[1]}"
        log.warning("security: %s %s", exc_info[1].code, detail)
        try:
            with self.sessions() as session, session.begin():
                session.execute(sa.insert(AUDIT).values(at=utcnow(), kind=exc_info[1].code, detail=detail[:500]))
        except Exception:  # the database is away: the log line above is the record (and the worker goes on)
            log.exception("security: the audit row of %s could not be written", worker_ctx.entrypoint.method_name)

    def worker_teardown(self, worker_ctx):
        uow = self.workers.pop(worker_ctx, None)
        if uow is not None:
            uow.close()

    def _wake(self, names):
        for name in names:
            self.relays[name].wake()



def standalone_uow(service: str, migrations: Path, settings=None) -> UnitOfWork:
    """A unit of work outside Nameko (command-line tools); events it records wait for the relay."""
    settings = settings or load_settings()
    engine = make_engine(settings.db_url(service), pool_size=1)
    migrate(engine, Path(migrations))
    return UnitOfWork(sessionmaker(engine, expire_on_commit=False)(), "cli", None, {}, lambda names: None)
