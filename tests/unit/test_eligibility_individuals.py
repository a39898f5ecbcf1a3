"""Eligibility of individuals (Luật TĐKT 06/2022/QH15 Art. 21-24, 44, 73, 74; NĐ 98 Art. 4; NĐ 91/2017):
a passing and a failing case per award and rule set, with the streak edges the law turns on.

Long because it holds one test per criterion of the law, in the law's order.
"""
import pytest

from tests.unit.nominations import (ND91, ND98, ND152, every_rule_set, good_years, initiative, message, outcome,
                                    person, since_2024, unmet_codes, year)

BO1, TQ1, SK1, SK2, SK3 = (initiative("bo1", "bo"), initiative("tq1", "toan_quoc"), initiative("sk1"),
                           initiative("sk2"), initiative("sk3"))


def cstd_bo(cstdcs=(2023, 2024, 2025), initiatives=(BO1,), first=2023, last=2025, award_rating="HTXSNV",
            award_initiatives=(), adhoc=(), disciplined=None):
    """CSTD_BO for ``last``: years from ``first`` rated HTTNV (the award year ``award_rating``), CSTDCS held
    in ``cstdcs`` (ad-hoc in ``adhoc``), ``initiatives`` recognised the year before the award year."""
    rows = {y: year(y, award_rating if y == last else "HTTNV", titles=["CSTDCS"] if y in cstdcs else [],
                    adhoc=["CSTDCS"] if y in adhoc else [], disciplined=y == disciplined)
            for y in range(first, last + 1)}
    rows[last - 1]["initiatives"], rows[last]["initiatives"] = list(initiatives), list(award_initiatives)
    return person("CSTD_BO", last, *rows.values())


def cstd_tq(*bo_years, scope="toan_quoc"):
    rows = {y: year(y, "HTXSNV", titles=["CSTD_BO"] if y in bo_years else []) for y in range(2019, 2026)}
    rows[2024]["initiatives"] = [initiative("i1", scope)]
    return person("CSTD_TQ", 2025, *rows.values())


def after(award, prerequisite, since, cstdcs=(2021, 2023, 2025), excellent=(), below_good=(), **prerequisite_row):
    """``award`` for 2025, the nominee having received ``prerequisite`` for ``since``, then years to 2025 rated
    HTTNV (HTXSNV in ``excellent``, HTNV in ``below_good``) with CSTDCS held in ``cstdcs``."""
    rows = [year(since, **{"titles": [prerequisite], **prerequisite_row})]
    rows += [year(y, "HTXSNV" if y in excellent else "HTNV" if y in below_good else "HTTNV",
                  titles=["CSTDCS"] if y in cstdcs else []) for y in range(since + 1, 2026)]
    return person(award, 2025, *rows)


def bk_bo(rating_2024="HTXSNV", rating_2025="HTXSNV", initiatives_2024=(SK1,), initiatives_2025=(SK2,)):
    return person("BK_BO", 2025, year(2024, rating_2024, initiatives=initiatives_2024),
                  year(2025, rating_2025, initiatives=initiatives_2025))


# --- LDTT (Art. 24) and GK (Art. 75, checkable part) ---

@every_rule_set
@pytest.mark.parametrize("award", ["LDTT", "GK"])
@pytest.mark.parametrize("rating", ["HTXSNV", "HTTNV"])
def test_a_year_rated_good_or_better_earns_ldtt_and_a_giay_khen(rule_set, award, rating):
    assert unmet_codes(person(award, 2025, year(2025, rating)), rule_set) == []


@every_rule_set
@pytest.mark.parametrize("award", ["LDTT", "GK"])
@pytest.mark.parametrize("rating", ["HTNV", "KHTNV"])
def test_a_year_rated_below_good_earns_neither_ldtt_nor_a_giay_khen(rule_set, award, rating):
    assert unmet_codes(person(award, 2025, year(2025, rating)), rule_set) == ["rating_below_good"]


# --- CSTDCS (Art. 23; NĐ 91 made the initiative mandatory) ---

@since_2024
def test_since_2024_an_excellent_year_alone_earns_cstdcs(rule_set):
    assert outcome(person("CSTDCS", 2025, year(2025, "HTXSNV", initiatives=[SK1])), rule_set) == ([], ())


@every_rule_set
def test_a_good_year_with_a_base_level_initiative_earns_cstdcs(rule_set):
    assert outcome(person("CSTDCS", 2025, year(2025, initiatives=[SK1])), rule_set) == ([], ("sk1",))


@since_2024
def test_since_2024_a_good_year_without_an_initiative_falls_short_of_cstdcs(rule_set):
    assert unmet_codes(person("CSTDCS", 2025, year(2025)), rule_set) == ["excellence_or_initiative_required"]


def test_under_nd91_an_excellent_year_still_needs_an_initiative_for_cstdcs():
    assert unmet_codes(person("CSTDCS", 2023, year(2023, "HTXSNV")), ND91) == ["initiative_required"]


