"""Claims checked against the award register (Law 06/2022 Art. 89(2)(e)), for every award the ministry
decides: a title in the register passes, a missing or revoked one is ``not_in_register``, a year before
the register's first year is taken as declared (and flagged); the register's titles count where the unit
typed none; award money is coefficient × base salary on the decision date, rounded up to 10,000 VND."""
from datetime import date

import pytest

from services.intake.eligibility import assess
from services.intake.register import OFF, STRICT, WARN, Entry, check_claims, holder_key, with_register
from shared.contract.awards import DECIDED_HERE
from shared.law.money import award_money
from tests.unit.nominations import ND152, collective, initiative, person, year

COLLECTIVE_TITLES = ("TTLDTT", "TTLDXS", "CO_BO")


def claiming(title: str, claimed_year: int = 2023, *, docs=("to_trinh", "bao_cao_thanh_tich", "bien_ban")) -> dict:
    """A 2025 nomination whose history claims ``title`` for ``claimed_year``."""
    build = collective if title in COLLECTIVE_TITLES else person
    return build("GK", 2025, year(claimed_year, "HTXSNV", titles=[title]), year(2025, "HTXSNV"), docs=docs)


def codes(check) -> list[tuple]:
    return [(item["code"], item.get("title"), item.get("year")) for item in check.unmet]


@pytest.mark.parametrize("title", DECIDED_HERE)
def test_a_claimed_title_in_the_register_passes(title):
    check = check_claims(claiming(title), [Entry(title, 2023)], first_year=2020, mode=STRICT)
    assert (check.unmet, check.notes) == ([], [])


@pytest.mark.parametrize("title", DECIDED_HERE)
def test_a_claimed_title_missing_from_the_register_is_not_in_register_naming_title_and_year(title):
    check = check_claims(claiming(title), [Entry("LDTT", 2022)], first_year=2020, mode=STRICT)
    [problem] = check.unmet
    assert problem["code"] == "not_in_register"
    assert f"{title}" in problem["message"] and "2023" in problem["message"] and "2023" in problem["message_en"]


@pytest.mark.parametrize("title", DECIDED_HERE)
def test_a_revoked_entry_proves_nothing(title):
    check = check_claims(claiming(title), [Entry(title, 2023, "revoked")], first_year=2020, mode=STRICT)
    [problem] = check.unmet
    assert problem["code"] == "not_in_register" and "revoked" in problem["message_en"]


@pytest.mark.parametrize("title", DECIDED_HERE)
def test_a_year_before_the_registers_first_year_is_taken_as_declared_and_flagged(title):
    check = check_claims(claiming(title, 2019), [], first_year=2020, mode=STRICT)
    assert check.unmet == []
    assert [(n["code"], n["title"], n["year"]) for n in check.notes] == [("declared_before_register", title, 2019)]


def test_an_empty_register_takes_every_claim_as_declared():
    check = check_claims(claiming("CSTDCS", 2024), [], first_year=None, mode=STRICT)
    assert check.unmet == [] and [n["code"] for n in check.notes] == ["declared_before_register"]


def test_under_warn_a_mismatch_is_a_note_for_the_council_and_under_off_nothing_is_checked():
    warned = check_claims(claiming("CSTDCS"), [], first_year=2020, mode=WARN)
    assert warned.unmet == [] and [(n["code"], n["year"]) for n in warned.notes] == [("not_in_register", 2023)]
    off = check_claims(claiming("CSTDCS"), [], first_year=2020, mode=OFF)
    assert (off.unmet, off.notes) == ([], [])


@pytest.mark.parametrize("title", ("CSTD_TQ", "BK_TTG", "HCLD3"))
def test_a_title_decided_centrally_needs_its_decision_in_the_dossier_or_an_entry(title):
    without = check_claims(claiming(title), [], first_year=2020, mode=STRICT)
    assert [p["code"] for p in without.unmet] == ["decision_document_required"]
    documented = claiming(title, docs=("to_trinh", "bao_cao_thanh_tich", "bien_ban", "quyet_dinh"))
    assert check_claims(documented, [], first_year=2020, mode=STRICT).unmet == []
    assert check_claims(claiming(title), [Entry(title, 2023)], first_year=2020, mode=STRICT).unmet == []


def test_the_registers_cstdcs_counts_toward_cstd_bo_where_the_unit_typed_no_title():
    body = person("CSTD_BO", 2026, year(2024, "HTXSNV", titles=["CSTDCS"]),
                  year(2026, "HTXSNV", initiatives=[initiative("bo1", "bo")]))
    assert "cstdcs_three_years" in [u["code"] for u in assess(body, ND152).unmet]
    merged = with_register(body, [Entry("CSTDCS", 2025), Entry("CSTDCS", 2023, "revoked")])
    assert assess(merged, ND152).unmet == []
    revoked = with_register(body, [Entry("CSTDCS", 2025, "revoked")])
    assert "cstdcs_three_years" in [u["code"] for u in assess(revoked, ND152).unmet]


def test_a_collective_is_held_by_its_unit_and_name_an_individual_by_unit_and_employee_id():
    assert holder_key("vp", "individual", "VP-0042", "Nguyễn Thị Hoa") == "vp:VP-0042"
    assert holder_key("vp", "collective", None, "Phòng KH") == holder_key("vp", "collective", None, "phòng kh")
    assert holder_key("vp", "collective", None, "Phòng KH") != holder_key("tccb", "collective", None, "Phòng KH")


@pytest.mark.parametrize("code, kind, day, rule_set, money", [
    ("CSTDCS", "individual", date(2025, 12, 20), "nd152-2025", 2_340_000),
    ("LDTT", "individual", date(2025, 12, 20), "nd152-2025", 710_000),  # 702,000 rounded up
    ("BK_BO", "individual", date(2025, 12, 20), "nd152-2025", 3_510_000),
    ("BK_BO", "individual", date(2024, 12, 20), "nd98-2023", 2_340_000),
    ("CSTD_BO", "individual", date(2026, 7, 1), "nd152-2025", 7_590_000),
    ("HCLD3", "collective", date(2025, 12, 20), "nd152-2025", 21_060_000),
])
def test_award_money_is_the_coefficient_times_the_base_salary_rounded_up(code, kind, day, rule_set, money):
    from shared.law.rulesets import by_id

    assert award_money(by_id(rule_set), code, kind, day) == money
