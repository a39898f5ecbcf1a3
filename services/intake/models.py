"""Intake's tables (SQLAlchemy Core) and the repository that maps them to domain objects."""
from __future__ import annotations

import sqlalchemy as sa

from services.intake.domain import Nomination
from shared.platform.db import dialect_insert, insert_new_then_read

metadata = sa.MetaData()

nominations = sa.Table(
    "nominations", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("submission_key", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("award_code", sa.String(16), nullable=False),
    sa.Column("award_year", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("history", sa.JSON, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rule_set", sa.String(32), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("superseded", sa.JSON, nullable=False, default=list),  # bodies review may still hold
    sa.Column("register_notes", sa.JSON, nullable=True),  # what the register check found (#17)
    sa.Column("decision", sa.JSON, nullable=True),  # the head's decision: {"number", "date", "signer", "entry_id"}
    sa.UniqueConstraint("unit_id", "submission_key", name="uq_nominations_unit_key"),
    sa.Index("ix_nominations_unit_status", "unit_id", "status"),
    sa.Index("ix_nominations_unit_year", "unit_id", "award_year"),
)

# one achievement, one award (NĐ 98 Art. 4): an initiative backs one live nomination of its person
initiative_uses = sa.Table(
    "initiative_uses", metadata,
    sa.Column("person_key", sa.String(130), primary_key=True),
    sa.Column("initiative_id", sa.String(64), primary_key=True),
    sa.Column("nomination_id", sa.String(64), nullable=False, index=True),
)

unit_tokens = sa.Table(
    "unit_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)


class InitiativeTaken(Exception):
    """A concurrent nomination of the same person claimed the initiative first."""


class Nominations:
    def __init__(self, session):
        self.session = session

    def save(self, nomination: Nomination) -> None:
        self.session.execute(_SAVE, _saved(nomination))

    def save_all(self, saved: list[Nomination]) -> None:
        """One statement for any number (an ``executemany``: on PostgreSQL, pages of 100 in a round trip)."""
        if saved:
            self.session.execute(_SAVE, [_saved(nomination) for nomination in saved])

    def page(self, unit_id: str, filters: dict, page: int, size: int) -> tuple[list[Nomination], int]:
        condition = sa.and_(nominations.c.unit_id == unit_id, *(
            nominations.c[key] == value for key, value in filters.items()))
        total = self.session.execute(sa.select(sa.func.count()).select_from(nominations).where(condition)
                                     ).scalar()
        rows = self.session.execute(
            sa.select(nominations).where(condition).order_by(nominations.c.submitted_at, nominations.c.id)
            .offset((page - 1) * size).limit(size)).mappings().all()
        return [Nomination(**row) for row in rows], total

    def add_reading(self, nomination: Nomination, query, params: dict, token_digest: str | None = None) -> list | None:
        """Insert a new nomination and, only when it was inserted, read ``query`` (its rows, as mappings)
        in the same statement on PostgreSQL (``insert_new_then_read``). None when the unit used the
        submission key already, or, given the digest of the token the caller presented, when that is
        not a live token of the nomination's unit: the token is checked in the statement that inserts."""
        values = {column.name: getattr(nomination, column.name) for column in nominations.columns}
        if token_digest is None:
            return insert_new_then_read(self.session, nominations, values, query, params)
        return insert_new_then_read(self.session, nominations, values, query,
                                    {**params, "token_digest": token_digest, "token_unit": nomination.unit_id},
                                    only_if=_TOKEN_IS_LIVE)

    def get(self, nomination_id: str, for_update: bool = False) -> Nomination | None:
        return self._one(nominations.c.id == nomination_id, for_update)

    def by_submission_key(self, unit_id: str, key: str) -> Nomination | None:
        return self._one(sa.and_(nominations.c.unit_id == unit_id, nominations.c.submission_key == key))

    @staticmethod
    def locking(nomination_id: str) -> tuple:
        """The query of :meth:`get` with ``for_update``, and its parameters, for
        ``UnitOfWork.claim_message_reading``."""
        return _LOCKING, {"nomination_id": nomination_id}

    @staticmethod
    def locking_all(nomination_ids) -> tuple:
        """The nominations of ``nomination_ids`` that exist, ``FOR UPDATE`` in the order of their ids
        (every holder of several takes them in that order), and the parameters, for
        ``UnitOfWork.claim_message_reading``."""
        return _LOCKING_ALL, {"nomination_ids": sorted(nomination_ids)}

    @staticmethod
    def every(rows) -> list[Nomination]:
        return [Nomination(**row) for row in rows]

    @staticmethod
    def first(rows) -> Nomination | None:
        return Nomination(**rows[0]) if rows else None

    def _one(self, condition, for_update: bool = False) -> Nomination | None:
        query = sa.select(nominations).where(condition)
        return self.first(self.session.execute(query.with_for_update() if for_update else query).mappings().all())


# the hot statements built once (building one is most of a statement's cost in this process)
_SAVED = ("status", "stage", "body", "history", "award_code", "award_year", "revision", "superseded", "register_notes",
          "decision")
_SAVE = sa.update(nominations).where(nominations.c.id == sa.bindparam("saved_id"))
_LOCKING = sa.select(nominations).where(nominations.c.id == sa.bindparam("nomination_id")).with_for_update()
_LOCKING_ALL = (sa.select(nominations).where(nominations.c.id.in_(sa.bindparam("nomination_ids", expanding=True)))
                .order_by(nominations.c.id).with_for_update())


def _saved(nomination: Nomination) -> dict:
    return {"saved_id": nomination.id, **{name: getattr(nomination, name) for name in _SAVED}}


class Initiatives:
    def __init__(self, session):
        self.session = session

    def used_by_others(self, person_key: str, nomination_id: str | None = None) -> set[str]:
        query = sa.select(initiative_uses.c.initiative_id).where(initiative_uses.c.person_key == person_key)
        if nomination_id is not None:
            query = query.where(initiative_uses.c.nomination_id != nomination_id)
        return set(self.session.execute(query).scalars())

    def take(self, person_key: str, initiative_ids, nomination_id: str) -> None:
        """Claim the initiatives for the nomination, all or none: ``InitiativeTaken`` (naming those
        another nomination holds, and claiming none) otherwise. One statement when all are free (no
        savepoint); a claim by a concurrent transaction waits for it, as a plain insert would."""
        wanted = list(dict.fromkeys(initiative_ids))
        if not wanted:
            return
        statement = dialect_insert(self.session.get_bind().dialect.name)(initiative_uses).values([
            {"person_key": person_key, "initiative_id": i, "nomination_id": nomination_id} for i in wanted
        ]).on_conflict_do_nothing().returning(initiative_uses.c.initiative_id)
        claimed = set(self.session.execute(statement).scalars())
        if len(claimed) < len(wanted):
            if claimed:  # all or none: give back what this statement claimed
                self.session.execute(sa.delete(initiative_uses).where(
                    initiative_uses.c.person_key == person_key, initiative_uses.c.initiative_id.in_(claimed)))
            raise InitiativeTaken(", ".join(i for i in wanted if i not in claimed))

    def release(self, nomination_id: str) -> None:
        self.session.execute(sa.delete(initiative_uses).where(initiative_uses.c.nomination_id == nomination_id))


class Tokens:
    def __init__(self, session):
        self.session = session

    def add(self, token_hash: str, unit_id: str, now) -> None:
        self.session.execute(sa.insert(unit_tokens).values(token_hash=token_hash, unit_id=unit_id,
                                                          created_at=now))

    def revoke_all(self, unit_id: str, now) -> None:
        self.session.execute(sa.update(unit_tokens).where(
            unit_tokens.c.unit_id == unit_id, unit_tokens.c.revoked_at.is_(None)).values(revoked_at=now))

    def unit_for(self, token_hash: str) -> str | None:
        return self.session.execute(_UNIT_FOR, {"token_hash": token_hash}).scalar()


_TOKEN_IS_LIVE = sa.exists().where(unit_tokens.c.token_hash == sa.bindparam("token_digest"),
                                   unit_tokens.c.unit_id == sa.bindparam("token_unit"),
                                   unit_tokens.c.revoked_at.is_(None))
_UNIT_FOR = sa.select(unit_tokens.c.unit_id).where(unit_tokens.c.token_hash == sa.bindparam("token_hash"),
                                                   unit_tokens.c.revoked_at.is_(None))
