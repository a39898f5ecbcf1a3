"""What a closed sitting decides (standard library only): thresholds, quorum, quotas and ties.

Approvals count against ALL members of the council (NĐ 98 Art. 30.7). Without a quorum (2/3 of members
taking part, written opinions included) nothing is decided and the nominations wait for the next
sitting. Candidates over the threshold compete for the quota of their award AND award year; a tie at the
cut-off that the woman-first rule cannot break waits for the chair (``resolve_tie``).

A share quota ("at most 15 % of the unit's LDTT holders") counts the base title's holders approved
before this sitting and in it: the base title is decided first. The chair's decision is kept per award
and year and applied only while it still settles the tie as it stands; a withdrawal or a change of
places that changes the tie puts the sitting back to the chair (or lets it close), never in a dead end.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.review.tally import Candidate, Selection, places_left, quorum_met, select

ADVANCED, APPROVED, PROPOSED, REJECTED, REQUEUED = "advanced", "approved", "proposed", "rejected", "requeued"
WITHDRAWN, RESTAGED = "withdrawn", "restaged"
# why a candidate over the threshold got no place: ranked below the cut-off, or tied at it and not chosen
OVER_QUOTA = "Vượt chỉ tiêu khen thưởng của hội đồng (xếp theo số phiếu đồng ý)."
OVER_QUOTA_PRIORITY = ("Vượt chỉ tiêu khen thưởng của hội đồng: bằng số phiếu đồng ý tại ngưỡng chỉ tiêu, ưu tiên "
                       "ứng viên nữ hoặc tập thể có từ 70% nữ (NĐ 98/2023 Điều 4).")
OVER_QUOTA_CHAIR = ("Vượt chỉ tiêu khen thưởng của hội đồng: bằng số phiếu đồng ý tại ngưỡng chỉ tiêu, Chủ tịch "
                    "Hội đồng quyết định chọn ứng viên khác.")


@dataclass(frozen=True)
class Item:
    nomination_id: str
    award_code: str
    approve: int
    reject: int
    abstain: int
    priority: bool  # a woman, or a collective with >= 70 % women
    rule_set: object  # shared.law.rulesets.RuleSet
    withdrawn: bool = False
    award_year: int | None = None


@dataclass(frozen=True)
class Places:
    """What bounds one award and year at this council: the rule set's ``quota``, the operator's
    ``explicit`` number of places (``set_quota``, which wins), how many the council passed ``already``
    in earlier sittings, and the base title's holders approved before this sitting (``base_before``)."""

    quota: object = None  # shared.law.rulesets.Quota
    explicit: int | None = None
    already: int = 0
    base_before: int = 0


@dataclass(frozen=True)
class Outcome:
    result: str  # advanced | approved | proposed | rejected | requeued | withdrawn | restaged
    required: int
    next_stage: str | None = None
    reasons: tuple = ()


@dataclass
class Conclusion:
    outcomes: dict = field(default_factory=dict)
    ties: dict = field(default_factory=dict)  # "CODE/YEAR" -> {"award_code", "award_year", "tied", "places"}
    quorum_met: bool = True

    @property
    def waiting_for_chair(self) -> bool:
        return bool(self.ties)


def group_key(award_code: str, award_year) -> str:
    """How a quota group (an award in a year) is named in ties and in the chair's choices."""
    return f"{award_code}/{award_year}"


def stage_of(award, council_stage: str):
    """The award's stage at this council and the stage after it (None when this is the last); ``(None,
    None)`` when the award has no stage at this council (its dossier changed award on the way)."""
    names = [stage.council for stage in award.stages]
    if council_stage not in names:
        return None, None
    index = names.index(council_stage)
    return award.stages[index], (names[index + 1] if index + 1 < len(names) else None)


