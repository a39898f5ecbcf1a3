"""Closing a sitting: the tally is read once, decided against the rule set, and published."""
from __future__ import annotations

import logging
from datetime import datetime

from services.review import domain, sealing
from services.review.documents import jobs as documents
from services.review.decisions import ADVANCED, REQUEUED, RESTAGED, WITHDRAWN, Item, Places, conclude
from services.review.repository import Reviews
from services.review.tally import woman_first
from shared import contract
from shared.contract.errors import Conflict, NotFound, ValidationError

log = logging.getLogger(__name__)
OPEN, AWAITING_TIE_BREAK, CLOSED = "open", "awaiting_tie_break", "closed"


def evaluate(sitting: dict, repo: Reviews, rules, chair_choices: dict | None = None):
    """Read the agenda and decide it as things stand now: ``(rows, cases, participants, conclusion)``."""
    rows = repo.agenda_of(sitting["id"])
    cases = repo.cases_by_id((row["nomination_id"] for row in rows), for_update=True)
    participants = sum(member["voted"] for member in repo.roster_of(sitting["id"]))
    items = []
    for row in rows:
        case = cases[row["nomination_id"]]
        items.append(Item(row["nomination_id"], row["award_code"], row["approve"], row["reject"], row["abstain"],
                          woman_first(case["nominee"]), _rule_set(rules, case), domain.leaves_sitting(case, sitting["id"]),
                          award_year=case["award_year"]))
    groups = {(item.award_code, item.award_year): item for item in items}  # quotas: per award AND year
    places = {key: _places(repo, sitting, key, item.rule_set) for key, item in groups.items()}
    choices = sitting["chair_choices"] if chair_choices is None else chair_choices
    conclusion = conclude(items, sitting["stage"], sitting["members_total"], participants, places,
                          {k: tuple(v) for k, v in (choices or {}).items()})
    return rows, cases, participants, conclusion


def finalize(sitting: dict, repo: Reviews, uow, rules, now: datetime, key: str | None = None) -> None:
    """Decide every agenda item, or wait for the chair when a tie at a quota cut-off remains. Voting
    ends here: an open sitting's ballots are counted first (with ``key``, the master secret)."""
    if sitting["status"] == OPEN:
        count_ballots(sitting, repo, key)
    rows, cases, participants, conclusion = evaluate(sitting, repo, rules)
    if conclusion.waiting_for_chair:
        # voting has ended: the sitting's private key goes, so no ballot captured anywhere opens later
        repo.update_sitting(sitting["id"], status=AWAITING_TIE_BREAK, pending_ties=conclusion.ties, ballot_key=None)
        log.info("sitting %s waits for the chair: %s", sitting["id"], sorted(conclusion.ties))
        return
    results, recorded, changes = [], [], []
    council = repo.council(sitting["council_id"])
    unit_names = repo.unit_names({case["unit_id"] for case in cases.values()})
    day = {"convened_at": sitting["convened_at"].isoformat()}  # the day mails name the sitting by
    for row in rows:
        case, outcome = cases[row["nomination_id"]], conclusion.outcomes[row["nomination_id"]]
        tally = {"approve": row["approve"], "reject": row["reject"], "abstain": row["abstain"],
                 "members": sitting["members_total"], "required": outcome.required}
        recorded.append({"nomination_id": row["nomination_id"], "required": outcome.required,
                         "outcome": outcome.result, "reasons": list(outcome.reasons)})
        change = _apply(uow, sitting, case, outcome, tally, now, {**domain.names(case, unit_names, council), **day})
        if change is not None:
            changes.append(change)
        results.append({"nomination_id": case["nomination_id"], "award_code": case["award_code"],
                        "nominee_name": case["nominee"]["name"], "unit_id": case["unit_id"], **tally,
                        "outcome": outcome.result, "reasons": list(outcome.reasons),
                        "unit_name": unit_names.get(case["unit_id"]), "contact_email": case["contact_email"],
                        "award_year": case["award_year"]})
    repo.record_outcomes(sitting["id"], recorded)
    repo.update_cases(changes)
    repo.update_sitting(sitting["id"], status=CLOSED, closed_at=now, quorum_met=conclusion.quorum_met,
                        pending_ties=None, ballot_key=None)  # the key goes with the end of voting
    if documents.request(uow.session, sitting["id"], now):  # minutes, proposal, decision: rendered after commit
        uow.wake_after_commit(documents.RELAY)
    uow.publish(contract.SITTING_CLOSED, {
        "sitting_id": sitting["id"], "council_id": sitting["council_id"], "stage": sitting["stage"],
        "quorum_met": conclusion.quorum_met, "closed_at": now.isoformat(), "participants": participants,
        "units": sorted({r["unit_id"] for r in results}), "results": results,
        "council_name": council["name"] if council else None, **day})
    uow.publish(contract.RECEIPTS_PUBLISHED, receipts_published(repo, sitting))
    log.info("sitting %s closed: items=%d quorum_met=%s", sitting["id"], len(results), conclusion.quorum_met)


