"""Intake rules (standard library only): nominations as submitted by a unit, and unit credentials."""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

SUBMITTED, IN_REVIEW, RETURNED, WITHDRAWN = "submitted", "in_review", "returned", "withdrawn"
AWARDED, NOT_AWARDED = "awarded", "not_awarded"  # after the head's (or the central level's) decision
FINAL = ("approved", "proposed", "rejected", WITHDRAWN, AWARDED, NOT_AWARDED)
LIVE = (SUBMITTED, IN_REVIEW, RETURNED)  # a council may still consider it
FIRST_STAGE = "unit"
ACHIEVEMENTS_SUMMARY = 2000  # characters of the achievement report the public comment list shows (the event's bound)
VIETNAM = timezone(timedelta(hours=7))  # no daylight saving


def submission_date(now: datetime) -> date:
    """The date in Vietnam, which picks the rule set in force."""
    return now.astimezone(VIETNAM).date()


class NotAllowed(Exception):
    """The nomination's status does not allow this change."""


@dataclass
class Nomination:
    id: str
    unit_id: str
    submission_key: str
    fingerprint: str
    award_code: str
    award_year: int
    body: dict
    status: str
    stage: str
    submitted_at: datetime
    rule_set: str
    history: list = field(default_factory=list)
    # the dossier's revision: 1 when submitted, one more for each amendment; it travels in every event
    # of the nomination, so review knows which dossier a council considers and can tell an old
    # amendment from a newer one (a withdrawal carries the revision it withdraws)
    revision: int = 1
    superseded: list = field(default_factory=list)  # [{"revision", "body"}] review may still hold
    register_notes: list | None = None  # what the register check found (services.intake.register)
    decision: dict | None = None  # the head's decision once awarded (or the close of a proposal)

    @property
    def nominee(self) -> dict:
        return self.body["nominee"]

    @property
    def contact_email(self) -> str:
        return self.body["contact_email"]


