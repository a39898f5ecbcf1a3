"""Each of intake's events of a nomination carries its revision, so consumers can order them."""
from datetime import datetime, timezone

from services.intake import domain
from shared.schemas import NominationAmended, NominationSubmitted, NominationWithdrawn, load
from tests.unit.test_intake_domain import body

NOW = datetime(2025, 3, 1, 8, 30, tzinfo=timezone.utc)


def test_a_nomination_is_revision_one_when_submitted_one_more_per_amendment_and_a_withdrawal_carries_it():
    nomination = domain.new_nomination(body(), "vp", "nd98-2023", NOW)
    assert load(NominationSubmitted, domain.submitted_event(nomination))["revision"] == 1
    domain.amend(nomination, body(), NOW)
    domain.amend(nomination, body(), NOW)
    assert load(NominationAmended, {**domain.submitted_event(nomination), "resubmitted": False})["revision"] == 3
    domain.withdraw(nomination, "rút", NOW)
    assert load(NominationWithdrawn, domain.withdrawn_event(nomination, "rút")) == {
        "nomination_id": nomination.id, "unit_id": "vp", "reason": "rút", "revision": 3}


def test_a_refused_change_does_not_count():
    nomination = domain.new_nomination(body(), "vp", "nd98-2023", NOW)
    domain.withdraw(nomination, "", NOW)
    try:
        domain.amend(nomination, body(), NOW)
    except domain.NotAllowed:
        pass
    assert nomination.revision == 1
