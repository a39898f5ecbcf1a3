"""Intake's rules: a submission's identity, a new nomination's first state, its event, unit tokens."""
from datetime import datetime, timezone

from services.intake import domain
from shared.contract.schemas import NominationSubmitted, load

NOW = datetime(2025, 3, 1, 8, 30, tzinfo=timezone.utc)


def body(**nominee):
    return {"submission_key": "vp-2025-0001", "award_code": "LDTT", "award_year": 2025,
            "nominee": nominee or {"kind": "individual", "full_name": "Nguyễn Thị Hoa", "employee_id": "VP-0042",
                                   "gender": "female", "email": "hoa.nt@example.vn"},
            "history": [{"year": 2025, "rating": "HTXSNV"}], "contact_email": "vanphong@example.vn"}


def reordered(value):
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


def test_the_fingerprint_does_not_depend_on_key_order():
    original = body()
    shuffled = reordered(original)
    assert list(shuffled) != list(original)

    assert domain.fingerprint(shuffled) == domain.fingerprint(original)


def test_the_fingerprint_changes_when_the_content_changes():
    changed = body()
    changed["nominee"]["full_name"] = "Nguyễn Thị Hòa"

    assert domain.fingerprint(changed) != domain.fingerprint(body())


def test_the_fingerprint_tells_a_number_from_its_string():
    as_string = {**body(), "award_year": "2025"}

    assert domain.fingerprint(as_string) != domain.fingerprint(body())


def test_a_new_nomination_starts_submitted_at_the_unit_stage():
    nomination = domain.new_nomination(body(), "vp", "nd98-2023", NOW)

    assert (nomination.status, nomination.stage) == ("submitted", "unit")
    assert (nomination.unit_id, nomination.submission_key) == ("vp", "vp-2025-0001")
    assert (nomination.award_code, nomination.award_year) == ("LDTT", 2025)
    assert nomination.fingerprint == domain.fingerprint(body())
    assert nomination.submitted_at == NOW


def test_a_new_nomination_has_one_history_entry_for_its_submission():
    nomination = domain.new_nomination(body(), "vp", "nd98-2023", NOW)

    assert nomination.history == [{"at": NOW.isoformat(), "status": "submitted", "stage": "unit"}]


def test_two_new_nominations_of_the_same_body_get_different_ids():
    assert domain.new_nomination(body(), "vp", "nd98-2023", NOW).id != domain.new_nomination(body(), "vp", "nd98-2023", NOW).id


def test_the_submitted_event_names_an_individual_nominee():
    nomination = domain.new_nomination(body(), "vp", "nd98-2023", NOW)

    event = domain.submitted_event(nomination)

    assert event["nominee"] == {"kind": "individual", "name": "Nguyễn Thị Hoa",
                                "email": "hoa.nt@example.vn", "gender": "female", "direct_worker": False,
                                "members_total": None, "members_female": None}
    assert event["nomination_id"] == nomination.id
    assert event["contact_email"] == "vanphong@example.vn"
    assert event["submitted_at"] == NOW.isoformat()


def test_the_submitted_event_names_a_collective_nominee():
    collective = body(kind="collective", name="Phòng Tổ chức cán bộ", members_total=12)

    event = domain.submitted_event(domain.new_nomination(collective, "vp", "nd98-2023", NOW))

    assert event["nominee"] == {"kind": "collective", "name": "Phòng Tổ chức cán bộ", "email": None,
                                "gender": None, "direct_worker": False, "members_total": 12,
                                "members_female": None}


def test_the_submitted_event_passes_its_own_wire_schema():
    for nominee_body in (body(), body(kind="collective", name="Phòng Tổ chức cán bộ", members_total=12)):
        event = domain.submitted_event(domain.new_nomination(nominee_body, "vp", "nd98-2023", NOW))

        assert load(NominationSubmitted(), event) == event


def test_the_receipt_reports_the_status_and_whether_it_was_a_duplicate():
    nomination = domain.new_nomination(body(), "vp", "nd98-2023", NOW)

    assert domain.receipt(nomination, duplicate=True) == {
        "nomination_id": nomination.id, "status": "submitted", "duplicate": True}


def test_hashing_a_token_is_deterministic_and_does_not_reveal_it():
    token = domain.new_token()

    assert domain.hash_token(token) == domain.hash_token(token)
    assert domain.hash_token(token) != token
    assert token not in domain.hash_token(token)


def test_different_tokens_hash_differently():
    assert domain.hash_token("token-a") != domain.hash_token("token-b")


def test_new_tokens_are_unique_and_long():
    tokens = {domain.new_token() for _ in range(100)}

    assert len(tokens) == 100
    assert all(len(token) >= 40 for token in tokens)


def test_the_submitted_event_carries_the_dossier_a_council_member_reads_and_the_position():
    nominee = {"kind": "individual", "full_name": "Nguyễn Thị Hoa", "employee_id": "VP-0042", "gender": "female",
               "position": "Trưởng phòng"}
    nomination = domain.new_nomination({**body(**nominee), "achievements": "Số hoá 120 hồ sơ.", "documents": [
        {"kind": "to_trinh", "filename": "to-trinh.pdf", "sha256": "a" * 64, "size": 10}]}, "vp", "nd98-2023", NOW)

    event = load(NominationSubmitted, domain.submitted_event(nomination))

    assert event["nominee"]["position"] == "Trưởng phòng"
    assert event["dossier"]["achievements"] == "Số hoá 120 hồ sơ."
    assert event["dossier"]["documents"] == [{"kind": "to_trinh", "filename": "to-trinh.pdf"}]  # no digest, no size
    assert event["dossier"]["history"][0]["rating"] == "HTXSNV"


def returned_at_the_ministry(award_code="BK_BO"):
    nomination = domain.new_nomination({**body(), "award_code": award_code}, "vp", "nd98-2023", NOW)
    nomination.status, nomination.stage = "returned", "ministry"
    return nomination


def test_a_returned_dossier_amended_to_another_award_or_year_starts_again_at_the_unit_stage():
    for changes in ({"award_code": "LDTT"}, {"award_year": 2024}):
        nomination = returned_at_the_ministry()
        domain.amend(nomination, {**body(), "award_code": "BK_BO", **changes}, NOW)
        assert (nomination.status, nomination.stage) == ("in_review", "unit")


def test_a_returned_dossier_amended_under_the_same_award_and_year_stays_at_its_stage():
    nomination = returned_at_the_ministry()
    domain.amend(nomination, {**body(), "award_code": "BK_BO", "achievements": "Bổ sung"}, NOW)
    assert (nomination.status, nomination.stage) == ("in_review", "ministry")
