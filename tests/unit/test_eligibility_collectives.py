"""Eligibility of collectives (Luật TĐKT 06/2022/QH15 Art. 25-28, 74-75; NĐ 91/2017 for TTLDTT before 2024),
what every nominee meets alike (holds, discipline, nominee kind, every unmet criterion at once, in Vietnamese
and English) and the dossier's documents (Art. 84.1).

Long because it holds one test per criterion of the law, in the law's order.
"""
import re

import pytest

from services.intake.eligibility import assess, check_dossier
from services.intake.messages import TEXTS
from shared.law.rulesets import DEFAULT_RULE_SETS
from shared.law.overrides import apply_overrides
from tests.unit.nominations import (DOCUMENTS, ND91, collective, every_rule_set, initiative, message, person,
                                    since_2024, unmet_codes, year)

VIETNAMESE_VOWEL = re.compile("[ăâêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]", re.I)


def excellent(award, **members):
    return collective(award, 2025, year(2025, "HTXSNV"), **members)


# --- TTLDTT (Art. 28): ≥ 70 % of members LDTT (> 50 % under NĐ 91), none disciplined ---

@since_2024
@pytest.mark.parametrize("ldtt", [7, 10])
def test_since_2024_seventy_percent_of_members_ldtt_earn_ttldtt(rule_set, ldtt):
    assert unmet_codes(collective("TTLDTT", 2025, year(2025), ldtt=ldtt), rule_set) == []


@since_2024
def test_since_2024_sixty_percent_of_members_ldtt_fall_short_of_ttldtt(rule_set):
    body = collective("TTLDTT", 2025, year(2025), ldtt=6)

    assert unmet_codes(body, rule_set) == ["collective_ldtt_share"]
    assert message(body, rule_set, "collective_ldtt_share")["message_en"] == "60% of members are LDTT; ≥ 70% is needed."


@pytest.mark.parametrize("ldtt, total", [(6, 10), (51, 100)])
def test_under_nd91_more_than_half_of_members_ldtt_earn_ttldtt(ldtt, total):
    assert unmet_codes(collective("TTLDTT", 2023, year(2023), ldtt=ldtt, total=total, completed=total), ND91) == []


def test_under_nd91_exactly_half_of_members_ldtt_fall_short_of_ttldtt():
    body = collective("TTLDTT", 2023, year(2023), ldtt=5)

    assert unmet_codes(body, ND91) == ["collective_ldtt_share"]
    assert "> 50%" in message(body, ND91, "collective_ldtt_share")["message_en"]


@every_rule_set
def test_a_disciplined_member_keeps_a_collective_from_ttldtt(rule_set):
    body = collective("TTLDTT", 2025, year(2025), disciplined=1)

    assert unmet_codes(body, rule_set) == ["collective_member_disciplined"]


@every_rule_set
def test_a_collective_rated_below_good_falls_short_of_ttldtt(rule_set):
    assert unmet_codes(collective("TTLDTT", 2025, year(2025, "HTNV")), rule_set) == ["rating_below_good"]


# --- TTLDXS (Art. 27): HTXSNV, every member completed tasks, ≥ 70 % LDTT under every rule set, a CSTDCS ---

@every_rule_set
def test_an_excellent_collective_all_completed_with_seventy_percent_ldtt_and_a_cstdcs_earns_ttldxs(rule_set):
    assert unmet_codes(excellent("TTLDXS", ldtt=7, completed=10, cstdcs=1), rule_set) == []


@every_rule_set
@pytest.mark.parametrize("rating, members, code", [
    ("HTTNV", {}, "rating_not_excellent"), ("HTXSNV", {"completed": 9}, "collective_not_all_completed"),
    ("HTXSNV", {"ldtt": 6}, "collective_ldtt_share"), ("HTXSNV", {"cstdcs": 0}, "collective_no_cstdcs"),
    ("HTXSNV", {"disciplined": 1}, "collective_member_disciplined")],
    ids=["only good", "one not completed", "60% ldtt", "no cstdcs", "one disciplined"])
def test_a_collective_missing_one_ttldxs_criterion_is_told_which(rule_set, rating, members, code):
    assert unmet_codes(collective("TTLDXS", 2025, year(2025, rating), **members), rule_set) == [code]


# --- CO_BO (Art. 26), CO_CP (Art. 25) and commendations of collectives: the checkable part ---

@every_rule_set
@pytest.mark.parametrize("award", ["CO_BO", "BK_BO", "BK_TTG", "HCLD3"])
def test_an_excellent_collective_with_no_member_disciplined_may_be_proposed(rule_set, award):
    assert unmet_codes(excellent(award), rule_set) == []


