"""Closing a sitting: the tally is read once, decided against the rule set, and published."""
from __future__ import annotations

import logging
from datetime import datetime

from services.review import domain
from services.review.decisions import ADVANCED, REQUEUED, WITHDRAWN, Item, conclude
from services.review.repository import Reviews
from services.review.tally import places_left, woman_first
from shared import contract
from shared.errors import Conflict, NotFound, ValidationError

log = logging.getLogger(__name__)
OPEN, AWAITING_TIE_BREAK, CLOSED = "open", "awaiting_tie_break", "closed"


def finalize(sitting: dict, repo: Reviews, uow, rules, now: datetime) -> None:
    """Decide every agenda item, or wait for the chair when a tie at a quota cut-off remains."""
    rows = repo.agenda_of(sitting["id"])
    cases = repo.cases_by_id((row["nomination_id"] for row in rows), for_update=True)
    participants = sum(member["voted"] for member in repo.roster_of(sitting["id"]))
    items = []
    for row in rows:
        case = cases[row["nomination_id"]]
        items.append(Item(row["nomination_id"], row["award_code"], row["approve"], row["reject"], row["abstain"],
                          woman_first(case["nominee"]), _rule_set(rules, case), case["state"] == domain.WITHDRAWN))
    first_of_award = {item.award_code: item for item in reversed(items)}  # quotas are per award: once each
    places = {code: _places(repo, sitting, item, cases[item.nomination_id]) for code, item in first_of_award.items()}
    conclusion = conclude(items, sitting["stage"], sitting["members_total"], participants, places,
                          {k: tuple(v) for k, v in (sitting["chair_choices"] or {}).items()})
    if conclusion.waiting_for_chair:
        repo.update_sitting(sitting["id"], status=AWAITING_TIE_BREAK, pending_ties=conclusion.ties)
        log.info("sitting %s waits for the chair: %s", sitting["id"], sorted(conclusion.ties))
        return
    results, recorded, changes = [], [], []
    for row in rows:
        case, outcome = cases[row["nomination_id"]], conclusion.outcomes[row["nomination_id"]]
        tally = {"approve": row["approve"], "reject": row["reject"], "abstain": row["abstain"],
                 "members": sitting["members_total"], "required": outcome.required}
        recorded.append({"nomination_id": row["nomination_id"], "required": outcome.required,
                         "outcome": outcome.result, "reasons": list(outcome.reasons)})
        change = _apply(uow, sitting, case, outcome, tally, now)
        if change is not None:
            changes.append(change)
        results.append({"nomination_id": case["nomination_id"], "award_code": case["award_code"],
                        "nominee_name": case["nominee"]["name"], "unit_id": case["unit_id"], **tally,
                        "outcome": outcome.result, "reasons": list(outcome.reasons)})
    repo.record_outcomes(sitting["id"], recorded)
    repo.update_cases(changes)
    repo.update_sitting(sitting["id"], status=CLOSED, closed_at=now, quorum_met=conclusion.quorum_met,
                        pending_ties=None)
    uow.publish(contract.SITTING_CLOSED, {
        "sitting_id": sitting["id"], "council_id": sitting["council_id"], "stage": sitting["stage"],
        "quorum_met": conclusion.quorum_met, "closed_at": now.isoformat(), "participants": participants,
        "units": sorted({r["unit_id"] for r in results}), "results": results})
    log.info("sitting %s closed: items=%d quorum_met=%s", sitting["id"], len(results), conclusion.quorum_met)


def _apply(uow, sitting, case, outcome, tally, now) -> dict | None:
    """Publish what an item's outcome causes; return the change to its case (None: withdrawn)."""
    nomination_id = case["nomination_id"]
    if outcome.result == WITHDRAWN:
        return None
    if outcome.result == REQUEUED:
        return {"nomination_id": nomination_id, "state": domain.WAITING, "sitting_id": None}
    if outcome.result == ADVANCED:
        uow.publish(contract.NOMINATION_ADVANCED, domain.outcome_event(
            case, ADVANCED, outcome.next_stage, tally, outcome.reasons, sitting["id"], now))
        return {"nomination_id": nomination_id, "stage": outcome.next_stage, "state": domain.WAITING,
                "sitting_id": None}
    uow.publish(contract.NOMINATION_DECIDED, domain.outcome_event(
        case, outcome.result, sitting["stage"], tally, outcome.reasons, sitting["id"], now))
    return {"nomination_id": nomination_id, "state": domain.DECIDED, "outcome": outcome.result, "decided_at": now}


