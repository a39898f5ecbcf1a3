"""Public comment (issue #18) without a broker: the rule data, the period's working days, the page's
CSRF field, rate limit and escaping, the ballot's comment notes within their budget, and the yearly
statistics forms against hand-counted fixtures.

Long because the forms are checked against one hand-counted fixture, which the tests share."""
import csv
import io
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook

from services.review import forms, public_page
from services.review.calendar import DEFAULT_HOLIDAYS_2025_2026, VIETNAM, deadline_after
from services.review.comment import comment_days
from shared.cli import forms as cli_forms
from shared.cli import reports
from shared.law import rulesets
from shared.law.rulebook import with_overrides
from tests.unit.test_cli_review import fake_review, tdkt  # noqa: F401 - the fixture, used by name

ND152 = rulesets.by_id("nd152-2025")


# the rule data -----------------------------------------------------------------------------------

def test_an_order_owes_ten_working_days_of_comment_at_the_ministry_council_and_nowhere_else():
    assert comment_days(ND152, "HCLD3", "ministry") == 10
    assert comment_days(ND152, "HCLD3", "unit") is None
    assert [code for code, award in ND152.awards.items() if award.comment_days] == ["HCLD3"]


def test_an_operator_gives_an_award_a_comment_period_or_lifts_one_in_the_rules_file():
    rules = with_overrides({"nd152-2025": {"awards": {"BK_TTG": {"public_comment": 15},
                                                      "HCLD3": {"public_comment": None}}}})
    changed = rules.by_id("nd152-2025")
    assert comment_days(changed, "BK_TTG", "ministry") == 15
    assert comment_days(changed, "HCLD3", "ministry") is None
    assert rules.by_id("nd98-2023").awards["HCLD3"].comment_days == 10  # the other rule set untouched


@pytest.mark.parametrize("value", [0, 61, "10", 2.5, True, [10]])
def test_a_comment_period_that_is_not_a_number_of_working_days_is_refused_naming_the_key(value):
    with pytest.raises(ValueError, match=r"nd152-2025\.awards\.HCLD3\.public_comment"):
        with_overrides({"nd152-2025": {"awards": {"HCLD3": {"public_comment": value}}}})


def test_the_catalogue_states_the_comment_period():
    awards = {a["code"]: a for a in rulesets.catalogue(ND152)["awards"]}
    assert (awards["HCLD3"]["public_comment_days"], awards["LDTT"]["public_comment_days"]) == (10, None)


def test_ten_working_days_of_comment_skip_the_national_day_holidays():
    opened = datetime(2025, 8, 27, 10, 0, tzinfo=VIETNAM)  # a Wednesday; 1 and 2 September are holidays
    until = deadline_after(opened, 10, DEFAULT_HOLIDAYS_2025_2026)
    assert until == datetime(2025, 9, 12, 23, 59, 59, tzinfo=VIETNAM)
    assert deadline_after(opened, 10, frozenset()) == datetime(2025, 9, 10, 23, 59, 59, tzinfo=VIETNAM)


# the page's guards -----------------------------------------------------------------------------

def test_the_csrf_field_is_good_for_its_nomination_only_and_for_two_hours():
    field = public_page.csrf_field("key", "n-1", now=1_000_000)
    assert public_page.csrf_ok("key", "n-1", field, now=1_000_000 + 60)
    assert not public_page.csrf_ok("key", "n-2", field, now=1_000_000 + 60)
    assert not public_page.csrf_ok("other-key", "n-1", field, now=1_000_000 + 60)
    assert not public_page.csrf_ok("key", "n-1", field, now=1_000_000 + public_page.CSRF_SECONDS + 1)
    assert not public_page.csrf_ok("key", "n-1", "1000000." + "0" * 64, now=1_000_000)
    assert not public_page.csrf_ok("key", "n-1", "", now=1_000_000)


