"""Audit of security rejections.

Revision ID: notify_0003
"""
from alembic import op

from shared.platform.outbox import create_audit_table_v1

revision = "notify_0003"
down_revision = "notify_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table_v1(op)


def downgrade() -> None:
    op.drop_table("audit")
