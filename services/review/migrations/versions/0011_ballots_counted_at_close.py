"""Ballots are counted when voting ends, not as they arrive (#15): each receipt row keeps its sealed
ballot until then (no member on it), so the counters never hold a partial tally that two reads of the
database could tell a member's choices by.

Revision ID: review_0011
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0011"
down_revision = "review_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("sealed", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receipts") as batch:
        batch.drop_column("sealed")
