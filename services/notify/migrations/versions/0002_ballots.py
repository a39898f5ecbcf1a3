"""Ballots notify sent, for reminders.

Revision ID: notify_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ballots",
        sa.Column("sitting_id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("voted", sa.Boolean, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("reminded", sa.Boolean, nullable=False),
    )
    op.create_index("ix_ballots_open", "ballots", ["closed", "voted", "reminded", "deadline"])


def downgrade() -> None:
    op.drop_table("ballots")
