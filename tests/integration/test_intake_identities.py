"""Identity rules through intake's real handlers, on SQLite and PostgreSQL: one person and one
initiative however their ids are spelled, one nomination however its names are normalised, and no
value longer than its column reaches the database."""
import unicodedata

import pytest

from shared.errors import Ineligible, ValidationError
from tests.integration.conftest import EXAMPLE


def with_certificate(documents):
    return [*documents, {"kind": "xac_nhan_sang_kien", "filename": "sk.pdf", "sha256": "a" * 64, "size": 1000}]


def cstdcs(key, employee_id, initiative_id):
    return {"submission_key": key, "award_code": "CSTDCS", "documents": with_certificate(EXAMPLE["documents"]),
            "nominee": {**EXAMPLE["nominee"], "employee_id": employee_id},
            "history": [{"year": 2025, "rating": "HTTNV",
                         "initiatives": [{"id": initiative_id, "title": "Số hoá hồ sơ", "scope": "co_so"}]}]}


def test_a_64_character_key_with_a_trailing_newline_is_stored_not_a_server_error(intake):
    key = "k" * 64
    receipt = intake.submit(submission_key=key + "\n")
    assert intake.submit(submission_key=key)["duplicate"] is True
    assert intake.call("vp", "get_nomination", receipt["nomination_id"])["submission_key"] == key
    with pytest.raises(ValidationError):
        intake.submit(submission_key="k" * 65)
    assert intake.tables.count("nominations") == 1


def test_one_initiative_backs_one_award_whatever_the_case_of_its_id_and_of_its_person(intake):
    intake.submit(**cstdcs("first", "VP-0042", "SK-1"))
    with pytest.raises(Ineligible) as error:
        intake.submit(**cstdcs("second", "vp-0042", "sk-1"))
    assert "initiative_already_used" in [item["code"] for item in error.value.detail]
    assert intake.tables.count("nominations") == 1 and intake.tables.count("initiative_uses") == 1


def test_the_same_file_with_names_in_nfd_under_the_same_key_is_a_duplicate(intake):
    first = intake.submit()
    nfd = {**EXAMPLE["nominee"], "full_name": unicodedata.normalize("NFD", EXAMPLE["nominee"]["full_name"])}
    again = intake.submit(nominee=nfd, achievements=unicodedata.normalize("NFD", EXAMPLE["achievements"]))
    assert (again["nomination_id"], again["duplicate"]) == (first["nomination_id"], True)
