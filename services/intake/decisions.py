"""The head's decision (quyết định khen thưởng): approved nominations become awards in the register.

A council advises; the head of the body decides (Law 06/2022 Art. 80 and following). ``record_decision``
turns approved nominations (and proposals, once the central level's decision arrives) into ``awarded``
with the decision's number and date, enters each award in the register with its money (NĐ 98 Art.
54-55: ``shared.law.money``), and announces it (``nomination_awarded`` for review and notify,
``register_entry_recorded``). A call is all or nothing: any nomination that is not approved, is
already awarded, or whose claimed titles no longer hold in the register refuses the whole call, each
named. Concurrent decisions on one nomination: one wins (its row is locked, and the register holds one
entry per nomination).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from services.intake import domain, register
from services.intake.handlers import assess_with_register
from services.intake.models import Initiatives, Nominations, nominations
from services.intake.register_store import EntryTaken, Register
from shared import contract
from shared.contract.errors import Conflict, ValidationError
from shared.law.money import award_money

log = logging.getLogger(__name__)
DECIDABLE = ("approved", "proposed")


def record_decision(decision: dict, operator: str, uow, rules, now, register_check=register.STRICT) -> dict:
    """Record the head's decision on ``decision["nomination_ids"]``; the entries made."""
    with uow:
        repo, reg = Nominations(uow.session), Register(uow.session)
        reg.hold_against_revocations()  # before any re-check: a revocation in flight is seen, none crosses it
        found, problems = [], {}
        for nomination_id in sorted(decision["nomination_ids"]):  # one lock order: no deadlock between calls
            nomination = repo.get(nomination_id, for_update=True)
            problem = _cannot_decide(nomination, uow, rules, register_check)
            if problem:
                problems[nomination_id] = problem
            else:
                found.append(nomination)
        if problems:
            raise Conflict(_naming(problems))
        day, entries = decision["date"], []
        try:
            rule_set = rules.in_force(day)
        except LookupError:
            raise ValidationError({"date": [f"no rule set (and no award money) is in force on {day.isoformat()}"]}) from None
        for nomination in found:
            entry = _enter(nomination, decision, operator, reg, rule_set, now)
            if not _award(uow.session, nomination, decision, entry, now):
                raise Conflict(_naming({nomination.id: "decided meanwhile by another call"}))
            uow.publish(contract.NOMINATION_AWARDED, awarded_event(nomination, entry))
            uow.publish(contract.REGISTER_ENTRY_RECORDED, {"entry": entry_view(entry), "operator": operator})
            entries.append(entry_view(entry))
        reg.audit(now, "decision_recorded", f"decision {decision['number']} of {day.isoformat()} signed by "
                  f"{decision['signer']}: {len(found)} awards; operator={operator}")
        uow.commit()
    log.info("decision %s recorded: %d awards", decision["number"], len(entries))
    return {"number": decision["number"], "date": day.isoformat(), "entries": entries}


def _cannot_decide(nomination, uow, rules, register_check: str) -> str | None:
    if nomination is None:
        return "no such nomination / không có hồ sơ này"
    if nomination.status == domain.AWARDED:
        return f"already awarded by decision {nomination.decision['number']} / đã có quyết định khen thưởng"
    if nomination.status not in DECIDABLE:
        return f"is {nomination.status}, not approved / chưa được hội đồng thông qua"
    if register_check == register.STRICT:  # a title relied on may have been revoked since the vote
        person = domain.person_key(nomination.unit_id, nomination.nominee)
        used = Initiatives(uow.session).used_by_others(person, nomination.id) if person else set()
        verdict, _ = assess_with_register(nomination.body, nomination.unit_id, rules.by_id(nomination.rule_set),
                                          uow, used, register_check, held_against_revocations=True)
        if not verdict.eligible:
            return "; ".join(problem["message_en"] for problem in verdict.unmet)
    return None


def _enter(nomination, decision: dict, operator: str, reg: Register, rule_set, now) -> dict:
    nominee = nomination.nominee
    try:
        return reg.add({
            "holder_key": register.nominee_key(nomination.unit_id, nominee), "unit_id": nomination.unit_id,
            "nominee_kind": nominee["kind"], "employee_id": nominee.get("employee_id"),
            "nominee_name": domain.nominee_name(nominee), "award_code": nomination.award_code,
            "award_year": nomination.award_year, "decision_number": decision["number"],
            "decision_date": decision["date"], "signer": decision["signer"],
            "money": award_money(rule_set, nomination.award_code, nominee["kind"], decision["date"]),
            "state": register.AWARDED, "source": "decision", "nomination_id": nomination.id,
            "contact_email": nomination.contact_email, "nominee_email": nominee.get("email"),
            "recorded_at": now, "recorded_by": operator, "revocation": None})
    except EntryTaken:
        raise Conflict(_naming({nomination.id: "already awarded / đã có quyết định khen thưởng"})) from None


