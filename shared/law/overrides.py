"""An operator's overrides of the rule sets (``TDKT_RULES_FILE``), checked value by value: a wrong type, an
unknown award, document kind or key, a fraction outside (0, 1] or a bad quota raises ``ValueError``
naming the dotted key (``nd152-2025.awards.LDTT.documents``)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from fractions import Fraction

from shared.contract.awards import AWARD_NAMES, DOCUMENT_KINDS

from shared.law.money import BaseSalary
from shared.law.rulesets import MAJORITY, Award, Quota, Threshold

OVERRIDE = "TDKT_RULES_FILE"  # the source an operator's money value is recorded under


def apply_overrides(rule_sets, overrides: dict):
    """Rule sets with an operator's changes: ``{rule_set_id: {"quorum": "2/3", "awards": {CODE: {
    "threshold": "4/5" | "majority", "documents": [...], "quota": {"share": "15/100", "base": "LDTT"}
    | {"count": 3} | None, "public_comment": 10 | None, "coefficient": "1.5"}}, "base_salaries": [{"from":
    "2026-07-01", "amount": 2530000}]}}``. Every value is checked (types, known rule sets, award codes,
    document kinds and keys, fractions in (0, 1], quotas, working days from 1 to 60); a bad one raises
    ``ValueError`` naming its dotted key, e.g. ``nd152-2025.awards.LDTT.documents``."""
    result = []
    known = {rs.id for rs in rule_sets}
    if unknown := set(overrides) - known:
        raise ValueError(f"unknown rule sets: {_names(unknown)} (known: {_names(known)})")
    for rule_set in rule_sets:
        where = rule_set.id
        changes = _mapping(overrides.get(rule_set.id), where)
        _known_keys(changes, {"quorum", "awards", "base_salaries"}, where)
        awards, coefficients = dict(rule_set.awards), dict(rule_set.coefficients)
        for code, award_changes in _mapping(changes.get("awards"), f"{where}.awards").items():
            if code not in awards:
                raise ValueError(f"{where}.awards: unknown award {code!r} (known: {_names(awards)})")
            award_changes = dict(_mapping(award_changes, f"{where}.awards.{code}"))
            if "coefficient" in award_changes:
                coefficients[code] = _coefficient(coefficients.get(code), award_changes.pop("coefficient"),
                                                  f"{where}.awards.{code}.coefficient")
            awards[code] = _override_award(awards[code], award_changes, f"{where}.awards.{code}")
        quorum = _share(changes["quorum"], f"{where}.quorum") if "quorum" in changes else rule_set.quorum
        base_salaries = rule_set.base_salaries
        if "base_salaries" in changes:
            base_salaries = _base_salaries(base_salaries, changes["base_salaries"], f"{where}.base_salaries")
        result.append(replace(rule_set, awards=awards, quorum=quorum, coefficients=coefficients,
                              base_salaries=base_salaries))
    return tuple(result)


def _coefficient(known, value, where: str):
    """An operator's coefficient (a positive number up to 100, read exactly), confirmed by them."""
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        number = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError, OverflowError):
        number = None
    if number is None or not 0 < number <= 100 or known is None:
        raise ValueError(f"{where} must be a number in (0, 100] such as \"1.5\", got {value!r}")
    return replace(known, value=number, confirmed=True, source=OVERRIDE)


def _base_salaries(known: tuple, value, where: str) -> tuple:
    """Known base salaries with the operator's entries ``[{"from": ISO date, "amount": VND}]`` added (an
    entry of the same date replaces the shipped one), each confirmed by the operator."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where} must be a list of {{from: ISO date, amount: VND}}, got {value!r}")
    by_date = {b.effective_from: b for b in known}
    for i, entry in enumerate(value):
        entry = _mapping(entry, f"{where}.{i}")
        _known_keys(entry, {"from", "amount"}, f"{where}.{i}")
        try:
            start = date.fromisoformat(str(entry.get("from")))
        except ValueError:
            raise ValueError(f"{where}.{i}.from must be an ISO date, got {entry.get('from')!r}") from None
        amount = entry.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= 1_000_000_000:
            raise ValueError(f"{where}.{i}.amount must be a whole number of VND above 0, got {amount!r}")
        by_date[start] = BaseSalary(start, amount, True, OVERRIDE)
    return tuple(sorted(by_date.values(), key=lambda b: b.effective_from))


def _override_award(award: Award, changes: dict, where: str) -> Award:
    _known_keys(changes, {"threshold", "documents", "quota", "public_comment", "coefficient"}, where)
    if "threshold" in changes:
        value = changes["threshold"]
        threshold = MAJORITY if value == "majority" else Threshold(_share(value, f"{where}.threshold"))
        award = replace(award, stages=tuple(replace(s, threshold=threshold) for s in award.stages))
    if "documents" in changes:
        award = replace(award, documents=_documents(changes["documents"], f"{where}.documents"))
    if "quota" in changes:
        award = replace(award, quota=_quota(changes["quota"], f"{where}.quota"))
    if "public_comment" in changes:
        award = replace(award, comment_days=_comment_days(changes["public_comment"], f"{where}.public_comment"))
    return award


def _comment_days(value, where: str) -> int | None:
    """Working days of public comment (NĐ 98 Art. 46): a whole number from 1 to 60, or null for none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
        raise ValueError(f"{where} must be a number of working days from 1 to 60 (or null: no comment "
                         f"period), got {value!r}")
    return value


def _documents(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValueError(f"{where} must be a list of document kinds ({', '.join(DOCUMENT_KINDS)}), got {value!r}")
    if unknown := [kind for kind in value if kind not in DOCUMENT_KINDS]:
        raise ValueError(f"{where}: unknown document kinds {unknown} (known: {', '.join(DOCUMENT_KINDS)})")
    if len(set(value)) != len(value):
        raise ValueError(f"{where} names a document kind twice: {value!r}")
    return tuple(value)


def _quota(quota, where: str) -> Quota | None:
    if quota is None:
        return None
    quota = _mapping(quota, where)
    _known_keys(quota, {"share", "base", "count"}, where)
    if ("share" in quota) == ("count" in quota):
        raise ValueError(f"{where} must have either a share (with its base) or a count, got {quota!r}")
    if "count" in quota:
        count = quota["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1 or "base" in quota:
            raise ValueError(f"{where}.count must be a whole number of at least 1 (and no base), got {count!r}")
        return Quota(count=count)
    base = quota.get("base")
    if base not in AWARD_NAMES:
        raise ValueError(f"{where}.base must be an award code ({', '.join(AWARD_NAMES)}), got {base!r}")
    return Quota(share=_share(quota["share"], f"{where}.share"), base=base)


def _mapping(value, where: str) -> dict:
    """``value`` as a mapping with string keys (absent or empty: no changes)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"{where} must be a mapping of names, got {value!r}")
    return value


def _known_keys(changes: dict, allowed: set, where: str) -> None:
    if extra := set(changes) - allowed:
        raise ValueError(f"{where}: unknown keys {_names(extra)} (allowed: {_names(allowed)})")


def _names(keys) -> str:
    return ", ".join(sorted(map(str, keys)))


def _share(value, where: str) -> Fraction:
    """A share written "4/5", "0.8" or 0.8, read exactly (0.8 as a float is not quite 4/5), in (0, 1]."""
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        share = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError, OverflowError):
        share = None
    if share is None or not 0 < share <= 1:
        raise ValueError(f"{where} must be a fraction in (0, 1] such as \"4/5\", got {value!r}")
    return share
