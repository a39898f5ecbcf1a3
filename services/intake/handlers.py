"""Intake use cases: plain functions over a unit of work (``shared.store.UnitOfWork``)."""
from __future__ import annotations

from services.intake import domain
from services.intake.models import KeyTaken, Nominations, Tokens
from shared import contract
from shared.errors import Conflict, Forbidden, NotFound, Unauthorized


def authenticate_unit(token, uow) -> str:
    """The unit a token belongs to; ``Unauthorized`` when it is missing, unknown or revoked."""
    if not isinstance(token, str) or not token:
        raise Unauthorized("a unit token is required in context data 'auth_token'")
    unit_id = Tokens(uow.session).unit_for(domain.hash_token(token))
    if unit_id is None:
        raise Unauthorized("unknown or revoked unit token")
    return unit_id


def submit_nomination(body: dict, token, uow, now) -> dict:
    """Store a new nomination and announce it; the same key and body again answer the first result."""
    with uow:
        unit_id = authenticate_unit(token, uow)
        repo = Nominations(uow.session)
        existing = repo.by_submission_key(unit_id, body["submission_key"])
        if existing is None:
            nomination = domain.new_nomination(body, unit_id, now)
            try:
                repo.add(nomination)
            except KeyTaken:  # a concurrent call with the same key committed first
                existing = repo.by_submission_key(unit_id, body["submission_key"])
            else:
                uow.publish(contract.NOMINATION_SUBMITTED, domain.submitted_event(nomination))
                uow.commit()
                return domain.receipt(nomination, duplicate=False)
        if existing.fingerprint != domain.fingerprint(body):
            raise Conflict(f"submission_key {body['submission_key']!r} was used for a different nomination")
        return domain.receipt(existing, duplicate=True)


def get_nomination(nomination_id: str, token, uow) -> dict:
    with uow:
        unit_id = authenticate_unit(token, uow)
        nomination = Nominations(uow.session).get(nomination_id)
        if nomination is None:
            raise NotFound(f"no nomination {nomination_id!r}")
        if nomination.unit_id != unit_id:
            raise Forbidden("this nomination belongs to another unit")
        return {**nomination.body, "nomination_id": nomination.id, "unit_id": nomination.unit_id,
                "status": nomination.status, "stage": nomination.stage,
                "submitted_at": nomination.submitted_at.isoformat(), "history": nomination.history}


def issue_unit_token(unit_id: str, uow, now, revoke_others: bool = False) -> str:
    """A new token for ``unit_id``; only its digest is stored."""
    with uow:
        token = domain.new_token()
        tokens = Tokens(uow.session)
        if revoke_others:
            tokens.revoke_all(unit_id, now)
        tokens.add(domain.hash_token(token), unit_id, now)
        uow.commit()
    return token
