"""Council tallies: thresholds of all members (NĐ 98 Art. 30.7), quorum, and quotas whose ties go to women
or women-led collectives, then to the chair (NĐ 98 Art. 4)."""
from fractions import Fraction

import pytest

from services.review.tally import Candidate, Selection, places_left, quorum_met, select, woman_first
from shared.law.rulesets import EIGHTY, NINETY, Quota

TWO_THIRDS = Fraction(2, 3)


def man(nomination_id, approve):
    return Candidate(nomination_id, "CSTDCS", approve, 7 - approve, 0, priority=False)


def woman(nomination_id, approve):
    return Candidate(nomination_id, "CSTDCS", approve, 7 - approve, 0, priority=True)


# --- Thresholds and quorum count all members ---

def test_a_7_member_council_needs_6_approvals_for_80_percent_and_7_for_90_percent():
    assert EIGHTY.required(7) == 6
    assert NINETY.required(7) == 7


def test_4_of_7_taking_part_misses_a_two_thirds_quorum():
    assert quorum_met(4, 7, TWO_THIRDS) is False


def test_5_of_7_taking_part_meets_a_two_thirds_quorum():
    assert quorum_met(5, 7, TWO_THIRDS) is True


def test_6_of_9_taking_part_meets_a_two_thirds_quorum_exactly():
    assert quorum_met(6, 9, TWO_THIRDS) is True
    assert quorum_met(5, 9, TWO_THIRDS) is False


def test_a_fractional_quorum_rounds_up_so_5_of_8_miss_it_and_6_of_8_meet_it():
    # 2/3 of 8 is 5.33: five members are not two thirds of the council
    assert quorum_met(5, 8, TWO_THIRDS) is False
    assert quorum_met(6, 8, TWO_THIRDS) is True


def test_a_quorum_of_all_members_needs_every_one():
    assert quorum_met(7, 7, Fraction(1)) is True
    assert quorum_met(6, 7, Fraction(1)) is False


@pytest.mark.parametrize("participants, members", [(8, 7), (-1, 7), (0, 0)])
def test_an_impossible_attendance_is_an_error(participants, members):
    with pytest.raises(ValueError):
        quorum_met(participants, members, TWO_THIRDS)


# --- Who has priority at a tie ---

@pytest.mark.parametrize("gender, expected", [("female", True), ("male", False), (None, False)])
def test_an_individual_has_priority_when_she_is_a_woman(gender, expected):
    assert woman_first({"kind": "individual", "gender": gender, "members_total": None,
                        "members_female": None}) is expected


def test_a_collective_with_70_percent_women_has_priority():
    assert woman_first({"kind": "collective", "gender": None, "members_total": 10, "members_female": 7}) is True


def test_a_collective_with_69_percent_women_has_no_priority():
    assert woman_first({"kind": "collective", "gender": None, "members_total": 100, "members_female": 69}) is False


def test_a_collective_just_under_70_percent_has_no_priority():
    # 16/23 = 69.6 %: a float rounding to 70 % must not grant priority
    assert woman_first({"kind": "collective", "gender": None, "members_total": 23, "members_female": 16}) is False


@pytest.mark.parametrize("total, female", [(None, 7), (10, None), (0, 0), (None, None)])
def test_a_collective_without_usable_numbers_has_no_priority(total, female):
    assert woman_first({"kind": "collective", "gender": None, "members_total": total,
                        "members_female": female}) is False


def test_a_collectives_gender_field_does_not_give_it_priority():
    assert woman_first({"kind": "collective", "gender": "female", "members_total": 10,
                        "members_female": 2}) is False


# --- Selecting within a quota ---

def test_a_quota_of_2_with_three_passing_candidates_ranks_by_approvals():
    passing = [man("c", 5), man("a", 7), man("b", 6)]

    assert select(passing, 2) == Selection(selected=("a", "b"), over_quota=("c",), tied=(),
                                           places_left_for_tied=0)


def test_a_quota_of_2_breaks_a_tie_at_the_cut_off_by_the_woman_candidate():
    # The man's id sorts first, so only the priority rule can put the woman ahead of him.
    passing = [man("a", 7), man("b-man", 6), woman("c-woman", 6)]

    assert select(passing, 2) == Selection(selected=("a", "c-woman"), over_quota=("b-man",), tied=(),
                                           places_left_for_tied=0)


def test_a_quota_of_2_with_two_equal_men_at_the_cut_off_waits_for_the_chair():
    passing = [man("a", 7), man("b", 6), man("c", 6)]

    assert select(passing, 2) == Selection(selected=("a",), over_quota=(), tied=("b", "c"),
                                           places_left_for_tied=1)


def test_the_chairs_choice_settles_the_tie():
    passing = [man("a", 7), man("b", 6), man("c", 6)]

    assert select(passing, 2, chair_choice=("c",)) == Selection(selected=("a", "c"), over_quota=("b",), tied=(),
                                                                places_left_for_tied=0)


