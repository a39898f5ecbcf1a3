"""A submission with a token this process has seen: the token is checked in the statement that stores
the nomination, which also reads the nominee's register entries (SQLite and PostgreSQL). What the
process remembers is only a hint: a revoked token is refused at once, a wrong hint changes nothing."""
import pytest
import sqlalchemy as sa

from services.intake import domain, handlers
from shared.contract.errors import Conflict, Unauthorized
from shared.platform.outbox import utcnow
from tests.integration.conftest import EXAMPLE
from tests.integration.intake_support import body, submit
from tests.integration.delivery import statements_of


def test_a_known_tokens_submission_stores_reads_and_announces_in_two_statements(intake_db):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    first = statements_of(intake_db.engine, lambda: submit(intake_db, token, body("k-1")))
    assert "unit_tokens" in first[0] and "unit_tokens" not in first[1]  # new here: looked up first
    second = statements_of(intake_db.engine, lambda: submit(intake_db, token, body("k-2", nominee={
        **EXAMPLE["nominee"], "employee_id": "VP-0043"})))
    if intake_db.engine.dialect.name == "postgresql":  # the insert, under the token, with the register read
        assert len(second) == 2 and "unit_tokens" in second[0] and "register_entries" in second[0]
    else:  # SQLite: the guarded insert, then the register read
        assert len(second) == 3 and "unit_tokens" in second[0] and "register_entries" in second[1]
    assert "outbox" in second[-1]
    assert intake_db.count("nominations") == 2 and intake_db.count("outbox") == 2


def test_a_revoked_token_is_refused_at_once_though_this_process_knows_it(intake_db):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    submit(intake_db, token, body("k-1"))
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp"
    handlers.issue_unit_token("vp", intake_db.uow(), utcnow(), revoke_others=True)
    with pytest.raises(Unauthorized):
        submit(intake_db, token, body("k-2"))
    with pytest.raises(Unauthorized):  # the same key again: no duplicate's receipt for a revoked token
        submit(intake_db, token, body("k-1"))
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) is None
    assert intake_db.count("nominations") == 1 and intake_db.count("outbox") == 1


def test_a_hint_naming_another_unit_stores_nothing_under_it(intake_db):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    handlers.issue_unit_token("tccb", intake_db.uow(), utcnow())
    handlers.KNOWN_TOKENS.learn(domain.hash_token(token), "tccb")  # wrong: as if the database were replaced
    receipt = submit(intake_db, token, body("k-1"))
    with intake_db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT unit_id FROM nominations")).scalars().all() == ["vp"]
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp"
    assert receipt["duplicate"] is False and intake_db.count("outbox") == 1


def test_a_retry_with_a_known_token_answers_the_first_receipt_and_another_body_is_refused(intake_db):
    token = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    first = submit(intake_db, token, body("k-1"))
    assert submit(intake_db, token, body("k-1")) == {**first, "duplicate": True}
    with pytest.raises(Conflict):
        submit(intake_db, token, body("k-1", achievements="Khác."))
    assert intake_db.count("nominations") == 1 and intake_db.count("outbox") == 1

