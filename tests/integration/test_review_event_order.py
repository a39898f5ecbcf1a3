"""Intake's events of one nomination reach review in any order, and review ends where intake is.

Two intake relays publishing side by side reorder them (shown on PostgreSQL with intake's real
handlers and outbox); review's handlers, on SQLite and PostgreSQL, tolerate any order: a withdrawal
or amendment that comes before its submission is kept and applied when it arrives, and an amendment
older than what review has is ignored, by the revision each event carries.
"""
import itertools
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import eventlet
import pytest
from eventlet.event import Event

from services.intake import handlers as intake
from services.intake.service import MIGRATIONS as INTAKE_MIGRATIONS
from services.review import handlers as review
from services.review.repository import Reviews
from services.review.service import MIGRATIONS as REVIEW_MIGRATIONS
from shared.contract import schemas
from shared.platform.outbox import publish_pending, utcnow
from shared.platform.rules import load_rules
from shared.platform.store import OUTBOX
from tests.integration.delivery import Tables, commit_after_the_other_waits, statements_of
from tests.integration.review_support import submitted

NOW = datetime(2025, 11, 20, 8, 0, tzinfo=timezone.utc)
EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json").read_text("utf-8"))
HANDLERS = {"nomination_submitted": (review.record_submission, schemas.NominationSubmitted),
            "nomination_amended": (review.record_amendment, schemas.NominationAmended),
            "nomination_withdrawn": (review.record_withdrawal, schemas.NominationWithdrawn)}


@pytest.fixture
def reviews(db_urls):
    tables = Tables(db_urls["review"], REVIEW_MIGRATIONS)
    yield tables
    tables.dispose()


def deliver(tables, event_type, payload, message_id=None):
    """What review's entrypoint does with one message: load it with its schema, call its handler."""
    handler, schema = HANDLERS[event_type]
    uow = tables.uow(consumer=f"on_{event_type}", message_id=message_id or str(uuid.uuid4()))
    event = schemas.load(schema, payload)
    handler(event, uow, utcnow()) if event_type == "nomination_submitted" else handler(event, uow)


def case(tables, nomination_id="n-1"):
    return review.get_case(nomination_id, tables.uow())


def amended(revision, award_code="CSTDCS", name="Người n-1"):
    event = {**submitted("n-1", award_code), "revision": revision, "resubmitted": False}
    return {**event, "nominee": {**event["nominee"], "name": name}}


SUBMITTED = {**submitted("n-1", "LDTT"), "revision": 1}
WITHDRAWN = {"nomination_id": "n-1", "unit_id": "vp", "reason": "rút hồ sơ"}


def test_a_withdrawal_handled_before_its_submission_leaves_the_nomination_withdrawn(reviews):
    deliver(reviews, "nomination_withdrawn", {**WITHDRAWN, "revision": 2})
    deliver(reviews, "nomination_submitted", SUBMITTED)
    assert case(reviews)["state"] == "withdrawn"


def test_an_amendment_handled_before_its_submission_is_applied_when_the_submission_arrives(reviews):
    deliver(reviews, "nomination_amended", amended(2, "CSTDCS"))
    deliver(reviews, "nomination_submitted", SUBMITTED)
    assert (case(reviews)["award_code"], case(reviews)["state"]) == ("CSTDCS", "waiting")


def test_an_amendment_older_than_the_one_review_has_is_ignored(reviews):
    deliver(reviews, "nomination_submitted", SUBMITTED)
    deliver(reviews, "nomination_amended", amended(3, "BK_BO"))
    deliver(reviews, "nomination_amended", amended(2, "CSTDCS"))
    assert case(reviews)["award_code"] == "BK_BO"


def test_of_two_early_amendments_the_newer_one_is_applied(reviews):
    deliver(reviews, "nomination_amended", amended(3, "BK_BO"))
    deliver(reviews, "nomination_amended", amended(2, "CSTDCS"))
    deliver(reviews, "nomination_submitted", SUBMITTED)
    assert case(reviews)["award_code"] == "BK_BO"


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_every_order_of_submission_two_amendments_and_a_withdrawal_ends_withdrawn(reviews, order):
    events = [("nomination_submitted", SUBMITTED), ("nomination_amended", amended(2, "CSTDCS")),
              ("nomination_amended", amended(3, "BK_BO")), ("nomination_withdrawn", {**WITHDRAWN, "revision": 4})]
    for index in order:
        deliver(reviews, *events[index])
    assert case(reviews)["state"] == "withdrawn"
    assert reviews.count("early_events") == 0


def test_early_events_delivered_twice_have_one_effect(reviews):
    for message in [("nomination_amended", amended(3, "BK_BO"), "m-3"), ("nomination_amended", amended(2, "CSTDCS"), "m-2"),
                    ("nomination_submitted", SUBMITTED, "m-1")] * 2:
        deliver(reviews, *message)
    assert (case(reviews)["award_code"], case(reviews)["state"]) == ("BK_BO", "waiting")
    deliver(reviews, "nomination_withdrawn", {**WITHDRAWN, "revision": 4}, "m-4")
    deliver(reviews, "nomination_withdrawn", {**WITHDRAWN, "revision": 4}, "m-4")
    assert case(reviews)["state"] == "withdrawn" and reviews.count("early_events") == 0


