"""Eligibility: pure functions over the nominee's yearly history (standard library only).

``assess(body, rule_set, used_initiatives)`` returns every unmet criterion at once and the initiatives the
nomination relies on (each backs one award only: NĐ 98 Art. 4, Law Art. 5). Articles are those of
Luật TĐKT 06/2022/QH15 unless stated. Years up to the last disciplined year do not count (achievements
count from the end of the discipline period); ad-hoc and campaign titles (``adhoc_titles``) never count
toward a merit prerequisite.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from services.intake.history import History
from services.intake.messages import unmet
from shared.law.rulesets import RuleSet


@dataclass
class Verdict:
    unmet: list = field(default_factory=list)
    initiatives: tuple = ()  # the initiatives this nomination relies on

    @property
    def eligible(self) -> bool:
        return not self.unmet


def meets_ldtt(h: History, year: int) -> bool:
    """Art. 24: completed tasks well (HTTNV) or better."""
    return h.rated(year)


def cstdcs_initiative(h: History, rule_set: RuleSet, year: int):
    """Art. 23: the initiative CSTDCS needs in ``year``, None if HTXSNV suffices, False if missing."""
    if h.rated(year, ("HTXSNV",)) and not rule_set.cstdcs_initiative_mandatory:
        return None
    found = h.initiatives([year])
    return found[0] if found else False


def cstdcs_in(h: History, rule_set: RuleSet, year: int) -> bool:
    """Held CSTDCS in ``year``; for the award year, meeting its criteria now is enough."""
    if h.title(year, "CSTDCS"):
        return True
    return year == h.year and meets_ldtt(h, year) and cstdcs_initiative(h, rule_set, year) is not False


def assess(body: dict, rule_set: RuleSet, used_initiatives=frozenset()) -> Verdict:
    award = rule_set.awards[body["award_code"]]
    nominee = body["nominee"]
    h = History(body.get("history", []), body["award_year"], used_initiatives)
    verdict = Verdict()
    if award.nominee not in ("any", nominee["kind"]):
        verdict.unmet.append(unmet("wrong_nominee_kind", award=award.code, kind=award.nominee))
        return verdict
    if body.get("under_review"):
        verdict.unmet.append(unmet("on_hold_under_review"))
    award_row = h.rows.get(h.year)
    if award_row is None:
        verdict.unmet.append(unmet("no_history_for_award_year", year=h.year))
        return verdict
    if award_row.get("disciplined"):
        verdict.unmet.append(unmet("disciplined_in_award_year", year=h.year))
        return verdict
    rules = COLLECTIVE_RULES if nominee["kind"] == "collective" else INDIVIDUAL_RULES
    rules[award.code](h, rule_set, nominee, verdict)
    return verdict


# --- individuals -------------------------------------------------------------------------------

def _ldtt(h, rs, nominee, v):
    if not meets_ldtt(h, h.year):
        v.unmet.append(unmet("rating_below_good", year=h.year))


def _cstdcs(h, rs, nominee, v):
    _ldtt(h, rs, nominee, v)
    initiative = cstdcs_initiative(h, rs, h.year)
    if initiative is False:
        code = "initiative_required" if rs.cstdcs_initiative_mandatory else "excellence_or_initiative_required"
        v.unmet.append(unmet(code, year=h.year))
        _note_used(h, [h.year], v)
    elif initiative:
        v.initiatives += (initiative["id"],)


def _cstd_bo(h, rs, nominee, v):
    """Art. 22: CSTDCS three years running (the award year may be the third) and a ministry initiative."""
    years = [h.year - 2, h.year - 1, h.year]
    missing = [y for y in years if not cstdcs_in(h, rs, y)]
    if missing:
        v.unmet.append(unmet("cstdcs_three_years", missing=_years(missing)))
    _take_initiative(h, years, "bo", "initiative_bo_required", v)


def _cstd_tq(h, rs, nominee, v):
    """Art. 21: CSTD_BO twice running (terms three years apart, the latter recent) and a national initiative."""
    held = h.held_years("CSTD_BO")
    if not any(h.year - 1 <= y <= h.year and y - 3 in held for y in held):
        v.unmet.append(unmet("cstd_bo_twice", held=_years(held) or "—"))
    _take_initiative(h, range(h.year - 5, h.year + 1), "toan_quoc", "initiative_national_required", v)


def _bk_bo(h, rs, nominee, v):
    """Art. 74.1.d: CSTDCS two years running, or HTXSNV two years running with two unused initiatives."""
    if h.title(h.year - 1, "CSTDCS") and h.title(h.year, "CSTDCS"):
        return
    years = [h.year - 1, h.year]
    excellent = all(h.rated(y, ("HTXSNV",)) for y in years)
    found = h.initiatives(years)
    if excellent and len(found) >= 2:
        v.initiatives += tuple(i["id"] for i in found[:2])
        return
    v.unmet.append(unmet("bk_bo_criteria", first=h.year - 1, last=h.year))
    if excellent:
        _note_used(h, years, v)


def _after_prerequisite(h, rs, prerequisite, v, excellent_year=False):
    """Art. 73.1.b / 44.1.e: after the prerequisite award, five good years running with three CSTDCS."""
    earlier = [y for y in h.held_years(prerequisite) if y < h.year]
    if not earlier:
        v.unmet.append(unmet("prerequisite_required", award=prerequisite))
        return
    since = max(earlier)
    streak = [y for y in h.good_streak_before(h.year) if y > since]
    if len(streak) < 5:
        v.unmet.append(unmet("five_good_years", count=len(streak), since=since))
    if sum(cstdcs_in(h, rs, y) for y in streak) < 3:
        v.unmet.append(unmet("three_cstdcs", since=since))
    if excellent_year and not any(h.rated(y, ("HTXSNV",)) for y in streak):
        v.unmet.append(unmet("one_excellent_year", since=since))


def _bk_ttg(h, rs, nominee, v):
    _after_prerequisite(h, rs, "BK_BO", v)


def _hcld3(h, rs, nominee, v):
    _after_prerequisite(h, rs, "BK_TTG", v, excellent_year=True)


def _take_initiative(h, years, scope, code, v):
    found = h.initiatives(years, scope)
    if found:
        v.initiatives += (found[0]["id"],)
    else:
        v.unmet.append(unmet(code))
        _note_used(h, years, v)


def _note_used(h, years, v):
    if used := h.used_elsewhere(years):
        v.unmet.append(unmet("initiative_already_used", ids=", ".join(used)))


def _years(years) -> str:
    return ", ".join(str(y) for y in years)


# --- collectives -------------------------------------------------------------------------------

def _ldtt_share(nominee, share: Fraction, strict: bool, v):
    actual = Fraction(nominee["members_ldtt"], nominee["members_total"])
    if not (actual > share if strict else actual >= share):
        v.unmet.append(unmet("collective_ldtt_share", actual=f"{float(actual):.0%}",
                             needed=("> " if strict else "≥ ") + f"{float(share):.0%}"))


def _no_disciplined_member(nominee, v):
    if nominee["members_disciplined"]:
        v.unmet.append(unmet("collective_member_disciplined", count=nominee["members_disciplined"]))


def _excellent(h, v):
    if not h.rated(h.year, ("HTXSNV",)):
        v.unmet.append(unmet("rating_not_excellent", year=h.year))


def _ttldtt(h, rs, nominee, v):
    """Art. 28: completed tasks well, ≥ 70 % of members LDTT (> 50 % under NĐ 91), none disciplined."""
    _ldtt(h, rs, nominee, v)
    _ldtt_share(nominee, rs.ttldtt_ldtt_share, rs.ttldtt_share_strict, v)
    _no_disciplined_member(nominee, v)


def _ttldxs(h, rs, nominee, v):
    """Art. 27: HTXSNV, every member completed tasks, ≥ 70 % LDTT, a CSTDCS, none disciplined."""
    _excellent(h, v)
    if nominee["members_completed"] < nominee["members_total"]:
        v.unmet.append(unmet("collective_not_all_completed"))
    _ldtt_share(nominee, Fraction(7, 10), False, v)
    if nominee["members_cstdcs"] < 1:
        v.unmet.append(unmet("collective_no_cstdcs"))
    _no_disciplined_member(nominee, v)


def _excellent_collective(h, rs, nominee, v):
    """CO_BO and commendations of collectives: the checkable part (HTXSNV, none disciplined);
    the councils judge the rest (Art. 26, 74.2)."""
    _excellent(h, v)
    _no_disciplined_member(nominee, v)


def _co_cp(h, rs, nominee, v):
    """Art. 25 (checkable part): held the ministry's flag (CO_BO) last year or this, and HTXSNV."""
    if not {h.year, h.year - 1} & set(h.held_years("CO_BO")):
        v.unmet.append(unmet("prerequisite_required", award="CO_BO"))
    _excellent_collective(h, rs, nominee, v)


