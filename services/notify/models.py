"""Notify's tables (mails, an outbox of logical emails; ballots; units) and their repositories.

Long because each repository is kept beside the table it guards: a mail's lease and settlement rules
read best next to the columns they use."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shared.platform.db import insert_new, upsert_rows

metadata = sa.MetaData()

mails = sa.Table(
    "mails", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(254), nullable=False),
    sa.Column("recipient_name", sa.String(200), nullable=True),
    sa.Column("subject", sa.String(400), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attachment_name", sa.String(200), nullable=True),  # e.g. a sitting's minutes as PDF
    sa.Column("attachment_type", sa.String(100), nullable=True),
    sa.Column("attachment", sa.LargeBinary, nullable=True),
    sa.Index("ix_mails_status_next_attempt_at", "status", "next_attempt_at"),
)


ballots = sa.Table(  # the invitations notify sent, to remind those who have not voted
    "ballots", metadata,
    sa.Column("sitting_id", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.String(64), primary_key=True),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("voted", sa.Boolean, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("reminded", sa.Boolean, nullable=False),
    sa.Index("ix_ballots_open", "closed", "voted", "reminded", "deadline"),
)

units = sa.Table(  # the units' names (review's directory_loaded): a mail names the unit it is about
    "units", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
)


@dataclass
class Mail:
    key: str
    event_id: str
    kind: str
    recipient: str
    recipient_name: str | None
    subject: str
    text: str
    html: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    attachment_name: str | None = None
    attachment_type: str | None = None
    attachment: bytes | None = None
    # leases a renewal may have set though its reply was lost (the UPDATE committed, the connection
    # dropped): the mail's claim is next_attempt_at or one of these, until a renewal is answered
    maybe_claims: tuple = ()

    def row(self) -> dict:
        """The mail as a row of ``mails``."""
        return {name: getattr(self, name) for name in _COLUMNS}


class Mails:
    def __init__(self, session):
        self.session = session

    def claim_due(self, now, lease, limit: int) -> list[Mail]:
        """Pending mails due now, leased until ``now + lease`` so no other sender takes them.

        One statement (``UPDATE ... WHERE key IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``), so it
        is atomic even on an autocommit connection."""
        due = (sa.select(mails.c.key).where(mails.c.status == "pending", mails.c.next_attempt_at <= now)
               .order_by(mails.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
        rows = self.session.execute(sa.update(mails).where(mails.c.key.in_(due))
                                    .values(next_attempt_at=now + lease).returning(*mails.c)).mappings().all()
        return sorted((Mail(**row) for row in rows), key=lambda mail: (mail.created_at, mail.key))

    def renew(self, mail: Mail, until) -> bool:
        """Extend this sender's claim on ``mail`` to ``until``, unless its lease ran out and another
        sender claimed it since; True (and ``mail`` holds the new lease) when it is still this one's.
        The claim matched is any ``mail`` may hold (``maybe_claims``: see ``handlers.renew_claim``)."""
        renewed = self.session.execute(sa.update(mails).where(
            mails.c.key == mail.key, mails.c.status == "pending", mails.c.next_attempt_at.in_(_claims(mail)))
            .values(next_attempt_at=until).returning(mails.c.next_attempt_at)).scalar()
        if renewed is None:
            return False
        mail.next_attempt_at, mail.maybe_claims = renewed, ()
        return True

    def settle(self, mail: Mail, **values) -> bool:
        """Record what happened to a claimed ``mail``, unless its lease ran out and another sender
        claimed it since (its ``next_attempt_at`` is no longer this claim's); True when recorded."""
        if not values.keys() <= _SETTLED:  # the prebuilt statement would drop an unknown name silently
            raise TypeError(f"not columns of mails: {sorted(values.keys() - _SETTLED)}")
        return self.session.execute(_SETTLE, {"settled_key": mail.key, "claimed_until": _claims(mail),
                                              **values}).rowcount == 1

    def log(self, status: str | None, limit: int) -> list[dict]:
        """The delivery log, newest first; never the bodies (an invitation holds a ballot token)."""
        columns = [mails.c[name] for name in ("key", "event_id", "kind", "recipient", "subject", "status",
                                              "attempts", "last_error", "created_at", "sent_at")]
        query = sa.select(*columns).order_by(mails.c.created_at.desc(), mails.c.key).limit(limit)
        if status:
            query = query.where(mails.c.status == status)
        return [dict(row) for row in self.session.execute(query).mappings()]


_COLUMNS = tuple(mails.c.keys())
_SETTLED = frozenset(_COLUMNS)
_SETTLE = sa.update(mails).where(mails.c.key == sa.bindparam("settled_key"),
                                 mails.c.next_attempt_at.in_(sa.bindparam("claimed_until", expanding=True)))


def _claims(mail: Mail) -> list:
    """Every lease ``mail`` may be claimed under: its own, and any a renewal without a reply may have set."""
    return [mail.next_attempt_at, *mail.maybe_claims]


WHOLE_SITTING = "*"  # the member id of a row that records a sitting's close (no real id has a "*")


class Ballots:
    def __init__(self, session):
        self.session = session

    def add_once(self, sitting_id, member_id, event_id, deadline, payload) -> None:
        """Record an issued ballot. Its member's vote or its sitting's close may have been handled
        first (the events travel on different queues): what they said is kept.

        The sitting's row (``WHOLE_SITTING``) is the sitting's lock: this reads it ``FOR UPDATE``
        (an existing row takes no lock from ``ON CONFLICT DO NOTHING``), and a close updates it
        before any ballot (``mark``). So a close either committed first, and is read here, or waits
        for this transaction and then, in a statement of its own, sees and closes this ballot."""
        self._placeholder(sitting_id, WHOLE_SITTING, event_id, deadline)
        closed = self.session.execute(sa.select(ballots.c.closed).where(
            ballots.c.sitting_id == sitting_id, ballots.c.member_id == WHOLE_SITTING).with_for_update()).scalar()
        if not insert_new(self.session, ballots, sitting_id=sitting_id, member_id=member_id, event_id=event_id,
                          deadline=deadline, payload=payload, voted=False, closed=closed, reminded=False):
            self.session.execute(sa.update(ballots).where(
                ballots.c.sitting_id == sitting_id, ballots.c.member_id == member_id).values(
                event_id=event_id, deadline=deadline, payload=payload, closed=ballots.c.closed | closed))

    def mark(self, sitting_id: str, member_id: str | None, event_id: str, now, **values) -> None:
        """``voted`` for a member, ``closed`` for the whole sitting (``member_id`` None). A mark that
        comes before its ballot is kept in a row of its own (``WHOLE_SITTING`` for a close). A close
        updates the sitting's row first, which waits for a ballot being recorded at the same moment
        (``add_once`` holds that row), then every ballot in a second statement, whose snapshot
        (read committed) includes that ballot."""
        self._placeholder(sitting_id, member_id or WHOLE_SITTING, event_id, now)
        query = sa.update(ballots).where(ballots.c.sitting_id == sitting_id)
        if member_id is None:
            self.session.execute(query.where(ballots.c.member_id == WHOLE_SITTING).values(**values))
        else:
            query = query.where(ballots.c.member_id == member_id)
        self.session.execute(query.values(**values))

    def issued(self, sitting_id: str) -> dict | None:
        """What a ``ballot_issued`` of the sitting says of it (any member's: each names the council and the
        date): ``{"council_id", "council_name", "convened_at"}``, or None when none has arrived yet. Only
        those fields are read: a ministry sitting's ballot carries a thousand items."""
        fields = ("council_id", "council_name", "convened_at")
        rows = self.session.execute(sa.select(*(ballots.c.payload[name].as_string().label(name) for name in fields))
                                    .where(ballots.c.sitting_id == sitting_id, ballots.c.member_id != WHOLE_SITTING,
                                           ballots.c.payload["council_id"].as_string().is_not(None))  # not a placeholder
                                    .limit(1)).mappings().all()
        return dict(rows[0]) if rows else None

    def _placeholder(self, sitting_id, member_id, event_id, now) -> None:
        insert_new(self.session, ballots, sitting_id=sitting_id, member_id=member_id, event_id=event_id,
                   deadline=now, payload={}, voted=False, closed=False, reminded=False)

    def mark_reminded(self, sitting_id: str, member_id: str) -> None:
        self.session.execute(sa.update(ballots).where(ballots.c.sitting_id == sitting_id,
                                                      ballots.c.member_id == member_id).values(reminded=True))

    def due_for_reminder(self, now, before) -> list[dict]:
        """Open ballots not yet cast whose deadline is within ``before`` of now, each reminded once."""
        query = (sa.select(ballots).where(~ballots.c.closed, ~ballots.c.voted, ~ballots.c.reminded,
                                          ballots.c.member_id != WHOLE_SITTING,
                                          ballots.c.deadline > now, ballots.c.deadline <= now + before)
                 .with_for_update(skip_locked=True))
        return [dict(row) for row in self.session.execute(query).mappings()]


class AutocommitStatements:
    """``with db() as connection``: autocommit statements for a mail sender. On PostgreSQL one
    connection serves until ``close`` (the sender's step); on SQLite (one connection per process)
    each statement takes it from the pool and gives it back, so the event handlers are not held up
    while a mail is on the wire."""

    def __init__(self, engine):
        self.engine, self.keep, self.connection = engine, engine.dialect.name != "sqlite", None

    @contextlib.contextmanager
    def __call__(self):
        if self.connection is None:
            self.connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield self.connection
        except DBAPIError:
            self.close()  # a broken connection is not reused; the next statement takes a new one
            raise
        if not self.keep:
            self.close()

    def close(self):
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                connection.close()
            except DBAPIError:
                pass


class Units:
    def __init__(self, session):
        self.session = session

    def keep_names(self, named: list[dict]) -> None:
        """Upsert ``[{"id", "name"}]`` in one statement (the last name of an id given twice wins)."""
        rows = list({unit["id"]: {"id": unit["id"], "name": unit["name"]} for unit in named}.values())
        upsert_rows(self.session, units, rows, ("name",))

    def name_requests(self, requests) -> None:
        """Each mail whose event did not name its unit (or named it by id) gets the directory's name."""
        if (query := self.names_query(requests)) is not None:
            self.give_names(requests, self.session.execute(*query).mappings().all())

    @staticmethod
    def names_query(requests) -> tuple | None:  # the query and its parameters; None: none is missing
        wanted = sorted({request.context["unit_id"] for request in _unnamed(requests)})
        return (_NAMES, {"unit_ids": wanted}) if wanted else None

    @staticmethod
    def give_names(requests, rows) -> None:
        names = {row["id"]: row["name"] for row in rows}
        for request in _unnamed(requests):
            if request.context["unit_id"] in names:
                request.context["unit_name"] = names[request.context["unit_id"]]


_NAMES = sa.select(units.c.id, units.c.name).where(units.c.id.in_(sa.bindparam("unit_ids", expanding=True)))


def _unnamed(requests) -> list:
    return [r for r in requests
            if r.context.get("unit_id") and r.context.get("unit_name") in (None, "", r.context["unit_id"])]
