"""The register's first year read from an index (#20): every submission that claims a title asks for it,
and without one the register was read whole each time.

Revision ID: intake_0007
"""
from alembic import op

revision = "intake_0007"
down_revision = "intake_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_register_year", "register_entries", ["award_year"])


def downgrade() -> None:
    op.drop_index("ix_register_year", table_name="register_entries")
