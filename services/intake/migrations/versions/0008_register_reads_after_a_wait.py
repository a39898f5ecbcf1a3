"""The nominee's register entries as read by a submission's insert (#20), on PostgreSQL: two ``VOLATILE``
SQL functions, so the read joined to the insert takes its own snapshot when it runs, after any wait of
the insert on a concurrent holder of the same key, and sees an entry recorded or revoked meanwhile (a
plain subquery would see the register as the statement began). SQLite reads in a statement of its own.

Revision ID: intake_0008
"""
from alembic import op

revision = "intake_0008"
down_revision = "intake_0007"
branch_labels = None
depends_on = None

ENTRIES = """
CREATE FUNCTION tdkt_register_entries(holder text)
RETURNS TABLE (award_code varchar, award_year integer, state varchar)
LANGUAGE sql VOLATILE AS $$
    SELECT e.award_code, e.award_year, e.state FROM register_entries e WHERE e.holder_key = holder
$$
"""
ENTRIES_AND_FIRST_YEAR = """
CREATE FUNCTION tdkt_register_entries_and_first_year(holder text)
RETURNS TABLE (first_year integer, award_code varchar, award_year integer, state varchar)
LANGUAGE sql VOLATILE AS $$
    SELECT f.first_year, e.award_code, e.award_year, e.state
    FROM (SELECT min(award_year) AS first_year FROM register_entries) f
    LEFT JOIN register_entries e ON e.holder_key = holder
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ENTRIES)
        op.execute(ENTRIES_AND_FIRST_YEAR)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION tdkt_register_entries_and_first_year(text)")
        op.execute("DROP FUNCTION tdkt_register_entries(text)")
