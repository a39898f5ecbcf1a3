"""Attack on c96fd86: the rules of a return kept before its submission, as ``services/review/early.py``
and the README state them ("a return without a revision stands" against any amendment).

Two revocations before the submission merge into one kept return with the larger of their revisions:
one without a revision (an intake before c96fd86, during an upgrade) merged with one of revision 2 is
kept as a return of revision 2, so an amendment of revision 3 replaces it and the case opens waiting,
although the first return, which should stand, was never answered. And the merged reasons are all
announced, more than ``nomination_returned`` may carry.
"""
import pytest

from tests.integration.conftest import migrated
from tests.integration.test_attack8_revocation_before_submission import (SUBMITTED, amended, case_of, deliver,
                                                                         returns_announced, revoked)
from services.review.service import MIGRATIONS


@pytest.fixture
def review_db(db_urls):
    yield from migrated(db_urls["review"], MIGRATIONS)


@pytest.mark.parametrize("first, second", [(None, 2), (2, None)], ids=["unknown-first", "unknown-second"])
def test_a_return_without_a_revision_still_stands_once_merged_with_one_that_has_a_revision(review_db, first, second):
    deliver(review_db, "register_entry_revoked", revoked(first, reason="CSTDCS"))
    deliver(review_db, "register_entry_revoked", revoked(second, code="LDTT", reason="LDTT"))
    deliver(review_db, "nomination_amended", amended(3, "Tên mới"))
    deliver(*((review_db,) + SUBMITTED))
    case = case_of(review_db)
    assert (case["state"], case["nominee"]["name"]) == ("returned", "Tên mới")
    announced = returns_announced(review_db)
    assert len(announced) == 1 and "CSTDCS" in announced[0]["reasons"]


def test_two_returns_merged_before_the_submission_announce_no_more_reasons_than_a_return_carries(review_db):
    """Each item may carry 50 reasons; merged, the return announced must still be one intake and notify
    take (``ReviewOutcome.reasons``: at most 50), or intake never follows it."""
    from shared.contract import schemas

    for code in ("CSTDCS", "LDTT"):
        payload = revoked(1, code=code)
        payload["affected"][0]["reasons"] = [f"{code} {n}" for n in range(30)]
        deliver(review_db, "register_entry_revoked", payload)
    deliver(*((review_db,) + SUBMITTED))
    announced = returns_announced(review_db)
    assert len(announced) == 1 and announced[0]["reasons"][0] == "CSTDCS 0"
    schemas.load(schemas.ReviewOutcome, announced[0])
