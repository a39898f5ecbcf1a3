"""Quotas at a real sitting (SQLite and PostgreSQL): per award AND year, and share bases that count the
sitting's own approvals (issue #21, findings 4 and 5)."""
import pytest

from tests.harness import wait_until
from tests.integration.review_support import TOMORROW, submitted


def sit_and_vote(review, nominations, choices_for, council="hd-vp"):
    for event in nominations:
        review.submit(event)
    sitting_id = review.call("convene_sitting", council, TOMORROW)["sitting_id"]
    ballots = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    for member, ballot in ballots.items():
        review.vote(ballot["ballot_token"], choices_for(member))
    result = review.call("sitting_result", sitting_id)
    return result, {item["nomination_id"]: item["outcome"] for item in result["items"]}


@pytest.fixture
def share_rules(tmp_path, monkeypatch):
    """The README's override: CSTDCS at most 15 % of the unit's LDTT holders."""
    path = tmp_path / "rules.yml"
    path.write_text('nd152-2025:\n  awards:\n    CSTDCS: {quota: {share: "15/100", base: LDTT}}\n')
    monkeypatch.setenv("TDKT_RULES_FILE", str(path))


@pytest.mark.parametrize("order", [("n-a", "n-b", "n-c"), ("n-c", "n-a", "n-b")], ids=["2024_first", "2024_last"])
def test_one_ldtt_place_in_2025_approves_one_2025_nomination_and_leaves_2024_free(review, order):
    review.call("set_quota", "hd-vp", "LDTT", 2025, 1)
    years = {order[0]: 2024, order[1]: 2025, order[2]: 2025}  # agenda order is by nomination id
    events = [submitted(nomination_id, "LDTT", year=year) for nomination_id, year in years.items()]
    second_2025 = order[2]
    result, outcomes = sit_and_vote(review, events, lambda member: {
        n: "reject" if n == second_2025 and member == "m-vp-1" else "approve" for n in years})
    assert result["status"] == "closed"
    assert outcomes == {order[0]: "approved", order[1]: "approved", order[2]: "rejected"}


def test_a_year_end_sitting_of_20_ldtt_leaves_3_cstdcs_places_under_a_15_percent_share(share_rules, review):
    ldtt = [submitted(f"l-{n:02}", "LDTT") for n in range(20)]
    cstdcs = [submitted(f"c-{n}", "CSTDCS") for n in range(4)]
    result, outcomes = sit_and_vote(review, [*ldtt, *cstdcs], lambda member: {
        e["nomination_id"]: "reject" if e["nomination_id"] == "c-3" and member == "m-vp-1" else "approve"
        for e in [*ldtt, *cstdcs]})
    assert result["status"] == "closed"
    assert [outcomes[f"c-{n}"] for n in range(4)] == ["approved", "approved", "approved", "rejected"]
    assert sum(outcome == "approved" for outcome in outcomes.values()) == 23
