"""Attack on 5dd0dd1: "either the revocation's re-check sees the new nomination (and it is returned)".

Intake lists the nomination in ``register_entry_revoked``, and leaves the return to review (intake's
status follows review's ``nomination_returned``). Review handles that event and ``nomination_submitted``
on queues of their own (the submission's in batches), so nothing keeps them in order (services/review/
early.py says so of intake's events) -- and since intake_0009 the revocation is made to commit right
after the submission it waited for, so the two events leave intake back to back. When the revocation is
handled first, review has no case for the nomination yet and passes it over (``case is None: continue``),
keeping nothing for it; the submission then opens the case as ``waiting``. The nomination stays live on
the revoked title in both services, and nobody is told: the gap 5dd0dd1 set out to close.
"""
import json
import uuid

import pytest
import sqlalchemy as sa

from services.review import handlers, register
from services.review.models import cases
from services.review.service import MIGRATIONS
from shared.platform.outbox import utcnow
from shared.platform.store import OUTBOX
from tests.integration.conftest import migrated
from tests.integration.review_support import submitted
from tests.integration.test_register_events import REVOKED


@pytest.fixture
def review_db(db_urls):
    yield from migrated(db_urls["review"], MIGRATIONS)


def state_of(tables, nomination_id):
    with tables.engine.connect() as connection:
        return connection.execute(sa.select(cases.c.state).where(cases.c.nomination_id == nomination_id)).scalar()


def test_a_revocation_handled_before_the_submission_it_lists_still_returns_the_nomination(review_db):
    register.return_after_revocation(REVOKED, review_db.uow("review", "revoked-1"))
    handlers.record_submission(submitted("n-live", "CSTD_BO"), review_db.uow("review", "submitted-1"), utcnow())
    assert state_of(review_db, "n-live") == "returned", \
        "the nomination intake listed as no longer holding waits for its council on a revoked title"


def test_control_in_the_usual_order_the_nomination_is_returned(review_db):
    handlers.record_submission(submitted("n-live", "CSTD_BO"), review_db.uow("review", "submitted-1"), utcnow())
    register.return_after_revocation(REVOKED, review_db.uow("review", "revoked-1"))
    assert state_of(review_db, "n-live") == "returned"


# --- every order of a revocation's return with the nomination's other early events (fixed) -----------------

def revoked(revision, nomination_id="n-live", code="CSTDCS", reason="Khen thưởng CSTDCS năm 2025 đã bị hủy bỏ"):
    item = {"nomination_id": nomination_id, "reasons": [reason]}
    return {**REVOKED, "entry": {**REVOKED["entry"], "award_code": code},
            "affected": [{**item, "revision": revision} if revision is not None else item]}


def deliver(tables, event_type, payload):
    from shared.contract import schemas

    handler, schema = {"nomination_submitted": (handlers.record_submission, schemas.NominationSubmitted),
                       "nomination_amended": (handlers.record_amendment, schemas.NominationAmended),
                       "nomination_withdrawn": (handlers.record_withdrawal, schemas.NominationWithdrawn),
                       "register_entry_revoked": (register.return_after_revocation, schemas.RegisterEntryRevoked),
                       }[event_type]
    uow = tables.uow(f"on_{event_type}", str(uuid.uuid4()))
    event = schemas.load(schema, payload)
    handler(event, uow, utcnow()) if event_type == "nomination_submitted" else handler(event, uow)


def amended(revision, name):
    event = {**submitted("n-live", "CSTD_BO"), "revision": revision, "resubmitted": False}
    return {**event, "nominee": {**event["nominee"], "name": name}}


def case_of(tables):
    with tables.engine.connect() as connection:
        return dict(connection.execute(sa.select(cases).where(cases.c.nomination_id == "n-live")).mappings().one())


def returns_announced(tables):
    with tables.engine.connect() as connection:
        return [row.payload for row in connection.execute(sa.select(OUTBOX.c.payload).where(
            OUTBOX.c.event_type == "nomination_returned"))]


SUBMITTED = ("nomination_submitted", submitted("n-live", "CSTD_BO"))


@pytest.mark.parametrize("order, state, name, revision, reasons", [
    # the amendment came after the revocation's re-check (a newer revision): it passed the register check
    ([("register_entry_revoked", revoked(1)), ("nomination_amended", amended(2, "Tên mới")), SUBMITTED],
     "waiting", "Tên mới", 2, 0),
    # the amendment was the revision the revocation re-checked, in either order: returned with its dossier
    ([("nomination_amended", amended(2, "Tên mới")), ("register_entry_revoked", revoked(2)), SUBMITTED],
     "returned", "Tên mới", 2, 1),
    ([("register_entry_revoked", revoked(2)), ("nomination_amended", amended(2, "Tên mới")), SUBMITTED],
     "returned", "Tên mới", 2, 1),
    # an amendment newer than the re-check, kept already, stays
    ([("nomination_amended", amended(3, "Tên mới")), ("register_entry_revoked", revoked(2)), SUBMITTED],
     "waiting", "Tên mới", 3, 0),
    # a withdrawal is final, in either order
    ([("nomination_withdrawn", {"nomination_id": "n-live", "unit_id": "vp", "revision": 1}), ("register_entry_revoked", revoked(1)),
      SUBMITTED], "withdrawn", "Người n-live", 1, 0),
    ([("register_entry_revoked", revoked(1)), ("nomination_withdrawn", {"nomination_id": "n-live", "unit_id": "vp", "revision": 1}),
      SUBMITTED], "withdrawn", "Người n-live", 1, 0),
    # a revocation event without the re-checked revision: the return stands against any amendment
    ([("register_entry_revoked", revoked(None)), ("nomination_amended", amended(2, "Tên mới")), SUBMITTED],
     "returned", "Tên mới", 2, 1),
    # two revocations before the submission: one return, with both reasons
    ([("register_entry_revoked", revoked(1)), ("register_entry_revoked", revoked(1, code="LDTT", reason="LDTT")),
      SUBMITTED], "returned", "Người n-live", 1, 1),
], ids=["amended-after", "amended-then-revoked", "revoked-then-same-revision", "newer-amendment-kept",
        "withdrawn-first", "withdrawn-after", "no-revision", "two-revocations"])
def test_a_return_that_comes_before_its_submission_meets_every_other_early_event(review_db, order, state, name,
                                                                                  revision, reasons):
    for event_type, payload in order:
        deliver(review_db, event_type, payload)
    case = case_of(review_db)
    assert (case["state"], case["nominee"]["name"], case["revision"] or 1) == (state, name, revision)
    announced = returns_announced(review_db)
    assert len(announced) == reasons
    if reasons:
        assert announced[0]["nomination_id"] == "n-live" and announced[0]["revision"] == revision
        assert [n["code"] for n in case["register_notes"]].count("register_entry_revoked") == (
            2 if "LDTT" in json.dumps(order, ensure_ascii=False) else 1)
        if "LDTT" in json.dumps(order, ensure_ascii=False):
            assert announced[0]["reasons"] == ["Khen thưởng CSTDCS năm 2025 đã bị hủy bỏ", "LDTT"]
