"""Review's data access over a session (SQLAlchemy Core); rows come back as plain dicts.

Long because it is all of review's data access (directory, cases, sittings, ballots, quotas) in one
place, each a few lines, with the statements built once where they are hot."""
from __future__ import annotations

import functools

import sqlalchemy as sa

from services.review.models import (agenda, audit, cases, councils, early_events, members, quotas, receipts, roster,
                                    sittings, units)
from shared.platform.db import dialect_insert, insert_new

MARKS = ("approve", "reject", "abstain")  # the agenda's counters, one per choice


_NOMINATION_LOCK = sa.select(sa.func.pg_advisory_xact_lock(
    sa.bindparam("space", type_=sa.Integer), sa.func.hashtext(sa.bindparam("nomination_id", type_=sa.String))))
_EARLY_EVENT = sa.select(early_events).where(early_events.c.nomination_id == sa.bindparam("nomination_id"))


class Reviews:
    def __init__(self, session):
        self.session = session

    def _all(self, query) -> list[dict]:
        return [dict(row) for row in self.session.execute(query).mappings()]

    def _one(self, query, params: dict | None = None) -> dict | None:
        row = self.session.execute(query, params or {}).mappings().first()
        return dict(row) if row else None

    # directory ---------------------------------------------------------------------------------
    def upsert(self, table, key: dict, values: dict) -> None:
        where = sa.and_(*(table.c[k] == v for k, v in key.items()))
        if self.session.execute(sa.select(*table.primary_key.columns).where(where)).first():
            self.session.execute(sa.update(table).where(where).values(**values))
        else:
            self.session.execute(sa.insert(table).values(**key, **values))

    def deactivate_members_except(self, council_id: str, keep: list[str]) -> None:
        self.session.execute(sa.update(members).where(members.c.council_id == council_id,
                                                      members.c.id.not_in(keep)).values(active=False))

    def council(self, council_id: str) -> dict | None:
        return self._one(sa.select(councils).where(councils.c.id == council_id))

    def active_members(self, council_id: str) -> list[dict]:
        return self._all(sa.select(members).where(members.c.council_id == council_id, members.c.active)
                         .order_by(members.c.id))

    def unit_ids(self) -> set[str]:
        return set(self.session.execute(sa.select(units.c.id)).scalars())

    def unit_names(self, unit_ids) -> dict[str, str]:
        query = sa.select(units.c.id, units.c.name).where(units.c.id.in_(sorted(unit_ids)))
        return dict(self.session.execute(query).all())

    def unit(self, unit_id: str) -> dict | None:
        return self._one(sa.select(units).where(units.c.id == unit_id))

    # cases -------------------------------------------------------------------------------------
    def case(self, nomination_id: str, for_update: bool = False) -> dict | None:
        query = sa.select(cases).where(cases.c.nomination_id == nomination_id)
        return self._one(query.with_for_update() if for_update else query)

    def cases_by_id(self, nomination_ids, for_update: bool = False) -> dict[str, dict]:
        """The cases of ``nomination_ids`` by id, in one query (locked, in id order, if asked)."""
        query = sa.select(cases).where(cases.c.nomination_id.in_(list(nomination_ids))).order_by(cases.c.nomination_id)
        return {row["nomination_id"]: row for row in self._all(query.with_for_update() if for_update else query)}

    def add_case(self, values: dict) -> bool:
        """Add a case unless one with its nomination id exists; True when added."""
        return insert_new(self.session, cases, **values)

    def add_case_unless_early(self, values: dict) -> bool:
        """:meth:`add_case` in one statement, unless an early event of the nomination is kept (then
        False, and the caller applies it); for the holder of the nomination's lock, whose statement
        sees every early event committed before it."""
        statement = _case_unless_early(self.session.get_bind().dialect.name, tuple(sorted(values)))
        return self.session.execute(statement, {**values, "early_of": values["nomination_id"]}).rowcount == 1

    def update_case(self, nomination_id: str, **values) -> None:
        self.session.execute(sa.update(cases).where(cases.c.nomination_id == nomination_id).values(**values))

    def update_cases(self, changes: list[dict]) -> None:
        """Apply many changes (``{"nomination_id", column: value...}``): one batched statement per set of
        columns changed, instead of one statement per case."""
        groups: dict[tuple, list[dict]] = {}
        for change in changes:
            values = {key: value for key, value in change.items() if key != "nomination_id"}
            groups.setdefault(tuple(sorted(values)), []).append({"b_id": change["nomination_id"], **values})
        for rows in groups.values():
            self.session.execute(sa.update(cases).where(cases.c.nomination_id == sa.bindparam("b_id")), rows)

    def waiting_cases(self, stage: str, unit_id: str | None, limit: int | None = None, held=None) -> list[dict]:
        """The oldest ``limit`` cases waiting at ``stage`` (of ``unit_id``), locked for the sitting; ``held``
        a clause that keeps some out (an open objection: ``services.review.comment.not_held``)."""
        query = sa.select(cases).where(cases.c.stage == stage, cases.c.state == "waiting")
        if held is not None:
            query = query.where(held)
        if unit_id is not None:
            query = query.where(cases.c.unit_id == unit_id)
        return self._all(query.order_by(cases.c.received_at, cases.c.nomination_id).limit(limit).with_for_update())

    def decided_between(self, start, end) -> list[dict]:
        """Cases whose outcome was recorded in [start, end)."""
        return self._all(sa.select(cases).where(cases.c.outcome.is_not(None), cases.c.decided_at >= start,
                                                cases.c.decided_at < end).order_by(cases.c.nomination_id))

    def decided_cases(self, award_year: int) -> list[dict]:
        return self._all(sa.select(cases).where(cases.c.award_year == award_year, cases.c.outcome.is_not(None)))

    # intake's events that came before their nomination (services/review/early.py) --------------
    NOMINATION_LOCKS = 21006  # the advisory lock space of nomination ids

    def lock_nomination(self, nomination_id: str) -> None:
        """Serialise the handling of one nomination's intake events, to the end of the transaction
        (PostgreSQL; SQLite lets one writer at a time anyway)."""
        query, params = self.nomination_lock(nomination_id)
        if query is not None:
            self.session.execute(query, params)

    def nomination_lock(self, nomination_id: str) -> tuple:
        """The query :meth:`lock_nomination` runs and its parameters; no query on SQLite, which needs
        no lock."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None, {}
        return _NOMINATION_LOCK, {"space": self.NOMINATION_LOCKS, "nomination_id": nomination_id}

    def early_event(self, nomination_id: str) -> dict | None:
        return self._one(_EARLY_EVENT, {"nomination_id": nomination_id})

    def keep_early(self, nomination_id: str, kind: str, revision: int | None, payload: dict) -> None:
        self.upsert(early_events, {"nomination_id": nomination_id},
                    {"kind": kind, "revision": revision, "payload": payload})

    def take_early(self, nomination_id: str) -> dict | None:
        kept = self.early_event(nomination_id)
        if kept is not None:
            self.session.execute(sa.delete(early_events).where(early_events.c.nomination_id == nomination_id))
        return kept

    # sittings ----------------------------------------------------------------------------------
    def sitting(self, sitting_id: str, for_update: bool = False, skip_locked: bool = False) -> dict | None:
        """The sitting (locked if asked; with ``skip_locked``, None while another worker holds it)."""
        query = sa.select(sittings).where(sittings.c.id == sitting_id)
        return self._one(query.with_for_update(skip_locked=skip_locked) if for_update else query)

    def add_sitting(self, values: dict, roster_rows: list[dict], agenda_rows: list[dict]) -> None:
        self.session.execute(sa.insert(sittings).values(**values))
        self.session.execute(sa.insert(roster), roster_rows)
        if agenda_rows:
            self.session.execute(sa.insert(agenda), agenda_rows)

    def update_sitting(self, sitting_id: str, **values) -> None:
        self.session.execute(sa.update(sittings).where(sittings.c.id == sitting_id).values(**values))

    def due_sittings(self, now) -> list[str]:
        """Open sittings past their deadline (the caller locks each in its own transaction)."""
        query = (sa.select(sittings.c.id).where(sittings.c.status == "open", sittings.c.deadline <= now)
                 .order_by(sittings.c.deadline, sittings.c.id))
        return list(self.session.execute(query).scalars())

    def roster_of(self, sitting_id: str) -> list[dict]:
        return self._all(sa.select(roster).where(roster.c.sitting_id == sitting_id).order_by(roster.c.member_id))

    def ballot_of(self, token_digest: str, now) -> tuple | None:
        """``(sitting_id, member_id, expired)`` of the roster row holding this token digest, else None;
        ``expired`` when its sitting's deadline is before ``now`` (compared as the deadline timer does)."""
        row = self.session.execute(
            sa.select(roster.c.sitting_id, roster.c.member_id, sittings.c.deadline < now)
            .join(sittings, sittings.c.id == roster.c.sitting_id)
            .where(roster.c.token_digest == token_digest)).first()
        return tuple(row) if row else None

    def add_receipt(self, sitting_id: str, code: str, sealed: str | None = None) -> bool:
        """Record an accepted ballot's receipt, with its ``sealed`` text to count when voting ends; False
        when the sitting already took that ballot."""
        return insert_new(self.session, receipts, sitting_id=sitting_id, code=code, sealed=sealed)

    def sealed_ballots(self, sitting_id: str) -> list[str]:
        """The sealed ballots accepted and not counted yet, in no order of casting."""
        return list(self.session.execute(sa.select(receipts.c.sealed).where(
            receipts.c.sitting_id == sitting_id, receipts.c.sealed.is_not(None)).order_by(receipts.c.code)).scalars())

    def drop_sealed(self, sitting_id: str) -> None:
        """Counted: the sealed ballots go, the receipts stay."""
        self.session.execute(sa.update(receipts).where(receipts.c.sitting_id == sitting_id,
                                                       receipts.c.sealed.is_not(None)).values(sealed=None))

    def has_receipt(self, sitting_id: str, code: str) -> bool:
        return self.session.execute(sa.select(receipts.c.code).where(
            receipts.c.sitting_id == sitting_id, receipts.c.code == code)).first() is not None

    def receipts_of(self, sitting_id: str) -> list[str]:
        return list(self.session.execute(sa.select(receipts.c.code).where(receipts.c.sitting_id == sitting_id)
                                         .order_by(receipts.c.code)).scalars())

    def mark_voted(self, sitting_id: str, member_id: str, written_opinion: bool) -> None:
        self.session.execute(sa.update(roster).where(roster.c.sitting_id == sitting_id,
                                                     roster.c.member_id == member_id)
                             .values(voted=True, written_opinion=written_opinion))

    def agenda_of(self, sitting_id: str) -> list[dict]:
        return self._all(sa.select(agenda).where(agenda.c.sitting_id == sitting_id)
                         .order_by(agenda.c.nomination_id))

    def count_marks(self, sitting_id: str, choices: dict) -> None:
        """Add one mark per agenda item to its counter; no row says whose mark it was."""
        self.add_marks(sitting_id, {nomination_id: {choice: 1} for nomination_id, choice in choices.items()})

    def add_marks(self, sitting_id: str, marks: dict) -> None:
        """Add ``marks`` (``{nomination_id: {choice: n}}``) to the agenda's counters. One batched
        statement whose text is the same whatever the choices (all three counters, one row of
        parameters per item), so a database error that logs the statement reveals no choice."""
        if marks:
            self.session.execute(
                sa.update(agenda).where(agenda.c.sitting_id == sa.bindparam("m_sitting"),
                                        agenda.c.nomination_id == sa.bindparam("m_id"))
                .values({agenda.c[choice]: agenda.c[choice] + sa.bindparam(f"m_{choice}") for choice in MARKS}),
                [{"m_sitting": sitting_id, "m_id": nomination_id,
                  **{f"m_{mark}": counts.get(mark, 0) for mark in MARKS}}
                 for nomination_id, counts in sorted(marks.items())])

    def record_outcomes(self, sitting_id: str, outcomes: list[dict]) -> None:
        """Each agenda item's ``required``, ``outcome`` and ``reasons`` (keyed by ``nomination_id``), in one
        batched statement."""
        if outcomes:
            self.session.execute(
                sa.update(agenda).where(agenda.c.sitting_id == sitting_id,
                                        agenda.c.nomination_id == sa.bindparam("b_id")),
                [{"b_id": o["nomination_id"], "required": o["required"], "outcome": o["outcome"],
                  "reasons": o["reasons"]} for o in outcomes])

    def selected_before(self, council_id: str, award_code: str, award_year: int, sitting_id: str) -> int:
        """How many of this award and year the council already passed in earlier sittings (by the year each
        was voted on, whatever a later amendment made of its case)."""
        query = (sa.select(sa.func.count()).select_from(agenda.join(sittings, agenda.c.sitting_id == sittings.c.id)
                                                        .join(cases, cases.c.nomination_id == agenda.c.nomination_id))
                 .where(sittings.c.council_id == council_id, sittings.c.id != sitting_id,
                        agenda.c.award_code == award_code,
                        sa.func.coalesce(agenda.c.award_year, cases.c.award_year) == award_year,
                        agenda.c.outcome.in_(("advanced", "approved", "proposed"))))
        return self.session.execute(query).scalar()

    def quota(self, council_id: str, award_code: str, award_year: int) -> int | None:
        return self.session.execute(sa.select(quotas.c.places).where(
            quotas.c.council_id == council_id, quotas.c.award_code == award_code,
            quotas.c.award_year == award_year)).scalar()

    def approved_count(self, unit_id: str, award_code: str, award_year: int) -> int:
        return self.session.execute(sa.select(sa.func.count()).select_from(cases).where(
            cases.c.unit_id == unit_id, cases.c.award_code == award_code, cases.c.award_year == award_year,
            cases.c.outcome == "approved")).scalar()

    def audit(self, at, kind: str, sitting_id: str | None, detail: str) -> None:
        self.session.execute(sa.insert(audit).values(at=at, kind=kind, sitting_id=sitting_id, detail=detail[:500]))


@functools.lru_cache(maxsize=8)
def _case_unless_early(dialect: str, columns: tuple[str, ...]):
    values = sa.select(*(sa.bindparam(name, type_=cases.c[name].type) for name in columns)).where(
        ~sa.exists().where(early_events.c.nomination_id == sa.bindparam("early_of")))
    return dialect_insert(dialect)(cases).from_select(columns, values).on_conflict_do_nothing()
