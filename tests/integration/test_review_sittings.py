"""Council sittings on a real broker and database: ballots, thresholds of all members, outcomes."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.review import ballots
from services.review.service import MIGRATIONS
from shared.contract.errors import Conflict, Unauthorized
from tests.harness import wait_until
from tests.integration.delivery import Tables
from tests.integration.review_support import TOMORROW, submitted



def vote_all(review, sitting_id, choices_for):
    for member_id, ballot in review.ballots(sitting_id).items():
        review.vote(ballot["ballot_token"], choices_for(member_id))


def test_cstdcs_passes_with_six_of_seven_and_cstd_bo_needs_all_seven(review):
    review.submit(submitted("n-cs", "CSTDCS"))
    review.submit(submitted("n-bo", "CSTD_BO"))
    sitting = review.call("convene_sitting", "hd-vp", TOMORROW)
    assert sorted(sitting["agenda"]) == ["n-bo", "n-cs"] and sitting["members"] == 7
    with pytest.raises(Conflict):
        review.call("sitting_result", sitting["sitting_id"])  # no tally before the close

    wait_until(lambda: len(review.ballots(sitting["sitting_id"])) == 7, what="seven ballots")
    [agenda] = wait_until(lambda: review.events("nominations_on_agenda"), what="the agenda event")  # one a sitting
    assert {key: agenda[key] for key in ("sitting_id", "council_id", "stage")} == {
        "sitting_id": sitting["sitting_id"], "council_id": "hd-vp", "stage": "unit"}
    assert sorted(agenda["items"], key=lambda item: item["nomination_id"]) == [
        {"nomination_id": "n-bo", "unit_id": "vp", "award_code": "CSTD_BO", "award_year": 2025, "revision": 1},
        {"nomination_id": "n-cs", "unit_id": "vp", "award_code": "CSTDCS", "award_year": 2025, "revision": 1}]
    vote_all(review, sitting["sitting_id"], lambda member: {
        "n-cs": "reject" if member == "m-vp-7" else "approve",
        "n-bo": "abstain" if member == "m-vp-7" else "approve"})

    result = review.call("sitting_result", sitting["sitting_id"])  # closed by the last vote
    items = {item["nomination_id"]: item for item in result["items"]}
    assert (result["status"], result["participants"], result["quorum_met"]) == ("closed", 7, True)
    assert (items["n-cs"]["approve"], items["n-cs"]["required"], items["n-cs"]["outcome"]) == (6, 6, "approved")
    assert (items["n-bo"]["approve"], items["n-bo"]["required"], items["n-bo"]["outcome"]) == (6, 7, "rejected")
    decided = {e["nomination_id"]: e for e in wait_until(lambda: len(review.events("nomination_decided")) == 2
                                                         and review.events("nomination_decided"))}
    assert decided["n-cs"]["tally"] == {"approve": 6, "reject": 1, "abstain": 0, "members": 7, "required": 6}
    assert decided["n-bo"]["outcome"] == "rejected" and decided["n-bo"]["reasons"]


def test_a_ministry_award_advances_to_the_ministry_council_and_is_decided_there(review):
    review.submit(submitted("n-bk", "BK_BO"))
    unit_sitting = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    wait_until(lambda: len(review.ballots(unit_sitting)) == 7, what="unit ballots")
    vote_all(review, unit_sitting, lambda member: {"n-bk": "approve"})
    [advanced] = wait_until(lambda: review.events("nomination_advanced"), what="advanced")
    assert (advanced["nomination_id"], advanced["stage"]) == ("n-bk", "ministry")

    ministry_sitting = review.call("convene_sitting", "hd-bo", {"working_days": 3})
    assert ministry_sitting["agenda"] == ["n-bk"] and ministry_sitting["members"] == 15
    wait_until(lambda: len(review.ballots(ministry_sitting["sitting_id"])) == 15, what="ministry ballots")
    vote_all(review, ministry_sitting["sitting_id"],
             lambda member: {"n-bk": "approve" if member < "m-bo-6" else "reject"})
    decided = wait_until(lambda: review.events("nomination_decided"), what="decided")
    assert decided[-1]["outcome"] == "approved" and decided[-1]["stage"] == "ministry"
    assert review.call("get_case", "n-bk")["state"] == "decided"


def test_without_a_two_thirds_quorum_nothing_is_decided_and_the_nominations_wait_again(review):
    review.submit(submitted("n-q", "LDTT"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    ballots_ = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    for member in ("m-vp-1", "m-vp-2", "m-vp-3", "m-vp-4"):  # 4 of 7 < 2/3
        review.vote(ballots_[member]["ballot_token"], {"n-q": "approve"})
    result = review.call("close_sitting", sitting_id)
    assert (result["quorum_met"], result["items"][0]["outcome"]) == (False, "requeued")
    assert review.call("get_case", "n-q")["state"] == "waiting"
    assert review.call("convene_sitting", "hd-vp", TOMORROW)["agenda"] == ["n-q"]


def test_bad_votes_are_rejected_audited_and_change_no_tally(review):
    review.submit(submitted("n-x", "LDTT"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    ballots_ = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    token = ballots_["m-vp-1"]["ballot_token"]
    review.vote(token, {"n-x": "approve"})
    bad = [
        (token, {"n-x": "reject"}, "already_voted"),  # a replay, or a second vote
        (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), {"n-x": "approve"}, "forged_token"),
        (ballots.issue(), {"n-x": "approve"}, "forged_token"),  # well formed, never issued
        ("b1.eyJzIjoieCIsIm0iOiJtLXZwLTIiLCJlIjoxfQ.c2lnbmF0dXJl", {"n-x": "approve"}, "malformed_token"),  # old
        (ballots_["m-vp-2"]["ballot_token"], {"n-x": "approve", "n-other": "approve"},
         "choices_do_not_match_agenda"),
        (ballots_["m-vp-2"]["ballot_token"], {"n-x": "yes"}, "unknown_choice"),
    ]
    for bad_token, choices, _ in bad:
        review.vote(bad_token, choices)
    rejected = wait_until(lambda: len(review.events("vote_rejected")) == len(bad) and review.events("vote_rejected"))
    assert [r["reason"] for r in rejected] == [reason for *_, reason in bad]
    assert all(bad_token not in str(r) for r in rejected for bad_token, *_ in bad)

    result = review.call("close_sitting", sitting_id)
    assert (result["participants"], result["items"][0]["approve"], result["items"][0]["reject"]) == (1, 1, 0)
    review.vote(ballots_["m-vp-3"]["ballot_token"], {"n-x": "approve"})  # after the close
    assert wait_until(lambda: len(review.events("vote_rejected")) == len(bad) + 1
                      and review.events("vote_rejected"))[-1]["reason"] == "sitting_closed"


def test_a_token_past_its_deadline_is_expired(review):
    review.submit(submitted("n-late", "LDTT"))
    soon = datetime.now(timezone.utc) + timedelta(seconds=1)
    sitting_id = review.call("convene_sitting", "hd-vp", soon.isoformat())["sitting_id"]
    ballots_ = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    wait_until(lambda: datetime.now(timezone.utc) > soon, what="the deadline to pass")
    review.vote(ballots_["m-vp-1"]["ballot_token"], {"n-late": "approve"})
    [rejected] = wait_until(lambda: review.events("vote_rejected"))
    assert (rejected["reason"], rejected["member_id"]) == ("expired_token", None)


def test_operator_methods_need_the_operator_token_and_refusals_are_audited(review, db_urls):
    for token in (None, "a-unit-token-of-sixteen"):
        with pytest.raises(Unauthorized):
            review.call("convene_sitting", "hd-vp", TOMORROW, token=token)
    tables = Tables(db_urls["review"], MIGRATIONS)
    try:
        def audited():
            with tables.engine.connect() as connection:
                return connection.execute(sa.text(
                    "SELECT count(*) FROM audit WHERE kind = 'unauthorized'")).scalar() == 2
        wait_until(audited, what="two audit rows")
    finally:
        tables.dispose()


def test_a_written_opinion_counts_toward_the_quorum_and_is_noted(review):
    review.submit(submitted("n-wo", "LDTT"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    ballots_ = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    for member in ("m-vp-1", "m-vp-2", "m-vp-3", "m-vp-4"):
        review.vote(ballots_[member]["ballot_token"], {"n-wo": "approve"})
    review.vote(ballots_["m-vp-5"]["ballot_token"], {"n-wo": "approve"}, written_opinion=True)
    result = review.call("close_sitting", sitting_id)
    assert (result["participants"], result["written_opinions"], result["quorum_met"]) == (5, 1, True)
    assert result["items"][0]["outcome"] == "approved"  # 5 of 7 is a majority of all members


def test_a_sitting_closes_by_itself_at_its_deadline(review):
    review.submit(submitted("n-dl", "LDTT"))
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    sitting_id = review.call("convene_sitting", "hd-vp", soon)["sitting_id"]
    [closed] = wait_until(lambda: review.events("sitting_closed"), timeout=30, what="the deadline timer")
    assert closed["sitting_id"] == sitting_id and closed["participants"] == 0
    assert closed["quorum_met"] is False


def test_a_council_with_more_waiting_than_a_ballot_carries_takes_the_oldest_and_the_rest_wait(review, monkeypatch):
    from services.review import sittings

    monkeypatch.setattr(sittings, "MAX_AGENDA", 2)
    for nomination_id in ("n-a1", "n-a2", "n-a3"):
        review.submit(submitted(nomination_id, "LDTT"))
    assert review.call("convene_sitting", "hd-vp", TOMORROW)["agenda"] == ["n-a1", "n-a2"]
    assert review.call("get_case", "n-a3")["state"] == "waiting"