def _award(session, nomination, decision: dict, entry: dict, now) -> bool:
    """The status changes only from approved or proposed: a concurrent call that got there first wins."""
    record = {"number": decision["number"], "date": decision["date"].isoformat(), "signer": decision["signer"],
              "entry_id": entry["id"], "money": entry["money"]}
    history = [*nomination.history, {"at": now.isoformat(), "status": domain.AWARDED, "stage": nomination.stage,
                                     "event": "decision_recorded", "decision": record}]
    changed = session.execute(sa.update(nominations).where(
        nominations.c.id == nomination.id, nominations.c.status.in_(DECIDABLE)).values(
        status=domain.AWARDED, decision=record, history=history)).rowcount
    nomination.status, nomination.decision, nomination.history = domain.AWARDED, record, history
    return changed == 1


def close_not_awarded(request: dict, operator: str, uow, now) -> dict:
    """Nominations waiting for a decision that will not come, closed as ``not_awarded``: proposals
    (state-level awards) the central level did not award, and approvals the head will not decide (the
    council advises, the head decides), e.g. one whose claimed title was revoked after the vote, which
    ``record_decision`` refuses and would otherwise leave approved for ever."""
    with uow:
        repo = Nominations(uow.session)
        found, problems = [], {}
        for nomination_id in sorted(request["nomination_ids"]):
            nomination = repo.get(nomination_id, for_update=True)
            if nomination is None or nomination.status not in DECIDABLE:
                problems[nomination_id] = "not waiting for a decision (approved or proposed)"
            else:
                found.append(nomination)
        if problems:
            raise Conflict(_naming(problems))
        for nomination in found:
            record = {"number": request.get("number"), "reason": request["reason"],
                      "date": request["date"].isoformat() if request.get("date") else None}
            nomination.status, nomination.decision = domain.NOT_AWARDED, record
            nomination.history = [*nomination.history, {"at": now.isoformat(), "status": domain.NOT_AWARDED,
                                                        "stage": nomination.stage, "reasons": [request["reason"]]}]
            repo.save(nomination)
            uow.publish(contract.NOMINATION_NOT_AWARDED, {
                "nomination_id": nomination.id, "unit_id": nomination.unit_id, "reason": request["reason"],
                "award_code": nomination.award_code, "award_year": nomination.award_year,
                "nominee_name": domain.nominee_name(nomination.nominee), "contact_email": nomination.contact_email,
                "nominee_email": nomination.nominee.get("email"), "number": record["number"], "date": record["date"]})
        Register(uow.session).audit(now, "not_awarded", f"{len(found)} proposals closed; operator={operator}")
        uow.commit()
    return {"closed": [n.id for n in found]}


def pending_decisions(uow, limit: int = 5000) -> list[dict]:
    """Approved and proposed nominations still waiting for the head's (or the central level's) decision."""
    with uow:
        rows = uow.session.execute(sa.select(nominations).where(nominations.c.status.in_(DECIDABLE))
                                   .order_by(nominations.c.unit_id, nominations.c.award_code, nominations.c.id)
                                   .limit(limit)).mappings().all()
    return [{**domain.summary(domain.Nomination(**row)), "unit_id": row["unit_id"]} for row in rows]


def entry_view(entry: dict) -> dict:
    """An entry as events and answers carry it."""
    return {"entry_id": entry["id"], "unit_id": entry["unit_id"], "nominee_kind": entry["nominee_kind"],
            "employee_id": entry["employee_id"], "nominee_name": entry["nominee_name"],
            "award_code": entry["award_code"], "award_year": entry["award_year"],
            "decision": {"number": entry["decision_number"], "date": _iso(entry["decision_date"]),
                         "signer": entry["signer"]},
            "money": int(entry["money"]), "state": entry["state"], "source": entry["source"],
            "nomination_id": entry["nomination_id"], "contact_email": entry["contact_email"],
            "nominee_email": entry["nominee_email"]}


def awarded_event(nomination, entry: dict) -> dict:
    return {"nomination_id": nomination.id, "entry_id": entry["id"], "unit_id": nomination.unit_id,
            "award_code": nomination.award_code, "award_year": nomination.award_year,
            "nominee_name": domain.nominee_name(nomination.nominee),
            "decision": entry_view(entry)["decision"], "money": int(entry["money"]),
            "contact_email": nomination.contact_email, "nominee_email": nomination.nominee.get("email")}


def _naming(problems: dict) -> str:
    """The refusal of a whole call, naming each nomination refused and why; nothing was recorded."""
    return "nothing recorded: " + "; ".join(f"nomination {nid}: {why}" for nid, why in sorted(problems.items()))


def _iso(day) -> str:
    return day.isoformat() if hasattr(day, "isoformat") else str(day)
