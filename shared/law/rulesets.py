"""Rule sets: the law's data, versioned by effective date (standard library only).

The rule set applied to a nomination is the one in force on its submission date (Luật TĐKT 06/2022/QH15;
NĐ 91/2017/NĐ-CP until 2023-12-31; NĐ 98/2023/NĐ-CP from 2024-01-01; NĐ 152/2025/NĐ-CP from 2025-07-01,
though a dossier submitted before that date stays under NĐ 98). Intake reads the eligibility parameters
and documents; review reads the stages, thresholds, quorum and quotas. An operator may override the
configurable values (thresholds, quorum, quotas, documents) with a file: see ``shared.law.overrides.apply_overrides``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from math import floor

from shared.contract.awards import AWARD_NAMES
from shared.law.money import BASE_SALARIES, COEFFICIENTS

# Who decides (Law Art. 80 and following) and where the ministry's own pipeline ends.
UNIT_HEAD, MINISTER, PRIME_MINISTER, PRESIDENT = "unit_head", "minister", "prime_minister", "president"
MERIT, ADHOC, CAMPAIGN, LONG_SERVICE = "cong_trang", "dot_xuat", "chuyen_de", "cong_hien"  # Law Art. 8

# Required documents (Law Art. 84.1): submission letter, achievement report, review minutes with ballot.
BASE_DOCUMENTS = ("to_trinh", "bao_cao_thanh_tich", "bien_ban")
INITIATIVE_CERTIFICATE = "xac_nhan_sang_kien"  # required where an initiative is claimed


@dataclass(frozen=True)
class Threshold:
    """Approvals needed, as a fraction of ALL council members (NĐ 98 Art. 30.7), not of those present."""

    fraction: Fraction
    strictly_more: bool = False  # "simple majority" is more than half

    def required(self, members: int) -> int:
        exact = self.fraction * members
        if self.strictly_more:
            return floor(exact) + 1
        return -(-exact.numerator // exact.denominator)  # ceiling

    def as_dict(self) -> dict:
        return {"fraction": str(self.fraction), "strictly_more": self.strictly_more}


NINETY, EIGHTY, MAJORITY = Threshold(Fraction(9, 10)), Threshold(Fraction(4, 5)), Threshold(Fraction(1, 2), True)


@dataclass(frozen=True)
class Stage:
    council: str  # "unit" or "ministry"
    threshold: Threshold


@dataclass(frozen=True)
class Quota:
    """At most ``share`` of ``base`` (e.g. 15 % of the unit's LDTT holders), or ``count`` per council."""

    share: Fraction | None = None
    base: str | None = None
    count: int | None = None


@dataclass(frozen=True)
class Award:
    code: str
    kind: str
    nominee: str  # "individual", "collective" or "any"
    decided_by: str
    stages: tuple[Stage, ...]
    documents: tuple[str, ...] = BASE_DOCUMENTS
    quota: Quota | None = None
    # NĐ 98 Art. 46: working days of public comment before the proposing council meets (None: none);
    # the period opens when the nomination reaches the last council of its pipeline
    comment_days: int | None = None

    @property
    def name(self) -> str:
        return AWARD_NAMES[self.code]

    @property
    def final_outcome(self) -> str:
        """The ministry decides up to the Minister; above that it proposes to the central level."""
        return "proposed" if self.decided_by in (PRIME_MINISTER, PRESIDENT) else "approved"


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    effective_from: date
    awards: dict[str, Award]
    quorum: Fraction = Fraction(2, 3)
    ttldtt_ldtt_share: Fraction = Fraction(7, 10)  # TTLDTT: at least this share of members are LDTT
    ttldtt_share_strict: bool = False  # NĐ 91 asked for "more than" 50 %
    cstdcs_initiative_mandatory: bool = False  # NĐ 91: an initiative was required for CSTDCS
    legal_basis: tuple[str, ...] = field(default_factory=tuple)
    coefficients: dict = field(default_factory=dict)  # award code -> money.Coefficient (NĐ 98 Art. 54-55)
    base_salaries: tuple = BASE_SALARIES  # money.BaseSalary by effective date (lương cơ sở)


def _pipelines(thresholds: dict[str, Threshold], documents: dict[str, tuple] | None = None,
               quotas: dict[str, Quota] | None = None, comments: dict[str, int] | None = None) -> dict[str, Award]:
    unit, ministry = ("unit",), ("unit", "ministry")
    table = [  # code, kind, nominee, decided by, councils
        ("LDTT", MERIT, "individual", UNIT_HEAD, unit), ("CSTDCS", MERIT, "individual", UNIT_HEAD, unit),
        ("TTLDTT", MERIT, "collective", UNIT_HEAD, unit), ("GK", MERIT, "any", UNIT_HEAD, unit),
        ("CSTD_BO", MERIT, "individual", MINISTER, ministry), ("TTLDXS", MERIT, "collective", MINISTER, ministry),
        ("CO_BO", MERIT, "collective", MINISTER, ministry), ("BK_BO", MERIT, "any", MINISTER, ministry),
        ("CSTD_TQ", MERIT, "individual", PRIME_MINISTER, ministry),
        ("CO_CP", MERIT, "collective", PRIME_MINISTER, ministry),
        ("BK_TTG", MERIT, "any", PRIME_MINISTER, ministry), ("HCLD3", MERIT, "any", PRESIDENT, ministry),
    ]
    documents, quotas, comments = documents or {}, quotas or {}, comments or {}
    return {code: Award(code, kind, nominee, decided_by,
                        tuple(Stage(council, thresholds.get(code, MAJORITY)) for council in councils),
                        documents.get(code, BASE_DOCUMENTS), quotas.get(code), comments.get(code))
            for code, kind, nominee, decided_by, councils in table}


_ND98_THRESHOLDS = {"CSTD_TQ": NINETY, "CSTD_BO": NINETY, "CSTDCS": EIGHTY, "CO_BO": EIGHTY, "CO_CP": EIGHTY}
# NĐ 98 Art. 46: orders (huân chương) are put out for public comment by the proposing body for 10 working
# days before its council meets. National-level titles (CSTD_TQ) are put out by the central level, not
# here; an operator adds others (or changes the length) with ``public_comment`` in TDKT_RULES_FILE.
_ND98_COMMENTS = {"HCLD3": 10}

DEFAULT_RULE_SETS = (
    RuleSet("nd91-2017", "Nghị định 91/2017/NĐ-CP", date(2017, 7, 31),
            _pipelines(_ND98_THRESHOLDS, quotas={"CSTDCS": Quota(share=Fraction(15, 100), base="LDTT")}),
            ttldtt_ldtt_share=Fraction(1, 2), ttldtt_share_strict=True, cstdcs_initiative_mandatory=True,
            legal_basis=("Luật TĐKT 2003 (sửa đổi 2013)", "NĐ 91/2017/NĐ-CP"),
            coefficients=COEFFICIENTS["nd91-2017"]),
    RuleSet("nd98-2023", "Nghị định 98/2023/NĐ-CP", date(2024, 1, 1),
            _pipelines(_ND98_THRESHOLDS, comments=_ND98_COMMENTS),
            legal_basis=("Luật TĐKT 06/2022/QH15", "NĐ 98/2023/NĐ-CP Art. 4, 30"),
            coefficients=COEFFICIENTS["nd98-2023"]),
    # NĐ 152 values not confirmed for the newest decree default to NĐ 98's (configurable).
    RuleSet("nd152-2025", "Nghị định 152/2025/NĐ-CP", date(2025, 7, 1),
            _pipelines(_ND98_THRESHOLDS, comments=_ND98_COMMENTS),
            legal_basis=("Luật TĐKT 06/2022/QH15", "NĐ 152/2025/NĐ-CP"),
            coefficients=COEFFICIENTS["nd152-2025"]),
)


def in_force(on: date, rule_sets=DEFAULT_RULE_SETS) -> RuleSet:
    """The rule set in force on ``on`` (the latest whose effective date is not after it)."""
    candidates = [rs for rs in rule_sets if rs.effective_from <= on]
    if not candidates:
        raise LookupError(f"no rule set is in force on {on.isoformat()}")
    return max(candidates, key=lambda rs: rs.effective_from)


def by_id(rule_set_id: str, rule_sets=DEFAULT_RULE_SETS) -> RuleSet:
    for rule_set in rule_sets:
        if rule_set.id == rule_set_id:
            return rule_set
    raise LookupError(f"unknown rule set {rule_set_id!r}")


def catalogue(rule_set: RuleSet) -> dict:
    """The rule set as JSON-ready data (``intake.award_catalogue``)."""
    return {
        "rule_set": rule_set.id, "title": rule_set.title,
        "effective_from": rule_set.effective_from.isoformat(), "legal_basis": list(rule_set.legal_basis),
        "quorum": str(rule_set.quorum),
        "awards": [{
            "code": a.code, "name": a.name, "kind": a.kind, "nominee": a.nominee, "decided_by": a.decided_by,
            "final_outcome": a.final_outcome, "documents": list(a.documents),
            "public_comment_days": a.comment_days,
            "stages": [{"council": s.council, "threshold": s.threshold.as_dict()} for s in a.stages],
            "quota": None if a.quota is None else {
                "share": None if a.quota.share is None else str(a.quota.share), "base": a.quota.base,
                "count": a.quota.count},
        } for a in rule_set.awards.values()],
    }
