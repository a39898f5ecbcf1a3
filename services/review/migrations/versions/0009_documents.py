"""A closed sitting's documents (#16): the render jobs and the rendered files.

Revision ID: review_0009
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0009"
down_revision = "review_0008"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table("document_jobs",
                    sa.Column("sitting_id", sa.String(64), primary_key=True),
                    sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("attempts", sa.Integer, nullable=False),
                    sa.Column("next_attempt_at", TS, nullable=False),
                    sa.Column("requested_at", TS, nullable=False),
                    sa.Column("done_at", TS, nullable=True),
                    sa.Column("kinds", sa.JSON, nullable=True),
                    sa.Column("error", sa.String(500), nullable=True))
    op.create_index("ix_document_jobs_status_next", "document_jobs", ["status", "next_attempt_at"])
    op.create_table("documents",
                    sa.Column("sitting_id", sa.String(64), primary_key=True),
                    sa.Column("kind", sa.String(16), primary_key=True),
                    sa.Column("fmt", sa.String(8), primary_key=True),
                    sa.Column("content", sa.LargeBinary, nullable=False))


def downgrade() -> None:
    op.drop_table("documents")
    op.drop_index("ix_document_jobs_status_next", "document_jobs")
    op.drop_table("document_jobs")