def test_under_nd91_an_excellent_year_with_an_initiative_earns_cstdcs_and_relies_on_it():
    assert outcome(person("CSTDCS", 2023, year(2023, "HTXSNV", initiatives=[SK1])), ND91) == ([], ("sk1",))


@every_rule_set
def test_an_initiative_does_not_make_up_for_a_year_below_good(rule_set):
    body = person("CSTDCS", 2025, year(2025, "HTNV", initiatives=[SK1]))

    assert unmet_codes(body, rule_set) == ["rating_below_good"]


# --- CSTD_BO (Art. 22): CSTDCS three years running, the award year may be the third, and a ministry initiative

@every_rule_set
def test_three_cstdcs_years_running_and_a_ministry_initiative_earn_cstd_bo(rule_set):
    assert outcome(cstd_bo(), rule_set) == ([], ("bo1",))


@since_2024
def test_the_award_year_may_be_the_third_cstdcs(rule_set):
    assert unmet_codes(cstd_bo(cstdcs=(2023, 2024)), rule_set) == []


def test_under_nd91_the_award_year_is_the_third_cstdcs_only_with_its_own_initiative():
    without = cstd_bo(cstdcs=(2021, 2022), first=2021, last=2023)

    assert unmet_codes(without, ND91) == ["cstdcs_three_years"]
    assert "missing 2023 " in message(without, ND91, "cstdcs_three_years")["message_en"]
    assert unmet_codes(cstd_bo(cstdcs=(2021, 2022), first=2021, last=2023, award_initiatives=[SK3]), ND91) == []


@every_rule_set
def test_a_gap_year_breaks_the_cstdcs_streak(rule_set):
    body = cstd_bo(cstdcs=(2021, 2022, 2024, 2025), first=2021)

    assert unmet_codes(body, rule_set) == ["cstdcs_three_years"]
    assert "missing 2023 " in message(body, rule_set, "cstdcs_three_years")["message_en"]


@every_rule_set
def test_a_year_below_good_cannot_be_the_third_cstdcs(rule_set):
    assert unmet_codes(cstd_bo(cstdcs=(2023, 2024), award_rating="HTNV"), rule_set) == ["cstdcs_three_years"]


@every_rule_set
def test_a_base_level_initiative_is_not_enough_for_cstd_bo(rule_set):
    assert unmet_codes(cstd_bo(initiatives=[SK1]), rule_set) == ["initiative_bo_required"]


@every_rule_set
def test_a_national_initiative_serves_where_a_ministry_one_is_asked(rule_set):
    assert outcome(cstd_bo(initiatives=[TQ1]), rule_set) == ([], ("tq1",))


# --- CSTD_TQ (Art. 21): CSTD_BO twice running and a national initiative ---

@every_rule_set
def test_cstd_bo_twice_running_and_a_national_initiative_earn_cstd_tq(rule_set):
    assert outcome(cstd_tq(2021, 2024), rule_set) == ([], ("i1",))


@every_rule_set
def test_cstd_bo_twice_but_not_running_falls_short_of_cstd_tq(rule_set):
    assert unmet_codes(cstd_tq(2019, 2024), rule_set) == ["cstd_bo_twice"]


@every_rule_set
def test_a_ministry_initiative_is_not_enough_for_cstd_tq(rule_set):
    assert unmet_codes(cstd_tq(2021, 2024, scope="bo"), rule_set) == ["initiative_national_required"]


# --- BK_BO (Art. 74.1.d): CSTDCS two years running, or HTXSNV two years running with two unused initiatives

@every_rule_set
def test_cstdcs_two_years_running_earns_a_bk_bo_without_initiatives(rule_set):
    assert outcome(person("BK_BO", 2025, *good_years(2024, 2025, cstdcs={2024, 2025})), rule_set) == ([], ())


@every_rule_set
def test_cstdcs_twice_with_a_year_between_does_not_earn_a_bk_bo(rule_set):
    body = person("BK_BO", 2025, *good_years(2023, 2025, cstdcs={2023, 2025}))

    assert unmet_codes(body, rule_set) == ["bk_bo_criteria"]


@every_rule_set
def test_two_excellent_years_with_two_initiatives_earn_a_bk_bo(rule_set):
    assert outcome(bk_bo(), rule_set) == ([], ("sk1", "sk2"))


@every_rule_set
@pytest.mark.parametrize("body", [bk_bo(initiatives_2025=()), bk_bo(rating_2024="HTTNV")],
                         ids=["one initiative", "a good year before the excellent one"])
def test_excellence_needs_two_years_running_and_two_initiatives_for_a_bk_bo(rule_set, body):
    assert unmet_codes(body, rule_set) == ["bk_bo_criteria"]


# --- BK_TTG (Art. 73.1.b) and HCLD3 (Art. 44.1.e): after the prerequisite, five good years with three CSTDCS

@every_rule_set
def test_five_good_years_with_three_cstdcs_after_a_bk_bo_earn_a_bk_ttg(rule_set):
    assert unmet_codes(after("BK_TTG", "BK_BO", 2020), rule_set) == []


