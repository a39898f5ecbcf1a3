"""Review's tables and repository."""
from __future__ import annotations

import sqlalchemy as sa

from services.review.domain import Case

metadata = sa.MetaData()

cases = sa.Table(
    "cases", metadata,
    sa.Column("nomination_id", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("award_code", sa.String(16), nullable=False),
    sa.Column("award_year", sa.Integer, nullable=False),
    sa.Column("nominee", sa.JSON, nullable=False),
    sa.Column("contact_email", sa.String(254), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)


class Cases:
    def __init__(self, session):
        self.session = session

    def add(self, case: Case) -> None:
        self.session.execute(sa.insert(cases).values(
            **{column.name: getattr(case, column.name) for column in cases.columns}))

    def get(self, nomination_id: str) -> Case | None:
        row = self.session.execute(sa.select(cases).where(cases.c.nomination_id == nomination_id)
                                   ).mappings().first()
        return Case(**row) if row else None
