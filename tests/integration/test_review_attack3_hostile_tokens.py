"""Attack on dbbceff: hostile ``auth_token`` values at submit_nomination (token_digest, KNOWN_TOKENS), on
SQLite and PostgreSQL. Whatever the token, a bad one is ``Unauthorized`` with nothing stored, nothing
announced and nothing remembered; a good one stores under its own unit only."""
import copy

import pytest

from services.intake import domain, handlers
from services.intake.service import _load_nomination
from shared.contract.errors import Unauthorized
from shared.platform.outbox import utcnow
from tests.integration.conftest import EXAMPLE
from tests.integration.intake_support import submit


def body(key="k-1", employee_id="VP-0042"):
    return _load_nomination({**copy.deepcopy(EXAMPLE), "submission_key": key,
                             "nominee": {**EXAMPLE["nominee"], "employee_id": employee_id}})


def remembered():
    return dict(handlers.KNOWN_TOKENS._units)


NOT_STRINGS = [None, 0, 1, 12345678901234567890, 1.5, True, [], ["tok"], {}, {"token": "x"}, b"bytes"]
UNKNOWN_STRINGS = ["", " ", "\x00", "x" * 1_000_000, "tòkèn-ünïcode-トークン", "\u0301", "a\nb", "🙂" * 100]


@pytest.mark.parametrize("token", NOT_STRINGS + UNKNOWN_STRINGS,
                         ids=[f"not_str_{i}" for i in range(len(NOT_STRINGS))] +
                             [f"unknown_{i}" for i in range(len(UNKNOWN_STRINGS))])
def test_a_hostile_or_unknown_token_is_unauthorized_and_leaves_nothing(intake_db, token):
    good = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    submit(intake_db, good, body("k-0", "VP-0001"))  # the process knows one token
    before = remembered()
    with pytest.raises(Unauthorized):
        submit(intake_db, token, body("k-1"))
    assert intake_db.count("nominations") == 1 and intake_db.count("outbox") == 1
    assert remembered() == before


def test_a_token_with_a_lone_surrogate_is_unauthorized_not_an_encoding_error(intake_db):
    """JSON context data may carry "\\ud800" (the project's schemas.load measures such strings with
    surrogatepass, and review's ballot tokens are tested with them): intake's token_digest encodes the
    token as strict UTF-8, so the caller gets UnicodeEncodeError, an unexpected error that Store's
    security audit does not record, instead of Unauthorized."""
    handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    try:
        submit(intake_db, "tok\ud800en", body("k-1"))
    except Unauthorized:
        pass
    except UnicodeEncodeError as exc:
        pytest.fail(f"a token with a lone surrogate raised {exc!r}, not Unauthorized")
    else:
        pytest.fail("a token with a lone surrogate was accepted")
    assert intake_db.count("nominations") == 0 and intake_db.count("outbox") == 0


def test_another_units_token_stores_under_that_unit_only_whatever_was_remembered_before(intake_db):
    vp = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    tccb = handlers.issue_unit_token("tccb", intake_db.uow(), utcnow())
    first_vp = submit(intake_db, vp, body("k-1"))
    first_tccb = submit(intake_db, tccb, body("k-1"))  # the same key, another unit: another nomination
    assert first_vp["nomination_id"] != first_tccb["nomination_id"]
    assert not first_tccb["duplicate"]
    again = submit(intake_db, tccb, body("k-1"))  # known now: a duplicate of tccb's, not of vp's
    assert again == {**first_tccb, "duplicate": True}
    with intake_db.engine.connect() as connection:
        import sqlalchemy as sa
        rows = connection.execute(sa.text("SELECT unit_id, submission_key FROM nominations ORDER BY unit_id")).all()
    assert [tuple(r) for r in rows] == [("tccb", "k-1"), ("vp", "k-1")]


def test_a_hint_naming_another_unit_for_a_revoked_token_is_refused_and_forgotten(intake_db):
    vp = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    submit(intake_db, vp, body("k-1"))
    handlers.issue_unit_token("tccb", intake_db.uow(), utcnow())
    handlers.issue_unit_token("vp", intake_db.uow(), utcnow(), revoke_others=True)
    handlers.KNOWN_TOKENS.learn(domain.hash_token(vp), "tccb")  # wrong and stale
    with pytest.raises(Unauthorized):
        submit(intake_db, vp, body("k-2"))
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(vp)) is None
    assert intake_db.count("nominations") == 1 and intake_db.count("outbox") == 1


def test_after_revoke_others_the_new_token_works_at_once_and_the_old_one_never_again(intake_db):
    old = handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    first = submit(intake_db, old, body("k-1"))
    new = handlers.issue_unit_token("vp", intake_db.uow(), utcnow(), revoke_others=True)
    assert submit(intake_db, new, body("k-1")) == {**first, "duplicate": True}  # the unit's key, the new token
    assert submit(intake_db, new, body("k-2", "VP-0002"))["duplicate"] is False  # known now
    for key in ("k-1", "k-2", "k-3"):
        with pytest.raises(Unauthorized):
            submit(intake_db, old, body(key, "VP-0003"))
    assert intake_db.count("nominations") == 2 and intake_db.count("outbox") == 2
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(new)) == "vp"
    assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(old)) is None


def test_unknown_tokens_do_not_grow_what_the_process_remembers(intake_db):
    handlers.issue_unit_token("vp", intake_db.uow(), utcnow())
    before = len(handlers.KNOWN_TOKENS._units)
    for i in range(50):
        with pytest.raises(Unauthorized):
            submit(intake_db, f"forged-{i}", body(f"k-{i}"))
    assert len(handlers.KNOWN_TOKENS._units) == before
