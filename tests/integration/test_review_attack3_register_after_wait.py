"""Attack on dbbceff: the submission's register read now runs in the statement that inserts the
nomination (PostgreSQL: a data-modifying CTE with a LATERAL read). That read sees the database as the
statement began, so when the insert waits on a concurrent holder of the same submission key (a retry
in flight) that then rolls back, the claims are checked against the register as it was *before the
wait*. Before dbbceff the register was read by a later statement, after the insert had won its key.

shared/platform/db.py's own docstring says of insert_new_then_read: "a plain read gives the values of
before the wait ... what must be read after a lock is read by a later statement". A register entry
revoked (Law Art. 93) meanwhile is such a value: the revocation's re-check of live nominations cannot
see the nomination (not committed yet), and the submission does not see the revocation, so a
nomination claiming a revoked title is stored and announced though the register says it is revoked;
and an award entered meanwhile is not counted, so a true claim is refused. Both pass on 85b3203.
"""
import copy
from datetime import date, datetime, timezone

import eventlet
import pytest
import sqlalchemy as sa

from services.intake import domain, handlers, register, register_ops
from services.intake.models import nominations
from services.intake.register_store import register_entries
from services.intake.service import _load_nomination
from shared.contract.errors import Ineligible
from shared.platform.db import insert_new
from shared.platform.outbox import utcnow
from tests.integration.conftest import EXAMPLE
from tests.integration.intake_support import RULES
from tests.integration.delivery import wait_for_a_lock_wait


def claiming_cstdcs_2025(key="k-1"):
    """LDTT 2025 whose history claims a CSTDCS for 2025 (a title decided here: it must be in the register)."""
    body = copy.deepcopy(EXAMPLE)
    body["submission_key"] = key
    body["history"] = [{"year": 2025, "rating": "HTXSNV", "titles": ["CSTDCS"], "initiatives": [],
                        "disciplined": False}]
    return _load_nomination(body)


def add_entry(tables, holder, entry_id="e-1", code="CSTDCS", year=2025, state="awarded"):
    with tables.sessions() as session, session.begin():
        session.execute(sa.insert(register_entries).values(
            id=entry_id, holder_key=holder, unit_id="vp", nominee_kind="individual", employee_id=None,
            nominee_name="Nguyễn Thị Hoa", award_code=code, award_year=year, decision_number=f"{entry_id}/QĐ",
            decision_date=date(year, 12, 15), signer=None, money=0, state=state, source="import",
            nomination_id=None, contact_email=None, nominee_email=None,
            recorded_at=datetime(2026, 1, 1, tzinfo=timezone.utc), recorded_by="test", revocation=None))


def hold_the_key(tables, body):
    """An open transaction holding ``body``'s submission key (a first call still in flight)."""
    session = tables.sessions()
    rule_set = RULES.in_force(domain.submission_date(utcnow())).id
    held = domain.new_nomination(body, "vp", rule_set, utcnow())
    assert insert_new(session, nominations, **{c.name: getattr(held, c.name) for c in nominations.columns})
    return session


