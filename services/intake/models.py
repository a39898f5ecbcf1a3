"""Intake's tables (SQLAlchemy Core) and the repository that maps them to domain objects."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.intake.domain import Nomination

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
    sa.UniqueConstraint("unit_id", "submission_key", name="uq_nominations_unit_key"),
)

unit_tokens = sa.Table(
    "unit_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)


class KeyTaken(Exception):
    """Another transaction stored a nomination under the same unit and submission key first."""


class Nominations:
    def __init__(self, session):
        self.session = session

    def add(self, nomination: Nomination) -> None:
        values = {column.name: getattr(nomination, column.name) for column in nominations.columns}
        try:
            with self.session.begin_nested():
                self.session.execute(sa.insert(nominations).values(**values))
        except IntegrityError:
            raise KeyTaken(nomination.submission_key) from None

    def get(self, nomination_id: str) -> Nomination | None:
        return self._one(nominations.c.id == nomination_id)

    def by_submission_key(self, unit_id: str, key: str) -> Nomination | None:
        return self._one(sa.and_(nominations.c.unit_id == unit_id, nominations.c.submission_key == key))

    def _one(self, condition) -> Nomination | None:
        row = self.session.execute(sa.select(nominations).where(condition)).mappings().first()
        return Nomination(**row) if row else None


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
        return self.session.execute(sa.select(unit_tokens.c.unit_id).where(
            unit_tokens.c.token_hash == token_hash, unit_tokens.c.revoked_at.is_(None))).scalar()
