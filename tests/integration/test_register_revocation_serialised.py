"""A revocation (Law Art. 93) and a submission or amendment of the same holder, interleaved on
PostgreSQL (intake_0009): whichever commits second knows of the first.

Before intake_0009, a submission that had read the holder's entry as ``awarded`` and not yet committed
was invisible to the revocation's re-check of the holder's live nominations, and the revocation
committed meanwhile was invisible to the submission: the nomination stayed live on a revoked title,
and nobody was told. Each test below forces its interleaving with a transaction held open and fails on
that code (the other side does not wait, so ``must_wait`` fails, or the outcome misses the other).
"""
import copy
from datetime import date

import eventlet
import pytest
import sqlalchemy as sa

from services.intake import decisions, domain, handlers, register
from services.intake.models import Nominations, nominations
from services.intake.register_store import Register, register_entries
from services.intake.service import _load_nomination
from shared.contract.errors import Conflict, Ineligible
from shared.platform.outbox import utcnow
from tests.integration.delivery import end_after_the_other_waits, wait_for_a_lock_wait
from tests.integration.conftest import EXAMPLE
from tests.integration.intake_support import RULES
from tests.integration.test_review_attack3_register_after_wait import add_entry, claiming_cstdcs_2025, revoke

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)

REVOCATION = {"ground": "a", "number": "5/QĐ-VP", "date": "2026-12-01", "reason": "Khai man thành tích",
              "money_to_recover": 0, "by": "op", "at": "2026-12-01T00:00:00+00:00"}


def submitted_unseen(tables, body):
    """An open transaction that has inserted ``body`` as a submission does, its register read included
    (the statement a submission sends first): the submission between its read and its commit."""
    session = tables.sessions()
    rule_set = RULES.in_force(domain.submission_date(utcnow())).id
    nomination = domain.new_nomination(body, "vp", rule_set, utcnow())
    rows = Nominations(session).add_reading(nomination, *handlers.register_reading(
        body, "vp", register.STRICT, after_a_wait=True))
    assert rows and {row["state"] for row in rows} == {"awarded"}, rows
    return session, nomination.id


def revoking_unseen(tables, entry_id="e-1"):
    """An open transaction that has revoked the entry and holds its holder, as ``register_ops.revoke``
    does before it re-checks the holder's live nominations."""
    session = tables.sessions()
    reg = Register(session)
    entry = reg.get(entry_id, for_update=True)
    assert reg.revoke(entry_id, REVOCATION)
    reg.lock_holder(entry["holder_key"])
    return session


def refused_after_the_revocation(tables, action):
    """``action()`` run while a revocation is in flight (it must wait for it): its result, or the
    ``Ineligible`` it raised."""
    def attempt():
        try:
            return action()
        except Ineligible as refused:
            return refused

    held = revoking_unseen(tables)
    try:
        return end_after_the_other_waits(tables.engine, held, attempt, must_wait=True)
    finally:  # on a failure too: a transaction left open would hold the test's database
        held.close()


def test_a_revocation_waits_for_a_submission_that_read_the_title_and_returns_it(intake_db):
    body = claiming_cstdcs_2025()
    add_entry(intake_db, register.nominee_key("vp", body["nominee"]))
    held, nomination_id = submitted_unseen(intake_db, body)
    try:
        revoked = end_after_the_other_waits(intake_db.engine, held, lambda: revoke(intake_db), must_wait=True)
    finally:  # on a failure too: a transaction left open would hold the test's database
        held.close()
    assert [a["nomination_id"] for a in revoked["affected"]] == [nomination_id]
    assert "CSTDCS" in revoked["affected"][0]["reasons"][0]


