"""Review's rules for a case's dossier: which amendments it takes, and where an amended case waits
(issue #21, findings 1 and 2)."""
from datetime import datetime, timezone

import pytest

from services.review import domain

NOW = datetime(2025, 11, 20, 8, 0, tzinfo=timezone.utc)


def case(award="CSTD_BO", stage="unit", state="waiting", considered=False, revision=1):
    event = {"nomination_id": "n-1", "unit_id": "vp", "award_code": award, "award_year": 2025,
             "nominee": {"kind": "individual", "name": "Hoa"}, "contact_email": "vp@example.vn",
             "revision": revision}
    return {**domain.case_from_submission(event, NOW), "stage": stage, "state": state, "considered": considered,
            "sitting_id": None, "outcome": None}


def amendment(award="CSTD_BO", year=2025, revision=2):
    return {"award_code": award, "award_year": year, "nominee": {"kind": "individual", "name": "Hoa"},
            "contact_email": "vp@example.vn", "revision": revision}


def test_a_dossier_returned_at_the_ministry_and_amended_to_ldtt_waits_again_at_the_unit_council():
    changes = domain.amended_case(case(stage="ministry", state="returned", considered=True), amendment("LDTT"))
    assert (changes["stage"], changes["state"], changes["revision"]) == ("unit", "waiting", 2)


def test_an_amendment_keeping_the_award_and_year_keeps_the_stage():
    changes = domain.amended_case(case(stage="ministry", state="returned", considered=True), amendment())
    assert changes["stage"] == "ministry"


def test_a_new_award_year_restarts_the_pipeline_too():
    assert domain.amended_case(case(stage="ministry", state="returned"), amendment(year=2024))["stage"] == "unit"


@pytest.mark.parametrize("state, considered, takes", [
    ("waiting", False, True), ("returned", True, True), ("waiting", True, False), ("on_agenda", True, False),
    ("decided", True, False)])
def test_a_case_takes_an_amendment_only_while_returned_or_untaken_since_its_submission(state, considered, takes):
    assert domain.takes_amendment(case(state=state, considered=considered)) is takes


def test_a_refusal_names_the_revision_and_the_award_review_holds():
    refused = domain.amendment_refused_event(case(state="on_agenda", considered=True), amendment("LDTT"))
    assert (refused["revision"], refused["considered_revision"], refused["award_code"]) == (2, 1, "CSTD_BO")


def test_an_amendment_older_than_the_case_is_a_late_duplicate():
    assert domain.amendment_is_stale(case(revision=3), amendment(revision=2))
    assert not domain.amendment_is_stale(case(revision=1), amendment(revision=2))
