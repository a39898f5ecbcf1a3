"""Award money as dated data (standard library only): coefficient × base salary, rounded up to 10,000 VND.

NĐ 98/2023 Art. 54–55 and NĐ 152/2025: the money of an award is its coefficient times the base salary
(lương cơ sở) in force on the decision date, rounded up to the next 10,000 VND. An order (HCLĐ) to a
collective is twice the individual amount. Values marked "unconfirmed" in the domain brief keep the last
confirmed value (GK 0.3, BK_BO 1.0 under NĐ 91/98) and are overridable like the rest of this data.

MINIMAL VERSION written for the register (issue #17); the documents work (wt-docs) owns this module and
its data: ``award_money(rule_set, award_code, nominee_kind, on_date) -> int`` is the agreed signature.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, Decimal

# (effective from, VND): NĐ 73/2024 from 2024-07-01; NĐ 161/2026 from 2026-07-01 (to be confirmed)
BASE_SALARY = ((date(2023, 7, 1), 1_800_000), (date(2024, 7, 1), 2_340_000), (date(2026, 7, 1), 2_530_000))

_COMMON = {"CSTD_TQ": "4.5", "CSTD_BO": "3.0", "CSTDCS": "1.0", "LDTT": "0.3", "TTLDXS": "1.5",
           "TTLDTT": "0.8", "CO_CP": "12.0", "CO_BO": "8.0", "HCLD3": "4.5", "BK_TTG": "3.5", "GK": "0.3"}
COEFFICIENTS = {  # by rule set id (shared.law.rulesets)
    "nd91-2017": {**_COMMON, "BK_BO": "1.0"},
    "nd98-2023": {**_COMMON, "BK_BO": "1.0"},  # NĐ 98's BK_BO value unconfirmed: NĐ 91's kept
    "nd152-2025": {**_COMMON, "BK_BO": "1.5"},
}
DOUBLED_FOR_COLLECTIVES = ("HCLD3",)  # orders: a collective receives twice the individual amount
STEP = 10_000


def base_salary(on_date: date) -> int:
    """The base salary in force on ``on_date`` (the earliest known value before the first date)."""
    amount = BASE_SALARY[0][1]
    for since, value in BASE_SALARY:
        if since <= on_date:
            amount = value
    return amount


def award_money(rule_set, award_code: str, nominee_kind: str, on_date: date) -> int:
    """The money of ``award_code`` decided on ``on_date`` under ``rule_set`` (a RuleSet or its id), in VND."""
    rule_set_id = getattr(rule_set, "id", rule_set)
    coefficients = COEFFICIENTS.get(rule_set_id, COEFFICIENTS["nd152-2025"])
    amount = Decimal(coefficients[award_code]) * base_salary(on_date)
    if nominee_kind == "collective" and award_code in DOUBLED_FOR_COLLECTIVES:
        amount *= 2
    return int((amount / STEP).to_integral_value(rounding=ROUND_CEILING)) * STEP