def test_the_rate_limit_is_per_address_and_refills_with_time():
    clock = [0.0]
    limit = public_page.RateLimit(per_minute=6, burst=2, clock=lambda: clock[0])
    assert [limit.allow("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert limit.allow("10.0.0.2")  # another address has its own bucket
    clock[0] += 10.0  # one request back every 10 s
    assert [limit.allow("10.0.0.1") for _ in range(2)] == [True, False]


def test_the_rate_limit_remembers_a_bounded_number_of_addresses():
    limit = public_page.RateLimit(per_minute=1, burst=1, addresses=3)
    for n in range(10):
        limit.allow(f"10.0.0.{n}")
    assert list(limit.buckets) == ["10.0.0.7", "10.0.0.8", "10.0.0.9"]


def test_a_nominee_named_like_a_script_is_shown_as_text():
    item = {"nomination_id": "n-1", "nominee_name": "<script>alert(1)</script>", "unit_name": "<b>vp</b>",
            "award_code": "HCLD3", "award_year": 2025, "achievements": '"><img src=x onerror=alert(1)>',
            "until_local": "23:59 12/09/2025"}
    page = public_page.render("public_list.html.j2", items=[item]).decode()
    form = public_page.render("public_item.html.j2", item=item, form={"text": "</textarea><script>x</script>"},
                              errors={}, csrf="1.ab").decode()
    for body in (page, form):
        assert "<script>" not in body and "<img" not in body and "<b>vp" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;/textarea&gt;&lt;script&gt;" in form


# the statistics forms --------------------------------------------------------------------------

def decided(nid, code, outcome, kind="individual", direct=False, at="2025-06-15T10:00:00+07:00", decision="auto",
            revoked=False):
    """A case the council decided ``at``; an approval (or proposal) the head decided on ``decision``
    (by default the council's day; None: not decided)."""
    if decision == "auto":
        decision = at[:10] if outcome == "approved" else None
    return {"nomination_id": nid, "award_code": code, "outcome": outcome, "decided_at": datetime.fromisoformat(at),
            "nominee": {"kind": kind, "name": nid, "direct_worker": direct},
            "decision": {"number": f"{nid}/QĐ", "date": decision, **({"revoked": {"number": "9/QĐ"}} if revoked else {})}
            if decision else None}


FIXTURE = [  # hand-counted below
    decided("a1", "BK_BO", "approved"), decided("a2", "BK_BO", "approved", direct=True),
    decided("a3", "BK_BO", "approved", kind="collective"), decided("a4", "BK_BO", "rejected"),
    decided("b1", "CSTD_BO", "approved", direct=True), decided("c1", "CO_BO", "approved", kind="collective"),
    decided("d1", "TTLDXS", "approved", kind="collective"), decided("e1", "LDTT", "approved"),
    decided("s1", "HCLD3", "proposed"), decided("s2", "BK_TTG", "proposed", kind="collective", decision="2026-01-20"),
    decided("s3", "BK_TTG", "rejected"), decided("s4", "CSTD_TQ", "proposed"),
    decided("late", "BK_BO", "approved", at="2025-12-01T00:00:00+07:00"),  # reporting year 2026
    decided("early", "BK_BO", "approved", at="2024-11-30T23:59:59+07:00"),  # reporting year 2024
    # the council approved in reporting year 2025, the Minister has not decided: no award yet
    decided("undecided", "BK_BO", "approved", decision=None),
    # approved in 2024's reporting year, decided by the Minister in 2025's: an award of 2025
    decided("signed-later", "CSTD_BO", "approved", at="2024-11-20T10:00:00+07:00", decision="2025-01-10"),
    # decided in 2025, then revoked (Law Art. 93): not an award
    decided("revoked", "BK_BO", "approved", revoked=True),
]


def rows(form):
    return {row["code"]: dict(zip([c["code"] for c in form["columns"]], row["values"])) for row in form["rows"]}


def year_2025():
    kinds = {case["nomination_id"]: "cong_trang" for case in FIXTURE}
    return forms.forms(2025, FIXTURE, dict(rulesets.AWARD_NAMES), kinds)


def test_form_0603_counts_the_ministry_level_awards_the_minister_decided_in_the_reporting_year_by_hand():
    """The council advises; the head's decision is the award: counted in the year of its date, never an
    approval not (yet) decided, never a decision since revoked."""
    table = rows(next(f for f in year_2025()["forms"] if f["form"] == "0603.N"))
    assert table["BK_BO"] == {"total": 3, "collective": 1, "individual": 2, "direct_worker": 1,
                              "kind:cong_trang": 3, "kind:chuyen_de": 0, "kind:dot_xuat": 0, "kind:cong_hien": 0}
    assert (table["CSTD_BO"]["total"], table["CO_BO"]["collective"], table["TTLDXS"]["collective"]) == (2, 1, 1)
    assert table["ALL"] == {"total": 7, "collective": 3, "individual": 4, "direct_worker": 2,
                            "kind:cong_trang": 7, "kind:chuyen_de": 0, "kind:dot_xuat": 0, "kind:cong_hien": 0}
    ids = {nid for row in next(f for f in year_2025()["forms"] if f["form"] == "0603.N")["rows"]
           for cell in row["sources"] for nid in cell}
    assert "signed-later" in ids and not ids & {"undecided", "revoked", "late", "early"}


def test_form_0602_counts_proposals_to_the_central_level_those_it_awarded_and_those_not_proposed_by_hand():
    table = rows(next(f for f in year_2025()["forms"] if f["form"] == "0602.N"))
    assert table["BK_TTG"] == {"proposed": 1, "proposed_collective": 1, "proposed_individual": 0, "awarded": 1,
                               "rejected": 1}
    assert table["ALL"] == {"proposed": 3, "proposed_collective": 1, "proposed_individual": 2, "awarded": 1,
                            "rejected": 1}


def test_a_decision_on_30_november_and_one_on_1_december_fall_in_different_reporting_years():
    assert forms.reporting_year(datetime(2025, 11, 30, 23, 59, 59, tzinfo=VIETNAM)) == 2025
    assert forms.reporting_year(datetime(2025, 12, 1, 0, 0, tzinfo=VIETNAM)) == 2026
    # 17:30 UTC on 30 November is already 1 December in Vietnam
    assert forms.reporting_year(datetime(2025, 11, 30, 17, 30, tzinfo=timezone.utc)) == 2026
    ids = {nid for form in year_2025()["forms"] for row in form["rows"] for cell in row["sources"] for nid in cell}
    assert "late" not in ids and "early" not in ids
    assert forms.reporting_period(2025) == (date(2024, 12, 1), date(2025, 11, 30))


def test_every_number_names_the_nominations_behind_it_and_the_unknowable_is_said():
    data = year_2025()
    form = next(f for f in data["forms"] if f["form"] == "0603.N")
    assert "0603.N BK_BO × direct_worker = 1: a2" in cli_forms.explain_lines(form)
    assert {item["form"] for item in data["left_out"]} == {"0601.N", "0604.N", "0605.N"}
    assert all(f["left_out"] for f in data["forms"])


def test_tdkt_report_forms_writes_csv_and_an_xlsx_laid_out_like_the_form(fake_review, tmp_path):  # noqa: F811
    data = year_2025()
    data["forms"][0]["rows"][0]["label"] = "=HYPERLINK(\"x\")"  # a label that looks like a formula
    fake_review.answers["statistics_forms"] = data
    result = tdkt("report", "forms", "--year", "2025", "--csv", str(tmp_path), "--xlsx", str(tmp_path / "f.xlsx"),
                  "--explain")
    assert result.exit_code == 0, result.output
    assert fake_review.calls[0][:2] == ("statistics_forms", (2025,))
    text = (tmp_path / "0602_N_2025.csv").read_text(encoding="utf-8")
    assert text.startswith(reports.BOM)
    table = list(csv.reader(io.StringIO(text.removeprefix(reports.BOM))))
    assert table[1][1].startswith("'=HYPERLINK") and table[-1][:3] == ["ALL", "Cộng", "3"]
    sheet = load_workbook(tmp_path / "f.xlsx")["0603_N"]
    assert sheet["A1"].value.startswith("Biểu 0603.N")
    assert [c.value for c in sheet[4]][:3] == ["Mã / Code", "Chỉ tiêu / Row", "Tổng số"]
    assert [c.value for c in sheet[9]][:3] == ["ALL", "Cộng", 7]
    assert "0603.N ALL × total = 7: a1, a2, a3, b1, c1, d1, signed-later" in result.output


def test_tdkt_report_without_a_year_or_a_form_is_a_usage_error(fake_review):  # noqa: F811
    assert tdkt("report").exit_code == 2
    assert tdkt("report", "forms").exit_code == 2
    assert fake_review.calls == []


def test_a_paper_objection_is_recorded_through_review(fake_review):  # noqa: F811
    fake_review.answers["record_objection"] = {"objection_id": "o-1"}
    result = tdkt("objection", "record", "n-1", "--name", "Trần B", "--contact", "b@example.vn", "--text", "Sai")
    assert result.exit_code == 0 and result.output == "o-1\n"
    assert fake_review.calls[0][1][0] == {"nomination_id": "n-1", "name": "Trần B", "contact": "b@example.vn",
                                          "text": "Sai", "received_at": None}


# the lifecycle under comment -------------------------------------------------------------------

def a_case(**changes):
    return {"nomination_id": "n-1", "unit_id": "vp", "award_code": "HCLD3", "award_year": 2025, "stage": "ministry",
            "state": "public_comment", "considered": True, "revision": 2, "nominee": {"name": "A"},
            "contact_email": "vp@example.vn", "comment_until": datetime(2025, 9, 12, 16, 59, 59), **changes}


def test_a_dossier_a_council_advanced_is_closed_to_amendments_under_comment_as_it_was_waiting():
    from services.review import domain

    assert not domain.takes_amendment(a_case())
    assert domain.takes_amendment(a_case(stage="unit", considered=False))  # commented at its first council


def test_an_amended_dossier_is_put_out_for_comment_afresh_whether_it_was_under_comment_or_returned():
    from services.review import domain

    event = {"award_code": "HCLD3", "award_year": 2025, "nominee": {"name": "A"}, "contact_email": "vp@example.vn",
             "revision": 3, "achievements": "mới"}
    assert domain.amended_case(a_case(considered=False), event)["comment_until"] is None
    again = domain.amended_case(a_case(state="returned"), event)
    assert (again["state"], again["stage"], again["comment_until"], again["achievements"]) == (
        "waiting", "ministry", None, "mới")  # the next tick opens a new period at the ministry


def test_a_sitting_whose_items_drew_floods_of_objections_still_issues_ballots_within_their_bound():
    """Every item's notes at full length would make each ballot_issued far larger than notify accepts (its
    invitations would be dead-lettered and the members never invited): the notes shrink to fit, and each
    says how many objections it left off (the council reads them all on its ballot page)."""
    import json

    from services.review.comment import NOTES_BUDGET, agenda_notes
    from shared.contract.schemas import BallotIssued, load
    from shared.contract.schemas.base import MAX_BALLOT_BYTES

    objection = {"name": "Người phản ánh", "text": "Ý kiến " * 700, "received_at": "2025-11-20T03:00:00+00:00",
                 "channel": "web", "status": "resolved", "handling": "Đã xác minh " * 150}
    summaries = {f"n-{i}": {"comment_until": "2025-11-28T16:59:59+00:00", "objections": [objection] * 500}
                 for i in range(40)}
    notes = agenda_notes(summaries)
    assert len(json.dumps(notes, ensure_ascii=False).encode()) <= NOTES_BUDGET
    assert all(note["more"] + len(note["objections"]) == 500 for note in notes.values())
    ballot = {"sitting_id": "s" * 32, "council_id": "hd-bo", "council_name": "Hội đồng TĐKT Bộ",
              "member": {"id": "m-1", "name": "Thành viên", "email": "m1@example.vn"}, "ballot_token": "b1." + "x" * 43,
              "public_key": "k" * 44, "deadline": "2025-12-10T10:00:00+00:00", "convened_at": "2025-12-01T03:00:00+00:00",
              "ballot_url": None, "agenda": [{"nomination_id": nid, "award_code": "HCLD3", "nominee_name": nid,
                                              "unit_id": "vp", "unit_name": "Văn phòng", "public_comment": note}
                                             for nid, note in notes.items()]}
    assert len(json.dumps(ballot).encode()) < MAX_BALLOT_BYTES
    assert load(BallotIssued, ballot, MAX_BALLOT_BYTES)["agenda"][0]["public_comment"]["more"] > 0

    few = agenda_notes({"n-1": {"comment_until": "2025-11-28T16:59:59+00:00", "objections": [objection] * 3}})
    assert few["n-1"]["more"] == 0 and few["n-1"]["objections"][0]["text"] == objection["text"][:1000]
