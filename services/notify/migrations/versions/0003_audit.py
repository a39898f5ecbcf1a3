"""Audit of security rejections.

Revision ID: notify_0003
"""
import sqlalchemy as sa
from alembic import op

revision = "notify_0003"
down_revision = "notify_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sitting_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit")
