"""Small builders of nomination bodies (shaped like deploy/examples/nomination.json) for eligibility tests.

A history row is ``year(2025, "HTXSNV", titles=["CSTDCS"], initiatives=[initiative("sk1", "bo")])``;
a body is ``person("CSTD_BO", 2025, *rows)`` or ``collective("TTLDTT", 2025, *rows, ldtt=7)``.
"""
import pytest

from services.intake.eligibility import assess
from shared.law.rulesets import DEFAULT_RULE_SETS, by_id

ND91, ND98, ND152 = (by_id(rs_id) for rs_id in ("nd91-2017", "nd98-2023", "nd152-2025"))

every_rule_set = pytest.mark.parametrize("rule_set", DEFAULT_RULE_SETS, ids=lambda rs: rs.id)
since_2024 = pytest.mark.parametrize("rule_set", [ND98, ND152], ids=lambda rs: rs.id)

DOCUMENTS = ("to_trinh", "bao_cao_thanh_tich", "bien_ban")


def initiative(initiative_id: str, scope: str = "co_so") -> dict:
    return {"id": initiative_id, "title": f"Sáng kiến {initiative_id}", "scope": scope}


def year(y: int, rating: str = "HTTNV", titles=(), adhoc=(), initiatives=(), disciplined=False) -> dict:
    """One history row; ``adhoc`` titles are also listed in ``titles``, as the schema has them."""
    return {"year": y, "rating": rating, "titles": [*titles, *adhoc], "adhoc_titles": list(adhoc),
            "initiatives": list(initiatives), "disciplined": disciplined}


def good_years(first: int, last: int, rating: str = "HTTNV", cstdcs=()) -> list[dict]:
    """Rows ``first..last`` rated ``rating``, with CSTDCS held in the years listed in ``cstdcs``."""
    return [year(y, rating, titles=["CSTDCS"] if y in cstdcs else []) for y in range(first, last + 1)]


def documents(*kinds: str) -> list[dict]:
    return [{"kind": kind, "filename": f"{kind}.pdf", "sha256": "0" * 64, "size": 1024} for kind in kinds]


def person(award_code: str, award_year: int, *history: dict, under_review=False, docs=DOCUMENTS) -> dict:
    return {"award_code": award_code, "award_year": award_year,
            "nominee": {"kind": "individual", "full_name": "Nguyễn Thị Hoa", "employee_id": "VP-0042",
                        "gender": "female", "email": "hoa.nt@example.vn", "direct_worker": True},
            "history": list(history), "under_review": under_review, "documents": documents(*docs)}


def collective(award_code: str, award_year: int, *history: dict, total=10, ldtt=8, completed=10, cstdcs=1,
               disciplined=0, female=5, under_review=False, docs=DOCUMENTS) -> dict:
    return {"award_code": award_code, "award_year": award_year,
            "nominee": {"kind": "collective", "name": "Phòng Kế hoạch - Tài chính", "members_total": total,
                        "members_female": female, "members_ldtt": ldtt, "members_completed": completed,
                        "members_cstdcs": cstdcs, "members_disciplined": disciplined},
            "history": list(history), "under_review": under_review, "documents": documents(*docs)}


def unmet_codes(body: dict, rule_set, used=()) -> list[str]:
    return [item["code"] for item in assess(body, rule_set, frozenset(used)).unmet]


def outcome(body: dict, rule_set, used=()) -> tuple[list[str], tuple]:
    """The unmet codes and the initiatives relied upon."""
    verdict = assess(body, rule_set, frozenset(used))
    return [item["code"] for item in verdict.unmet], verdict.initiatives


def message(body: dict, rule_set, code: str, used=()) -> dict:
    """The one unmet criterion with ``code``."""
    [found] = [item for item in assess(body, rule_set, frozenset(used)).unmet if item["code"] == code]
    return found
