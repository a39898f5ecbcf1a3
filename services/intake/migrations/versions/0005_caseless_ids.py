"""Employee and initiative ids are caseless (#21.7): the initiative ledger in capitals.

Since this revision the schemas keep employee ids and initiative ids in capitals; claims recorded
before it are brought to the same spelling, or ``sk-1`` claimed then would not stop ``SK-1`` now. Two
claims that become one (the same initiative of the same person under two spellings, backing two
nominations) keep the earlier nomination's.

Revision ID: intake_0005
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0005"
down_revision = "intake_0004"
branch_labels = None
depends_on = None

USES = sa.table("initiative_uses", sa.column("person_key"), sa.column("initiative_id"), sa.column("nomination_id"))
NOMINATIONS = sa.table("nominations", sa.column("id"), sa.column("unit_id"), sa.column("submitted_at"))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(USES.c.person_key, USES.c.initiative_id, USES.c.nomination_id, NOMINATIONS.c.unit_id)
                        .select_from(USES.join(NOMINATIONS, NOMINATIONS.c.id == USES.c.nomination_id))
                        .order_by(NOMINATIONS.c.submitted_at, USES.c.nomination_id)).all()
    kept = {}
    for person_key, initiative_id, nomination_id, unit_id in rows:  # person_key is "<unit_id>:<employee_id>"
        key = (f"{unit_id}:{person_key[len(unit_id) + 1:].upper()}", initiative_id.upper())
        kept.setdefault(key, nomination_id)
    if rows:
        bind.execute(sa.delete(USES).where(USES.c.nomination_id.in_({row.nomination_id for row in rows})))
        bind.execute(sa.insert(USES), [{"person_key": person, "initiative_id": initiative, "nomination_id": nomination}
                                       for (person, initiative), nomination in kept.items()])


def downgrade() -> None:
    pass  # the capitals stay: lower-case claims would be the bug this revision fixes