@every_rule_set
@pytest.mark.parametrize("award", ["CO_BO", "BK_BO", "BK_TTG", "HCLD3"])
def test_a_collective_only_rated_good_falls_short_of_the_flag_and_the_commendations(rule_set, award):
    assert unmet_codes(collective(award, 2025, year(2025)), rule_set) == ["rating_not_excellent"]


@every_rule_set
def test_a_disciplined_member_keeps_a_collective_from_the_ministry_flag(rule_set):
    assert unmet_codes(excellent("CO_BO", disciplined=1), rule_set) == ["collective_member_disciplined"]


@every_rule_set
@pytest.mark.parametrize("rating, codes", [("HTTNV", []), ("HTNV", ["rating_below_good"])])
def test_a_collective_earns_a_giay_khen_with_a_good_year(rule_set, rating, codes):
    assert unmet_codes(collective("GK", 2025, year(2025, rating)), rule_set) == codes


def co_cp(flag_year, rating="HTXSNV", adhoc=False):
    flag = {"adhoc": ["CO_BO"]} if adhoc else {"titles": ["CO_BO"]}
    rows = {y: year(y, "HTXSNV") for y in range(2023, 2026)}
    rows[flag_year] = year(flag_year, "HTXSNV", **flag)
    rows[2025]["rating"] = rating
    return collective("CO_CP", 2025, *rows.values())


@every_rule_set
@pytest.mark.parametrize("flag_year", [2024, 2025])
def test_the_ministry_flag_last_year_or_this_and_an_excellent_year_earn_the_government_flag(rule_set, flag_year):
    assert unmet_codes(co_cp(flag_year), rule_set) == []


@every_rule_set
@pytest.mark.parametrize("body", [co_cp(2023), co_cp(2024, adhoc=True)], ids=["two years ago", "ad-hoc"])
def test_the_government_flag_needs_a_recent_merit_ministry_flag(rule_set, body):
    assert unmet_codes(body, rule_set) == ["prerequisite_required"]


@every_rule_set
def test_the_government_flag_needs_an_excellent_award_year(rule_set):
    assert unmet_codes(co_cp(2024, rating="HTTNV"), rule_set) == ["rating_not_excellent"]


# --- Every nominee alike ---

@every_rule_set
@pytest.mark.parametrize("award", ["LDTT", "CSTDCS", "CSTD_BO", "CSTD_TQ"])
def test_an_individual_title_is_not_awarded_to_a_collective(rule_set, award):
    assert unmet_codes(excellent(award), rule_set) == ["wrong_nominee_kind"]


@every_rule_set
@pytest.mark.parametrize("award", ["TTLDTT", "TTLDXS", "CO_BO", "CO_CP"])
def test_a_collective_title_is_not_awarded_to_an_individual(rule_set, award):
    assert unmet_codes(person(award, 2025, year(2025, "HTXSNV")), rule_set) == ["wrong_nominee_kind"]


def nominee(kind, *rows, **extra):
    return person("LDTT", 2025, *rows, **extra) if kind == "individual" else collective("TTLDTT", 2025, *rows, **extra)


@every_rule_set
@pytest.mark.parametrize("kind", ["individual", "collective"])
@pytest.mark.parametrize("row, under_review, codes", [
    (year(2025, "HTXSNV"), True, ["on_hold_under_review"]),
    (year(2025, "HTXSNV", disciplined=True), False, ["disciplined_in_award_year"]),
    (year(2024, "HTXSNV"), False, ["no_history_for_award_year"])], ids=["under review", "disciplined", "no rating"])
def test_a_hold_a_discipline_or_a_missing_rating_stops_any_nominee(rule_set, kind, row, under_review, codes):
    assert unmet_codes(nominee(kind, row, under_review=under_review), rule_set) == codes


@every_rule_set
def test_every_unmet_criterion_of_an_individual_comes_back_at_once(rule_set):
    body = person("CSTD_BO", 2025, year(2023, titles=["CSTDCS"]), year(2024, "HTNV", initiatives=[initiative("s1")]),
                  year(2025, "HTXSNV", titles=["CSTDCS"]), under_review=True)  # 2024 breaks it; s1 is base level

    assert unmet_codes(body, rule_set) == ["on_hold_under_review", "cstdcs_three_years", "initiative_bo_required"]


@every_rule_set
def test_every_unmet_criterion_of_a_collective_comes_back_at_once(rule_set):
    body = collective("TTLDTT", 2025, year(2025, "HTNV"), ldtt=5, disciplined=2)

    assert unmet_codes(body, rule_set) == [
        "rating_below_good", "collective_ldtt_share", "collective_member_disciplined"]


