"""Identity rules at the edge: one person, one initiative, one text, however it is spelled.

Every text of a payload is NFC-normalised and trimmed before it is validated; employee ids and
initiative ids are compared without regard to case (stored in capitals); submission keys and the
other ids stay exactly as given. Patterns match the whole value: a trailing newline is not let through.
"""
import json
import unicodedata
from pathlib import Path

import pytest
from marshmallow import ValidationError as SchemaError

from services.intake.domain import fingerprint, person_key
from shared import schemas
from shared.errors import ValidationError

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json").read_text("utf-8"))


def loaded(**changes):
    return schemas.load(schemas.NominationSchema, {**EXAMPLE, **changes})


def nominee(**changes):
    return {**EXAMPLE["nominee"], **changes}


def with_initiatives(*ids):
    return [{"year": 2025, "rating": "HTTNV", "titles": [], "disciplined": False,
             "initiatives": [{"id": i, "title": "Số hoá hồ sơ", "scope": "co_so"} for i in ids]}]


@pytest.mark.parametrize("spelling", ["VP-0042", "vp-0042", "Vp-0042", "VP-0042\n", " VP-0042 ", "\tvp-0042\r\n"])
def test_every_spelling_of_an_employee_id_is_one_person(spelling):
    body = loaded(nominee=nominee(employee_id=spelling))
    assert body["nominee"]["employee_id"] == "VP-0042"
    assert person_key("vp", body["nominee"]) == "vp:VP-0042"


@pytest.mark.parametrize("spelling", ["SK-1", "sk-1", "Sk-1", "SK-1\n", " sk-1"])
def test_every_spelling_of_an_initiative_id_is_one_initiative(spelling):
    assert loaded(history=with_initiatives(spelling))["history"][0]["initiatives"][0]["id"] == "SK-1"


def test_one_initiative_listed_twice_under_two_spellings_is_refused():
    history = [*with_initiatives("SK-1"), {**with_initiatives("sk-1")[0], "year": 2024}]
    with pytest.raises(ValidationError) as error:
        loaded(history=history)
    assert "SK-1" in str(error.value.detail["history"])


def test_a_name_in_nfd_is_the_same_nomination_as_in_nfc():
    nfd = unicodedata.normalize("NFD", EXAMPLE["nominee"]["full_name"])
    assert nfd != EXAMPLE["nominee"]["full_name"]
    decomposed = loaded(nominee=nominee(full_name=nfd), achievements=unicodedata.normalize("NFD", EXAMPLE["achievements"]))
    assert decomposed == loaded()
    assert fingerprint(decomposed) == fingerprint(loaded())


def test_a_64_character_key_with_a_trailing_newline_is_that_key():
    assert loaded(submission_key="k" * 64 + "\n")["submission_key"] == "k" * 64


@pytest.mark.parametrize("key", ["k" * 65, "k" * 64 + "x\n", "vp\n2025", "vp 2025", "", "\n"])
def test_a_key_too_long_or_with_inner_space_or_newline_is_refused(key):
    with pytest.raises(ValidationError) as error:
        loaded(submission_key=key)
    assert "submission_key" in error.value.detail


def test_submission_keys_keep_their_case():
    """A unit's own idempotency key: random keys (base64url) are case-sensitive, so two keys that
    differ in case are two submissions; the initiative ledger still sees one person."""
    assert loaded(submission_key="Key-A")["submission_key"] == "Key-A"


@pytest.mark.parametrize("validator, value", [
    (schemas.ID, "VP-0042\n"), (schemas.single_line(200), "Nguyễn Thị Hoa\n"),
    (schemas.SHA256, "a" * 64 + "\n")])
def test_patterns_match_the_whole_value_not_up_to_a_trailing_newline(validator, value):
    with pytest.raises(SchemaError):
        validator(value)


def test_a_name_of_spaces_only_is_empty():
    with pytest.raises(ValidationError) as error:
        loaded(nominee=nominee(full_name="   "))
    assert "full_name" in error.value.detail["nominee"]


def test_ids_the_law_does_not_fold_stay_exact_but_trimmed():
    event = schemas.load(schemas.NominationWithdrawn, {"nomination_id": " ab12\n", "unit_id": "VP"})
    assert (event["nomination_id"], event["unit_id"]) == ("ab12", "VP")


def test_a_rule_set_id_longer_than_reviews_column_is_refused_before_the_database():
    event = {"nomination_id": "n-1", "unit_id": "vp", "award_code": "LDTT", "award_year": 2025,
             "nominee": {"kind": "individual", "name": "Hoa"}, "contact_email": "vp@example.vn",
             "submitted_at": "2025-11-20T08:00:00+00:00", "rule_set": "r" * 33}
    with pytest.raises(ValidationError) as error:
        schemas.load(schemas.NominationSubmitted, event)
    assert "rule_set" in error.value.detail
    assert schemas.load(schemas.NominationSubmitted, {**event, "rule_set": "r" * 32})["rule_set"] == "r" * 32
