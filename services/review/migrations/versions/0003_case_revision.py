"""The dossier revision each case holds, and whether a council took it (issue #21: one nomination, one
truth).

Revision ID: review_0003
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0003"
down_revision = "review_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=True))
        batch.add_column(sa.Column("considered", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("considered")
        batch.drop_column("revision")