@pytest.mark.parametrize("chair_choice", [("a",), ("b", "c"), (), ("x",), ("b", "b")],
                         ids=["not tied", "too many", "none", "unknown", "twice"])
def test_a_chair_choice_that_is_not_exactly_the_open_places_among_the_tied_is_refused(chair_choice):
    passing = [man("a", 7), man("b", 6), man("c", 6)]

    with pytest.raises(ValueError, match="chair"):
        select(passing, 2, chair_choice=chair_choice)


def test_a_chair_choice_without_a_tie_is_refused():
    with pytest.raises(ValueError, match="no tie"):
        select([man("a", 7), man("b", 6)], 1, chair_choice=("b",))


def test_more_women_than_places_at_the_cut_off_wait_for_the_chair_and_the_men_there_are_over_quota():
    passing = [man("a", 8), woman("b", 6), man("c", 6), woman("d", 6), man("e", 5)]

    assert select(passing, 2) == Selection(selected=("a",), over_quota=("c", "e"), tied=("b", "d"),
                                           places_left_for_tied=1)


def test_the_chair_chooses_only_among_the_tied_women():
    passing = [man("a", 8), woman("b", 6), man("c", 6), woman("d", 6)]

    with pytest.raises(ValueError):
        select(passing, 2, chair_choice=("c",))
    assert select(passing, 2, chair_choice=("d",)) == Selection(selected=("a", "d"), over_quota=("b", "c"),
                                                                tied=(), places_left_for_tied=0)


def test_places_left_after_the_women_go_to_the_chair_when_the_men_are_equal():
    passing = [woman("a", 6), man("b", 6), man("c", 6), man("d", 6), man("e", 4)]

    assert select(passing, 3) == Selection(selected=("a",), over_quota=("e",), tied=("b", "c", "d"),
                                           places_left_for_tied=2)


def test_women_filling_the_last_places_exactly_put_the_equal_men_over_quota():
    passing = [man("a", 6), woman("b", 6), woman("c", 6)]

    assert select(passing, 2) == Selection(selected=("b", "c"), over_quota=("a",), tied=(),
                                           places_left_for_tied=0)


def test_a_tie_just_below_the_cut_off_is_over_quota_without_the_chair():
    passing = [man("a", 7), man("b", 6), woman("c", 5), man("d", 5)]

    assert select(passing, 2) == Selection(selected=("a", "b"), over_quota=("c", "d"), tied=(),
                                           places_left_for_tied=0)


def test_without_a_quota_every_passing_candidate_is_selected_in_ranking_order():
    passing = [man("b", 5), man("c", 7), woman("a", 5)]

    assert select(passing, None) == Selection(selected=("c", "a", "b"), over_quota=(), tied=(),
                                              places_left_for_tied=0)


def test_a_quota_larger_than_the_field_selects_everyone():
    assert select([man("a", 6), man("b", 6)], 5).selected == ("a", "b")


def test_no_places_put_everyone_over_quota():
    passing = [woman("a", 7), man("b", 7)]

    assert select(passing, 0) == Selection(selected=(), over_quota=("a", "b"), tied=(), places_left_for_tied=0)


def test_no_passing_candidates_select_no_one():
    assert select([], 3) == Selection(selected=(), over_quota=(), tied=(), places_left_for_tied=0)


def test_negative_places_are_an_error():
    with pytest.raises(ValueError):
        select([man("a", 7)], -1)


def test_the_same_nomination_twice_is_an_error():
    with pytest.raises(ValueError):
        select([man("a", 7), man("a", 6)], 1)


# --- Places left under a quota ---

def test_no_quota_leaves_unlimited_places():
    assert places_left(None, 4, 100) is None


def test_a_count_quota_leaves_the_count_less_those_already_selected():
    assert places_left(Quota(count=3), 1, None) == 2


def test_a_filled_count_quota_leaves_no_place_never_a_negative_number():
    assert places_left(Quota(count=3), 5, None) == 0


def test_a_share_quota_rounds_down_fifteen_percent_of_the_base():
    quota = Quota(share=Fraction(15, 100), base="LDTT")

    assert places_left(quota, 0, 20) == 3   # 15 % of 20 = 3
    assert places_left(quota, 0, 19) == 2   # 2.85 caps at 2
    assert places_left(quota, 1, 19) == 1
    assert places_left(quota, 4, 19) == 0


def test_a_share_and_a_count_together_leave_the_smaller():
    quota = Quota(share=Fraction(15, 100), base="LDTT", count=2)

    assert places_left(quota, 0, 40) == 2   # the count (2) beats the share (6)
    assert places_left(quota, 0, 10) == 1   # the share (1) beats the count (2)


def test_a_share_quota_without_its_base_count_is_an_error():
    with pytest.raises(ValueError, match="base"):
        places_left(Quota(share=Fraction(15, 100), base="LDTT"), 0, None)
