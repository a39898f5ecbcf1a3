"""The award register's table (intake owns it) and its repository; every change is also an audit row.

Nothing is deleted: a revocation sets the entry's state and records who revoked it, by which decision,
on which ground and with how much money to recover (Law Art. 93). ``recorded_by``/``revoked_by`` and the
audit rows hold the operator's credential id (a digest, never the token).
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.intake.models import metadata
from services.intake.register import Entry
from shared.platform.store import AUDIT

register_entries = sa.Table(
    "register_entries", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("holder_key", sa.String(130), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("nominee_kind", sa.String(16), nullable=False),
    sa.Column("employee_id", sa.String(64), nullable=True),
    sa.Column("nominee_name", sa.String(200), nullable=False),
    sa.Column("award_code", sa.String(16), nullable=False),
    sa.Column("award_year", sa.Integer, nullable=False),
    sa.Column("decision_number", sa.String(64), nullable=False),
    sa.Column("decision_date", sa.Date, nullable=False),
    sa.Column("signer", sa.String(200), nullable=True),
    sa.Column("money", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # decision | import
    sa.Column("nomination_id", sa.String(64), nullable=True, unique=True),
    sa.Column("contact_email", sa.String(254), nullable=True),
    sa.Column("nominee_email", sa.String(254), nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("revocation", sa.JSON, nullable=True),  # {"ground", "number", "date", "reason", "money_to_recover", "by", "at"}
    sa.UniqueConstraint("holder_key", "award_code", "award_year", "decision_number", name="uq_register_award"),
    sa.Index("ix_register_unit_year", "unit_id", "award_year"),
    sa.Index("ix_register_holder", "holder_key"),
    sa.Index("ix_register_year", "award_year"),  # the register's first year, at every submission
)

COLUMNS = [c.name for c in register_entries.columns]


class EntryTaken(Exception):
    """The nomination already has its entry (a concurrent decision committed first)."""


_ENTRIES = sa.select(register_entries.c.award_code, register_entries.c.award_year, register_entries.c.state
                     ).where(register_entries.c.holder_key == sa.bindparam("holder_key"))
_FIRST_YEAR = sa.select(sa.func.min(register_entries.c.award_year).label("first_year")).subquery()
_ENTRIES_AND_FIRST_YEAR = sa.select(  # built once: building a statement costs more than sending it
    _FIRST_YEAR.c.first_year, register_entries.c.award_code, register_entries.c.award_year, register_entries.c.state
).select_from(_FIRST_YEAR.outerjoin(register_entries, register_entries.c.holder_key == sa.bindparam("holder_key")))

# the same reads through intake_0008's VOLATILE functions: a snapshot of their own, taken when they run
_NOW = sa.func.tdkt_register_entries(sa.bindparam("holder_key", type_=sa.Text)).table_valued(
    sa.column("award_code", sa.String), sa.column("award_year", sa.Integer), sa.column("state", sa.String))
_ENTRIES_NOW = sa.select(_NOW.c.award_code, _NOW.c.award_year, _NOW.c.state)
_WITH_FIRST_YEAR_NOW = sa.func.tdkt_register_entries_and_first_year(sa.bindparam("holder_key", type_=sa.Text)
                                                                    ).table_valued(
    sa.column("first_year", sa.Integer), sa.column("award_code", sa.String), sa.column("award_year", sa.Integer),
    sa.column("state", sa.String))
_ENTRIES_AND_FIRST_YEAR_NOW = sa.select(_WITH_FIRST_YEAR_NOW.c.first_year, _WITH_FIRST_YEAR_NOW.c.award_code,
                                        _WITH_FIRST_YEAR_NOW.c.award_year, _WITH_FIRST_YEAR_NOW.c.state)


HOLDER_LOCKS = 21007  # the advisory lock space of register holders (intake_0009's reads take it shared)
DECISIONS_LOCK = 21008  # the space of one lock: decisions hold it shared, revocations exclusively
_LOCK_HOLDER = sa.select(sa.func.pg_advisory_xact_lock(sa.literal(HOLDER_LOCKS, sa.Integer),
                                                       sa.func.hashtext(sa.bindparam("holder_key", type_=sa.Text))))
_LOCK_DECISIONS = sa.select(sa.func.pg_advisory_xact_lock(sa.literal(DECISIONS_LOCK, sa.Integer),
                                                          sa.literal(0, sa.Integer)))
_SHARE_DECISIONS = sa.select(sa.func.pg_advisory_xact_lock_shared(sa.literal(DECISIONS_LOCK, sa.Integer),
                                                                  sa.literal(0, sa.Integer)))


class Register:
    def __init__(self, session):
        self.session = session

    def lock_holder(self, holder_key: str) -> None:
        """What a revocation takes before it changes the entry and re-checks the holder's live
        nominations (PostgreSQL; SQLite lets one writer at a time anyway): it waits for the decisions
        in flight (:meth:`hold_against_revocations`) and for the holder's register reads in flight (a
        submission's or an amendment's, through intake_0009's functions) to commit, and holds back
        both kinds until this transaction ends. Decisions are held by one lock, not one per holder: a
        decision of thousands of people would otherwise fill PostgreSQL's lock table."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(_LOCK_DECISIONS)
            self.session.execute(_LOCK_HOLDER, {"holder_key": holder_key})

    def hold_against_revocations(self) -> None:
        """What a decision takes before it re-checks its nominations' claims: a revocation in flight
        commits first (and the re-check sees it), and none starts until the decision ends."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(_SHARE_DECISIONS)

    def first_year(self) -> int | None:
        return self.session.execute(sa.select(sa.func.min(register_entries.c.award_year))).scalar()

    @staticmethod
    def reading(holder_key: str, with_first_year: bool = False, after_a_wait: bool = False) -> tuple:
        """The query of the holder's entries (``with_first_year``: each joined to the register's first
        year, one row with that year when there are none) and its parameters. ``after_a_wait`` (on
        PostgreSQL, for every read an eligibility rests on): through the migrations' ``VOLATILE``
        functions, which first wait for a revocation of the holder's entries in flight (intake_0009), and
        see what committed while the statement waited (for that, or for a concurrent holder of a
        submission's key, intake_0008)."""
        if after_a_wait:
            return (_ENTRIES_AND_FIRST_YEAR_NOW if with_first_year else _ENTRIES_NOW), {"holder_key": holder_key}
        return (_ENTRIES_AND_FIRST_YEAR if with_first_year else _ENTRIES), {"holder_key": holder_key}

    @staticmethod
    def entries_read(rows) -> tuple[list[Entry], int | None]:
        """``(entries, first year)`` of the rows (mappings) of a :meth:`reading`; no first year unless it
        was read."""
        entries = [Entry(row["award_code"], row["award_year"], row["state"]) for row in rows
                   if row["award_code"] is not None]
        return entries, rows[0].get("first_year") if rows else None

    def add(self, values: dict) -> dict:
        """Insert an entry; ``EntryTaken`` when its nomination has one already."""
        row = {"id": uuid.uuid4().hex, **values}
        try:
            with self.session.begin_nested():
                self.session.execute(sa.insert(register_entries).values(**row))
        except IntegrityError:
            raise EntryTaken(values.get("nomination_id")) from None
        return row

    def add_if_new(self, values: dict) -> dict | None:
        """Insert an imported entry unless the same award of the same holder under the same decision is
        there (idempotent import); the row, or None."""
        row = {"id": uuid.uuid4().hex, **values}
        condition = sa.and_(*(register_entries.c[k] == values[k] for k in
                              ("holder_key", "award_code", "award_year", "decision_number")))
        if self.session.execute(sa.select(register_entries.c.id).where(condition)).first():
            return None
        self.session.execute(sa.insert(register_entries).values(**row))
        return row

    def get(self, entry_id: str, for_update: bool = False) -> dict | None:
        query = sa.select(register_entries).where(register_entries.c.id == entry_id)
        row = self.session.execute(query.with_for_update() if for_update else query).mappings().first()
        return dict(row) if row else None

    def revoke(self, entry_id: str, revocation: dict) -> bool:
        return self.session.execute(sa.update(register_entries).where(
            register_entries.c.id == entry_id, register_entries.c.state == "awarded").values(
            state="revoked", revocation=revocation)).rowcount == 1

    def find(self, unit_id: str, employee_id: str | None = None, award_year: int | None = None) -> list[dict]:
        query = sa.select(register_entries).where(register_entries.c.unit_id == unit_id)
        if employee_id:
            query = query.where(register_entries.c.employee_id == employee_id)
        if award_year:
            query = query.where(register_entries.c.award_year == award_year)
        query = query.order_by(register_entries.c.award_year, register_entries.c.award_code,
                               register_entries.c.nominee_name, register_entries.c.id)
        return [dict(row) for row in self.session.execute(query).mappings()]

    def totals(self, award_year: int | None = None) -> list[dict]:
        """Count and money by award and state (money to recover is the revoked entries' money)."""
        c = register_entries.c
        query = sa.select(c.award_code, c.state, sa.func.count(), sa.func.sum(c.money)).group_by(c.award_code, c.state)
        if award_year:
            query = query.where(c.award_year == award_year)
        return [{"award_code": code, "state": state, "count": count, "money": int(money or 0)}
                for code, state, count, money in self.session.execute(query.order_by(c.award_code, c.state))]

    def audit(self, at, kind: str, detail: str) -> None:
        self.session.execute(sa.insert(AUDIT).values(at=at, kind=kind, sitting_id=None, detail=detail[:500]))
