"""The lifecycle model's world: intake and review on real databases, called as Nameko calls them, and a
bus the model controls instead of RabbitMQ (tests/integration/test_lifecycle_model.py).

Each call is one worker: a fresh unit of work, the service's own entrypoint method (which loads the
payload with its schema and calls one handler). What a call committed is read off the service's outbox
(the relay's job) and handed to the :class:`Bus`, which delivers it when, in what order and how often
the model says, under its event id as message id, so the consumer's inbox sees duplicates for what they
are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

import sqlalchemy as sa
from nameko.testing.services import worker_factory

from services.intake.service import MIGRATIONS as INTAKE_MIGRATIONS, IntakeService
from services.review.service import MIGRATIONS as REVIEW_MIGRATIONS, ReviewService
from shared import contract
from shared.platform.rules import load_rules
from shared.platform.store import OUTBOX, UnitOfWork
from tests.integration.delivery import Tables

RULES = load_rules(None)
CONFIG = SimpleNamespace(secret_key="model-secret-key", holidays=None, public_url=None, profile="local",
                         register_check="strict")  # the settings the handlers read

# what each consumer of intake and review handles, by (source, event type); notify is not modelled
CONSUMERS = {
    (contract.INTAKE, contract.NOMINATION_SUBMITTED): (contract.REVIEW, "on_nomination_submitted"),
    (contract.INTAKE, contract.NOMINATION_AMENDED): (contract.REVIEW, "on_nomination_amended"),
    (contract.INTAKE, contract.NOMINATION_WITHDRAWN): (contract.REVIEW, "on_nomination_withdrawn"),
    (contract.REVIEW, contract.NOMINATIONS_ON_AGENDA): (contract.INTAKE, "on_nominations_on_agenda"),
    (contract.REVIEW, contract.AMENDMENT_REFUSED): (contract.INTAKE, "on_amendment_refused"),
    (contract.REVIEW, contract.NOMINATION_ADVANCED): (contract.INTAKE, "on_nomination_advanced"),
    (contract.REVIEW, contract.NOMINATION_DECIDED): (contract.INTAKE, "on_nomination_decided"),
    (contract.REVIEW, contract.NOMINATION_RETURNED): (contract.INTAKE, "on_nomination_returned"),
}


class DryRun(UnitOfWork):
    """A unit of work that never commits: a handler's effects stay in one open transaction, visible to
    the next call on the same unit of work, until :meth:`discard`."""

    def __exit__(self, *exc):
        self._events = []

    def commit(self):
        self._events = []
        self.session.flush()

    def discard(self):
        self.session.rollback()
        self.session.close()


class Service:
    """One service: its migrated database and its entrypoints, one worker per call."""

    def __init__(self, name: str, service_cls, url: str, migrations, **dependencies):
        self.name, self.service_cls, self.dependencies = name, service_cls, dependencies
        self.tables = Tables(url, migrations)

    def call(self, method: str, *args, message_id: str | None = None, **dependencies):
        uow = UnitOfWork(self.tables.sessions(), method, message_id, {}, lambda names: None)
        worker = worker_factory(self.service_cls, uow=uow, **{**self.dependencies, **dependencies})
        try:
            return getattr(worker, method)(*args)
        finally:
            uow.close()

    def dry_run(self) -> DryRun:
        return DryRun(self.tables.sessions(), "model", None, {}, lambda names: None)

    def drain_outbox(self) -> list[dict]:
        """What committed transactions recorded, in the order they were written (and gone from the outbox,
        as the relay leaves it)."""
        with self.tables.engine.begin() as connection:
            rows = [dict(row) for row in connection.execute(sa.select(OUTBOX).order_by(OUTBOX.c.seq)).mappings()]
            if rows:
                connection.execute(sa.delete(OUTBOX).where(OUTBOX.c.seq <= rows[-1]["seq"]))
        return rows

    def query(self, statement: str, **params) -> list[dict]:
        with self.tables.engine.connect() as connection:
            return [dict(row) for row in connection.execute(sa.text(statement), params).mappings()]

    def reset(self) -> None:
        """Every table emptied but the migrations' own, for the next example."""
        with self.tables.engine.begin() as connection:
            metadata = sa.MetaData()
            metadata.reflect(connection)
            for table in reversed(metadata.sorted_tables):
                if table.name != "alembic_version":
                    connection.execute(table.delete())

    def dispose(self) -> None:
        self.tables.dispose()


@dataclass
class Message:
    id: str
    source: str
    event_type: str
    payload: dict
    seq: int

    @property
    def nomination_ids(self) -> set:
        """The nominations the message is about: its own, or its items' (``nominations_on_agenda``)."""
        items = self.payload.get("items")
        return {item["nomination_id"] for item in items} if isinstance(items, list) else {self.payload.get("nomination_id")}


@dataclass
class Bus:
    """Messages between intake and review: ``pending`` until delivered, ``delivered`` kept to deliver again.
    Any pending message may go next (two relays, retries coming back late)."""

    services: dict
    pending: list = field(default_factory=list)
    delivered: list = field(default_factory=list)
    seq: int = 0

    def collect(self, source: str, rows: list[dict]) -> list[Message]:
        messages = []
        for row in rows:
            self.seq += 1
            message = Message(row["event_id"], source, row["event_type"], row["payload"], self.seq)
            messages.append(message)
            if (source, message.event_type) in CONSUMERS:
                self.pending.append(message)
        return messages

    def deliver(self, message: Message) -> None:
        consumer, method = CONSUMERS[(message.source, message.event_type)]
        self.services[consumer].call(method, message.payload, message_id=message.id)
        if message in self.pending:
            self.pending.remove(message)
            self.delivered = [*self.delivered[-19:], message]

    def in_flight(self, nomination_id: str) -> bool:
        return any(nomination_id in message.nomination_ids for message in self.pending)


@pytest.fixture
def world(db_urls):
    """Intake and review, each on its migrated database."""
    intake = Service(contract.INTAKE, IntakeService, db_urls["intake"], INTAKE_MIGRATIONS, rules=RULES)
    review = Service(contract.REVIEW, ReviewService, db_urls["review"], REVIEW_MIGRATIONS)
    yield intake, review
    intake.dispose()
    review.dispose()
