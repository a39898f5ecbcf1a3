"""Review follows the award register that intake keeps (#17): a case learns of the head's decision, and
a case that relied on a revoked award is returned to its unit through the ordinary return path.

Both handlers are idempotent through the inbox and take the nomination's advisory lock, like intake's
other events, so they serialise with a submission or withdrawal of the same nomination.
"""
from __future__ import annotations

import logging

from services.review import domain, early
from services.review.repository import Reviews
from shared import contract

log = logging.getLogger(__name__)
RETURNABLE = (domain.WAITING, domain.PUBLIC_COMMENT, domain.ON_AGENDA)  # every state a council may still take


def record_award(event: dict, uow) -> None:
    """``intake.nomination_awarded``: the decided case keeps the decision that made it an award."""
    with uow:
        if not uow.claim_message():
            return
        repo = Reviews(uow.session)
        repo.lock_nomination(event["nomination_id"])
        case = repo.case(event["nomination_id"], for_update=True)
        if case is not None:
            known = case.get("decision") or {}
            # its revocation may have arrived first (the two events have handlers of their own): it stays
            revoked = known.get("revoked") if known.get("entry_id") == event["entry_id"] else None
            repo.update_case(event["nomination_id"], decision={**event["decision"], "entry_id": event["entry_id"],
                                                               "money": event["money"],
                                                               **({"revoked": revoked} if revoked else {})})
        uow.commit()


def return_after_revocation(event: dict, uow) -> None:
    """``intake.register_entry_revoked``: each live nomination that no longer holds without the revoked
    award goes back to its unit with the reasons (``nomination_returned``); one on an open sitting's
    agenda leaves it (the sitting ignores its marks), one under public comment leaves the public list. A
    case already returned, decided or withdrawn is left as it is (a decided one is stopped by
    ``record_decision``, which checks the register again)."""
    with uow:
        if not uow.claim_message():
            return
        repo = Reviews(uow.session)
        _mark_revoked(repo, event)
        for item in event["affected"]:
            repo.lock_nomination(item["nomination_id"])
            case = repo.case(item["nomination_id"], for_update=True)
            note = {"code": "register_entry_revoked", "title": event["entry"]["award_code"],
                    "year": event["entry"]["award_year"], "message": item["reasons"][0][:500],
                    "message_en": item["reasons"][0][:500]}
            if case is None:  # its submission comes later (the two come on queues of their own): kept for it
                early.keep_return(repo, item["nomination_id"], item.get("revision"),
                                  {"reasons": item["reasons"], "notes": [note]})
                continue
            if case["state"] not in RETURNABLE:
                continue
            notes = [*(case["register_notes"] or []), note]
            repo.update_case(case["nomination_id"], state=domain.RETURNED, sitting_id=None, register_notes=notes)
            announce_return(uow, case, item["reasons"])
        uow.commit()


def announce_return(uow, case: dict, reasons: list[str]) -> None:
    """``nomination_returned`` of a case returned because a register entry it relied on was revoked."""
    uow.publish(contract.NOMINATION_RETURNED, {
        "nomination_id": case["nomination_id"], "stage": case["stage"], "reasons": reasons,
        "unit_id": case["unit_id"], "contact_email": case["contact_email"],
        "nominee_email": case["nominee"].get("email"), **domain.voted_on(case)})
    log.info("nomination %s returned: a register entry it relied on was revoked", case["nomination_id"])


def _mark_revoked(repo: Reviews, event: dict) -> None:
    """The case the revoked entry was decided on keeps its decision, marked revoked (Law Art. 93): it is
    no longer an award in the statistics."""
    nomination_id = event["entry"].get("nomination_id")
    if not nomination_id:
        return
    repo.lock_nomination(nomination_id)
    case = repo.case(nomination_id, for_update=True)
    if case is None:
        return
    # before its award is learnt (the events may cross), the mark waits under the entry's id for it
    decision = case.get("decision") or {"entry_id": event["entry"].get("entry_id")}
    repo.update_case(nomination_id, decision={**decision, "revoked": {
        "number": event["revocation"]["number"], "date": event["revocation"]["date"], "ground": event["ground"]}})
