"""Nominations, unit tokens, outbox and inbox.

Revision ID: intake_0001
"""
import sqlalchemy as sa
from alembic import op

from shared.platform.outbox import create_delivery_tables_v1

revision = "intake_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_delivery_tables_v1(op)
    op.create_table(
        "nominations",
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
    op.create_table(
        "unit_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("unit_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for table in ("unit_tokens", "nominations", "inbox", "outbox"):
        op.drop_table(table)