@every_rule_set
def test_a_bk_ttg_needs_a_bk_bo_first(rule_set):
    assert unmet_codes(after("BK_TTG", "GK", 2020), rule_set) == ["prerequisite_required"]


@every_rule_set
def test_a_gap_year_breaks_the_five_good_years(rule_set):
    body = after("BK_TTG", "BK_BO", 2018, cstdcs=(2023, 2024, 2025), below_good=(2022,))

    assert unmet_codes(body, rule_set) == ["five_good_years"]


@every_rule_set
def test_two_cstdcs_in_the_five_good_years_fall_short_of_a_bk_ttg(rule_set):
    assert unmet_codes(after("BK_TTG", "BK_BO", 2020, cstdcs=(2021, 2025)), rule_set) == ["three_cstdcs"]


@every_rule_set
def test_five_good_years_with_an_excellent_one_and_three_cstdcs_after_a_bk_ttg_earn_hcld3(rule_set):
    assert unmet_codes(after("HCLD3", "BK_TTG", 2020, excellent=(2024,)), rule_set) == []


@every_rule_set
def test_hcld3_needs_an_excellent_year_after_the_bk_ttg(rule_set):
    assert unmet_codes(after("HCLD3", "BK_TTG", 2020), rule_set) == ["one_excellent_year"]


@every_rule_set
def test_a_bk_bo_is_not_the_prerequisite_of_hcld3(rule_set):
    body = after("HCLD3", "BK_BO", 2020, excellent=(2024,))

    assert unmet_codes(body, rule_set) == ["prerequisite_required"]


# --- Cross-cutting (NĐ 98 Art. 4, Law Art. 5): discipline, ad-hoc titles, one initiative one award ---

@every_rule_set
@pytest.mark.parametrize("disciplined, codes", [(2021, []), (2022, ["cstdcs_three_years"])])
def test_years_up_to_the_last_discipline_do_not_count_toward_a_streak(rule_set, disciplined, codes):
    body = cstd_bo(cstdcs=(2022, 2023, 2024), first=2021, last=2024, disciplined=disciplined)

    assert unmet_codes(body, rule_set) == codes


@every_rule_set
def test_a_discipline_after_the_bk_bo_restarts_the_five_years_but_keeps_the_bk_bo(rule_set):
    body = after("BK_TTG", "BK_BO", 2015, cstdcs=(2019, 2021, 2023))
    body["history"][1]["disciplined"] = True  # 2016; 2017-2025 are nine good years after it

    assert unmet_codes(body, rule_set) == []


@every_rule_set
def test_an_adhoc_bk_bo_does_not_qualify_for_bk_ttg(rule_set):
    body = after("BK_TTG", "BK_BO", 2020, titles=[], adhoc=["BK_BO"])

    assert unmet_codes(body, rule_set) == ["prerequisite_required"]


@every_rule_set
def test_an_adhoc_cstdcs_does_not_count_toward_the_three_years(rule_set):
    assert unmet_codes(cstd_bo(cstdcs=(2024, 2025), adhoc=(2023,)), rule_set) == ["cstdcs_three_years"]


@pytest.mark.parametrize("rule_set, code", [(ND91, "initiative_required"),
                                            (ND98, "excellence_or_initiative_required"),
                                            (ND152, "excellence_or_initiative_required")],
                         ids=["nd91-2017", "nd98-2023", "nd152-2025"])
def test_cstdcs_through_an_initiative_already_used_fails_and_says_so(rule_set, code):
    body = person("CSTDCS", 2025, year(2025, initiatives=[SK1]))

    assert unmet_codes(body, rule_set, used={"sk1"}) == [code, "initiative_already_used"]
    assert "sk1" in message(body, rule_set, "initiative_already_used", used={"sk1"})["message_en"]


@every_rule_set
def test_cstdcs_relies_on_an_unused_initiative_rather_than_a_used_one(rule_set):
    body = person("CSTDCS", 2025, year(2025, initiatives=[SK1, SK2]))

    assert outcome(body, rule_set, used={"sk1"}) == ([], ("sk2",))


@every_rule_set
def test_an_initiative_already_used_for_cstdcs_cannot_back_bk_bo(rule_set):
    assert unmet_codes(bk_bo(), rule_set, used={"sk1"}) == ["bk_bo_criteria", "initiative_already_used"]


@every_rule_set
def test_bk_bo_relies_on_the_two_unused_initiatives_when_one_of_three_is_used(rule_set):
    assert outcome(bk_bo(initiatives_2024=(SK1, SK3)), rule_set, used={"sk1"}) == ([], ("sk2", "sk3"))


@every_rule_set
def test_a_ministry_initiative_already_used_cannot_back_cstd_bo(rule_set):
    assert unmet_codes(cstd_bo(), rule_set, used={"bo1"}) == ["initiative_bo_required", "initiative_already_used"]
