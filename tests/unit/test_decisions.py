"""What a closed sitting decides, over plain items: quotas per award and year, share bases counting the
sitting's own approvals, ties that survive withdrawals and new places, dossiers that changed award."""
from fractions import Fraction

from services.review.decisions import (APPROVED, REJECTED, RESTAGED, WITHDRAWN, Item, Places, conclude,
                                       group_key)
from shared.law.rulesets import DEFAULT_RULE_SETS, Quota, by_id
from shared.law.overrides import apply_overrides

ND152 = by_id("nd152-2025")
SHARE = by_id("nd152-2025", apply_overrides(DEFAULT_RULE_SETS, {
    "nd152-2025": {"awards": {"CSTDCS": {"quota": {"share": "15/100", "base": "LDTT"}}}}}))


def item(nomination_id, award="LDTT", approve=7, year=2025, rule_set=ND152, withdrawn=False, woman=False):
    return Item(nomination_id, award, approve, 7 - approve, 0, woman, rule_set, withdrawn, award_year=year)


def outcomes(conclusion):
    return {nomination_id: outcome.result for nomination_id, outcome in conclusion.outcomes.items()}


def test_a_quota_of_one_ldtt_place_in_2025_takes_one_2025_nomination_and_leaves_2024_alone():
    items = [item("n-a", year=2024, approve=5), item("n-b", approve=7), item("n-c", approve=6)]
    conclusion = conclude(items, "unit", 7, 7, {("LDTT", 2025): Places(explicit=1)}, {})
    assert outcomes(conclusion) == {"n-a": APPROVED, "n-b": APPROVED, "n-c": REJECTED}


def test_a_2024_nomination_does_not_compete_for_the_2025_place_whatever_the_agenda_order():
    items = [item("n-a", approve=6), item("n-b", year=2024, approve=7)]
    places = {("LDTT", 2025): Places(explicit=1), ("LDTT", 2024): Places(explicit=0)}
    assert outcomes(conclude(items, "unit", 7, 7, places, {})) == {"n-a": APPROVED, "n-b": REJECTED}


def test_a_share_quota_counts_the_base_titles_approved_in_the_same_sitting():
    ldtt = [item(f"l-{n:02}", rule_set=SHARE) for n in range(20)]
    cstdcs = [item(f"c-{n}", "CSTDCS", approve=7 if n < 3 else 6, rule_set=SHARE) for n in range(4)]
    places = {("CSTDCS", 2025): Places(SHARE.awards["CSTDCS"].quota), ("LDTT", 2025): Places()}
    conclusion = conclude([*cstdcs, *ldtt], "unit", 7, 7, places, {})  # the share's items come first
    decided = outcomes(conclusion)
    assert [decided[f"c-{n}"] for n in range(4)] == [APPROVED, APPROVED, APPROVED, REJECTED]  # 15 % of 20
    assert all(decided[i.nomination_id] == APPROVED for i in ldtt)


def test_a_share_base_adds_the_holders_approved_before_to_those_of_this_sitting():
    quota = Quota(share=Fraction(15, 100), base="LDTT")
    items = [item("c-1", "CSTDCS", rule_set=SHARE), item("c-2", "CSTDCS", approve=6, rule_set=SHARE),
             *[item(f"l-{n}", rule_set=SHARE) for n in range(7)]]
    places = {("CSTDCS", 2025): Places(quota, base_before=6), ("LDTT", 2025): Places()}
    thirteen = outcomes(conclude(items, "unit", 7, 7, places, {}))  # 15 % of 6 + 7 = 1.95: one place
    assert (thirteen["c-1"], thirteen["c-2"]) == (APPROVED, REJECTED)
    places[("CSTDCS", 2025)] = Places(quota, base_before=7)
    fourteen = outcomes(conclude(items, "unit", 7, 7, places, {}))  # 15 % of 14 = 2.1: two places
    assert (fourteen["c-1"], fourteen["c-2"]) == (APPROVED, APPROVED)


