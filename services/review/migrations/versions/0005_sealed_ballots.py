"""Secret ballot on the wire (#15): opaque tokens (only their keyed digest, per roster row), the sitting's
key pair (public key; private key encrypted under the master secret, erased when voting ends) and the
receipts counted (no member on them).

Revision ID: review_0005
"""
import sqlalchemy as sa
from alembic import op

revision = "review_0005"
down_revision = "review_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("roster", sa.Column("token_digest", sa.String(64), nullable=True))
    op.create_index("ix_roster_token_digest", "roster", ["token_digest"], unique=True)
    op.add_column("sittings", sa.Column("public_key", sa.String(64), nullable=True))
    op.add_column("sittings", sa.Column("ballot_key", sa.LargeBinary, nullable=True))
    op.create_table("receipts",
                    sa.Column("sitting_id", sa.String(64), primary_key=True),
                    sa.Column("code", sa.String(19), primary_key=True))


def downgrade() -> None:
    op.drop_table("receipts")
    op.drop_column("sittings", "ballot_key")
    op.drop_column("sittings", "public_key")
    op.drop_index("ix_roster_token_digest", "roster")
    op.drop_column("roster", "token_digest")