def conclude(items: list[Item], council_stage: str, members: int, participants: int,
             places: dict, chair_choices: dict) -> Conclusion:
    """Outcomes for every agenda item. ``places[(award_code, award_year)]`` is a :class:`Places` (missing:
    no quota); ``chair_choices[group_key(...)]`` the chair's pick at that group's cut-off."""
    conclusion = Conclusion()
    passing = {}
    for item in items:
        award = item.rule_set.awards[item.award_code]
        stage, _ = stage_of(award, council_stage)
        if stage is None:  # not this council's to decide: back to the start of the award's pipeline
            conclusion.outcomes[item.nomination_id] = Outcome(RESTAGED, 0, award.stages[0].council, (
                "Hồ sơ đã đổi danh hiệu đề nghị; xét lại từ hội đồng đầu tiên của danh hiệu mới.",))
            continue
        required = stage.threshold.required(members)
        if item.withdrawn:
            conclusion.outcomes[item.nomination_id] = Outcome(WITHDRAWN, required)
        elif not quorum_met(participants, members, item.rule_set.quorum):
            conclusion.quorum_met = False
            conclusion.outcomes[item.nomination_id] = Outcome(REQUEUED, required, reasons=(
                f"Phiên họp không đủ {item.rule_set.quorum} số thành viên tham gia ({participants}/{members}).",))
        elif item.approve < required:
            conclusion.outcomes[item.nomination_id] = Outcome(REJECTED, required, reasons=(
                f"Đạt {item.approve}/{members} phiếu đồng ý, cần {required} (NĐ 98 Điều 30.7).",))
        else:
            passing.setdefault((item.award_code, item.award_year), []).append(item)
    approved_here = {}  # (award_code, award_year) -> approvals in this sitting, for share bases
    for key in _base_titles_first(passing, places):
        group, bounds = passing[key], places.get(key)
        selection = _select(group, _places_left(key, bounds, approved_here), chair_choices.get(group_key(*key)))
        if selection.tied:
            conclusion.ties[group_key(*key)] = {"award_code": key[0], "award_year": key[1],
                                                "tied": list(selection.tied), "places": selection.places_left_for_tied}
        for item in group:
            _decide_passing(conclusion, item, council_stage, members, selection, group)
        approved_here[key] = sum(getattr(conclusion.outcomes.get(i.nomination_id), "result", None) == APPROVED
                                for i in group)
    return conclusion


def _base_titles_first(passing: dict, places: dict) -> list:
    """Quota groups in the order the law implies: a share's base title (same year) before the share."""
    def depth(key, seen=()):
        quota = getattr(places.get(key), "quota", None)
        base = getattr(quota, "base", None) if getattr(quota, "share", None) is not None else None
        if base is None or (base, key[1]) in seen or (base, key[1]) == key:
            return 0
        return 1 + depth((base, key[1]), (*seen, key))
    return sorted(passing, key=lambda key: (depth(key), key[0], str(key[1])))


def _places_left(key, bounds: Places | None, approved_here: dict) -> int | None:
    if bounds is None:
        return None
    if bounds.explicit is not None:
        return max(0, bounds.explicit - bounds.already)
    quota = bounds.quota
    base = None
    if quota is not None and quota.share is not None:
        base = bounds.base_before + approved_here.get((quota.base, key[1]), 0)
    return places_left(quota, bounds.already, base)


def _select(group: list[Item], places: int | None, chair_choice) -> Selection:
    """The quota's selection; a chair's choice that no longer fits the tie as it stands is set aside."""
    candidates = [Candidate(i.nomination_id, i.award_code, i.approve, i.reject, i.abstain, i.priority)
                  for i in group]
    if chair_choice:
        try:
            return select(candidates, places, tuple(chair_choice))
        except ValueError:
            pass  # the tie changed (a withdrawal, new places): the chair decides again, if still needed
    return select(candidates, places)


def _over_quota_reason(item: Item, group: list[Item], selection: Selection) -> str:
    """Ranked below the cut-off, or tied at it and beaten by the woman-first priority or by the chair."""
    level = [i for i in group if i.nomination_id in selection.selected and i.approve == item.approve]
    if not level:
        return OVER_QUOTA
    return OVER_QUOTA_PRIORITY if any(i.priority for i in level) and not item.priority else OVER_QUOTA_CHAIR


def _decide_passing(conclusion, item, council_stage, members, selection, group):
    award = item.rule_set.awards[item.award_code]
    stage, next_stage = stage_of(award, council_stage)
    required = stage.threshold.required(members)
    if item.nomination_id in selection.over_quota:
        conclusion.outcomes[item.nomination_id] = Outcome(REJECTED, required, reasons=(
            _over_quota_reason(item, group, selection),))
    elif item.nomination_id in selection.selected:
        if next_stage is not None:
            conclusion.outcomes[item.nomination_id] = Outcome(ADVANCED, required, next_stage)
        else:
            result = PROPOSED if award.final_outcome == "proposed" else APPROVED
            conclusion.outcomes[item.nomination_id] = Outcome(result, required)
