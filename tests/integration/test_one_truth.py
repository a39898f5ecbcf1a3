"""One nomination, one truth (issue #21, finding 1): an amendment that reaches review after a council
took the dossier is refused aloud, intake closes amendments once the dossier is on an agenda, and the
outcome of a vote is recorded on the award, year and revision that were voted on. On SQLite and PostgreSQL,
with the real intake and review containers on one broker."""
import uuid

import pytest
from nameko.testing.services import entrypoint_waiter

from shared.contract.errors import Conflict
from shared.platform.messaging import EventPublisher
from tests.harness import wait_until
from services.review.service import MIGRATIONS
from tests.integration.conftest import EXAMPLE
from tests.integration.delivery import Tables, Tap
from tests.integration.review_support import TOMORROW, submitted


def deliver(container, source, event_type, payload, message_id=None, amqp_uri=None):
    """Publish an event as ``source`` would, and wait until ``container`` handled it."""
    with entrypoint_waiter(container, f"on_{event_type}", timeout=15):
        EventPublisher(amqp_uri, source)(event_type, payload, message_id or str(uuid.uuid4()), {})


def test_once_on_an_agenda_a_nomination_cannot_be_amended_and_the_decision_names_what_was_voted(intake, review):
    nomination_id = intake.submit(award_code="CSTDCS")["nomination_id"]
    wait_until(lambda: _case(review, nomination_id), what="review to hold the case")
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    wait_until(lambda: intake.call("vp", "get_nomination", nomination_id)["status"] == "in_review",
               what="intake to learn of the agenda")
    with pytest.raises(Conflict):
        intake.call("vp", "amend_nomination", nomination_id, {"award_code": "LDTT"})

    ballots = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    for ballot in ballots.values():
        review.vote(ballot["ballot_token"], {nomination_id: "approve"})
    [decided] = wait_until(lambda: review.events("nomination_decided"))
    assert (decided["award_code"], decided["award_year"], decided["revision"]) == ("CSTDCS", 2025, 1)
    stored = wait_until(lambda: (n := intake.call("vp", "get_nomination", nomination_id))["status"] == "approved"
                        and n)
    assert (stored["award_code"], stored["revision"]) == ("CSTDCS", 1)


def _case(review, nomination_id):
    from shared.contract.errors import NotFound

    try:
        return review.call("get_case", nomination_id)
    except NotFound:
        return None


