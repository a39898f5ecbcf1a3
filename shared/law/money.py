"""Award money (tiền thưởng) as dated data, and its sum (standard library only).

NĐ 98/2023/NĐ-CP Art. 54-55 (kept by NĐ 152/2025/NĐ-CP): the money that goes with an award is a
coefficient times the base salary (lương cơ sở) in force on the date of the decision, rounded UP to the
next 10,000 VND ("làm tròn số lên hàng chục nghìn đồng"); a collective awarded an order receives twice an
individual's amount. Each value records whether it was confirmed from the decree's text: the ones that
were not are shipped as the best known value, marked ``confirmed=False``, shown as such in the draft
decision, and an operator may change any of them with ``TDKT_RULES_FILE`` (``shared.law.overrides``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

ROUND_TO = 10_000  # VND


@dataclass(frozen=True)
class Coefficient:
    """``value`` × base salary for an individual; ``collective_factor`` × that for a collective (None: the
    award does not go to that kind of nominee, or goes only to collectives: see ``individual``)."""

    value: Fraction
    confirmed: bool
    source: str
    individual: bool = True  # False: a collective title, whose coefficient is the collective's own
    collective_factor: Fraction | None = None
    collective_confirmed: bool = True


@dataclass(frozen=True)
class BaseSalary:
    effective_from: date
    amount: int  # VND per month
    confirmed: bool
    source: str


BASE_SALARIES = (
    BaseSalary(date(2019, 7, 1), 1_490_000, True, "NĐ 38/2019/NĐ-CP"),
    BaseSalary(date(2023, 7, 1), 1_800_000, True, "NĐ 24/2023/NĐ-CP"),
    BaseSalary(date(2024, 7, 1), 2_340_000, True, "NĐ 73/2024/NĐ-CP"),
    # Reported, not confirmed from the decree's text: an operator confirms or corrects it in TDKT_RULES_FILE.
    BaseSalary(date(2026, 7, 1), 2_530_000, False, "NĐ 161/2026/NĐ-CP (chưa xác nhận)"),
)


def _individual(value: str, source: str, confirmed: bool = True, collective: str | None = None,
                collective_confirmed: bool = True) -> Coefficient:
    return Coefficient(Fraction(value), confirmed, source, True,
                       None if collective is None else Fraction(collective), collective_confirmed)


def _collective(value: str, source: str, confirmed: bool = True) -> Coefficient:
    return Coefficient(Fraction(value), confirmed, source, individual=False, collective_factor=Fraction(1))


def _table(article: str, bk_bo: Coefficient, gk: Coefficient, confirmed: bool = True) -> dict[str, Coefficient]:
    return {
        "CSTD_TQ": _individual("4.5", article, confirmed), "CSTD_BO": _individual("3.0", article, confirmed),
        "CSTDCS": _individual("1.0", article, confirmed), "LDTT": _individual("0.3", article, confirmed),
        "TTLDXS": _collective("1.5", article, confirmed), "TTLDTT": _collective("0.8", article, confirmed),
        "CO_CP": _collective("12.0", article, confirmed), "CO_BO": _collective("8.0", article, confirmed),
        # an order to a collective: twice the individual's amount (NĐ 98 Art. 54)
        "HCLD3": _individual("4.5", article, confirmed, collective="2"),
        # certificates of merit to a collective: twice as for an individual as under NĐ 91 (not confirmed)
        "BK_TTG": _individual("3.5", article, confirmed, collective="2", collective_confirmed=False),
        "BK_BO": bk_bo, "GK": gk,
    }


_ND98 = "NĐ 98/2023/NĐ-CP Art. 54-55"
_ND152 = "NĐ 152/2025/NĐ-CP"
COEFFICIENTS = {
    "nd91-2017": _table(
        "NĐ 91/2017/NĐ-CP Art. 70-75 (chưa xác nhận ngoài BK_BO, GK)",
        _individual("1.0", "NĐ 91/2017/NĐ-CP Art. 75", True, "2", False),
        _individual("0.3", "NĐ 91/2017/NĐ-CP Art. 76", True, "2", False), confirmed=False),
    "nd98-2023": _table(
        _ND98,
        _individual("1.0", f"{_ND98}: giá trị NĐ 91, chưa xác nhận", False, "2", False),
        _individual("0.3", f"{_ND98}: giá trị NĐ 91, chưa xác nhận", False, "2", False)),
    "nd152-2025": _table(
        f"{_ND152} (hệ số NĐ 98 giữ nguyên)",
        _individual("1.5", _ND152, True, "2", False),
        _individual("0.3", f"{_ND152}: giá trị NĐ 91, chưa xác nhận", False, "2", False)),
}


@dataclass(frozen=True)
class Money:
    """The sum and what it was computed from (the draft decision shows both)."""

    amount: int
    coefficient: Fraction
    factor: Fraction
    base_salary: BaseSalary
    confirmed: bool  # every value behind the amount was confirmed from the decree's text


def base_salary_on(base_salaries, on_date: date) -> BaseSalary:
    """The base salary in force on ``on_date`` (the latest whose effective date is not after it)."""
    candidates = [b for b in base_salaries if b.effective_from <= on_date]
    if not candidates:
        raise LookupError(f"no base salary is recorded for {on_date.isoformat()}")
    return max(candidates, key=lambda b: b.effective_from)


def round_up(amount: Fraction) -> int:
    """Up to the next 10,000 VND (an exact multiple stays)."""
    return -(-amount.numerator // (amount.denominator * ROUND_TO)) * ROUND_TO


def money(rule_set, award_code: str, nominee_kind: str, on_date: date) -> Money:
    """The award money of ``award_code`` to an ``individual`` or ``collective`` decided on ``on_date``
    under ``rule_set`` (its ``coefficients`` and ``base_salaries``). Raises ``LookupError`` for an
    award without a coefficient or a date before any base salary, ``ValueError`` for a kind of nominee
    the award does not go to."""
    coefficient = rule_set.coefficients.get(award_code)
    if coefficient is None:
        raise LookupError(f"{rule_set.id}: no award money is recorded for {award_code!r}")
    if nominee_kind not in ("individual", "collective"):
        raise ValueError(f"nominee_kind must be individual or collective, got {nominee_kind!r}")
    if nominee_kind == "individual" and not coefficient.individual:
        raise ValueError(f"{award_code} is a collective title: no individual receives it")
    if nominee_kind == "collective" and coefficient.collective_factor is None:
        raise ValueError(f"{award_code} is an individual title: no collective receives it")
    factor = Fraction(1) if nominee_kind == "individual" else coefficient.collective_factor
    base = base_salary_on(rule_set.base_salaries, on_date)
    amount = round_up(coefficient.value * base.amount) * factor
    confirmed = coefficient.confirmed and base.confirmed and (
        nominee_kind == "individual" or coefficient.collective_confirmed)
    return Money(int(amount), coefficient.value, factor, base, confirmed)


def award_money(rule_set, award_code: str, nominee_kind: str, on_date: date) -> int:
    """The award money in VND (see :func:`money`)."""
    return money(rule_set, award_code, nominee_kind, on_date).amount
