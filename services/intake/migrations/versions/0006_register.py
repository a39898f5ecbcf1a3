"""The award register (#17): entries of every award, and the register notes of a nomination.

Revision ID: intake_0006
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0006"
down_revision = "intake_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_entries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("holder_key", sa.String(130), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("nominee_kind", sa.String(16), nullable=False),
        sa.Column("employee_id", sa.String(64), nullable=True),
        sa.Column("nominee_name", sa.String(200), nullable=False),
        sa.Column("award_code", sa.String(16), nullable=False),
        sa.Column("award_year", sa.Integer, nullable=False),
        sa.Column("decision_number", sa.String(64), nullable=False),
        sa.Column("decision_date", sa.Date, nullable=False),
        sa.Column("signer", sa.String(200), nullable=True),
        sa.Column("money", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("nomination_id", sa.String(64), nullable=True, unique=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("nominee_email", sa.String(254), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("revocation", sa.JSON, nullable=True),
        sa.UniqueConstraint("holder_key", "award_code", "award_year", "decision_number", name="uq_register_award"),
    )
    op.create_index("ix_register_unit_year", "register_entries", ["unit_id", "award_year"])
    op.create_index("ix_register_holder", "register_entries", ["holder_key"])
    with op.batch_alter_table("nominations") as batch:
        batch.add_column(sa.Column("register_notes", sa.JSON, nullable=True))
        batch.add_column(sa.Column("decision", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nominations") as batch:
        batch.drop_column("decision")
        batch.drop_column("register_notes")
    op.drop_table("register_entries")
