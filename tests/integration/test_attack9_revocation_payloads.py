"""Attack on c96fd86: hostile ``register_entry_revoked`` items that the schema lets through.

The new ``Affected.revision`` is checked for ``min=1`` only, where every other revision of the contract
is ``REVISION`` (1 to 1,000,000): a huge one passes, and review then stores it in ``early_events.revision``
(an INTEGER): PostgreSQL refuses anything past 2**31 - 1 (``DataError``), SQLite anything past 2**63 - 1.
``Affected.reasons`` may be empty, and the handler reads ``reasons[0]`` of every item since c96fd86 (it
builds the note before it looks for the case; before, only for a case it returned): ``IndexError``.
And an item may carry more reasons than review's ``nomination_returned`` may (50): intake and notify
then refuse the return review announced, and intake never follows it. The first two are no
``ValidationError``, so the whole revocation (every other nomination it lists, and the mark on the
revoked decision) is retried MAX_ATTEMPTS times and dead-lettered instead of refused at once as
malformed. A payload the schema loads must be one the handler can take; a string, a bool, 0, a negative
or a float revision is refused (that part holds), and null stands for "not said".
"""
import copy
import uuid

import pytest
import sqlalchemy as sa

from services.review import register
from services.review.models import cases
from services.review.service import MIGRATIONS
from shared.contract import schemas
from shared.contract.errors import ValidationError
from shared.platform.outbox import utcnow
from shared.platform.store import OUTBOX
from tests.integration.conftest import migrated
from tests.integration.test_register_events import REVOKED


@pytest.fixture
def review_db(db_urls):
    yield from migrated(db_urls["review"], MIGRATIONS)


def with_item(**item):
    payload = copy.deepcopy(REVOKED)
    payload["affected"] = [{"nomination_id": "n-live", "reasons": ["Khen thưởng CSTDCS năm 2025 đã bị hủy bỏ"],
                            **item}, {"nomination_id": "n-other", "reasons": ["Khác"], "revision": 1}]
    return payload


def refused_or_taken(review_db, payload):
    """What review's entrypoint does: load with the schema (a ValidationError is dead-lettered at once),
    then handle. Returns "refused", or "taken" once the handler has run."""
    try:
        event = schemas.load(schemas.RegisterEntryRevoked, payload)
    except ValidationError:
        return "refused"
    register.return_after_revocation(event, review_db.uow("on_register_entry_revoked", str(uuid.uuid4())))
    return "taken"


@pytest.mark.parametrize("revision", [1_000_001, 2**31, 10**12, 2**63, 10**30],
                         ids=["REVISION+1", "2^31", "10^12", "2^63", "10^30"])
def test_a_revision_beyond_the_contracts_range_is_refused_as_malformed(review_db, revision):
    """Not stored (SQLite, up to 2**63 - 1), not a DataError (PostgreSQL, past 2**31 - 1) or an
    OverflowError (SQLite, past 2**63 - 1) that has the whole revocation retried and dead-lettered."""
    outcome = refused_or_taken(review_db, with_item(revision=revision))
    assert outcome == "refused", "the schema let it through and the handler stored it"


def test_an_item_without_reasons_is_refused_as_malformed_not_a_crash_in_the_handler(review_db):
    assert refused_or_taken(review_db, with_item(reasons=[])) == "refused"


def test_an_item_with_more_reasons_than_a_return_carries_is_refused(review_db, db_urls):
    """51 reasons: review's ``nomination_returned`` would carry them all, and intake and notify refuse
    that (``ReviewOutcome.reasons``: at most 50), so intake would never follow the return."""
    from services.review import handlers
    from tests.integration.review_support import submitted

    handlers.record_submission(schemas.load(schemas.NominationSubmitted, submitted("n-live", "CSTD_BO")),
                               review_db.uow("on_nomination_submitted", "s-1"), utcnow())
    outcome = refused_or_taken(review_db, with_item(reasons=[f"lý do {n}" for n in range(51)]))
    if outcome == "taken":
        with review_db.engine.connect() as connection:
            announced = connection.execute(sa.select(OUTBOX.c.payload).where(
                OUTBOX.c.event_type == "nomination_returned")).scalars().all()
        with pytest.raises(ValidationError):
            schemas.load(schemas.ReviewOutcome, announced[0])
    assert outcome == "refused"


@pytest.mark.parametrize("revision", [0, -1, "2", True, False, 2.0, 2.5, [2], {"r": 2}])
def test_other_hostile_revisions_are_refused(review_db, revision):
    assert refused_or_taken(review_db, with_item(revision=revision)) == "refused"


@pytest.mark.parametrize("item", [{"revision": None}, {}], ids=["null", "absent"])
def test_a_revision_not_said_is_kept_as_unknown(review_db, item):
    assert refused_or_taken(review_db, with_item(**item)) == "taken"
    assert review_db.count("early_events") == 2
    with review_db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT revision FROM early_events WHERE nomination_id = 'n-live'")
                                  ).scalar() is None
        assert connection.execute(sa.select(sa.func.count()).select_from(cases)).scalar() == 0
