"""Attack on the one-statement case insert under races (PostgreSQL, two review replicas): an early
event and the submission handled at the same moment, each side committing or rolling back, and a
duplicate of the submission waiting for the first delivery. Each ends as the longer path would:
the withdrawal or newest amendment applied, no early event left behind."""
import pytest

from services.review import early
from services.review.repository import Reviews
from shared.platform.outbox import utcnow
from tests.integration import delivery
from tests.integration.test_review_event_order import (SUBMITTED, WITHDRAWN, amended, case, deliver,  # noqa: F401
                                                       reviews)

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


def end_after_the_other_waits(engine, held, other, commit: bool):
    """``other()`` in a green thread; once it waits on a lock, ``held`` commits or rolls back."""
    delivery.end_after_the_other_waits(engine, held, other, commit, must_wait=True)


@pytest.mark.parametrize("kind", ["withdrawn", "amended"])
@pytest.mark.parametrize("commit", [True, False])
def test_an_early_event_held_while_the_submission_waits(reviews, kind, commit):
    event = {**WITHDRAWN, "revision": 2} if kind == "withdrawn" else amended(2, "CSTDCS", name="Người mới")
    with reviews.sessions() as held:
        assert early.arrival(Reviews(held), kind, event) is None  # kept, not committed yet
        end_after_the_other_waits(reviews.engine, held, lambda: deliver(reviews, "nomination_submitted", SUBMITTED),
                                  commit)
    got = case(reviews)
    if not commit:
        assert (got["state"], got["award_code"], got["revision"]) == ("waiting", "LDTT", 1)
    elif kind == "withdrawn":
        assert (got["state"], got["revision"]) == ("withdrawn", 2)
    else:
        assert (got["state"], got["award_code"], got["revision"]) == ("waiting", "CSTDCS", 2)
    assert reviews.count("early_events") == 0


@pytest.mark.parametrize("kind", ["withdrawn", "amended"])
def test_a_submission_rolled_back_while_an_early_event_waits_then_redelivered(reviews, kind):
    event = {**WITHDRAWN, "revision": 2} if kind == "withdrawn" else amended(2, "CSTDCS")
    with reviews.sessions() as held:
        assert early.admit(Reviews(held), SUBMITTED, utcnow())  # the one statement inserted the case
        end_after_the_other_waits(reviews.engine, held, lambda: deliver(reviews, f"nomination_{kind}", event),
                                  commit=False)
    assert reviews.count("cases") == 0 and reviews.count("early_events") == 1  # kept for the redelivery
    deliver(reviews, "nomination_submitted", SUBMITTED, "m-1")
    got = case(reviews)
    assert (got["state"], got["award_code"]) == (("withdrawn", "LDTT") if kind == "withdrawn" else ("waiting", "CSTDCS"))
    assert reviews.count("early_events") == 0


@pytest.mark.parametrize("commit", [True, False])
def test_a_duplicate_submission_waits_for_the_first_with_an_early_withdrawal_kept(reviews, commit):
    deliver(reviews, "nomination_withdrawn", {**WITHDRAWN, "revision": 2})
    first = reviews.uow(consumer="on_nomination_submitted", message_id="m-1")
    repo = Reviews(first.session)
    assert first.claim_message_reading(*repo.nomination_lock("n-1")) is not None
    early.admit(repo, SUBMITTED, utcnow(), locked=True)
    assert reviews.count("early_events") == 1  # the first's delete is not committed
    end_after_the_other_waits(reviews.engine, first.session,
                              lambda: deliver(reviews, "nomination_submitted", SUBMITTED, "m-1"), commit)
    first.close()
    assert case(reviews)["state"] == "withdrawn" and reviews.count("early_events") == 0
    assert reviews.count("cases") == 1