def test_review_refuses_an_amendment_for_a_case_on_an_agenda_aloud_once(review, db_urls):
    review.taps["amendment_refused"] = Tap(review.rabbit_config["AMQP_URI"], "review", "amendment_refused")
    review.seen["amendment_refused"] = []
    review.submit(submitted("n-1", "CSTDCS"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    amended = {**submitted("n-1", "LDTT"), "revision": 2}
    message_id = str(uuid.uuid4())
    for _ in range(2):  # the same message twice: one refusal
        deliver(review.container, "intake", "nomination_amended", amended, message_id,
                review.rabbit_config["AMQP_URI"])
    [refused] = wait_until(lambda: review.events("amendment_refused"), what="amendment_refused")
    assert (refused["revision"], refused["considered_revision"], refused["award_code"]) == (2, 1, "CSTDCS")
    assert (refused["state"], refused["sitting_id"]) == ("on_agenda", sitting_id)
    case = review.call("get_case", "n-1")
    assert (case["award_code"], case["revision"], case["state"]) == ("CSTDCS", 1, "on_agenda")
    tables = Tables(db_urls["review"], MIGRATIONS)
    try:
        wait_until(lambda: tables.count("outbox WHERE event_type = 'amendment_refused'") == 0,
                   what="every refusal to leave review's outbox")
    finally:
        tables.dispose()
    assert review.events("amendment_refused") == [refused]


def test_an_amendment_arriving_after_a_sitting_without_quorum_sent_the_case_back_to_wait_is_refused(review):
    review.taps["amendment_refused"] = Tap(review.rabbit_config["AMQP_URI"], "review", "amendment_refused")
    review.seen["amendment_refused"] = []
    review.submit(submitted("n-q", "CSTDCS"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    assert review.call("close_sitting", sitting_id)["quorum_met"] is False  # nobody voted: it waits again
    deliver(review.container, "intake", "nomination_amended", {**submitted("n-q", "LDTT"), "revision": 2},
            amqp_uri=review.rabbit_config["AMQP_URI"])
    [refused] = wait_until(lambda: review.events("amendment_refused"), what="amendment_refused")
    assert (refused["considered_revision"], refused["state"]) == (1, "waiting")
    assert review.call("get_case", "n-q")["award_code"] == "CSTDCS"


def test_an_amendment_that_crossed_the_agenda_is_undone_in_intake_and_the_outcome_is_the_voted_award(intake):
    nomination_id = intake.submit(award_code="CSTDCS")["nomination_id"]
    amended = intake.call("vp", "amend_nomination", nomination_id, {"award_code": "LDTT"})  # crossing
    assert (amended["award_code"], amended["revision"]) == ("LDTT", 2)
    amqp = intake.rabbit_config["AMQP_URI"]
    on_agenda = {"nomination_id": nomination_id, "unit_id": "vp", "sitting_id": "s-1", "council_id": "hd-vp",
                 "stage": "unit", "award_code": "CSTDCS", "award_year": 2025, "revision": 1}
    refused = {"nomination_id": nomination_id, "unit_id": "vp", "revision": 2, "considered_revision": 1,
               "award_code": "CSTDCS", "award_year": 2025, "stage": "unit", "state": "on_agenda",
               "sitting_id": "s-1", "reasons": ["Hồ sơ đang được xét"]}
    for _ in range(2):  # each message twice: one effect each
        deliver(intake.container, "review", "amendment_refused", refused, "refused-1", amqp)
        deliver(intake.container, "review", "nomination_on_agenda", on_agenda, "agenda-1", amqp)
    stored = intake.call("vp", "get_nomination", nomination_id)
    assert (stored["award_code"], stored["revision"], stored["status"]) == ("CSTDCS", 1, "in_review")
    events = [entry.get("event") for entry in stored["history"]]
    assert (events.count("amendment_refused"), events.count("nomination_on_agenda")) == (1, 1)
    with pytest.raises(Conflict):
        intake.call("vp", "amend_nomination", nomination_id, {"award_code": "LDTT"})

    tally = {"approve": 7, "reject": 0, "abstain": 0, "members": 7, "required": 6}
    deliver(intake.container, "review", "nomination_decided", {
        "nomination_id": nomination_id, "outcome": "approved", "stage": "unit", "tally": tally, "reasons": [],
        "award_code": "CSTDCS", "award_year": 2025, "revision": 1}, amqp_uri=amqp)
    decided = intake.call("vp", "get_nomination", nomination_id)
    assert (decided["status"], decided["award_code"]) == ("approved", "CSTDCS")


def test_a_decision_on_an_earlier_revision_restores_it_before_it_is_recorded(intake):
    nomination_id = intake.submit(award_code="CSTDCS")["nomination_id"]
    intake.call("vp", "amend_nomination", nomination_id, {"award_code": "LDTT"})
    deliver(intake.container, "review", "nomination_decided", {
        "nomination_id": nomination_id, "outcome": "approved", "stage": "unit", "reasons": [],
        "award_code": "CSTDCS", "award_year": 2025, "revision": 1}, amqp_uri=intake.rabbit_config["AMQP_URI"])
    decided = intake.call("vp", "get_nomination", nomination_id)
    assert (decided["status"], decided["award_code"], decided["revision"]) == ("approved", "CSTDCS", 1)


def agenda_of(sitting_id, *items):
    return {"sitting_id": sitting_id, "council_id": "hd-vp", "stage": "unit", "items": [
        {"nomination_id": nomination_id, "unit_id": "vp", "award_code": award_code, "award_year": 2025,
         "revision": revision} for nomination_id, award_code, revision in items]}


def another(submission_key, employee_id):
    """The example's dossier for another person of the unit."""
    return {"submission_key": submission_key, "nominee": {**EXAMPLE["nominee"], "employee_id": employee_id,
                                                           "full_name": f"Người {employee_id}"}}


def test_one_agenda_event_closes_amendments_of_every_nomination_it_names_once_each(intake):
    """``nominations_on_agenda`` (one event a sitting): each nomination as its own event did, in one
    transaction; a crossing amendment undone, a withdrawn dossier and an unknown id passed over, and
    a second delivery changes nothing."""
    amqp = intake.rabbit_config["AMQP_URI"]
    crossed = intake.submit(award_code="CSTDCS")["nomination_id"]
    intake.call("vp", "amend_nomination", crossed, {"award_code": "LDTT"})  # crossing the agenda
    plain = intake.submit(**another("k-plain", "VP-0043"))["nomination_id"]
    withdrawn = intake.submit(**another("k-gone", "VP-0044"))["nomination_id"]
    intake.call("vp", "withdraw_nomination", withdrawn, "rút")
    event = agenda_of("s-1", (crossed, "CSTDCS", 1), (plain, "LDTT", 1), (withdrawn, "LDTT", 1), ("n-ghost", "LDTT", 1))
    for _ in range(2):
        deliver(intake.container, "review", "nominations_on_agenda", event, "agenda-s-1", amqp)

    stored = {n: intake.call("vp", "get_nomination", n) for n in (crossed, plain, withdrawn)}
    assert (stored[crossed]["award_code"], stored[crossed]["revision"], stored[crossed]["status"]) == (
        "CSTDCS", 1, "in_review")
    assert (stored[plain]["status"], stored[plain]["stage"]) == ("in_review", "unit")
    assert stored[withdrawn]["status"] == "withdrawn"
    for nomination_id in (crossed, plain):
        events = [entry.get("event") for entry in stored[nomination_id]["history"]]
        assert events.count("nomination_on_agenda") == 1
        assert [e for e in stored[nomination_id]["history"] if e.get("event") == "nomination_on_agenda"][0][
            "sitting_id"] == "s-1"
        with pytest.raises(Conflict):
            intake.call("vp", "amend_nomination", nomination_id, {"achievements": "Hoàn thành xuất sắc"})
    assert "nomination_on_agenda" not in [entry.get("event") for entry in stored[withdrawn]["history"]]


@pytest.mark.parametrize("change", [
    lambda event: event["items"].append(dict(event["items"][0])),  # a nomination named twice
    lambda event: event.update(items=[]),
    lambda event: event.update(items="n-1"),
    lambda event: event["items"][0].update(award_code="NOT_AN_AWARD"),
    lambda event: event["items"][0].pop("nomination_id"),
    lambda event: event.pop("sitting_id"),
], ids=["twice", "empty", "not-a-list", "unknown-award", "no-id", "no-sitting"])
def test_a_malformed_agenda_event_changes_nothing(intake, change):
    nomination_id = intake.submit()["nomination_id"]
    event = agenda_of("s-1", (nomination_id, "CSTDCS", 1), ("n-other", "LDTT", 1))
    change(event)
    deliver(intake.container, "review", "nominations_on_agenda", event, amqp_uri=intake.rabbit_config["AMQP_URI"])
    stored = intake.call("vp", "get_nomination", nomination_id)
    assert stored["status"] == "submitted"
    assert "nomination_on_agenda" not in [entry.get("event") for entry in stored["history"]]
    intake.call("vp", "amend_nomination", nomination_id, {"achievements": "Hoàn thành xuất sắc"})  # still open
