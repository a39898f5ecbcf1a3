"""The register's use cases beside decisions: import of past awards, look-ups, and revocation.

Revocation (Law 06/2022 Art. 93(2) a-d): the entry becomes ``revoked`` with the money to recover (nothing
is deleted); every live nomination of that person is checked again with the register as it now stands,
and those that no longer hold are listed in ``register_entry_revoked``, which review answers through its
return path (``nomination_returned``, which intake and notify follow), so intake and review never
disagree about who holds a dossier. Approved nominations still waiting for their decision are caught by
``record_decision``, which checks the claims again.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from services.intake import domain, register
from services.intake.decisions import entry_view
from services.intake.handlers import assess_with_register
from services.intake.models import Initiatives, nominations
from services.intake.register_store import Register
from shared import contract
from shared.contract.errors import Conflict, NotFound, ValidationError
from shared.law.money import award_money

log = logging.getLogger(__name__)


def import_register(rows: list[dict], operator: str, uow, rules, now) -> dict:
    """Past awards, one row each; idempotent (an award already entered under the same decision is
    skipped). The rows were validated whole before this call: nothing is imported unless all parse."""
    _money_known(rows, rules)
    added = 0
    with uow:
        reg = Register(uow.session)
        for row in rows:
            day = row["decision_date"]
            values = {
                "holder_key": register.holder_key(row["unit_id"], row["nominee_kind"], row["employee_id"],
                                                  row["nominee_name"]),
                "unit_id": row["unit_id"], "nominee_kind": row["nominee_kind"], "employee_id": row["employee_id"],
                "nominee_name": row["nominee_name"], "award_code": row["award_code"],
                "award_year": row["award_year"], "decision_number": row["decision_number"], "decision_date": day,
                "signer": row.get("signer"), "state": register.AWARDED, "source": "import",
                "money": row["money"] if row.get("money") is not None else award_money(
                    rules.in_force(day), row["award_code"], row["nominee_kind"], day),
                "nomination_id": None, "contact_email": None, "nominee_email": row.get("email"),
                "recorded_at": now, "recorded_by": operator, "revocation": None}
            entry = reg.add_if_new(values)
            if entry is not None:
                added += 1
                uow.publish(contract.REGISTER_ENTRY_RECORDED, {"entry": entry_view(entry), "operator": operator})
        reg.audit(now, "register_imported", f"{added} of {len(rows)} rows entered; operator={operator}")
        uow.commit()
    return {"rows": len(rows), "added": added, "skipped": len(rows) - added}


def _money_known(rows: list[dict], rules) -> None:
    """A row without ``money`` takes it from the rule set in force on its decision's date; one signed
    before any rule set (the first is NĐ 91/2017) must say it: ``ValidationError`` naming every such row,
    before anything is entered."""
    problems = {}
    for index, row in enumerate(rows):
        if row.get("money") is None:
            try:
                rules.in_force(row["decision_date"])
            except LookupError:
                problems[str(index)] = {"money": [
                    f"required: no rule set (and no award money) is in force on {row['decision_date'].isoformat()} "
                    "/ cần ghi số tiền thưởng của quyết định này"]}
    if problems:
        raise ValidationError({"rows": problems})


def show(query: dict, uow) -> list[dict]:
    with uow:
        found = Register(uow.session).find(query["unit_id"], query.get("employee_id"), query.get("award_year"))
    return [{**entry_view(e), "recorded_by": e["recorded_by"], "revocation": e["revocation"]} for e in found]


def totals(award_year, uow) -> dict:
    with uow:
        reg = Register(uow.session)
        rows, first_year = reg.totals(award_year), reg.first_year()
    awarded = [r for r in rows if r["state"] == register.AWARDED]
    revoked = [r for r in rows if r["state"] == register.REVOKED]
    return {"award_year": award_year, "first_year": first_year, "by_award": rows,
            "awarded": sum(r["count"] for r in awarded), "money": sum(r["money"] for r in awarded),
            "revoked": sum(r["count"] for r in revoked), "money_to_recover": sum(r["money"] for r in revoked)}


def revoke(request: dict, operator: str, uow, rules, now, register_check=register.STRICT) -> dict:
    with uow:
        reg = Register(uow.session)
        entry = reg.get(request["entry_id"], for_update=True)
        if entry is None:
            raise NotFound(f"no register entry {request['entry_id']!r}")
        decided = entry["decision_date"]
        if decided is not None and request["date"] < decided:  # one cannot cancel what is not yet signed
            raise ValidationError({"date": [f"{request['date'].isoformat()} is before the decision it cancels "
                                            f"({decided.isoformat()}) / quyết định hủy bỏ ghi ngày trước quyết "
                                            "định khen thưởng"]})
        revocation = {"ground": request["ground"], "number": request["decision_number"],
                      "date": request["date"].isoformat(), "reason": request["reason"],
                      "money_to_recover": int(entry["money"]), "by": operator, "at": now.isoformat()}
        # a submission reading the entry as awarded commits first; taken before the entry is changed, so
        # that nothing waits for this transaction while it waits here (a decision's insert of the same
        # award, holding the lock shared, would wait for a changed row: a deadlock)
        reg.lock_holder(entry["holder_key"])
        if not reg.revoke(entry["id"], revocation):
            raise Conflict(f"register entry {entry['id']} is already revoked")
        entry = {**entry, "state": register.REVOKED, "revocation": revocation}
        affected = recheck(entry, uow, rules, register_check)
        uow.publish(contract.REGISTER_ENTRY_REVOKED, {
            "entry": entry_view(entry), "ground": request["ground"], "reason": request["reason"],
            "revocation": {"number": request["decision_number"], "date": request["date"].isoformat(),
                           "signer": None},
            "money_to_recover": int(entry["money"]), "affected": affected, "operator": operator})
        reg.audit(now, "register_revoked", f"entry {entry['id']} ({entry['award_code']} {entry['award_year']}, "
                  f"{entry['holder_key']}) revoked by {request['decision_number']}, Art. 93(2)({request['ground']}); "
                  f"{len(affected)} live nominations returned; operator={operator}")
        uow.commit()
    log.info("register entry %s revoked: %d live nominations no longer hold", entry["id"], len(affected))
    return {**entry_view(entry), "revocation": revocation, "affected": affected}


def recheck(entry: dict, uow, rules, register_check: str) -> list[dict]:
    """The holder's live nominations checked again: those that no longer hold, with the reasons."""
    rows = uow.session.execute(sa.select(nominations).where(
        nominations.c.unit_id == entry["unit_id"], nominations.c.status.in_(domain.LIVE))).mappings().all()
    affected, ledger = [], Initiatives(uow.session)
    for row in rows:
        nomination = domain.Nomination(**row)
        if register.nominee_key(nomination.unit_id, nomination.nominee) != entry["holder_key"]:
            continue
        person = domain.person_key(nomination.unit_id, nomination.nominee)
        used = ledger.used_by_others(person, nomination.id) if person else set()
        verdict, _ = assess_with_register(nomination.body, nomination.unit_id, rules.by_id(nomination.rule_set),
                                          uow, used, register.STRICT if register_check != register.OFF else register.OFF)
        if not verdict.eligible:
            reasons = [f"{problem['message']} / {problem['message_en']}" for problem in verdict.unmet]
            affected.append({"nomination_id": nomination.id, "revision": nomination.revision, "reasons": [
                f"Khen thưởng {entry['award_code']} năm {entry['award_year']} đã bị hủy bỏ "
                f"(Luật TĐKT Điều 93) / The {entry['award_code']} award for {entry['award_year']} was revoked.",
                *reasons]})
    return affected
