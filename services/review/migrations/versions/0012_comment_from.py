"""When a case's public comment period opened, so that an objection dated before it is refused.

Revision ID: review_0012
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0012"
down_revision = "review_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("comment_from", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("comment_from")
