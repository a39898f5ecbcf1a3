"""Intake's read side: a unit's own nominations, and the award catalogue."""
from __future__ import annotations

from datetime import date

from services.intake import domain
from services.intake.handlers import authenticate_unit, own_nomination
from services.intake.models import Nominations
from shared.law import rulesets
from shared.contract.errors import ValidationError


def get_nomination(nomination_id: str, token, uow) -> dict:
    with uow:
        unit_id = authenticate_unit(token, uow)
        return domain.view(own_nomination(nomination_id, unit_id, uow))


def list_nominations(filters: dict, token, uow) -> dict:
    """The caller unit's nominations matching ``filters``, a page at a time, oldest first."""
    page, size = filters.pop("page"), filters.pop("page_size")
    with uow:
        unit_id = authenticate_unit(token, uow)
        items, total = Nominations(uow.session).page(unit_id, filters, page, size)
    return {"items": [domain.summary(n) for n in items], "total": total, "page": page, "page_size": size}


def award_catalogue(on_date, rules, now) -> dict:
    """The rule set in force on ``on_date`` (ISO date; default: today in Vietnam)."""
    try:
        day = domain.submission_date(now) if on_date is None else date.fromisoformat(str(on_date))
        return rulesets.catalogue(rules.in_force(day))
    except ValueError:
        raise ValidationError({"on_date": ["must be an ISO date, e.g. 2025-11-26"]}) from None
    except LookupError as exc:
        raise ValidationError({"on_date": [str(exc)]}) from None