def test_an_item_whose_award_has_no_stage_at_this_council_starts_again_at_its_first_council():
    conclusion = conclude([item("n-ldtt", "LDTT"), item("n-bo", "BK_BO", approve=15)], "ministry", 15, 15, {}, {})
    assert outcomes(conclusion) == {"n-ldtt": RESTAGED, "n-bo": APPROVED}
    assert conclusion.outcomes["n-ldtt"].next_stage == "unit"


def test_a_tie_waits_for_the_chair_and_the_chairs_choice_settles_it():
    items = [item("n-a", approve=7), item("n-b", approve=6), item("n-c", approve=6)]
    places = {("LDTT", 2025): Places(explicit=2)}
    waiting = conclude(items, "unit", 7, 7, places, {})
    assert waiting.ties == {"LDTT/2025": {"award_code": "LDTT", "award_year": 2025, "tied": ["n-b", "n-c"],
                                          "places": 1}}
    settled = conclude(items, "unit", 7, 7, places, {group_key("LDTT", 2025): ("n-c",)})
    assert outcomes(settled) == {"n-a": APPROVED, "n-b": REJECTED, "n-c": APPROVED}


def test_a_withdrawal_after_the_tie_makes_the_chairs_choice_unneeded_and_the_sitting_decides():
    items = [item("n-a", approve=7), item("n-b", approve=6, withdrawn=True), item("n-c", approve=6)]
    places = {("LDTT", 2025): Places(explicit=2)}
    for choice in ({"LDTT/2025": ("n-c",)}, {"LDTT/2025": ("n-b",)}, {}):
        conclusion = conclude(items, "unit", 7, 7, places, choice)
        assert not conclusion.waiting_for_chair
        assert outcomes(conclusion) == {"n-a": APPROVED, "n-b": WITHDRAWN, "n-c": APPROVED}


def test_a_change_of_places_after_the_tie_sets_a_stale_choice_aside_and_asks_the_chair_again():
    items = [item("n-a", approve=7), item("n-b", approve=6), item("n-c", approve=6), item("n-d", approve=6)]
    choice = {"LDTT/2025": ("n-c",)}  # chosen when 2 places left 1 for three equals
    widened = conclude(items, "unit", 7, 7, {("LDTT", 2025): Places(explicit=3)}, choice)
    assert widened.ties["LDTT/2025"]["places"] == 2 and not widened.outcomes.get("n-c")
    enough = conclude(items, "unit", 7, 7, {("LDTT", 2025): Places(explicit=4)}, choice)
    assert set(outcomes(enough).values()) == {APPROVED}


def reasons(conclusion, nomination_id):
    return " ".join(conclusion.outcomes[nomination_id].reasons)


def test_a_man_who_loses_the_last_place_to_a_woman_with_as_many_approvals_is_told_so_not_that_he_ranked_lower():
    items = [item("n-a", approve=7), item("n-man", approve=6), item("n-woman", approve=6, woman=True),
             item("n-low", approve=5)]
    conclusion = conclude(items, "unit", 7, 7, {("LDTT", 2025): Places(explicit=2)}, {})
    assert outcomes(conclusion) == {"n-a": APPROVED, "n-woman": APPROVED, "n-man": REJECTED, "n-low": REJECTED}
    assert "ưu tiên ứng viên nữ" in reasons(conclusion, "n-man") and "xếp theo số phiếu" not in reasons(conclusion, "n-man")
    assert "xếp theo số phiếu đồng ý" in reasons(conclusion, "n-low")


def test_a_candidate_the_chair_did_not_choose_at_a_tie_is_told_the_chair_decided():
    items = [item("n-a", approve=7), item("n-b", approve=6), item("n-c", approve=6)]
    settled = conclude(items, "unit", 7, 7, {("LDTT", 2025): Places(explicit=2)}, {group_key("LDTT", 2025): ("n-c",)})
    assert "Chủ tịch Hội đồng" in reasons(settled, "n-b")
