"""Award money (NĐ 98/2023 Art. 54-55, NĐ 152/2025): coefficient × the base salary in force on the decision
date, rounded up to the next 10,000 VND; an order to a collective is twice an individual's amount."""
from datetime import date
from fractions import Fraction

import pytest

from shared.law.money import BASE_SALARIES, award_money, base_salary_on, money, round_up
from shared.law.rulebook import with_overrides
from shared.law.rulesets import DEFAULT_RULE_SETS, by_id

ND152, ND98 = by_id("nd152-2025"), by_id("nd98-2023")
DECEMBER_2025 = date(2025, 12, 1)


@pytest.mark.parametrize("code, kind, vnd", [
    ("LDTT", "individual", 710_000),        # 0.3 × 2,340,000 = 702,000, rounded up
    ("CSTDCS", "individual", 2_340_000),    # 1.0 ×, already a multiple of 10,000
    ("CSTD_BO", "individual", 7_020_000),
    ("CSTD_TQ", "individual", 10_530_000),
    ("BK_BO", "individual", 3_510_000),     # 1.5 under NĐ 152
    ("BK_TTG", "individual", 8_190_000),
    ("TTLDTT", "collective", 1_880_000),    # 0.8 × 2,340,000 = 1,872,000
    ("TTLDXS", "collective", 3_510_000),
    ("CO_BO", "collective", 18_720_000),
    ("CO_CP", "collective", 28_080_000),
    ("HCLD3", "individual", 10_530_000),
    ("HCLD3", "collective", 21_060_000),    # an order to a collective: twice the individual amount
])
def test_the_award_money_of_each_award_decided_in_december_2025(code, kind, vnd):
    assert award_money(ND152, code, kind, DECEMBER_2025) == vnd


def test_money_is_rounded_up_to_the_next_ten_thousand_and_an_exact_multiple_stays():
    assert round_up(Fraction(702_000)) == 710_000
    assert round_up(Fraction(700_001)) == 710_000
    assert round_up(Fraction(700_000)) == 700_000
    assert round_up(Fraction(3, 10) * 1_490_000) == 450_000  # 447,000


def test_the_base_salary_is_the_one_in_force_on_the_decision_date_not_the_submission_date():
    assert award_money(ND152, "CSTDCS", "individual", date(2024, 6, 30)) == 1_800_000
    assert award_money(ND152, "CSTDCS", "individual", date(2024, 7, 1)) == 2_340_000
    assert base_salary_on(BASE_SALARIES, date(2026, 6, 30)).amount == 2_340_000


def test_the_base_salary_from_july_2026_is_recorded_but_marked_unconfirmed():
    july = base_salary_on(BASE_SALARIES, date(2026, 7, 1))
    assert (july.amount, july.confirmed) == (2_530_000, False)
    later = money(ND152, "CSTDCS", "individual", date(2026, 12, 1))
    assert (later.amount, later.confirmed) == (2_530_000, False)


def test_bk_bo_is_one_and_a_half_under_nd152_and_unconfirmed_under_nd98():
    assert money(ND152, "BK_BO", "individual", DECEMBER_2025).confirmed
    earlier = money(ND98, "BK_BO", "individual", date(2025, 1, 10))
    assert (earlier.coefficient, earlier.confirmed) == (Fraction(1), False)


def test_giay_khen_carries_the_nd91_value_marked_unconfirmed_in_every_rule_set():
    for rule_set in DEFAULT_RULE_SETS:
        assert rule_set.coefficients["GK"].value == Fraction(3, 10)
    assert not ND152.coefficients["GK"].confirmed


def test_every_award_of_every_rule_set_has_a_coefficient():
    for rule_set in DEFAULT_RULE_SETS:
        assert set(rule_set.coefficients) == set(rule_set.awards)


@pytest.mark.parametrize("code, kind", [("LDTT", "collective"), ("TTLDTT", "individual"), ("CO_BO", "individual"),
                                        ("CSTDCS", "unit")])
def test_an_award_to_a_kind_of_nominee_it_does_not_go_to_is_refused(code, kind):
    with pytest.raises(ValueError):
        award_money(ND152, code, kind, DECEMBER_2025)


def test_no_money_before_the_first_recorded_base_salary():
    with pytest.raises(LookupError):
        award_money(ND152, "LDTT", "individual", date(2010, 1, 1))


def test_an_operator_confirms_a_base_salary_and_changes_a_coefficient_in_the_rules_file():
    rules = with_overrides({"nd152-2025": {
        "awards": {"GK": {"coefficient": "0.4"}},
        "base_salaries": [{"from": "2026-07-01", "amount": 2_530_000}, {"from": "2027-01-01", "amount": 2_600_000}]}})
    rule_set = rules.by_id("nd152-2025")
    gk = money(rule_set, "GK", "individual", date(2026, 8, 1))
    assert (gk.amount, gk.confirmed) == (1_020_000, True)  # 0.4 × 2,530,000 = 1,012,000
    assert award_money(rule_set, "CSTDCS", "individual", date(2027, 2, 1)) == 2_600_000
    assert award_money(by_id("nd152-2025"), "GK", "individual", date(2026, 8, 1)) == 760_000  # defaults untouched


@pytest.mark.parametrize("overrides, key", [
    ({"awards": {"GK": {"coefficient": 0}}}, "nd152-2025.awards.GK.coefficient"),
    ({"awards": {"GK": {"coefficient": "abc"}}}, "nd152-2025.awards.GK.coefficient"),
    ({"awards": {"GK": {"coefficient": True}}}, "nd152-2025.awards.GK.coefficient"),
    ({"base_salaries": [{"from": "2026-13-01", "amount": 1}]}, "nd152-2025.base_salaries.0.from"),
    ({"base_salaries": [{"from": "2026-07-01", "amount": -5}]}, "nd152-2025.base_salaries.0.amount"),
    ({"base_salaries": [{"from": "2026-07-01", "amount": 2.5e6}]}, "nd152-2025.base_salaries.0.amount"),
    ({"base_salaries": [{"from": "2026-07-01", "amount": 1, "note": "x"}]}, "nd152-2025.base_salaries.0"),
    ({"base_salaries": {"from": "2026-07-01"}}, "nd152-2025.base_salaries"),
])
def test_a_bad_money_override_names_its_dotted_key(overrides, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        with_overrides({"nd152-2025": overrides})
