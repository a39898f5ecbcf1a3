"""Attack on the one-statement case insert (``Reviews.add_case_unless_early``): the row it writes is,
byte for byte as the database holds it, the row the longer path (``add_case``) writes, on SQLite and
PostgreSQL, for submissions with and without revision, dossier, notes and rule set (JSON ``null``
against SQL NULL, booleans, timestamps, integers)."""
from datetime import datetime, timezone

import pytest

from services.review import handlers as review
from services.review.models import cases
from services.review.repository import Reviews
from shared.contract import schemas
from tests.integration.delivery import Tables
from tests.integration.delivery import as_stored
from tests.integration.review_support import submitted
from services.review.service import MIGRATIONS as REVIEW_MIGRATIONS

NOW = datetime(2025, 11, 20, 8, 0, 0, 123456, tzinfo=timezone.utc)


@pytest.fixture
def reviews(db_urls):
    tables = Tables(db_urls["review"], REVIEW_MIGRATIONS)
    yield tables
    tables.dispose()


def raw(tables, nomination_id) -> dict:
    """Every column as the database stores it: its text, whether it is SQL NULL, and its storage type."""
    [row] = as_stored(tables.engine, cases, "WHERE nomination_id = :n", {"n": nomination_id}, skip=("nomination_id",))
    return row


VARIANTS = {
    "plain": {"revision": 1},
    "no revision": {},
    "revision 3": {"revision": 3},
    "dossier, notes, achievements": {"revision": 2, "dossier": {"a": [1, None, "ả"], "b": {"c": True}},
                                     "register_notes": [{"note": "x"}], "achievements": "Thành tích"},
    "no rule set": {"revision": 1, "rule_set": None},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_one_statement_writes_the_row_the_longer_path_writes(reviews, variant, monkeypatch):
    def event(nomination_id):
        payload = {**submitted(nomination_id, "LDTT"), **VARIANTS[variant]}
        if payload.get("rule_set") is None:
            payload.pop("rule_set", None)
        if "dossier" in payload:  # free-form JSON: the column's type is what is under test, not the schema
            return payload
        return schemas.load(schemas.NominationSubmitted, payload)

    review.record_submission(event("n-new"), reviews.uow(consumer="c", message_id="m-new"), NOW)
    with monkeypatch.context() as patched:  # the longer path, as before the change
        patched.setattr(Reviews, "add_case_unless_early", lambda self, values: False)
        review.record_submission(event("n-old"), reviews.uow(consumer="c", message_id="m-old"), NOW)
    new, old = raw(reviews, "n-new"), raw(reviews, "n-old")
    # the nominee names its nomination; everything else must be equal
    new["nominee"], old["nominee"] = (new["nominee"].replace("n-new", "n-x"), old["nominee"].replace("n-old", "n-x"))
    assert new == old
    with reviews.sessions() as session:
        a, b = Reviews(session).case("n-new"), Reviews(session).case("n-old")
    a.pop("nomination_id"), b.pop("nomination_id")
    a["nominee"], b["nominee"] = {**a["nominee"], "name": "", "email": ""}, {**b["nominee"], "name": "", "email": ""}
    assert a == b
