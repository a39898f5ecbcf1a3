"""Intake rules (standard library only): nominations as submitted by a unit, and unit credentials."""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

SUBMITTED = "submitted"
FIRST_STAGE = "unit"


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
    history: list = field(default_factory=list)

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


def new_nomination(body: dict, unit_id: str, now: datetime) -> Nomination:
    return Nomination(
        id=uuid.uuid4().hex, unit_id=unit_id, submission_key=body["submission_key"],
        fingerprint=fingerprint(body), award_code=body["award_code"], award_year=body["award_year"],
        body=body, status=SUBMITTED, stage=FIRST_STAGE, submitted_at=now,
        history=[{"at": now.isoformat(), "status": SUBMITTED, "stage": FIRST_STAGE}],
    )


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
        "nominee": {"kind": nominee["kind"], "name": nominee_name(nominee),
                    "email": nominee.get("email"), "gender": nominee.get("gender")},
        "contact_email": nomination.contact_email,
        "submitted_at": nomination.submitted_at.isoformat(),
    }


def receipt(nomination: Nomination, duplicate: bool) -> dict:
    """What ``submit_nomination`` answers."""
    return {"nomination_id": nomination.id, "status": nomination.status, "duplicate": duplicate}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored only as this digest; a 256-bit random token needs no slow hash."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
