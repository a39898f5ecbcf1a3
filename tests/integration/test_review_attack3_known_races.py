"""Attack on dbbceff: the known-token insert (token checked in the insert) against concurrent holders of
the same key on PostgreSQL, refusals, later amend/withdraw, and what a known token's retry costs."""
import pytest
import sqlalchemy as sa

from services.intake import domain, handlers
from services.intake.models import nominations
from services.intake.service import _load_nomination
from shared.contract.errors import Conflict, Ineligible
from shared.platform.db import insert_new
from shared.platform.outbox import utcnow
from tests.integration.conftest import EXAMPLE
from tests.integration.intake_support import RULES, body, submit
from tests.integration.delivery import end_after_the_other_waits, statements_of


def known_token(tables):
    token = handlers.issue_unit_token("vp", tables.uow(), utcnow())
    submit(tables, token, body("k-0", nominee={**EXAMPLE["nominee"], "employee_id": "VP-0001"}))
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp"
    return token


def held_key(tables, nomination_body):
    session = tables.sessions()
    held = domain.new_nomination(nomination_body, "vp", RULES.in_force(domain.submission_date(utcnow())).id, utcnow())
    assert insert_new(session, nominations, **{c.name: getattr(held, c.name) for c in nominations.columns})
    return session, held


def events(tables):
    with tables.engine.connect() as connection:
        return connection.execute(sa.text("SELECT payload FROM outbox ORDER BY created_at")).scalars().all()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_known_token_waiting_on_a_first_call_that_fails_stores_its_own_nomination(intake_db):
    token = known_token(intake_db)
    session, held = held_key(intake_db, body("k-1"))
    receipt = end_after_the_other_waits(intake_db.engine, session, lambda: submit(intake_db, token, body("k-1")),
                                        commit=False, must_wait=True)
    session.close()
    assert receipt["duplicate"] is False and receipt["nomination_id"] != held.id
    assert intake_db.count("nominations") == 2 and intake_db.count("outbox") == 2


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("same_body", [True, False], ids=["same_body", "other_body"])
def test_a_known_token_waiting_on_a_first_call_that_commits_answers_it(intake_db, same_body):
    token = known_token(intake_db)
    session, held = held_key(intake_db, body("k-1") if same_body else body("k-1", achievements="Khác."))
    outcome = {}

    def retry():
        try:
            outcome["receipt"] = submit(intake_db, token, body("k-1"))
        except Conflict as refused:
            outcome["refused"] = refused

    end_after_the_other_waits(intake_db.engine, session, retry, commit=True, must_wait=True)
    session.close()
    if same_body:
        assert outcome == {"receipt": {"nomination_id": held.id, "status": "submitted", "duplicate": True}}
    else:
        assert list(outcome) == ["refused"]
    assert intake_db.count("nominations") == 2 and intake_db.count("outbox") == 1  # k-0's only: the held one is raw


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_an_ineligible_body_with_a_known_token_stores_and_announces_nothing_and_keeps_the_hint(intake_db):
    token = known_token(intake_db)
    with pytest.raises(Ineligible):
        submit(intake_db, token, body("k-1", history=[{"year": 2025, "rating": "KHTNV", "titles": [], "initiatives": [],
                                                     "disciplined": True}]))
    assert intake_db.count("nominations") == 1 and intake_db.count("outbox") == 1
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp"
    assert submit(intake_db, token, body("k-1"))["duplicate"] is False  # the key was not used up


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_known_tokens_nomination_can_be_amended_and_withdrawn_as_any(intake_db):
    token = known_token(intake_db)
    receipt = submit(intake_db, token, body("k-1"))
    view = handlers.amend_nomination(receipt["nomination_id"], {"achievements": "Sửa."}, token, intake_db.uow(), RULES,
                                     _load_nomination, utcnow())
    assert view["revision"] == 2
    handlers.withdraw_nomination(receipt["nomination_id"], "rút", token, intake_db.uow(), utcnow())
    assert submit(intake_db, token, body("k-1")) == {**receipt, "status": "withdrawn", "duplicate": True}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_retry_with_a_known_token_costs_no_more_statements_than_before(intake_db):
    """85b3203 answered a retry in three statements: the token's look-up, the insert that found the key
    taken, the read of the first nomination. With a known token dbbceff sends the guarded insert, then
    the look-up, then the unguarded insert again, then the read."""
    token = known_token(intake_db)
    first = submit(intake_db, token, body("k-1"))
    sent = statements_of(intake_db.engine, lambda: submit(intake_db, token, body("k-1")))
    assert len(sent) <= 3, [s.split("\n")[0][:60] for s in sent]
    assert submit(intake_db, token, body("k-1")) == {**first, "duplicate": True}
