"""A mail may carry one file: a sitting's minutes as PDF (#16).

Revision ID: notify_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "notify_0004"
down_revision = "notify_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mails") as batch:
        batch.add_column(sa.Column("attachment_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("attachment_type", sa.String(100), nullable=True))
        batch.add_column(sa.Column("attachment", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mails") as batch:
        batch.drop_column("attachment")
        batch.drop_column("attachment_type")
        batch.drop_column("attachment_name")
