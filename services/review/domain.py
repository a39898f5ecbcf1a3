"""Review rules (standard library only). For now: where a newly submitted nomination waits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

UNIT_COUNCIL = "unit"
WAITING = "waiting"  # for its council's next sitting


@dataclass
class Case:
    """A nomination as review sees it: which stage it is at and what it waits for."""

    nomination_id: str
    unit_id: str
    award_code: str
    award_year: int
    nominee: dict
    contact_email: str
    stage: str
    state: str
    received_at: datetime


def case_from_submission(event: dict, now: datetime) -> Case:
    """Every pipeline starts at the nominating unit's own council (Law Art. 56; NĐ 98 Art. 30)."""
    return Case(
        nomination_id=event["nomination_id"], unit_id=event["unit_id"], award_code=event["award_code"],
        award_year=event["award_year"], nominee=event["nominee"], contact_email=event["contact_email"],
        stage=UNIT_COUNCIL, state=WAITING, received_at=now,
    )