FAILING = [person("CSTD_BO", 2025, year(2025, "HTNV", initiatives=[initiative("sk1")]), under_review=True),
           person("CSTDCS", 2025, year(2025, "HTNV", initiatives=[initiative("sk1")])),
           person("CSTD_TQ", 2025, year(2025, "HTXSNV")), person("BK_BO", 2025, year(2025, "HTXSNV")),
           person("HCLD3", 2025, year(2024, titles=["BK_TTG"]), year(2025)),
           person("BK_TTG", 2025, year(2025, disciplined=True)), person("LDTT", 2025),
           excellent("LDTT"), collective("TTLDXS", 2025, year(2025), ldtt=1, completed=2, cstdcs=0, disciplined=1),
           collective("CO_CP", 2025, year(2025))]


def test_the_failing_nominations_below_between_them_break_every_rule_intake_names():
    named = {item["code"] for rs in DEFAULT_RULE_SETS for body in FAILING
             for item in assess(body, rs, frozenset({"sk1"})).unmet}

    # the dossier's own tests name missing_document; the register's (test_register.py) its three
    assert named == set(TEXTS) - {"missing_document", "not_in_register", "decision_document_required",
                                  "declared_before_register"}


@every_rule_set
@pytest.mark.parametrize("body", FAILING, ids=[f"{b['award_code']}-{b['nominee']['kind']}" for b in FAILING])
def test_each_unmet_criterion_is_told_in_vietnamese_and_in_english(rule_set, body):
    unmet = assess(body, rule_set, frozenset({"sk1"})).unmet

    assert unmet
    for item in unmet:
        assert set(item) == {"code", "message", "message_en"}
        assert VIETNAMESE_VOWEL.search(item["message"]) and not VIETNAMESE_VOWEL.search(item["message_en"])
        assert "{" not in item["message"] + item["message_en"]


# --- The dossier (Art. 84.1) ---

def dossier(body, rule_set, award=None) -> list[dict]:
    verdict = assess(body, rule_set)
    check_dossier(body, award or rule_set.awards[body["award_code"]], verdict)
    return verdict.unmet


@every_rule_set
def test_a_complete_dossier_adds_nothing(rule_set):
    assert dossier(excellent("TTLDTT"), rule_set) == []


@every_rule_set
@pytest.mark.parametrize("missing", DOCUMENTS)
def test_each_missing_document_is_reported(rule_set, missing):
    unmet = dossier(excellent("TTLDTT", docs=[d for d in DOCUMENTS if d != missing]), rule_set)

    assert [item["code"] for item in unmet] == ["missing_document"]
    assert missing in unmet[0]["message"] and missing in unmet[0]["message_en"]


@every_rule_set
def test_a_dossier_without_documents_reports_all_three_at_once(rule_set):
    unmet = dossier(person("LDTT", 2025, year(2025), docs=()), rule_set)

    assert [item["code"] for item in unmet] == ["missing_document"] * 3
    assert [item["message_en"] for item in unmet] == [
        f"The dossier lacks the document {kind} (Law Art. 84)." for kind in DOCUMENTS]


@every_rule_set
def test_an_initiative_relied_upon_needs_its_certificate(rule_set):
    needs = person("CSTDCS", 2025, year(2025, initiatives=[initiative("sk1")]))
    has = person("CSTDCS", 2025, year(2025, initiatives=[initiative("sk1")]), docs=(*DOCUMENTS, "xac_nhan_sang_kien"))

    assert [item["message_en"] for item in dossier(needs, rule_set)] == [
        "The dossier lacks the document xac_nhan_sang_kien (Law Art. 84)."]
    assert dossier(has, rule_set) == []


@since_2024
def test_since_2024_an_excellent_year_needs_no_initiative_certificate_for_cstdcs(rule_set):
    assert dossier(person("CSTDCS", 2025, year(2025, "HTXSNV", initiatives=[initiative("sk1")])), rule_set) == []


def test_under_nd91_the_same_excellent_year_relies_on_the_initiative_and_needs_its_certificate():
    body = person("CSTDCS", 2023, year(2023, "HTXSNV", initiatives=[initiative("sk1")]))

    assert [item["code"] for item in dossier(body, ND91)] == ["missing_document"]


def test_the_documents_an_award_needs_are_rule_set_data():
    [rule_set] = apply_overrides([ND91], {"nd91-2017": {"awards": {"GK": {"documents": ["to_trinh", "other"]}}}})

    assert [item["message_en"] for item in dossier(excellent("GK"), rule_set)] == [
        "The dossier lacks the document other (Law Art. 84)."]