def revoke(tables, entry_id="e-1"):
    return register_ops.revoke({"entry_id": entry_id, "ground": "a", "decision_number": "5/QĐ-VP",
                                "date": date(2026, 12, 1), "reason": "Khai man thành tích"},
                               "op", tables.uow(), RULES, utcnow())


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("known", [True, False], ids=["known_token", "new_token"])
def test_a_title_revoked_while_the_submission_waits_on_its_key_is_not_accepted(intake_db, known):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    body = claiming_cstdcs_2025()
    holder = register.nominee_key("vp", body["nominee"])
    add_entry(intake_db, holder)
    if known:  # the process has seen the token (a first submission of another nominee)
        other = _load_nomination({**copy.deepcopy(EXAMPLE), "submission_key": "k-0",
                                  "nominee": {**EXAMPLE["nominee"], "employee_id": "VP-0099"}})
        handlers.submit_nomination(other, token, intake_db.uow(), RULES, utcnow())
    assert (handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp") is known

    # control: with the entry revoked beforehand, the claim is refused (strict)
    held = hold_the_key(intake_db, body)
    thread = eventlet.spawn(handlers.submit_nomination, body, token, intake_db.uow(), RULES, utcnow())
    wait_for_a_lock_wait(intake_db.engine, thread, "the submission to wait on the held key")
    assert not thread.dead, "the submission did not wait on the held key"
    revoked = revoke(intake_db)  # committed while the submission waits; it cannot see the held row
    assert revoked["affected"] == []
    held.rollback()  # the first call fails: the waiting submission wins the key
    held.close()
    try:
        receipt = thread.wait()
    except Ineligible as refused:  # what the code before dbbceff answered: the register read after the wait
        assert "not_in_register" in [u["code"] for u in refused.detail]
        assert intake_db.count("nominations") == (1 if known else 0)
        return
    with intake_db.engine.connect() as connection:
        state = connection.execute(sa.select(register_entries.c.state)).scalar()
        notes = connection.execute(sa.select(nominations.c.register_notes).where(
            nominations.c.id == receipt["nomination_id"])).scalar()
    pytest.fail(f"a nomination claiming CSTDCS 2025 was stored ({receipt}) with register notes {notes!r} "
                f"though the register entry is {state!r}: the claims were checked against the register as "
                "it was before the insert's lock wait")


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_claim_of_a_revoked_title_is_refused_with_a_known_token(intake_db):
    """The guarantee without a race: a revoked entry proves nothing on the known-token path either."""
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    body = claiming_cstdcs_2025("k-2")
    add_entry(intake_db, register.nominee_key("vp", body["nominee"]))
    other = _load_nomination({**copy.deepcopy(EXAMPLE), "submission_key": "k-0",
                              "nominee": {**EXAMPLE["nominee"], "employee_id": "VP-0099"}})
    handlers.submit_nomination(other, token, intake_db.uow(), RULES, utcnow())  # learnt
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp"
    revoke(intake_db)
    with pytest.raises(Ineligible) as refused:
        handlers.submit_nomination(body, token, intake_db.uow(), RULES, utcnow())
    assert "not_in_register" in [u["code"] for u in refused.value.detail]
    assert intake_db.count("nominations") == 1 and intake_db.count("outbox") == 2  # k-0's submitted + the revocation


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_title_recorded_while_the_submission_waits_on_its_key_is_counted(intake_db):
    """The other way round: the award is entered in the register (a decision, an import) while the
    submission waits on its key; the register read before the wait does not have it, and a true claim
    is refused as not_in_register."""
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    body = claiming_cstdcs_2025()
    add_entry(intake_db, "vp:someone-else", entry_id="e-0", code="LDTT", year=2020)  # the register starts in 2020
    other = _load_nomination({**copy.deepcopy(EXAMPLE), "submission_key": "k-0",
                              "nominee": {**EXAMPLE["nominee"], "employee_id": "VP-0099"}})
    handlers.submit_nomination(other, token, intake_db.uow(), RULES, utcnow())  # the token is known
    held = hold_the_key(intake_db, body)
    thread = eventlet.spawn(handlers.submit_nomination, body, token, intake_db.uow(), RULES, utcnow())
    wait_for_a_lock_wait(intake_db.engine, thread, "the submission to wait on the held key")
    assert not thread.dead, "the submission did not wait on the held key"
    add_entry(intake_db, register.nominee_key("vp", body["nominee"]))  # CSTDCS 2025, committed meanwhile
    held.rollback()
    held.close()
    try:
        receipt = thread.wait()
    except Ineligible as refused:
        pytest.fail(f"a claim of CSTDCS 2025, in the register before the nomination was stored, was refused: "
                    f"{[u['code'] for u in refused.detail]}")
    assert receipt["duplicate"] is False