def _good_year(h, rs, nominee, v):
    """GK (Art. 75, checkable part): the award year rated HTTNV or better."""
    _ldtt(h, rs, nominee, v)


INDIVIDUAL_RULES = {"LDTT": _ldtt, "CSTDCS": _cstdcs, "CSTD_BO": _cstd_bo, "CSTD_TQ": _cstd_tq,
                    "BK_BO": _bk_bo, "BK_TTG": _bk_ttg, "HCLD3": _hcld3, "GK": _good_year}
COLLECTIVE_RULES = {"TTLDTT": _ttldtt, "TTLDXS": _ttldxs, "CO_BO": _excellent_collective, "CO_CP": _co_cp,
                    "GK": _good_year, "BK_BO": _excellent_collective, "BK_TTG": _excellent_collective,
                    "HCLD3": _excellent_collective}


def check_dossier(body: dict, award, verdict: Verdict) -> None:
    """Law Art. 84.1: the documents the award needs, and the initiative certificate where one is relied on."""
    present = {document["kind"] for document in body.get("documents", ())}
    required = list(award.documents)
    if verdict.initiatives and "xac_nhan_sang_kien" not in required:
        required.append("xac_nhan_sang_kien")
    verdict.unmet.extend(unmet("missing_document", kind=kind) for kind in required if kind not in present)
