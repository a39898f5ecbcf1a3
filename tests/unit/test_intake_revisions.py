"""Which dossier a council considers: revisions, a crossing amendment undone, an outcome recorded on the
award voted on (issue #21, finding 1)."""
from datetime import datetime, timezone

import pytest

from services.intake import domain, revisions

NOW = datetime(2025, 11, 20, 8, 0, tzinfo=timezone.utc)
BODY = {"submission_key": "vp-1", "award_code": "CSTDCS", "award_year": 2025, "contact_email": "vp@example.vn",
        "nominee": {"kind": "individual", "full_name": "Nguyễn Thị Hoa", "employee_id": "VP-1"}}


def amended_to_ldtt():
    nomination = domain.new_nomination(BODY, "vp", "nd152-2025", NOW)
    domain.amend(nomination, {**BODY, "award_code": "LDTT"}, NOW)
    return nomination


def test_each_amendment_is_a_new_revision_and_keeps_the_body_review_may_still_hold():
    nomination = amended_to_ldtt()
    assert (nomination.revision, nomination.award_code) == (2, "LDTT")
    assert nomination.superseded == [{"revision": 1, "body": BODY}]
    assert domain.submitted_event(nomination)["revision"] == 2


def test_an_agenda_of_revision_1_undoes_a_crossing_amendment_and_closes_amendments():
    nomination = amended_to_ldtt()
    agenda = {"sitting_id": "s-1", "stage": "unit", "revision": 1}
    assert revisions.put_on_agenda(nomination, agenda, NOW) is True
    assert (nomination.revision, nomination.award_code, nomination.body, nomination.status) == (
        1, "CSTDCS", BODY, "in_review")
    assert [entry["event"] for entry in nomination.history[-2:]] == ["amendment_refused", "nomination_on_agenda"]
    with pytest.raises(domain.NotAllowed):
        domain.amend(nomination, {**BODY, "award_code": "LDTT"}, NOW)


def test_a_refusal_after_the_agenda_already_undid_the_amendment_only_notes_it():
    nomination = amended_to_ldtt()
    revisions.put_on_agenda(nomination, {"sitting_id": "s-1", "stage": "unit", "revision": 1}, NOW)
    refused = {"revision": 2, "considered_revision": 1, "reasons": ["đang xét"]}
    assert revisions.refuse_amendment(nomination, refused, NOW) is False
    assert (nomination.award_code, nomination.history[-1]["event"]) == ("CSTDCS", "amendment_refused")


def test_an_outcome_on_revision_1_is_recorded_on_the_award_voted_on():
    nomination = amended_to_ldtt()
    decided = {"outcome": "approved", "stage": "unit", "award_code": "CSTDCS", "award_year": 2025, "revision": 1}
    assert revisions.align(nomination, decided, NOW) is True
    domain.apply_review(nomination, "nomination_decided", decided, NOW)
    assert (nomination.status, nomination.award_code, nomination.revision) == ("approved", "CSTDCS", 1)


def test_an_outcome_of_a_revision_no_longer_kept_still_names_the_award_voted_on():
    nomination = amended_to_ldtt()
    nomination.superseded = []
    decided = {"outcome": "approved", "stage": "unit", "award_code": "CSTDCS", "award_year": 2025, "revision": 1}
    revisions.align(nomination, decided, NOW)
    assert (nomination.award_code, nomination.history[-1]["event"]) == ("CSTDCS", "recorded_as_voted")


def test_an_outcome_without_a_revision_from_an_older_review_changes_nothing_first():
    nomination = amended_to_ldtt()
    assert revisions.align(nomination, {"outcome": "approved", "stage": "unit"}, NOW) is False
    assert nomination.award_code == "LDTT"


def test_a_return_of_revision_1_that_crossed_amendment_2_is_noted_and_revision_2_stays_amendable():
    nomination = amended_to_ldtt()
    returned = {"stage": "unit", "reasons": ["Thiếu biên bản"], "revision": 1}
    revisions.follow_return(nomination, returned, NOW)
    assert (nomination.status, nomination.award_code, nomination.revision) == ("submitted", "LDTT", 2)
    assert nomination.history[-1]["event"] == "nomination_returned"


def test_a_return_of_the_current_revision_returns_it():
    nomination = amended_to_ldtt()
    revisions.follow_return(nomination, {"stage": "unit", "reasons": [], "revision": 2}, NOW)
    assert nomination.status == "returned"


@pytest.mark.parametrize("agenda_revision, followed", [(1, False), (2, True), (None, True)])
def test_an_agenda_older_than_a_recorded_return_is_old_news(agenda_revision, followed):
    """A returned case reaches an agenda again only as a later revision (the unit's answer): an agenda
    of the returned revision that arrives after the return overtook it (a retry, another queue)."""
    nomination = domain.new_nomination(BODY, "vp", "nd152-2025", NOW)
    revisions.follow_return(nomination, {"stage": "unit", "revision": 1, "reasons": ["Thiếu hồ sơ"]}, NOW)
    assert (nomination.status, nomination.history[-1]["revision"]) == ("returned", 1)
    if agenda_revision == 2:
        domain.amend(nomination, {**BODY, "achievements": "Bổ sung"}, NOW)
    revisions.put_on_agenda(nomination, {"sitting_id": "s-2", "stage": "unit", "revision": agenda_revision}, NOW)
    assert (nomination.status == "in_review") is followed
    assert (nomination.history[-1]["event"] == "nomination_on_agenda") is followed
