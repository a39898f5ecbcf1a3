"""Review use cases over a unit of work."""
from __future__ import annotations

from services.review import domain
from services.review.models import Cases
from shared.errors import NotFound


def record_submission(event: dict, uow, now) -> None:
    """``intake.nomination_submitted``: the nomination now waits for its unit council (idempotent)."""
    with uow:
        if not uow.claim_message():
            return
        cases = Cases(uow.session)
        if cases.get(event["nomination_id"]) is None:
            cases.add(domain.case_from_submission(event, now))
        uow.commit()


def get_case(nomination_id: str, uow) -> dict:
    with uow:
        case = Cases(uow.session).get(nomination_id)
        if case is None:
            raise NotFound(f"no nomination {nomination_id!r} in review")
        return {"nomination_id": case.nomination_id, "unit_id": case.unit_id,
                "award_code": case.award_code, "award_year": case.award_year,
                "stage": case.stage, "state": case.state, "received_at": case.received_at.isoformat()}