@pytest.mark.parametrize("known", [True, False], ids=["known_token", "new_token"])
def test_a_submission_waits_for_a_revocation_in_flight_and_is_refused(intake_db, known):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    if known:  # the process has seen the token: the token is checked in the insert that reads
        other = _load_nomination({**copy.deepcopy(EXAMPLE), "submission_key": "k-0",
                                  "nominee": {**EXAMPLE["nominee"], "employee_id": "VP-0099"}})
        handlers.submit_nomination(other, token, intake_db.uow(), RULES, utcnow())
    assert (handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp") is known
    body = claiming_cstdcs_2025()
    add_entry(intake_db, register.nominee_key("vp", body["nominee"]))
    outcome = refused_after_the_revocation(intake_db, lambda: handlers.submit_nomination(
        body, token, intake_db.uow(), RULES, utcnow()))
    assert isinstance(outcome, Ineligible), f"stored on a title revoked before it committed: {outcome}"
    assert "not_in_register" in [u["code"] for u in outcome.detail]
    with intake_db.engine.connect() as connection:
        stored = connection.execute(sa.select(nominations.c.submission_key)).scalars().all()
    assert "k-1" not in stored


def test_an_amendment_claiming_a_title_waits_for_its_revocation_in_flight_and_is_refused(intake_db):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    body = claiming_cstdcs_2025()
    claimed = body["history"]
    unclaimed = [{**row, "titles": []} for row in claimed]
    receipt = handlers.submit_nomination({**body, "history": unclaimed}, token, intake_db.uow(), RULES, utcnow())
    add_entry(intake_db, register.nominee_key("vp", body["nominee"]))
    outcome = refused_after_the_revocation(intake_db, lambda: handlers.amend_nomination(
        receipt["nomination_id"], {"history": claimed}, token, intake_db.uow(), RULES, _load_nomination, utcnow()))
    assert isinstance(outcome, Ineligible), f"amended to claim a title revoked before it committed: {outcome}"
    assert "not_in_register" in [u["code"] for u in outcome.detail]


def test_two_revocations_of_one_holder_at_once_both_end(intake_db):
    """Two entries of one holder revoked at once: the second waits for the first (the lock is the
    holder's), and the first, holding it, still reads the holder's entries (its re-check does, through
    the shared lock) while the second waits: no deadlock."""
    body = claiming_cstdcs_2025()
    holder = register.nominee_key("vp", body["nominee"])
    add_entry(intake_db, holder)
    add_entry(intake_db, holder, entry_id="e-2", code="LDTT", year=2024)
    held, nomination_id = submitted_unseen(intake_db, body)
    held.commit()
    held.close()
    first = revoking_unseen(intake_db, "e-2")
    try:
        thread = eventlet.spawn(revoke, intake_db, "e-1")
        wait_for_a_lock_wait(intake_db.engine, thread, "the second revocation to wait for the first")
        assert not thread.dead, "the second revocation did not wait for the first"
        rows = first.execute(*Register.reading(holder, after_a_wait=True)).mappings().all()
        assert sorted((r["award_code"], r["state"]) for r in rows) == [("CSTDCS", "awarded"), ("LDTT", "revoked")]
        first.commit()
    finally:
        first.close()
    second = thread.wait()
    assert [a["nomination_id"] for a in second["affected"]] == [nomination_id]
    with intake_db.engine.connect() as connection:
        states = connection.execute(sa.select(register_entries.c.state)).scalars().all()
    assert states == ["revoked", "revoked"]


def approved(tables, count: int, claim: bool = False) -> list[str]:
    """``count`` nominations of as many people, approved by their council, with ids n-00, n-01 ... (the
    order a decision takes them in)."""
    token = handlers.issue_unit_token("vp", tables.uow(), utcnow())
    ids = []
    for i in range(count):
        body = claiming_cstdcs_2025(f"k-{i}") if claim else _load_nomination(
            {**copy.deepcopy(EXAMPLE), "submission_key": f"k-{i}"})
        body = {**body, "nominee": {**body["nominee"], "employee_id": f"VP-{i:04d}"}}
        receipt = handlers.submit_nomination(body, token, tables.uow(), RULES, utcnow())
        ids.append(f"n-{i:02d}")
        with tables.engine.begin() as connection:
            connection.execute(sa.update(nominations).where(nominations.c.id == receipt["nomination_id"])
                               .values(id=ids[-1], status="approved"))
    return ids


def decide(tables, ids):
    try:
        return decisions.record_decision({"number": "9/QĐ-VP", "date": date(2025, 12, 20), "signer": "Trần Văn Bình",
                                          "nomination_ids": ids}, "op", tables.uow(), RULES, utcnow())
    except Conflict as refused:
        return refused


def test_a_decision_waits_for_a_revocation_in_flight_and_is_refused(intake_db):
    [nomination_id] = approved(intake_db, 1, claim=True)
    add_entry(intake_db, register.nominee_key("vp", {"kind": "individual", "employee_id": "VP-0000"}))
    held = revoking_unseen(intake_db)
    try:
        outcome = end_after_the_other_waits(intake_db.engine, held, lambda: decide(intake_db, [nomination_id]),
                                            must_wait=True)
    finally:
        held.close()
    assert isinstance(outcome, Conflict) and "CSTDCS" in str(outcome), outcome


ADVISORY_LOCKS = sa.text("SELECT l.pid, count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                         "WHERE a.datname = current_database() AND l.locktype = 'advisory' AND l.granted "
                         "AND a.wait_event_type = 'Lock' GROUP BY l.pid")


def test_a_decision_of_many_people_holds_one_advisory_lock_not_one_a_person(intake_db):
    """A decision lists up to thousands of nominations; one advisory lock a person would fill PostgreSQL's
    lock table (max_locks_per_transaction × connections, about 7,800 here) and fail the decision."""
    ids = approved(intake_db, 30)
    held = intake_db.sessions()  # the last one held: the decision waits there, its re-checks of the others done
    held.execute(sa.select(nominations.c.id).where(nominations.c.id == ids[-1]).with_for_update())
    thread = eventlet.spawn(decide, intake_db, ids)
    try:
        wait_for_a_lock_wait(intake_db.engine, thread, "the decision to wait for the last nomination")
        assert not thread.dead, thread.wait()
        with intake_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            held_by_the_decision = watcher.execute(ADVISORY_LOCKS).all()
    finally:
        held.rollback()
        held.close()
    outcome = thread.wait()
    assert [count for _, count in held_by_the_decision] == [1], held_by_the_decision
    assert len(outcome["entries"]) == 30, outcome
