"""Cases, outbox and inbox.

Revision ID: review_0001
"""
import sqlalchemy as sa
from alembic import op

from shared.platform.outbox import create_delivery_tables_v1

revision = "review_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_delivery_tables_v1(op)
    op.create_table(
        "cases",
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


def downgrade() -> None:
    for table in ("cases", "inbox", "outbox"):
        op.drop_table(table)