def test_events_without_a_revision_are_applied_in_the_order_they_arrive(reviews):
    """Events published before the revision was carried (still in a queue during an upgrade)."""
    without = {key: value for key, value in amended(2, "CSTDCS").items() if key != "revision"}
    deliver(reviews, "nomination_submitted", {k: v for k, v in SUBMITTED.items() if k != "revision"})
    deliver(reviews, "nomination_amended", without)
    assert case(reviews)["award_code"] == "CSTDCS"


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_two_intake_relays_publish_a_withdrawal_before_its_submission_and_review_still_withdraws(db_urls, reviews):
    """Two intake replicas: relay A claims the submission and is still publishing it (held here
    until B is done) while relay B skips the locked row and publishes the amendment and the
    withdrawal. Review gets them in that order and ends with the nomination withdrawn."""
    intakes = Tables(db_urls["intake"], INTAKE_MIGRATIONS)
    try:
        token, rules = intake.issue_unit_token("vp", intakes.uow(), utcnow()), load_rules(None)
        receipt = intake.submit_nomination(schemas.load(schemas.NominationSchema, EXAMPLE), token,
                                           intakes.uow(), rules, utcnow())
        nomination_id = receipt["nomination_id"]
        intake.amend_nomination(nomination_id, {"award_code": "GK"}, token, intakes.uow(), rules,
                                lambda body: schemas.load(schemas.NominationSchema, body), utcnow())
        intake.withdraw_nomination(nomination_id, "rút hồ sơ", token, intakes.uow(), utcnow())

        delivered, publishing, release = [], Event(), Event()

        def publish_held(event_type, payload, event_id, headers):
            publishing.send()
            release.wait()
            delivered.append((event_type, payload, event_id))

        relay_a = eventlet.spawn(publish_pending, intakes.sessions, OUTBOX, publish_held, 1)
        publishing.wait()  # A holds the submission's row, its transaction open
        published_by_b = publish_pending(intakes.sessions, OUTBOX,
                                         lambda event_type, payload, event_id, headers:
                                         delivered.append((event_type, payload, event_id)))
        release.send()
        assert (published_by_b, relay_a.wait()) == (2, 1) and intakes.count("outbox") == 0
    finally:
        intakes.dispose()

    assert [(event_type, payload["revision"]) for event_type, payload, _ in delivered] == [
        ("nomination_amended", 2), ("nomination_withdrawn", 2), ("nomination_submitted", 1)]
    for event_type, payload, event_id in delivered:
        deliver(reviews, event_type, payload, event_id)
    assert case(reviews, nomination_id)["state"] == "withdrawn"


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("held_first", ["submission", "withdrawal"])
def test_a_submission_and_its_withdrawal_handled_at_the_same_moment_end_withdrawn(reviews, held_first):
    """Two review instances: one handles the submission, the other the withdrawal, at once. Whichever
    transaction is first holds the nomination's lock; the other waits for it, then sees its effect."""
    from services.review import early
    from services.review.repository import Reviews

    withdrawal = {**WITHDRAWN, "revision": 2}
    with reviews.sessions() as held:
        if held_first == "submission":
            early.admit(Reviews(held), SUBMITTED, utcnow())
            other = lambda: deliver(reviews, "nomination_withdrawn", withdrawal)  # noqa: E731
        else:
            early.arrival(Reviews(held), early.WITHDRAWN, withdrawal)
            other = lambda: deliver(reviews, "nomination_submitted", SUBMITTED)  # noqa: E731
        commit_after_the_other_waits(reviews.engine, held, other)
    assert case(reviews)["state"] == "withdrawn" and reviews.count("early_events") == 0


def test_a_submission_with_nothing_before_it_is_recorded_in_two_statements_and_whole(reviews):
    """The usual order: the claim with the nomination's lock, then the case inserted unless an early
    event is kept (one statement each on PostgreSQL). The case is the one the longer path makes."""
    sent = statements_of(reviews.engine, lambda: deliver(reviews, "nomination_submitted", SUBMITTED))
    assert len(sent) == 2 and "early_events" in sent[1]  # SQLite too: no lock there, and no statement for one
    assert ("pg_advisory_xact_lock" in sent[0]) == (reviews.engine.dialect.name == "postgresql")
    with reviews.sessions() as session:
        recorded = Reviews(session).case("n-1")
    assert (recorded["state"], recorded["stage"], recorded["revision"], recorded["award_code"]) == (
        "waiting", "unit", 1, "LDTT")
    assert (recorded["nominee"], recorded["contact_email"], recorded["considered"], recorded["register_notes"]) == (
        schemas.load(schemas.NominationSubmitted, SUBMITTED)["nominee"], SUBMITTED["contact_email"], False, [])
    assert recorded["received_at"] is not None


@pytest.mark.parametrize("kind", ["withdrawn", "amended"])
def test_a_submission_after_an_early_event_takes_the_longer_path_and_applies_it(reviews, kind):
    """The one statement inserts nothing while an early event is kept; the submission then takes it."""
    early = {**WITHDRAWN, "revision": 2} if kind == "withdrawn" else amended(2, "CSTDCS", name="Người mới")
    deliver(reviews, f"nomination_{kind}", early)
    sent = statements_of(reviews.engine, lambda: deliver(reviews, "nomination_submitted", SUBMITTED))
    assert any("DELETE FROM early_events" in statement for statement in sent)
    with reviews.sessions() as session:
        recorded = Reviews(session).case("n-1")
    if kind == "withdrawn":
        assert (recorded["state"], recorded["revision"]) == ("withdrawn", 2)
    else:
        assert (recorded["state"], recorded["award_code"], recorded["nominee"]["name"]) == (
            "waiting", "CSTDCS", "Người mới")
    assert reviews.count("early_events") == 0