def fingerprint(body: dict) -> str:
    """Identifies a submission's content: the same body always gives the same fingerprint."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def new_nomination(body: dict, unit_id: str, rule_set: str, now: datetime) -> Nomination:
    return Nomination(
        id=uuid.uuid4().hex, unit_id=unit_id, submission_key=body["submission_key"],
        fingerprint=fingerprint(body), award_code=body["award_code"], award_year=body["award_year"],
        body=body, status=SUBMITTED, stage=FIRST_STAGE, submitted_at=now, rule_set=rule_set,
        history=[{"at": now.isoformat(), "status": SUBMITTED, "stage": FIRST_STAGE}],
    )


def person_key(unit_id: str, nominee: dict) -> str | None:
    """Whose initiatives these are: individuals only, by unit and employee id."""
    return f"{unit_id}:{nominee['employee_id']}" if nominee["kind"] == "individual" else None


def amend(nomination: Nomination, body: dict, now: datetime) -> bool:
    """Replace the body of a submitted or returned nomination; True when it goes back to review."""
    if nomination.status not in (SUBMITTED, RETURNED):
        raise NotAllowed(f"a nomination that is {nomination.status} cannot be amended")
    resubmitted = nomination.status == RETURNED
    if (body["award_code"], body["award_year"]) != (nomination.award_code, nomination.award_year):
        nomination.stage = FIRST_STAGE  # a new title starts its pipeline again, as review restarts the case
    nomination.superseded = [*nomination.superseded, {"revision": nomination.revision, "body": nomination.body}]
    nomination.revision += 1
    nomination.body, nomination.award_code, nomination.award_year = body, body["award_code"], body["award_year"]
    nomination.status = IN_REVIEW if resubmitted else SUBMITTED
    nomination.history = [*nomination.history, {"at": now.isoformat(), "status": nomination.status,
                                                "stage": nomination.stage, "event": "amended",
                                                "revision": nomination.revision}]
    return resubmitted


def withdraw(nomination: Nomination, reason: str, now: datetime) -> None:
    if nomination.status in FINAL:
        raise NotAllowed(f"a nomination that is {nomination.status} cannot be withdrawn")
    nomination.status = WITHDRAWN
    nomination.history = [*nomination.history, {"at": now.isoformat(), "status": WITHDRAWN,
                                                "stage": nomination.stage, "reasons": [reason] if reason else []}]


def apply_review(nomination: Nomination, event_type: str, event: dict, now: datetime) -> bool:
    """Follow review's outcome events; a final status never changes again. True if anything changed.
    (The caller first aligns the dossier on the revision review considered: ``revisions.align``.)"""
    if nomination.status in FINAL:
        return False
    status = {"nomination_advanced": IN_REVIEW, "nomination_returned": RETURNED}.get(
        event_type, event.get("outcome"))
    nomination.status, nomination.stage = status, event["stage"]
    entry = {"at": event.get("decided_at") or now.isoformat(), "status": status, "stage": event["stage"],
             "event": event_type, "reasons": event.get("reasons", [])}
    if event.get("tally"):
        entry["tally"] = event["tally"]
    if event.get("sitting_id"):  # an agenda event of this sitting arriving later is old news
        entry["sitting_id"] = event["sitting_id"]
    if event_type == "nomination_returned" and event.get("revision") is not None:
        entry["revision"] = event["revision"]  # so is an agenda event of this revision (or an earlier one)
    nomination.history = [*nomination.history, entry]
    return True


def nominee_name(nominee: dict) -> str:
    return nominee.get("full_name") or nominee.get("name")


def submitted_event(nomination: Nomination) -> dict:
    """Payload of ``intake.nomination_submitted``."""
    nominee = nomination.nominee
    return {
        "nomination_id": nomination.id,
        "unit_id": nomination.unit_id,
        "award_code": nomination.award_code,
        "award_year": nomination.award_year,
        "nominee": {"kind": nominee["kind"], "name": nominee_name(nominee), "email": nominee.get("email"),
                    "gender": nominee.get("gender"), "direct_worker": nominee.get("direct_worker", False),
                    "members_total": nominee.get("members_total"),
                    "members_female": nominee.get("members_female"),
                    **({"position": nominee["position"]} if nominee.get("position") else {})},
        "contact_email": nomination.contact_email,
        "submitted_at": nomination.submitted_at.isoformat(),
        "rule_set": nomination.rule_set,
        "revision": nomination.revision,
        "dossier": dossier(nomination.body),
        "register_notes": nomination.register_notes or [],
        "achievements": (nomination.body.get("achievements") or "")[:ACHIEVEMENTS_SUMMARY],
    }


def dossier(body: dict) -> dict:
    """What a council member reads on the ballot page (the documents by name only)."""
    history = [{"year": row["year"], "rating": row["rating"], "titles": row.get("titles", []),
                "adhoc_titles": row.get("adhoc_titles", []), "initiatives": row.get("initiatives", []),
                "disciplined": row.get("disciplined", False)} for row in body.get("history", [])]
    return {"achievements": body.get("achievements", ""), "history": history,
            "documents": [{"kind": d["kind"], "filename": d["filename"]} for d in body.get("documents", [])]}


def withdrawn_event(nomination: Nomination, reason: str) -> dict:
    """Payload of ``intake.nomination_withdrawn``."""
    return {"nomination_id": nomination.id, "unit_id": nomination.unit_id, "reason": reason,
            "revision": nomination.revision}


def view(nomination: Nomination) -> dict:
    """What ``get_nomination`` answers: the body with status, stage and history."""
    return {**nomination.body, "nomination_id": nomination.id, "unit_id": nomination.unit_id,
            "status": nomination.status, "stage": nomination.stage, "rule_set": nomination.rule_set,
            "submitted_at": nomination.submitted_at.isoformat(), "revision": nomination.revision,
            "history": nomination.history, "register_notes": nomination.register_notes or [],
            "decision": nomination.decision}


def summary(nomination: Nomination) -> dict:
    """One line of ``list_nominations``."""
    return {"nomination_id": nomination.id, "submission_key": nomination.submission_key,
            "award_code": nomination.award_code, "award_year": nomination.award_year,
            "nominee_name": nominee_name(nomination.nominee), "status": nomination.status,
            "stage": nomination.stage, "submitted_at": nomination.submitted_at.isoformat()}


def receipt(nomination: Nomination, duplicate: bool) -> dict:
    """What ``submit_nomination`` answers."""
    return {"nomination_id": nomination.id, "status": nomination.status, "duplicate": duplicate}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored only as this digest; a 256-bit random token needs no slow hash. Whatever a caller
    sent is digested (a lone surrogate, which JSON can carry, too): it matches no stored token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class KnownTokens:
    """Which unit each token digest belongs to, as this process has learnt it (the ``size`` most recently
    used). A digest never changes unit, but a token can be revoked: this is only a hint, and whoever
    acts on it checks the token again in the statement that acts (a submission's insert), so a revoked
    token is refused at once, whatever is remembered here."""

    def __init__(self, size: int = 4096):
        self.size, self._units = size, OrderedDict()

    def unit_for(self, digest: str) -> str | None:
        unit_id = self._units.get(digest)
        if unit_id is not None:
            self._units.move_to_end(digest)
        return unit_id

    def learn(self, digest: str, unit_id: str) -> str:
        self._units[digest] = unit_id
        self._units.move_to_end(digest)
        while len(self._units) > self.size:
            self._units.popitem(last=False)
        return unit_id

    def forget(self, digest: str) -> None:
        self._units.pop(digest, None)
