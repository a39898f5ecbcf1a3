"""The durable echo's table, outbox and inbox.

Revision ID: echo_0001
"""
import sqlalchemy as sa
from alembic import op

from shared.platform.outbox import create_delivery_tables_v1

revision = "echo_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_delivery_tables_v1(op)
    op.create_table(
        "echoes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
