"""Intake's events in any order (#21.6): each case's revision, and the events that came before it.

Revision ID: review_0003_order
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0003_order"
down_revision = "review_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=True))
    op.create_table("early_events",
                    sa.Column("nomination_id", sa.String(64), primary_key=True),
                    sa.Column("kind", sa.String(16), nullable=False),
                    sa.Column("revision", sa.Integer, nullable=True),
                    sa.Column("payload", sa.JSON, nullable=False))


def downgrade() -> None:
    op.drop_table("early_events")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("revision")