def count_ballots(sitting: dict, repo: Reviews, key: str | None) -> None:
    """Open every ballot the sitting took, add their marks to the counters in one statement, drop the
    sealed boxes (the receipts stay). Once, when voting ends: while it runs the counters stay at zero."""
    marks: dict = {}
    for sealed in repo.sealed_ballots(sitting["id"]):
        try:
            choices = sealing.open_ballot(key, sitting["ballot_key"], sealed)["choices"]
        except sealing.Unreadable:  # each opened when it was cast: the master secret changed since
            raise Conflict(f"the ballots of sitting {sitting['id']!r} do not open with this TDKT_SECRET_KEY: "
                           "start review with the secret it was convened under to close it") from None
        for nomination_id, choice in choices.items():
            counts = marks.setdefault(nomination_id, {})
            counts[choice] = counts.get(choice, 0) + 1
    repo.add_marks(sitting["id"], marks)
    repo.drop_sealed(sitting["id"])


def receipts_published(repo: Reviews, sitting: dict) -> dict:
    """The receipts counted, sorted (no order of casting), for every member of the roster: each finds
    their own, and the list is exactly as long as the ballots counted."""
    roster = repo.roster_of(sitting["id"])
    return {"sitting_id": sitting["id"], "council_id": sitting["council_id"],
            "codes": repo.receipts_of(sitting["id"]), "ballots_counted": sum(m["voted"] for m in roster),
            "members": [{"name": m["name"], "email": m["email"]} for m in roster]}


def _apply(uow, sitting, case, outcome, tally, now, named=None) -> dict | None:
    """Publish what an item's outcome causes; return the change to its case (None: withdrawn)."""
    nomination_id = case["nomination_id"]
    if outcome.result == WITHDRAWN:
        return None
    if outcome.result == REQUEUED:
        return {"nomination_id": nomination_id, "state": domain.WAITING, "sitting_id": None}
    if outcome.result == RESTAGED:
        log.warning("nomination %s restarts at the %s council: its award has no %s stage", nomination_id,
                    outcome.next_stage, sitting["stage"])
        return {"nomination_id": nomination_id, "stage": outcome.next_stage, "state": domain.WAITING,
                "sitting_id": None}
    if outcome.result == ADVANCED:
        uow.publish(contract.NOMINATION_ADVANCED, domain.outcome_event(
            case, ADVANCED, outcome.next_stage, tally, outcome.reasons, sitting["id"], now, named))
        return {"nomination_id": nomination_id, "stage": outcome.next_stage, "state": domain.WAITING,
                "sitting_id": None}
    uow.publish(contract.NOMINATION_DECIDED, domain.outcome_event(
        case, outcome.result, sitting["stage"], tally, outcome.reasons, sitting["id"], now, named))
    return {"nomination_id": nomination_id, "state": domain.DECIDED, "outcome": outcome.result, "decided_at": now}


def _rule_set(rules, case):
    if case["rule_set"]:
        return rules.by_id(case["rule_set"])
    return rules.in_force(case["received_at"].date())


