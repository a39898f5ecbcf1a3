"""Public comment before the decision (issue #18, NĐ 98 Art. 46): the case's achievements summary and the
end of its comment period, and the objections received.

Revision ID: review_0008
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0008"
down_revision = "review_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("achievements", sa.Text, nullable=True))
    op.add_column("cases", sa.Column("comment_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table("objections",
                    sa.Column("id", sa.String(64), primary_key=True),
                    sa.Column("nomination_id", sa.String(64), nullable=False, index=True),
                    sa.Column("name", sa.String(200), nullable=False),
                    sa.Column("contact", sa.String(254), nullable=False),
                    sa.Column("text", sa.Text, nullable=False),
                    sa.Column("channel", sa.String(16), nullable=False),
                    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("handling", sa.Text, nullable=True),
                    sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_table("objections")
    op.drop_column("cases", "comment_until")
    op.drop_column("cases", "achievements")
