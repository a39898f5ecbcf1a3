"""Each nomination's revision, carried in its events so consumers can order them (#21.6).

Revision ID: intake_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0004"
down_revision = "intake_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("nominations", sa.Column("revision", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("nominations") as batch:
        batch.drop_column("revision")
