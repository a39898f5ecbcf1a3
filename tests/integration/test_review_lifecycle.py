"""A nomination's life in review on a real broker and database (SQLite and PostgreSQL): a dossier that
changes award, a deadline timer that one broken sitting cannot block, ties that survive withdrawals and
new places (issue #21, findings 2 and 3)."""
import uuid
from datetime import datetime, timedelta, timezone

from nameko.testing.services import entrypoint_waiter

from services.review import closing
from tests.harness import wait_until
from tests.integration.review_support import TOMORROW, submitted


def intake_event(review, event_type, payload):
    with entrypoint_waiter(review.container, f"on_{event_type}", timeout=15):
        review.intake(event_type, payload, str(uuid.uuid4()), {})


def vote_all(review, sitting_id, choices_for, members=7):
    ballots = wait_until(lambda: len(review.ballots(sitting_id)) == members and review.ballots(sitting_id))
    for member, ballot in ballots.items():
        review.vote(ballot["ballot_token"], choices_for(member))


def test_a_dossier_returned_at_the_ministry_and_amended_to_ldtt_starts_again_at_its_unit_council(review):
    review.submit(submitted("n-1", "BK_BO"))
    unit = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    vote_all(review, unit, lambda member: {"n-1": "approve"})
    assert review.call("get_case", "n-1")["stage"] == "ministry"
    review.call("return_nomination", "n-1", ["Bổ sung hồ sơ"])

    intake_event(review, "nomination_amended", {**submitted("n-1", "LDTT"), "resubmitted": True})
    case = review.call("get_case", "n-1")
    assert (case["award_code"], case["stage"], case["state"]) == ("LDTT", "unit", "waiting")
    again = review.call("convene_sitting", "hd-vp", TOMORROW)
    assert again["agenda"] == ["n-1"]
    vote_all(review, again["sitting_id"], lambda member: {"n-1": "approve"})
    assert review.call("sitting_result", again["sitting_id"])["items"][0]["outcome"] == "approved"


def test_the_deadline_timer_closes_each_due_sitting_though_another_cannot_be_closed(review, monkeypatch):
    directory = {"units": [{"id": "tccb", "name": "Vụ TCCB", "parent": "bo"}], "councils": [
        {"id": "hd-tccb", "name": "Hội đồng TCCB", "level": "unit", "unit": "tccb", "members": [
            {"id": "m-tccb-1", "name": "Chủ tịch", "email": "c@example.vn", "role": "chair"}]}]}
    review.call("load_directory", directory)
    review.submit(submitted("n-broken", "LDTT"))
    review.submit({**submitted("n-fine", "LDTT"), "unit_id": "tccb"})
    finalize = closing.finalize

    def broken_for_one(sitting, *args):
        if sitting["council_id"] == "hd-vp":
            raise RuntimeError("a sitting that cannot be closed")
        return finalize(sitting, *args)

    monkeypatch.setattr(closing, "finalize", broken_for_one)
    soon = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    broken = review.call("convene_sitting", "hd-vp", soon)["sitting_id"]
    fine = review.call("convene_sitting", "hd-tccb", soon)["sitting_id"]
    [closed] = wait_until(lambda: review.events("sitting_closed"), timeout=30, what="the deadline timer")
    assert closed["sitting_id"] == fine
    assert review.call("get_case", "n-broken")["sitting_id"] == broken  # still open, logged each tick


def open_tie(review, quota=2):
    review.call("set_quota", "hd-vp", "LDTT", 2025, quota)
    for nomination_id in ("n-a", "n-b", "n-c"):
        review.submit(submitted(nomination_id, "LDTT"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    vote_all(review, sitting_id, lambda member: {  # n-a 7, n-b 6, n-c 6 approvals
        "n-a": "approve", "n-b": "reject" if member == "m-vp-1" else "approve",
        "n-c": "reject" if member == "m-vp-2" else "approve"})
    assert review.call("sitting_result", sitting_id)["status"] == "awaiting_tie_break"
    return sitting_id


def outcomes(result):
    return {item["nomination_id"]: item["outcome"] for item in result["items"]}


def test_a_withdrawal_while_the_chair_decides_lets_the_chairs_choice_close_the_sitting(review):
    sitting_id = open_tie(review)
    intake_event(review, "nomination_withdrawn", {"nomination_id": "n-b", "unit_id": "vp", "reason": ""})
    result = review.call("resolve_tie", sitting_id, "LDTT", ["n-c"])
    assert result["status"] == "closed"
    assert outcomes(result) == {"n-a": "approved", "n-b": "withdrawn", "n-c": "approved"}


def test_a_withdrawal_of_the_chairs_pick_and_a_close_still_finish_the_sitting(review):
    sitting_id = open_tie(review)
    intake_event(review, "nomination_withdrawn", {"nomination_id": "n-c", "unit_id": "vp", "reason": ""})
    assert review.call("resolve_tie", sitting_id, "LDTT", ["n-c"])["status"] == "closed"
    assert review.call("get_case", "n-b")["outcome"] == "approved"


def test_new_places_while_the_chair_decides_let_an_operator_close_the_sitting(review):
    sitting_id = open_tie(review)
    review.call("set_quota", "hd-vp", "LDTT", 2025, 3)
    result = review.call("close_sitting", sitting_id)
    assert result["status"] == "closed" and set(outcomes(result).values()) == {"approved"}


def test_another_sitting_taking_the_place_while_the_chair_decides_does_not_strand_the_sitting(review):
    sitting_id = open_tie(review)
    review.submit(submitted("n-d", "LDTT"))
    other = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    vote_all(review, other, lambda member: {"n-d": "approve"})  # closes first: one of the 2 places taken
    result = review.call("resolve_tie", sitting_id, "LDTT", ["n-c"])
    assert result["status"] == "closed"
    assert outcomes(result) == {"n-a": "approved", "n-b": "rejected", "n-c": "rejected"}
