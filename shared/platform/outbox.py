"""Transactional outbox and inbox tables, and the step that publishes the outbox.

An event is a row in ``outbox`` written in the same transaction as the change that causes it: a
rollback leaves no row, a commit leaves one that survives any crash. ``publish_pending`` sends rows in
order with publisher confirms and deletes each only once the broker has confirmed it, so a crash in
between publishes it again (at least once); the consumer's ``inbox`` row, written in the same
transaction as its effect, turns that into exactly one effect.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(seconds=60)


def delivery_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    outbox = sa.Table(
        "outbox", metadata,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    )
    inbox = sa.Table(
        "inbox", metadata,
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    return outbox, inbox


def create_delivery_tables_v1(op) -> None:
    """Migration step shared by every service's first revision (frozen: change by a new revision)."""
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbox_next_attempt_at", "outbox", ["next_attempt_at"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def create_audit_table_v1(op) -> None:
    """Migration step: the audit of security rejections (frozen: change by a new revision)."""
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sitting_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(500), nullable=False),
    )


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Undeliverable(Exception):
    """The broker could not route the message (no queue bound yet); try again later."""


class NotConfirmed(Exception):
    """The broker refused the message (a nack: a full queue that rejects publishes, say); try again later."""


def publish_pending(sessions, outbox: sa.Table, publish, batch: int = 200) -> int:
    """Publish up to ``batch`` due rows in order; return how many it handled: published and removed, or
    put off (a full batch handled tells the relay that more may be due, however many of it were routed).

    ``publish(event_type, payload, event_id, headers)`` must return only once the broker confirmed;
    a ``publish.publish_many(events)`` (``confirms.BatchPublisher``) is used instead where there is one,
    to publish the batch together and await its confirms together. Rows the broker cannot route yet
    or refused are retried later with a growing delay, without holding back the rows behind them (a
    batch is on the wire before any answer comes back). Any other publish error ends the batch,
    keeping what was already done.
    """
    published, put_off = [], 0
    now = utcnow()
    with sessions() as session, session.begin():
        rows = session.execute(
            sa.select(outbox).where(outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.seq).limit(batch).with_for_update(skip_locked=True)
        ).all()
        outcomes = _publish_many(publish, [(row.event_type, row.payload, row.event_id, row.headers) for row in rows])
        for row, outcome in zip(rows, outcomes):
            if isinstance(outcome, (Undeliverable, NotConfirmed)):
                delay = min(MAX_BACKOFF, timedelta(seconds=0.5 * 2 ** min(row.attempts, 10)))
                log.warning("outbox: %s %s %s, retry in %.1fs", row.event_type, row.event_id,
                            "unroutable" if isinstance(outcome, Undeliverable) else "refused", delay.total_seconds())
                session.execute(sa.update(outbox).where(outbox.c.seq == row.seq).values(
                    attempts=row.attempts + 1, next_attempt_at=now + delay))
                put_off += 1
            elif outcome is not None:
                log.error("outbox: publishing %s %s failed", row.event_type, row.event_id, exc_info=outcome)
                break
            else:
                published.append(row.seq)
        if published:  # one statement for the batch; a crash before commit publishes them again
            session.execute(sa.delete(outbox).where(outbox.c.seq.in_(published)))
    return len(published) + put_off


def _publish_many(publish, events: list) -> list:
    """One outcome per event, in order (None: confirmed; else the exception); it may stop short."""
    if hasattr(publish, "publish_many"):
        return publish.publish_many(events) if events else []
    outcomes = []
    for event in events:
        try:
            publish(*event)
        except Exception as exc:
            outcomes.append(exc)
            if not isinstance(exc, (Undeliverable, NotConfirmed)):
                break
        else:
            outcomes.append(None)
    return outcomes
