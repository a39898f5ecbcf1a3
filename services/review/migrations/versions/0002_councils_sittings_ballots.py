"""Directory, sittings, roster and agenda counters (secret ballot), quotas, audit.

Revision ID: review_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0002"
down_revision = "review_0001"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("rule_set", sa.String(32), nullable=True))
        batch.add_column(sa.Column("sitting_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("decided_at", TS, nullable=True))
        batch.create_index("ix_cases_stage_state", ["stage", "state"])
    op.create_table("units", sa.Column("id", sa.String(64), primary_key=True),
                    sa.Column("name", sa.String(200), nullable=False), sa.Column("email", sa.String(254)),
                    sa.Column("parent", sa.String(64)))
    op.create_table("councils", sa.Column("id", sa.String(64), primary_key=True),
                    sa.Column("name", sa.String(200), nullable=False),
                    sa.Column("level", sa.String(16), nullable=False),
                    sa.Column("unit_id", sa.String(64), nullable=False))
    op.create_table("members", sa.Column("id", sa.String(64), primary_key=True),
                    sa.Column("council_id", sa.String(64), nullable=False, index=True),
                    sa.Column("name", sa.String(200), nullable=False),
                    sa.Column("email", sa.String(254), nullable=False),
                    sa.Column("role", sa.String(16), nullable=False),
                    sa.Column("active", sa.Boolean, nullable=False))
    op.create_table("sittings", sa.Column("id", sa.String(64), primary_key=True),
                    sa.Column("council_id", sa.String(64), nullable=False, index=True),
                    sa.Column("stage", sa.String(16), nullable=False),
                    sa.Column("status", sa.String(24), nullable=False),
                    sa.Column("members_total", sa.Integer, nullable=False),
                    sa.Column("deadline", TS, nullable=False), sa.Column("convened_at", TS, nullable=False),
                    sa.Column("closed_at", TS), sa.Column("quorum_met", sa.Boolean),
                    sa.Column("pending_ties", sa.JSON), sa.Column("chair_choices", sa.JSON))
    op.create_index("ix_sittings_status_deadline", "sittings", ["status", "deadline"])
    op.create_table("roster", sa.Column("sitting_id", sa.String(64), primary_key=True),
                    sa.Column("member_id", sa.String(64), primary_key=True),
                    sa.Column("name", sa.String(200), nullable=False),
                    sa.Column("email", sa.String(254), nullable=False),
                    sa.Column("role", sa.String(16), nullable=False),
                    sa.Column("voted", sa.Boolean, nullable=False),
                    sa.Column("written_opinion", sa.Boolean, nullable=False))
    op.create_table("agenda", sa.Column("sitting_id", sa.String(64), primary_key=True),
                    sa.Column("nomination_id", sa.String(64), primary_key=True),
                    sa.Column("award_code", sa.String(16), nullable=False),
                    sa.Column("approve", sa.Integer, nullable=False),
                    sa.Column("reject", sa.Integer, nullable=False),
                    sa.Column("abstain", sa.Integer, nullable=False),
                    sa.Column("required", sa.Integer), sa.Column("outcome", sa.String(16)),
                    sa.Column("reasons", sa.JSON))
    op.create_table("quotas", sa.Column("council_id", sa.String(64), primary_key=True),
                    sa.Column("award_code", sa.String(16), primary_key=True),
                    sa.Column("award_year", sa.Integer, primary_key=True),
                    sa.Column("places", sa.Integer, nullable=False))
    op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("at", TS, nullable=False), sa.Column("kind", sa.String(32), nullable=False),
                    sa.Column("sitting_id", sa.String(64)), sa.Column("detail", sa.String(500), nullable=False))


def downgrade() -> None:
    for table in ("audit", "quotas", "agenda", "roster", "sittings", "members", "councils", "units"):
        op.drop_table(table)
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_stage_state")
        for column in ("decided_at", "outcome", "sitting_id", "rule_set"):
            batch.drop_column(column)
