"""Rule set per nomination, the initiative ledger, and listing indexes.

Revision ID: intake_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nominations") as batch:
        batch.add_column(sa.Column("rule_set", sa.String(32), nullable=False, server_default="nd98-2023"))
        batch.create_index("ix_nominations_unit_status", ["unit_id", "status"])
        batch.create_index("ix_nominations_unit_year", ["unit_id", "award_year"])
    op.create_table(
        "initiative_uses",
        sa.Column("person_key", sa.String(130), primary_key=True),
        sa.Column("initiative_id", sa.String(64), primary_key=True),
        sa.Column("nomination_id", sa.String(64), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("initiative_uses")
    with op.batch_alter_table("nominations") as batch:
        batch.drop_index("ix_nominations_unit_year")
        batch.drop_index("ix_nominations_unit_status")
        batch.drop_column("rule_set")
