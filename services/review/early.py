"""Intake's events of one nomination, in whatever order they arrive (issue #21, finding 6).

Nothing keeps them in order on the way: with two intake replicas two outbox relays publish side by
side (``FOR UPDATE SKIP LOCKED``), an unroutable row is retried later, and a failed handler's retry
comes back after newer messages. So ``nomination_amended`` or ``nomination_withdrawn`` may be handled
before ``nomination_submitted``, and an older amendment after a newer one. Each of intake's events
carries the dossier's ``revision`` (1 when submitted, one more per amendment), and:

- an amendment or withdrawal handled before its submission is kept (a withdrawal, being final, wins
  over any amendment; otherwise the newer revision wins) and applied when the submission arrives;
- an amendment not newer than the revision the case holds is ignored (a withdrawal always applies).
- a return for a revoked register entry (``register_entry_revoked`` lists the nomination, with the
  revision intake re-checked) handled before its submission is kept too, and the case opens returned;
  an amendment newer than that revision passed the register check with the revocation seen, so it
  replaces the return; an older one is kept with it (the case opens with its dossier, returned). A case
  that opens with an older dossier than the one re-checked takes the amendments up to it still returned,
  and the return is announced with that one (:func:`due`, ``register.unanswered``).

Both take a lock on the nomination id to the end of the transaction (``Reviews.lock_nomination``), so
a submission and an early event handled at the same moment by two instances see each other.
"""
from __future__ import annotations

import logging

from services.review import domain

log = logging.getLogger(__name__)

AMENDED, WITHDRAWN, RETURNED = "amended", "withdrawn", "returned"
MAX_REASONS = 50  # what nomination_returned carries (ReviewOutcome.reasons)


def stale(handled: int | None, revision: int | None) -> bool:
    """An event of ``revision`` is old news once review handled ``handled`` (unknown: never old)."""
    return handled is not None and revision is not None and revision <= handled


def replaces(kept: dict | None, kind: str, revision: int | None) -> bool:
    """Whether an early event of ``kind`` and ``revision`` is kept instead of ``kept``. A kept return
    (its revision: the one intake re-checked; unknown: it stands) gives way to a withdrawal, or to an
    amendment of a newer revision."""
    if kept is None:
        return True
    if kept["kind"] == WITHDRAWN:
        return False
    if kept["kind"] == RETURNED and kind == AMENDED and kept["revision"] is None:
        return False
    return kind == WITHDRAWN or not stale(kept["revision"], revision)


def keep_return(repo, nomination_id: str, revision: int | None, notes: list[dict]) -> None:
    """A return for a revoked register entry (``notes``: the case's notes of it, each with the
    ``reasons`` to announce) of a nomination whose submission has not arrived, of ``revision`` (the one
    intake re-checked); the caller holds the nomination's lock. An amendment kept already that is not
    newer goes with it; a newer one, or a withdrawal, stays instead; a return kept already adds its notes
    (the newer revision; one of them without a revision stands against any amendment, and so do both)."""
    kept = repo.early_event(nomination_id)
    amended = None
    if kept is not None:
        if kept["kind"] == WITHDRAWN or (kept["kind"] == AMENDED and revision is not None
                                        and not stale(revision, kept["revision"])):
            log.info("nomination %s: a return for revision %s came before its submission; %s %s kept instead",
                     nomination_id, revision, kept["kind"], kept["revision"])
            return
        if kept["kind"] == AMENDED:
            amended = kept["payload"]
        else:  # another revocation's return
            amended, notes = kept["payload"].get("amended"), [*kept["payload"]["notes"], *notes]
            revision = None if None in (revision, kept["revision"]) else max(revision, kept["revision"])
    repo.keep_early(nomination_id, RETURNED, revision, {"notes": notes, "amended": amended})
    log.info("nomination %s: returned (revision %s) before its submission came; kept", nomination_id, revision)


def arrival(repo, kind: str, event: dict) -> dict | None:
    """The case an amendment or withdrawal applies to, locked; None when there is nothing to apply
    now: no case yet (the event is kept for it), or the amendment is old news. Whether the case takes
    an amendment, and so its revision, is the caller's to decide."""
    nomination_id, revision = event["nomination_id"], event.get("revision")
    repo.lock_nomination(nomination_id)
    case = repo.case(nomination_id, for_update=True)
    if case is None:
        kept = repo.early_event(nomination_id)
        if replaces(kept, kind, revision):
            repo.keep_early(nomination_id, kind, revision, event)
        elif kept["kind"] == RETURNED and kind == AMENDED and not stale(
                (kept["payload"].get("amended") or {}).get("revision"), revision):
            repo.keep_early(nomination_id, RETURNED, kept["revision"], {**kept["payload"], "amended": event})
        log.info("nomination %s: %s (revision %s) came before its submission; kept", nomination_id, kind, revision)
        return None
    if kind == AMENDED and stale(case["revision"], revision):
        log.info("nomination %s: amendment revision %s is not newer than %s; ignored", nomination_id, revision,
                 case["revision"])
        return None
    return case


def admit(repo, event: dict, now, locked: bool = False, on_return=None) -> bool:
    """Add the case of ``nomination_submitted`` with what came before it applied; True when added.
    ``locked``: the caller took the nomination's lock already, in an earlier statement. A kept return
    adds the case returned, and ``on_return(case, reasons)`` announces it, unless intake re-checked a
    newer revision than the case opens with: then the amendment of that revision announces it (``due``)."""
    nomination_id = event["nomination_id"]
    if not locked:
        repo.lock_nomination(nomination_id)
    submitted = {**domain.case_from_submission(event, now), "revision": event.get("revision")}
    if repo.add_case_unless_early(submitted):
        return True  # the usual order: nothing came before it (one statement, under the lock)
    kept = repo.take_early(nomination_id) or {"kind": None, "revision": None}
    amendment = kept["payload"] if kept["kind"] == AMENDED else (
        kept["payload"].get("amended") if kept["kind"] == RETURNED else None)
    if amendment is not None:  # an amendment is the whole nomination
        case = {**domain.case_from_submission(amendment, now), "revision": amendment.get("revision")}
    else:
        case = submitted
    if kept["kind"] == WITHDRAWN:
        case.update(state=domain.WITHDRAWN, revision=kept["revision"])
        log.info("nomination %s was withdrawn before its submission arrived", nomination_id)
    reasons = []
    if kept["kind"] == RETURNED:
        notes, reasons = due(case, kept["payload"]["notes"])
        case.update(state=domain.RETURNED, register_notes=[*(case.get("register_notes") or []), *notes])
        log.info("nomination %s was returned (a register entry revoked) before its submission arrived",
                 nomination_id)
    added = repo.add_case(case)
    if added and reasons and on_return is not None:
        on_return(case, reasons)
    return added


def due(case: dict, notes: list[dict]) -> tuple[list[dict], list[str]]:
    """The notes of returns for revoked entries as ``case`` keeps them, and the reasons to announce now:
    a note still to be announced keeps its ``reasons``; it is due when intake re-checked a revision the
    case holds (or did not say which). One of a newer revision waits for that amendment, which the case
    takes returned (``register.unanswered``), so that the return is announced once, of the dossier intake
    holds."""
    held, kept, reasons = case["revision"] or 1, [], []
    for note in notes:
        if "reasons" in note and (note.get("revision") is None or note["revision"] <= held):
            reasons.extend(note["reasons"])
            note = {key: value for key, value in note.items() if key != "reasons"}
        kept.append(note)
    return kept, reasons[:MAX_REASONS]
