"""The wire schemas: what a payload must look like, and how every fault comes back at once."""
import copy
import json
from pathlib import Path

import pytest

from shared.contract.errors import ValidationError
from shared.contract.schemas import NominationSchema, NominationSubmitted, load

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "nomination.json"
COLLECTIVE = {"kind": "collective", "name": "Phòng Tổ chức cán bộ", "members_total": 10,
              "members_female": 4, "members_ldtt": 8}
EVENT = {"nomination_id": "0f1e2d3c", "unit_id": "vp", "award_code": "LDTT", "award_year": 2025,
         "nominee": {"kind": "individual", "name": "Nguyễn Thị Hoa", "email": None, "gender": "female",
                     "direct_worker": True, "members_total": None, "members_female": None},
         "contact_email": "vanphong@example.vn", "submitted_at": "2025-03-01T08:00:00+00:00",
         "rule_set": "nd98-2023"}


@pytest.fixture
def nomination():
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def faults(data, schema=NominationSchema) -> dict:
    with pytest.raises(ValidationError) as caught:
        load(schema(), data)
    return caught.value.detail


def test_the_example_nomination_loads(nomination):
    loaded = load(NominationSchema(), nomination)

    assert loaded["nominee"]["full_name"] == "Nguyễn Thị Hoa"
    assert loaded["award_year"] == 2025
    assert len(loaded["documents"]) == 3


def test_optional_fields_get_their_defaults(nomination):
    for key in ("achievements", "history", "under_review", "documents"):
        del nomination[key]

    loaded = load(NominationSchema(), nomination)

    assert (loaded["achievements"], loaded["history"], loaded["under_review"], loaded["documents"]) \
        == ("", [], False, [])


def test_an_unknown_top_level_field_is_refused(nomination):
    nomination["priority"] = "high"

    assert "priority" in faults(nomination)


@pytest.mark.parametrize("path", [("nominee",), ("history", 0), ("documents", 0)])
def test_an_unknown_nested_field_is_refused(nomination, path):
    target = nomination
    for step in path:
        target = target[step]
    target["extra"] = 1

    detail = faults(nomination)
    for step in path:
        detail = detail[step]
    assert "extra" in detail


@pytest.mark.parametrize("place, value, limit_field", [
    ("nominee", {"full_name": "x" * 201}, "full_name"),
    ("top", {"achievements": "x" * 20_001}, "achievements"),
    ("top", {"submission_key": "k" * 65}, "submission_key"),
    ("top", {"contact_email": "a" * 250 + "@x.vn"}, "contact_email"),
    ("nominee", {"employee_id": "E" * 65}, "employee_id"),
])
def test_a_string_longer_than_its_limit_is_refused(nomination, place, value, limit_field):
    (nomination["nominee"] if place == "nominee" else nomination).update(value)

    detail = faults(nomination)

    assert limit_field in (detail["nominee"] if place == "nominee" else detail)


def test_strings_at_their_limit_are_accepted(nomination):
    nomination["nominee"]["full_name"] = "x" * 200
    nomination["achievements"] = "x" * 20_000

    assert load(NominationSchema(), nomination)["achievements"] == "x" * 20_000


def test_every_bad_field_is_reported_at_once(nomination):
    nomination.update(award_code="NOBEL", award_year=1900, contact_email="not-an-email")
    del nomination["submission_key"]

    assert set(faults(nomination)) == {"award_code", "award_year", "contact_email", "submission_key"}


def test_an_award_year_given_as_a_string_is_refused(nomination):
    nomination["award_year"] = "2025"

    assert "award_year" in faults(nomination)


def test_a_document_with_a_malformed_sha256_is_refused(nomination):
    nomination["documents"][1]["sha256"] = "4F0E" * 16

    assert "sha256" in faults(nomination)["documents"][1]


def test_a_collective_nominee_loads(nomination):
    nomination["nominee"] = dict(COLLECTIVE)

    assert load(NominationSchema(), nomination)["nominee"]["members_disciplined"] == 0


def test_a_collective_with_more_members_counted_than_it_has_is_refused(nomination):
    nomination["nominee"] = {**COLLECTIVE, "members_female": 11, "members_ldtt": 12}

    assert set(faults(nomination)["nominee"]) == {"members_female", "members_ldtt"}


