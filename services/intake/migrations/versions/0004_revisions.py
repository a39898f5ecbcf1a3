"""Dossier revisions: which one review considers, and the bodies it may still hold.

Revision ID: intake_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0004"
down_revision = "intake_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nominations") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("superseded", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("nominations") as batch:
        batch.drop_column("superseded")
        batch.drop_column("revision")
