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
    ``record_decision``, which checks the register again).

    Each item names the revision intake re-checked (r; none from an intake before c96fd86). A case that
    holds a newer one holds the unit's answer, which passed the register check with the revocation seen:
    it stays. A case no council has held since its last (re)submission that holds an older one (the
    amendments up to r come on a queue of their own) goes back, or stays back, and the return waits for
    amendment r (:func:`unanswered`): the case takes it returned and ``nomination_returned`` goes out
    then, of that dossier, which intake holds."""
    with uow:
        if not uow.claim_message():
            return
        repo = Reviews(uow.session)
        _mark_revoked(repo, event)
        for item in event["affected"]:
            revision = item.get("revision")
            repo.lock_nomination(item["nomination_id"])
            case = repo.case(item["nomination_id"], for_update=True)
            if case is None:  # its submission comes later (the two come on queues of their own): kept for it
                early.keep_return(repo, item["nomination_id"], revision, [_note(event, item, revision)])
                continue
            if not returns(case, revision):
                continue
            if case["considered"] and revision is not None:  # a newer revision crossed the agenda: refused,
                revision = min(revision, case["revision"] or 1)  # intake goes back to what the council holds
            notes = [*(case["register_notes"] or []), *settle(uow, case, [_note(event, item, revision)])]
            repo.update_case(case["nomination_id"], state=domain.RETURNED, sitting_id=None, register_notes=notes)
        uow.commit()


REVOKED_NOTE = "register_entry_revoked"


def _note(event: dict, item: dict, revision: int | None) -> dict:
    """The case's note of a return for a revoked entry; with its ``reasons`` until it is announced."""
    return {"code": REVOKED_NOTE, "title": event["entry"]["award_code"], "year": event["entry"]["award_year"],
            "message": item["reasons"][0][:500], "message_en": item["reasons"][0][:500],
            **({"revision": revision} if revision else {}), "reasons": item["reasons"]}


def returns(case: dict, revision: int | None) -> bool:
    """Whether a revocation's return, intake having re-checked ``revision`` of the dossier, applies to
    ``case``: not when the case holds a newer revision; yes when a council may still take it; and when it
    was returned already and no council has held it since, yes if intake re-checked a newer revision than
    its returns cover (one the unit sent after the return, that review has not heard of yet: it must not
    reopen the case). A case a council held refuses amendments that crossed its agenda, and intake goes
    back to the revision the council holds, so a newer revision there is not one the case will take."""
    if revision is not None and revision < (case["revision"] or 1):
        return False
    if case["state"] in RETURNABLE:
        return True
    return case["state"] == domain.RETURNED and not case["considered"] and revision is not None and revision > max(
        [case["revision"] or 1, *(note["revision"] for note in _revoked_notes(case))])


def settle(uow, case: dict, notes: list[dict]) -> list[dict]:
    """``notes`` of ``case``'s returns for revoked entries as the case keeps them, those due announced now
    in one ``nomination_returned`` (see :func:`early.due`)."""
    notes, reasons = early.due(case, notes)
    if reasons:
        announce_return(uow, case, reasons)
    return notes


def unanswered(case: dict, revision: int | None) -> list[dict]:
    """The returns of a returned ``case`` that an amendment of ``revision`` does not answer: those for
    which intake re-checked that revision or a later one (the amendment is a dossier found no longer
    holding, that came after the return). The case takes such an amendment and stays returned."""
    if case["state"] != domain.RETURNED or revision is None:
        return []
    return [note for note in _revoked_notes(case) if note["revision"] >= revision]


def _revoked_notes(case: dict) -> list[dict]:
    return [note for note in case.get("register_notes") or [] if note.get("code") == REVOKED_NOTE
            and isinstance(note.get("revision"), int) and not isinstance(note["revision"], bool)]


def announce_return(uow, case: dict, reasons: list[str]) -> None:
    """``nomination_returned`` of a case returned because a register entry it relied on was revoked; named
    for the mail as review's other returns are (``handlers.send_back``)."""
    uow.publish(contract.NOMINATION_RETURNED, {
        "nomination_id": case["nomination_id"], "stage": case["stage"], "reasons": reasons,
        "unit_id": case["unit_id"], "contact_email": case["contact_email"],
        "nominee_email": case["nominee"].get("email"), **domain.voted_on(case),
        **domain.names(case, Reviews(uow.session).unit_names({case["unit_id"]}))})
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
