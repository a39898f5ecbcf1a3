"""The award register (#17): a case keeps what intake's register check found and the head's decision.

Revision ID: review_0007
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0007"
down_revision = "review_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("register_notes", sa.JSON, nullable=True))
        batch.add_column(sa.Column("decision", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("decision")
        batch.drop_column("register_notes")
