"""A submission's (or an amendment's) read of the nominee's register entries waits for a revocation of
one of them in flight, and a revocation waits for such reads in flight (PostgreSQL).

Before: a submission read the nominee's entries, found a title ``awarded`` and went on to commit; a
revocation committed meanwhile re-checked the holder's live nominations without seeing the submission
(not committed yet). The nomination stayed live on a revoked title, and nobody was told. Now the
functions of intake_0008 first take a shared advisory lock on the holder, then read in a statement of
their own (a ``VOLATILE`` SQL function takes a snapshot per statement, so the read sees a revocation
that committed while it waited); a revocation takes that lock exclusively before it re-checks
(``Register.lock_holder``). Either the revocation's re-check sees the nomination, or the submission
sees the revocation.

Revision ID: intake_0009
"""
from alembic import op

revision = "intake_0009"
down_revision = "intake_0008"
branch_labels = None
depends_on = None

HOLDER_LOCKS = 21007  # the advisory lock space of register holders (services/intake/register_store.py)

LOCK = f"    SELECT pg_advisory_xact_lock_shared({HOLDER_LOCKS}, hashtext(holder));\n"
ENTRIES = f"""
CREATE OR REPLACE FUNCTION tdkt_register_entries(holder text)
RETURNS TABLE (award_code varchar, award_year integer, state varchar)
LANGUAGE sql VOLATILE AS $$
{LOCK}    SELECT e.award_code, e.award_year, e.state FROM register_entries e WHERE e.holder_key = holder
$$
"""
ENTRIES_AND_FIRST_YEAR = f"""
CREATE OR REPLACE FUNCTION tdkt_register_entries_and_first_year(holder text)
RETURNS TABLE (first_year integer, award_code varchar, award_year integer, state varchar)
LANGUAGE sql VOLATILE AS $$
{LOCK}    SELECT f.first_year, e.award_code, e.award_year, e.state
    FROM (SELECT min(award_year) AS first_year FROM register_entries) f
    LEFT JOIN register_entries e ON e.holder_key = holder
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ENTRIES)
        op.execute(ENTRIES_AND_FIRST_YEAR)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # intake_0008's functions: the same without the lock
        op.execute(ENTRIES.replace(LOCK, ""))
        op.execute(ENTRIES_AND_FIRST_YEAR.replace(LOCK, ""))
