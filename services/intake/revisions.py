"""Which dossier a council considers (standard library only): one truth between intake and review.

Intake owns the dossier while no council holds it; review owns "what is being considered" once a
council has put it on an agenda. Each dossier has a ``revision`` (1 when submitted, one more per
amendment) that travels with every event. Review takes an amendment only while the case waits or was
returned; otherwise it answers ``amendment_refused`` with the revision it holds. Intake then restores
that revision (it keeps the bodies review may still hold in ``superseded``), so the outcome of a vote is
always recorded on the award and year that were voted on, never on a later amendment.
"""
from __future__ import annotations

from datetime import datetime

from services.intake.domain import FINAL, IN_REVIEW, RETURNED, SUBMITTED, WITHDRAWN, Nomination, apply_review

REFUSED_REASON = ("Hội đồng đã đưa hồ sơ (lần sửa {considered}) vào phiên họp trước khi nhận bản sửa đổi lần "
                  "{refused}; bản sửa đổi không được xét. / The council had put revision {considered} on its "
                  "agenda before amendment {refused} arrived; the amendment was not considered.")


def restore(nomination: Nomination, revision: int | None, now: datetime, refused: int | None = None) -> bool:
    """Bring the dossier back to ``revision`` (the one review holds); True when the body changed.
    A revision intake no longer keeps (or a newer one) leaves the dossier as it is."""
    if revision is None or revision >= nomination.revision:
        return False
    kept = {entry["revision"]: entry["body"] for entry in nomination.superseded}
    if revision not in kept:
        return False
    dropped, body = refused or nomination.revision, kept[revision]
    nomination.body, nomination.award_code, nomination.award_year = body, body["award_code"], body["award_year"]
    nomination.revision, nomination.superseded = revision, []
    _note(nomination, now, "amendment_refused", revision=revision, refused_revision=dropped,
          reasons=[REFUSED_REASON.format(considered=revision, refused=dropped)])
    return True


def put_on_agenda(nomination: Nomination, event: dict, now: datetime) -> bool:
    """``review.nomination_on_agenda``: amendments are closed until the council returns it (the
    dossier goes back to the revision on the agenda if an amendment crossed the event). True when the
    body changed. Old news once an outcome of that sitting, or a return of that revision, was recorded
    (it overtook the agenda on the way): the dossier has moved on, to a later stage or back to the unit."""
    if nomination.status in FINAL or any(entry.get("sitting_id") == event["sitting_id"] and entry.get("event") in (
            "nomination_advanced", "nomination_decided") for entry in nomination.history) or _returned_since(
            nomination, event.get("revision")):
        return False
    restored = restore(nomination, event.get("revision"), now)
    nomination.superseded = []  # review holds this revision now: older bodies are never needed again
    if nomination.status in (SUBMITTED, RETURNED):
        nomination.status = IN_REVIEW
    nomination.stage = event["stage"]
    _note(nomination, now, "nomination_on_agenda", revision=nomination.revision, sitting_id=event["sitting_id"])
    return restored


def _returned_since(nomination: Nomination, revision: int | None) -> bool:
    """A return of ``revision`` or a later one is recorded: an agenda of it is older than the return (a
    returned case reaches an agenda again only as a later revision, after the unit's amendment)."""
    return revision is not None and any(
        entry.get("event") == "nomination_returned" and isinstance(entry.get("revision"), int)
        and entry["revision"] >= revision for entry in nomination.history)


def note_public_comment(nomination: Nomination, event: dict, now: datetime) -> bool:
    """``review.public_comment_opened``: noted in the history; the status stays (``in_review``, or
    ``submitted`` at a first council). The body never changes: False."""
    if nomination.status not in FINAL:
        _note(nomination, now, "public_comment", revision=event.get("revision"), comment_until=event["comment_until"])
    return False


def refuse_amendment(nomination: Nomination, event: dict, now: datetime) -> bool:
    """``review.amendment_refused``: restore the revision review holds; True when the body changed. A
    withdrawn or decided dossier is not restored (noted only): it claims nothing any more."""
    restored = nomination.status not in FINAL and restore(nomination, event["considered_revision"], now,
                                                          refused=event["revision"])
    if not restored:
        _note(nomination, now, "amendment_refused", revision=event["considered_revision"],
              refused_revision=event["revision"], reasons=list(event.get("reasons") or []))
    if nomination.status == SUBMITTED:
        nomination.status = IN_REVIEW
    return restored


def follow_return(nomination: Nomination, event: dict, now: datetime) -> bool:
    """``review.nomination_returned``. A return of revision N that crossed amendment N+1 was already
    answered by it (review takes an amendment of a returned case): the later revision stands and waits
    in review as it does here, so the return is only noted. True when the status changed."""
    revision = event.get("revision")
    if revision is None or revision >= nomination.revision:
        return apply_review(nomination, "nomination_returned", event, now)
    _note(nomination, now, "nomination_returned", revision=revision, answered_by_revision=nomination.revision,
          reasons=list(event.get("reasons") or []))
    return False


def withdrawal_crossed(nomination: Nomination, event_type: str, event: dict, now: datetime) -> bool:
    """A decision that crossed the unit's withdrawal stands: review never decides a withdrawn case and
    ignores the withdrawal of a decided one, so ``nomination_decided`` for a nomination intake withdrew
    means the council decided before it heard of the withdrawal. The dossier is opened again for the
    decision to be recorded (noted in its history); True when it was."""
    if nomination.status != WITHDRAWN or event_type != "nomination_decided":
        return False
    nomination.status = IN_REVIEW
    _note(nomination, now, "withdrawal_too_late", revision=event.get("revision"), sitting_id=event.get("sitting_id"))
    return True


def align(nomination: Nomination, event: dict, now: datetime) -> bool:
    """Before an outcome is recorded: the dossier is the one voted on. True when the body changed.
    Should that revision be gone, the outcome still names the award and year voted on."""
    revision = event.get("revision")
    if revision is None or revision == nomination.revision:
        return False
    if restore(nomination, revision, now):
        return True
    if event.get("award_code") and (event["award_code"], event.get("award_year")) != (
            nomination.award_code, nomination.award_year):
        nomination.award_code, nomination.award_year = event["award_code"], event["award_year"]
        nomination.body = {**nomination.body, "award_code": event["award_code"], "award_year": event["award_year"]}
        _note(nomination, now, "recorded_as_voted", revision=revision)
    return False


def _note(nomination: Nomination, now: datetime, event: str, **details) -> None:
    nomination.history = [*nomination.history, {"at": now.isoformat(), "status": nomination.status,
                                                "stage": nomination.stage, "event": event, **details}]
