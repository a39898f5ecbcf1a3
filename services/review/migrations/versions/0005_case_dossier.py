"""The dossier a council member reads on the ballot page (issue #14): achievements, years, documents.

Revision ID: review_0005
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0005"
down_revision = "review_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("dossier", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "dossier")