def _places(repo, sitting, key, rule_set) -> Places:
    """What bounds this award and year at this council: its own quota, else the rule set's."""
    award_code, year = key
    already = repo.selected_before(sitting["council_id"], award_code, year, sitting["id"])
    quota = rule_set.awards[award_code].quota
    base_before = 0
    if quota is not None and quota.base:
        council = repo.council(sitting["council_id"])
        base_before = repo.approved_count(council["unit_id"], quota.base, year)
    return Places(quota, repo.quota(sitting["council_id"], award_code, year), already, base_before)


def close_sitting(sitting_id: str, uow, rules, now: datetime, key: str | None = None) -> dict:
    """Close early (``close_sitting``), or decide again a sitting waiting for the chair (it closes if its
    ties are gone); closing a closed sitting answers its result again."""
    with uow:
        repo = Reviews(uow.session)
        sitting = _sitting(repo, sitting_id, for_update=True)
        if sitting["status"] in (OPEN, AWAITING_TIE_BREAK):  # a tie that vanished lets it close now
            finalize(sitting, repo, uow, rules, now, key)
            uow.commit()
        return result_of(repo, sitting_id)


def close_due(uow, rules, now: datetime, key: str | None = None) -> int:
    """The deadline timer: close every open sitting past its deadline, each in its own transaction, so
    one that cannot be closed is logged and never holds back the others."""
    with uow:
        due = Reviews(uow.session).due_sittings(now)
    closed = 0
    for sitting_id in due:
        try:
            with uow:
                repo = Reviews(uow.session)
                sitting = repo.sitting(sitting_id, for_update=True, skip_locked=True)
                if sitting is not None and sitting["status"] == OPEN:  # not closed meanwhile
                    finalize(sitting, repo, uow, rules, now, key)
                    uow.commit()
                    closed += 1
        except Exception:  # noqa: BLE001 - one broken sitting must not stop the timer for the rest
            log.exception("sitting %s could not be closed at its deadline; the others go on", sitting_id)
    return closed


def resolve_tie(sitting_id: str, award_code: str, nomination_ids: list, uow, rules, now) -> dict:
    """The chair's decision at a quota cut-off: which of the tied candidates take the places left.

    Checked against the tie as it stands now (a withdrawal or new places may have changed it since the
    sitting began to wait). When that award has no tie left, the choice is not needed: the sitting is
    decided again and closes, or waits on another award's tie."""
    with uow:
        repo = Reviews(uow.session)
        sitting = _sitting(repo, sitting_id, for_update=True)
        if sitting["status"] != AWAITING_TIE_BREAK:
            raise Conflict(f"sitting {sitting_id!r} is {sitting['status']}: it waits for no chair's decision")
        standing = {key: choice for key, choice in (sitting["chair_choices"] or {}).items()
                    if not key.startswith(f"{award_code}/")}
        ties = {key: tie for key, tie in evaluate(sitting, repo, rules, standing)[3].ties.items()
                if tie["award_code"] == award_code}
        choices = dict(standing)
        if ties:
            key, tie = _tie_chosen(ties, set(nomination_ids))
            if not set(nomination_ids) <= set(tie["tied"]) or len(set(nomination_ids)) != tie["places"]:
                raise ValidationError({"nomination_ids": [
                    f"choose exactly {tie['places']} of the tied nominations {tie['tied']}"]})
            choices[key] = list(nomination_ids)
        repo.update_sitting(sitting_id, chair_choices=choices)
        finalize({**sitting, "chair_choices": choices}, repo, uow, rules, now)
        uow.commit()
        return result_of(repo, sitting_id)


def _tie_chosen(ties: dict, chosen: set):
    """The tie (of one award, perhaps in several years) the chair's choice is about."""
    matching = [(key, tie) for key, tie in sorted(ties.items()) if chosen & set(tie["tied"])]
    return matching[0] if matching else sorted(ties.items())[0]


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
    result["receipts"] = repo.receipts_of(sitting_id)
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