def _rule_set(rules, case):
    if case["rule_set"]:
        return rules.by_id(case["rule_set"])
    return rules.in_force(case["received_at"].date())


def _places(repo, sitting, item, case):
    """Places left for this award and year at this council: its own quota, else the rule set's."""
    year = case["award_year"]
    already = repo.selected_before(sitting["council_id"], item.award_code, year, sitting["id"])
    explicit = repo.quota(sitting["council_id"], item.award_code, year)
    if explicit is not None:
        return max(0, explicit - already)
    quota = item.rule_set.awards[item.award_code].quota
    base = None
    if quota is not None and quota.base:
        council = repo.council(sitting["council_id"])
        base = repo.approved_count(council["unit_id"], quota.base, year)
    return places_left(quota, already, base)


def close_sitting(sitting_id: str, uow, rules, now: datetime) -> dict:
    """Close early (``close_sitting``); closing a closed sitting answers its result again."""
    with uow:
        repo = Reviews(uow.session)
        sitting = _sitting(repo, sitting_id, for_update=True)
        if sitting["status"] == OPEN:
            finalize(sitting, repo, uow, rules, now)
            uow.commit()
        return result_of(repo, sitting_id)


def close_due(uow, rules, now: datetime) -> int:
    """The deadline timer: close every open sitting whose deadline has passed."""
    with uow:
        repo = Reviews(uow.session)
        due = repo.due_sittings(now)
        for sitting_id in due:
            finalize(repo.sitting(sitting_id), repo, uow, rules, now)
        uow.commit()
    return len(due)


def resolve_tie(sitting_id: str, award_code: str, nomination_ids: list, uow, rules, now) -> dict:
    """The chair's decision at a quota cut-off: which of the tied candidates take the places left."""
    with uow:
        repo = Reviews(uow.session)
        sitting = _sitting(repo, sitting_id, for_update=True)
        ties = sitting["pending_ties"] or {}
        if sitting["status"] != AWAITING_TIE_BREAK or award_code not in ties:
            raise Conflict(f"sitting {sitting_id!r} has no tie to resolve for {award_code}")
        tie = ties[award_code]
        if not set(nomination_ids) <= set(tie["tied"]) or len(set(nomination_ids)) != tie["places"]:
            raise ValidationError({"nomination_ids": [
                f"choose exactly {tie['places']} of the tied nominations {tie['tied']}"]})
        choices = {**(sitting["chair_choices"] or {}), award_code: list(nomination_ids)}
        repo.update_sitting(sitting_id, chair_choices=choices)
        finalize({**sitting, "chair_choices": choices}, repo, uow, rules, now)
        uow.commit()
        return result_of(repo, sitting_id)


def sitting_result(sitting_id: str, uow) -> dict:
    with uow:
        repo = Reviews(uow.session)
        if _sitting(repo, sitting_id)["status"] == OPEN:
            raise Conflict("no tally is readable before the sitting closes")
        return result_of(repo, sitting_id)


def result_of(repo: Reviews, sitting_id: str) -> dict:
    sitting = repo.sitting(sitting_id)
    roster = repo.roster_of(sitting_id)
    result = {"sitting_id": sitting_id, "council_id": sitting["council_id"], "stage": sitting["stage"],
              "status": sitting["status"], "members": sitting["members_total"],
              "participants": sum(m["voted"] for m in roster),
              "written_opinions": sum(m["written_opinion"] for m in roster),
              "quorum_met": sitting["quorum_met"], "pending_ties": sitting["pending_ties"],
              "deadline": sitting["deadline"].isoformat(), "items": []}
    if sitting["status"] == OPEN:
        return result  # who took part is public; the marks are not, until the close
    rows = repo.agenda_of(sitting_id)
    cases = repo.cases_by_id(row["nomination_id"] for row in rows)
    for row in rows:
        case = cases[row["nomination_id"]]
        result["items"].append({
            "nomination_id": row["nomination_id"], "award_code": row["award_code"],
            "nominee_name": case["nominee"]["name"], "unit_id": case["unit_id"], "approve": row["approve"],
            "reject": row["reject"], "abstain": row["abstain"], "required": row["required"],
            "outcome": row["outcome"], "reasons": row["reasons"] or []})
    return result


def _sitting(repo, sitting_id, for_update=False):
    sitting = repo.sitting(sitting_id, for_update)
    if sitting is None:
        raise NotFound(f"no sitting {sitting_id!r}")
    return sitting
