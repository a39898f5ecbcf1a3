"""Intake's events of one nomination, in whatever order they arrive (issue #21, finding 6).

Nothing keeps them in order on the way: with two intake replicas two outbox relays publish side by
side (``FOR UPDATE SKIP LOCKED``), an unroutable row is retried later, and a failed handler's retry
comes back after newer messages. So ``nomination_amended`` or ``nomination_withdrawn`` may be handled
before ``nomination_submitted``, and an older amendment after a newer one. Each of intake's events
carries the dossier's ``revision`` (1 when submitted, one more per amendment), and:

- an amendment or withdrawal handled before its submission is kept (a withdrawal, being final, wins
  over any amendment; otherwise the newer revision wins) and applied when the submission arrives;
- an amendment not newer than the revision the case holds is ignored (a withdrawal always applies).

Both take a lock on the nomination id to the end of the transaction (``Reviews.lock_nomination``), so
a submission and an early event handled at the same moment by two instances see each other.
"""
from __future__ import annotations

import logging

from services.review import domain

log = logging.getLogger(__name__)

AMENDED, WITHDRAWN = "amended", "withdrawn"


def stale(handled: int | None, revision: int | None) -> bool:
    """An event of ``revision`` is old news once review handled ``handled`` (unknown: never old)."""
    return handled is not None and revision is not None and revision <= handled


def replaces(kept: dict | None, kind: str, revision: int | None) -> bool:
    """Whether an early event of ``kind`` and ``revision`` is kept instead of ``kept``."""
    if kept is None:
        return True
    if kept["kind"] == WITHDRAWN:
        return False
    return kind == WITHDRAWN or not stale(kept["revision"], revision)


def arrival(repo, kind: str, event: dict) -> dict | None:
    """The case an amendment or withdrawal applies to, locked; None when there is nothing to apply
    now: no case yet (the event is kept for it), or the amendment is old news. Whether the case takes
    an amendment, and so its revision, is the caller's to decide."""
    nomination_id, revision = event["nomination_id"], event.get("revision")
    repo.lock_nomination(nomination_id)
    case = repo.case(nomination_id, for_update=True)
    if case is None:
        if replaces(repo.early_event(nomination_id), kind, revision):
            repo.keep_early(nomination_id, kind, revision, event)
        log.info("nomination %s: %s (revision %s) came before its submission; kept", nomination_id, kind, revision)
        return None
    if kind == AMENDED and stale(case["revision"], revision):
        log.info("nomination %s: amendment revision %s is not newer than %s; ignored", nomination_id, revision,
                 case["revision"])
        return None
    return case


def admit(repo, event: dict, now, locked: bool = False) -> bool:
    """Add the case of ``nomination_submitted`` with what came before it applied; True when added.
    ``locked``: the caller took the nomination's lock already, in an earlier statement."""
    nomination_id = event["nomination_id"]
    if not locked:
        repo.lock_nomination(nomination_id)
    submitted = {**domain.case_from_submission(event, now), "revision": event.get("revision")}
    if repo.add_case_unless_early(submitted):
        return True  # the usual order: nothing came before it (one statement, under the lock)
    kept = repo.take_early(nomination_id) or {"kind": None, "revision": None}
    if kept["kind"] == AMENDED:  # an amendment is the whole nomination
        case = {**domain.case_from_submission(kept["payload"], now), "revision": kept["payload"].get("revision")}
    else:
        case = submitted
    if kept["kind"] == WITHDRAWN:
        case.update(state=domain.WITHDRAWN, revision=kept["revision"])
        log.info("nomination %s was withdrawn before its submission arrived", nomination_id)
    return repo.add_case(case)
