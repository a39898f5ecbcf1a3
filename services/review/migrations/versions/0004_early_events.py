"""Intake's events in any order (#21.6): the amendments and withdrawals that came before their submission
(the case's revision itself is added by review_0003).

Revision ID: review_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0004"
down_revision = "review_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("early_events",
                    sa.Column("nomination_id", sa.String(64), primary_key=True),
                    sa.Column("kind", sa.String(16), nullable=False),
                    sa.Column("revision", sa.Integer, nullable=True),
                    sa.Column("payload", sa.JSON, nullable=False))


def downgrade() -> None:
    op.drop_table("early_events")
