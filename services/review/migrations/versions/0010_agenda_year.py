"""The award year each agenda item was voted on, so that quotas count an earlier pass in its own year
(a dossier passed for 2025 and later amended to 2024 keeps its 2025 place).

Revision ID: review_0010
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0010"
down_revision = "review_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agenda") as batch:
        batch.add_column(sa.Column("award_year", sa.Integer, nullable=True))
    op.execute("UPDATE agenda SET award_year = (SELECT cases.award_year FROM cases "
               "WHERE cases.nomination_id = agenda.nomination_id)")


def downgrade() -> None:
    with op.batch_alter_table("agenda") as batch:
        batch.drop_column("award_year")
