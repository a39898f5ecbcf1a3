"""Attack on 5dd0dd1 (intake_0009): a revocation takes the holder's lock *after* it has updated the entry.

``register_ops.revoke`` locks the entry's row, updates it to ``revoked``, and only then waits for the
holder's lock (exclusive) behind the register reads in flight. A ``record_decision`` of the same holder
holds that lock shared from its re-check on, and then inserts the entry of its award: when that entry
has the same holder, award, year and decision number as the one being revoked (a decision already in the
register by import, recorded again), the insert's unique check waits for the revocation's update. Each
waits for the other: PostgreSQL aborts one with ``deadlock detected`` (an internal error for the
operator) after ``deadlock_timeout``, where the decision alone would have been refused (``Conflict``,
already awarded) and the revocation would have gone through.

Taking the holder's lock before the entry's row is changed breaks the cycle (a row only locked is
seen by the unique check as a duplicate at once, without waiting).
"""
from datetime import date

import eventlet
import pytest
import sqlalchemy as sa

from services.intake import decisions, handlers, register
from services.intake.models import nominations
from services.intake.register_store import register_entries
from shared.contract.errors import Conflict
from shared.platform.outbox import utcnow
from tests.harness import wait_until
from tests.integration.intake_support import RULES, body
from tests.integration.test_review_attack3_register_after_wait import add_entry, revoke

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)

WAITERS = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock'")


def waiters(engine) -> int:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        return watcher.execute(WAITERS).scalar()


def outcome_of(action):
    try:
        return action()
    except Exception as exc:  # noqa: BLE001 - the outcome, whatever it is
        return exc


def test_a_revocation_and_a_decision_recorded_again_of_the_same_award_do_not_deadlock(intake_db):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    mine = body("k-1")  # LDTT 2025 of VP-0042
    other = body("k-2", nominee={**mine["nominee"], "employee_id": "VP-0099"})
    for key, nomination, new_id in (("k-1", mine, "n-a"), ("k-2", other, "n-b")):
        receipt = handlers.submit_nomination(nomination, token, intake_db.uow(), RULES, utcnow())
        with intake_db.engine.begin() as connection:  # approved by the council; ids in a known order
            connection.execute(sa.update(nominations).where(nominations.c.id == receipt["nomination_id"])
                               .values(id=new_id, status="approved"))
    holder = register.nominee_key("vp", mine["nominee"])
    add_entry(intake_db, holder, entry_id="e-1", code="LDTT", year=2025)  # imported: LDTT 2025 by "e-1/QĐ"

    held = intake_db.sessions()  # n-b held: the decision stops after its re-check of n-a's holder
    held.execute(sa.select(nominations.c.id).where(nominations.c.id == "n-b").with_for_update())
    decision = eventlet.spawn(outcome_of, lambda: decisions.record_decision(
        {"number": "e-1/QĐ", "date": date(2025, 12, 20), "signer": "Trần Văn Bình", "nomination_ids": ["n-a", "n-b"]},
        "op", intake_db.uow(), RULES, utcnow()))
    try:
        wait_until(lambda: waiters(intake_db.engine) >= 1 or decision.dead, timeout=10, what="the decision to wait")
        revocation = eventlet.spawn(outcome_of, lambda: revoke(intake_db, "e-1"))
        wait_until(lambda: waiters(intake_db.engine) >= 2 or revocation.dead, timeout=10,
                   what="the revocation to wait for the decision's read")
    finally:
        held.rollback()
        held.close()
    decided, revoked = decision.wait(), revocation.wait()
    assert isinstance(revoked, dict), f"the revocation failed: {revoked!r}"
    assert isinstance(decided, Conflict), f"the decision did not end in a refusal: {decided!r}"
    with intake_db.engine.connect() as connection:
        assert connection.execute(sa.select(register_entries.c.state)).scalars().all() == ["revoked"]
