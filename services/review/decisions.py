"""What a closed sitting decides (standard library only): thresholds, quorum, quotas and ties.

Approvals count against ALL members of the council (NĐ 98 Art. 30.7). Without a quorum (2/3 of members
taking part, written opinions included) nothing is decided and the nominations wait for the next
sitting. Candidates over the threshold compete for the quota of their award; a tie at the cut-off that
the woman-first rule cannot break waits for the chair (``resolve_tie``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.review.tally import Candidate, quorum_met, select

ADVANCED, APPROVED, PROPOSED, REJECTED, REQUEUED = "advanced", "approved", "proposed", "rejected", "requeued"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Item:
    nomination_id: str
    award_code: str
    approve: int
    reject: int
    abstain: int
    priority: bool  # a woman, or a collective with >= 70 % women
    rule_set: object  # shared.rulesets.RuleSet
    withdrawn: bool = False


@dataclass(frozen=True)
class Outcome:
    result: str  # advanced | approved | proposed | rejected | requeued | withdrawn
    required: int
    next_stage: str | None = None
    reasons: tuple = ()


@dataclass
class Conclusion:
    outcomes: dict = field(default_factory=dict)
    ties: dict = field(default_factory=dict)  # award_code -> {"tied": [...], "places": n}
    quorum_met: bool = True

    @property
    def waiting_for_chair(self) -> bool:
        return bool(self.ties)


def stage_of(award, council_stage: str):
    """The award's stage at this council, and the stage after it (None when this is the last)."""
    names = [stage.council for stage in award.stages]
    index = names.index(council_stage)
    return award.stages[index], (names[index + 1] if index + 1 < len(names) else None)


def conclude(items: list[Item], council_stage: str, members: int, participants: int,
             places: dict, chair_choices: dict) -> Conclusion:
    """Outcomes for every agenda item; ``places[award_code]`` is the quota left (None: no quota)."""
    conclusion = Conclusion()
    passing = {}
    for item in items:
        award = item.rule_set.awards[item.award_code]
        stage, _ = stage_of(award, council_stage)
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
            passing.setdefault(item.award_code, []).append(item)
    for award_code, group in passing.items():
        candidates = [Candidate(i.nomination_id, i.award_code, i.approve, i.reject, i.abstain, i.priority)
                      for i in group]
        selection = select(candidates, places.get(award_code), chair_choices.get(award_code))
        if selection.tied:
            conclusion.ties[award_code] = {"tied": list(selection.tied),
                                           "places": selection.places_left_for_tied}
        for item in group:
            _decide_passing(conclusion, item, council_stage, members, selection)
    return conclusion


def _decide_passing(conclusion, item, council_stage, members, selection):
    award = item.rule_set.awards[item.award_code]
    stage, next_stage = stage_of(award, council_stage)
    required = stage.threshold.required(members)
    if item.nomination_id in selection.over_quota:
        conclusion.outcomes[item.nomination_id] = Outcome(REJECTED, required, reasons=(
            "Vượt chỉ tiêu khen thưởng của hội đồng (xếp theo số phiếu đồng ý).",))
    elif item.nomination_id in selection.selected:
        if next_stage is not None:
            conclusion.outcomes[item.nomination_id] = Outcome(ADVANCED, required, next_stage)
        else:
            result = PROPOSED if award.final_outcome == "proposed" else APPROVED
            conclusion.outcomes[item.nomination_id] = Outcome(result, required)