@pytest.mark.parametrize("nominee", [{"kind": "robot", "name": "R2"}, {"name": "no kind"}])
def test_a_nominee_of_unknown_kind_is_refused(nomination, nominee):
    nomination["nominee"] = nominee

    assert "kind" in faults(nomination)["nominee"]


def test_a_nominee_that_is_not_an_object_is_refused(nomination):
    nomination["nominee"] = "Nguyễn Thị Hoa"

    assert "nominee" in faults(nomination)


def test_a_nominee_kind_that_is_a_list_is_refused_as_invalid(nomination):
    nomination["nominee"] = {"kind": ["individual"]}

    assert "kind" in faults(nomination)["nominee"]


@pytest.mark.parametrize("payload", [None, [], "nomination", 42])
def test_a_payload_that_is_not_an_object_is_refused(payload):
    assert faults(payload) == {"_schema": ["must be an object"]}


def test_a_valid_nomination_submitted_event_loads():
    assert load(NominationSubmitted(), copy.deepcopy(EVENT)) == EVENT


def test_a_nomination_submitted_event_with_an_unknown_field_is_refused():
    assert "score" in faults({**EVENT, "score": 10}, NominationSubmitted)


def test_a_nomination_submitted_event_with_an_unknown_nominee_field_is_refused():
    event = copy.deepcopy(EVENT)
    event["nominee"]["employee_id"] = "VP-0042"

    assert "employee_id" in faults(event, NominationSubmitted)["nominee"]


def ballot(items):
    return {"sitting_id": "s1", "council_id": "hd-bo", "member": {"id": "m1", "name": "A", "email": "a@example.vn"},
            "ballot_token": "t", "deadline": "2025-12-05T17:00:00+07:00",
            "agenda": [{"nomination_id": f"n{n}", "award_code": "CSTD_BO", "nominee_name": f"Người {n}",
                        "unit_id": "vp"} for n in range(items)]}


def test_a_ministry_sized_ballot_and_vote_load_and_one_over_the_agenda_limit_does_not():
    from shared.contract.schemas import MAX_AGENDA, MAX_BALLOT_BYTES, BallotIssued, VoteCast

    assert len(load(BallotIssued(), ballot(MAX_AGENDA), MAX_BALLOT_BYTES)["agenda"]) == MAX_AGENDA
    choices = {f"n{n}": "approve" for n in range(MAX_AGENDA)}
    assert len(load(VoteCast(), {"ballot_token": "t", "choices": choices}, MAX_BALLOT_BYTES)["choices"]) == MAX_AGENDA
    with pytest.raises(ValidationError) as caught:
        load(BallotIssued(), ballot(MAX_AGENDA + 1), MAX_BALLOT_BYTES)
    assert "agenda" in caught.value.detail
    with pytest.raises(ValidationError) as caught:
        load(VoteCast(), {"ballot_token": "t", "choices": {**choices, "n-extra": "approve"}}, MAX_BALLOT_BYTES)
    assert "choices" in caught.value.detail


def test_the_close_of_a_sitting_of_the_largest_agenda_loads_with_every_result():
    from shared.contract.schemas import MAX_AGENDA, MAX_SITTING_BYTES, SittingClosed

    result = {"nomination_id": "0" * 32, "award_code": "CSTD_BO", "nominee_name": "Nguyễn Thị Thu Hương " * 3,
              "unit_id": "don-vi-so-100", "approve": 15, "reject": 0, "abstain": 0, "members": 15, "required": 12,
              "outcome": "approved", "reasons": ["Đạt tỷ lệ phiếu đồng ý theo quy định của Hội đồng."] * 3}
    closed = {"sitting_id": "s1", "council_id": "hd-bo", "stage": "ministry", "quorum_met": True,
              "closed_at": "2025-12-05T10:00:00+00:00", "participants": 15, "units": ["vp"],
              "results": [result] * MAX_AGENDA}
    assert len(json.dumps(closed, ensure_ascii=False).encode()) > 4 * 1024 * 1024 // 2  # far over 256 KiB
    assert len(load(SittingClosed, closed, MAX_SITTING_BYTES)["results"]) == MAX_AGENDA


def nested(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("where", ["nominee", "top"])
def test_garbage_nested_hundreds_deep_is_refused_as_invalid_not_raised_as_a_fault(where):
    event = copy.deepcopy(EVENT)
    if where == "nominee":
        event["nominee"]["junk"] = nested(600)
    else:
        event["junk"] = nested(900)
    assert faults(event, NominationSubmitted) == {"_schema": ["nested too deeply"]}
