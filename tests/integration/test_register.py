"""The award register in intake, on SQLite and PostgreSQL: imports (all lines or none, idempotent),
decisions (approved nominations only, all or nothing, one winner between concurrent decisions), claims
checked at submission, and a revocation that returns a live nomination through review.

Long because each of the register's operations is tested here end to end on both databases, beside the
helpers they share."""
import json
import uuid
from datetime import date, timedelta

import eventlet
import pytest
import sqlalchemy as sa
from nameko.testing.services import entrypoint_waiter

from shared.cli.register import check_rows
from shared.contract.errors import Conflict, Ineligible, ValidationError
from shared.platform.auth import credential_id
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.platform.messaging import EventPublisher
from tests.integration.conftest import EXAMPLE
from tests.integration.delivery import Tap

TALLY = {"approve": 7, "reject": 0, "abstain": 0, "members": 7, "required": 6}
CERTIFICATE = {"kind": "xac_nhan_sang_kien", "filename": "sk.pdf", "sha256": "b" * 64, "size": 2048}
PAST_CSTDCS = {"unit_id": "vp", "nominee_kind": "individual", "employee_id": "vp-0042",
               "nominee_name": "Nguyễn Thị Hoa", "award_code": "CSTDCS", "award_year": 2025,
               "decision_number": "88/QĐ-VP", "decision_date": "2025-12-15", "signer": "Trần Văn Bình"}


def operator(intake, method, *args):
    return intake.call(LOCAL_ADMIN_TOKEN, method, *args)


def approve(intake, nomination_id, outcome="approved"):
    """Review's ``nomination_decided``, as review's relay publishes it; returns once intake handled it."""
    with entrypoint_waiter(intake.container, "on_nomination_decided", timeout=15):
        EventPublisher(intake.rabbit_config["AMQP_URI"], "review")("nomination_decided", {
            "nomination_id": nomination_id, "stage": "unit", "outcome": outcome, "tally": TALLY, "reasons": []},
            str(uuid.uuid4()), {})


def cstd_bo_2026(key="bo-2026", employee_id="VP-0042", cstdcs_2025_typed=False):
    """CSTD_BO for 2026: CSTDCS typed for 2024 only (2025 from the register unless ``cstdcs_2025_typed``)."""
    return {**EXAMPLE, "submission_key": key, "award_code": "CSTD_BO", "award_year": 2026,
            "nominee": {**EXAMPLE["nominee"], "employee_id": employee_id},
            "documents": [*EXAMPLE["documents"], CERTIFICATE], "history": [
                {"year": 2024, "rating": "HTXSNV", "titles": ["CSTDCS"]},
                {"year": 2025, "rating": "HTXSNV", "titles": ["CSTDCS"] if cstdcs_2025_typed else []},
                {"year": 2026, "rating": "HTXSNV", "initiatives": [{"id": f"SK-{key}", "title": "Bản đồ số",
                                                                   "scope": "bo"}]}]}


def audit_rows(intake):
    with intake.tables.engine.connect() as connection:
        return connection.execute(sa.text("SELECT kind, detail FROM audit ORDER BY id")).all()


def test_an_import_with_a_line_that_does_not_parse_imports_nothing_and_a_good_one_imports_once(intake, tmp_path):
    broken = tmp_path / "register.csv"
    broken.write_text("unit_id,employee_id,nominee_name,award_code,award_year,decision_number,decision_date\n"
                      "vp,VP-0042,Nguyễn Thị Hoa,CSTDCS,2024,12/QĐ-VP,2024-12-20\n"
                      "vp,VP-0043,Lê Văn Nam,CSTDCS,hai nghìn,13/QĐ-VP,2024-12-20\n"
                      "vp,VP-0044,Phạm Thu,XYZ,2024,14/QĐ-VP,2024-12-20\n", encoding="utf-8-sig")
    from shared.cli.register import read_csv
    good, problems = check_rows(read_csv(str(broken)))
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4"] and len(good) == 1

    bad_rows = [PAST_CSTDCS, {**PAST_CSTDCS, "award_code": "XYZ"}]
    with pytest.raises(ValidationError) as error:  # the service refuses the whole file as well
        operator(intake, "import_register", bad_rows)
    assert "rows" in error.value.detail
    assert intake.tables.count("register_entries") == 0

    first = operator(intake, "import_register", [PAST_CSTDCS, {**PAST_CSTDCS, "award_year": 2024,
                                                              "decision_number": "10/QĐ-VP", "decision_date": "2024-12-10"}])
    again = operator(intake, "import_register", [PAST_CSTDCS])
    assert (first["added"], again["added"], again["skipped"]) == (2, 0, 1)
    [entry_2025] = operator(intake, "register_show", {"unit_id": "vp", "employee_id": "VP-0042", "award_year": 2025})
    assert (entry_2025["money"], entry_2025["state"], entry_2025["source"]) == (2_340_000, "awarded", "import")
    assert entry_2025["recorded_by"] == credential_id(LOCAL_ADMIN_TOKEN)
    assert ("register_imported", f"2 of 2 rows entered; operator={credential_id(LOCAL_ADMIN_TOKEN)}") in audit_rows(intake)
    assert all(LOCAL_ADMIN_TOKEN not in detail for _, detail in audit_rows(intake))


def test_a_decision_awards_approved_nominations_and_refuses_the_whole_call_naming_one_not_approved(intake):
    tap = Tap(intake.rabbit_config["AMQP_URI"], "intake", "nomination_awarded")
    approved = intake.submit(submission_key="a1")["nomination_id"]
    waiting = intake.submit(submission_key="a2", nominee={**EXAMPLE["nominee"], "employee_id": "VP-0050"})["nomination_id"]
    approve(intake, approved)
    decision = {"number": "123/QĐ-BTNMT", "date": "2025-12-20", "signer": "Bộ trưởng",
                "nomination_ids": [approved, waiting]}

    with pytest.raises(Conflict) as refused:
        operator(intake, "record_decision", decision)
    assert waiting in refused.value.detail and "not approved" in refused.value.detail and approved not in refused.value.detail
    assert intake.tables.count("register_entries") == 0
    assert intake.call("vp", "get_nomination", approved)["status"] == "approved"

    recorded = operator(intake, "record_decision", {**decision, "nomination_ids": [approved]})
    [entry] = recorded["entries"]
    assert (entry["award_code"], entry["award_year"], entry["money"]) == ("LDTT", 2025, 710_000)  # 0.3 × 2,340,000
    view = intake.call("vp", "get_nomination", approved)
    assert view["status"] == "awarded" and view["decision"]["number"] == "123/QĐ-BTNMT"
    assert view["history"][-1]["event"] == "decision_recorded"
    with pytest.raises(Conflict) as twice:
        operator(intake, "record_decision", {**decision, "number": "124/QĐ-BTNMT", "nomination_ids": [approved]})
    assert approved in twice.value.detail and "already awarded" in twice.value.detail
    [awarded] = eventlet_wait(tap)
    assert (awarded["nomination_id"], awarded["decision"]["number"], awarded["money"]) == (approved, "123/QĐ-BTNMT", 710_000)
    tap.close()


def eventlet_wait(tap, count=1):
    from tests.harness import wait_until
    found = []
    wait_until(lambda: found.extend(json.loads(m.body) for m in tap.get_all()) or len(found) >= count,
               what=f"{count} events")
    return found


def test_concurrent_decisions_on_one_nomination_one_wins(intake):
    nomination_id = intake.submit(submission_key="c1")["nomination_id"]
    approve(intake, nomination_id)

    def decide(number):
        try:
            return operator(intake, "record_decision", {"number": number, "date": "2025-12-20", "signer": "Bộ trưởng",
                                                        "nomination_ids": [nomination_id]})
        except Conflict as exc:
            return exc

    calls = [eventlet.spawn(decide, f"{n}/QĐ-BTNMT") for n in range(1, 5)]
    results = [call.wait() for call in calls]
    assert sum(isinstance(r, dict) for r in results) == 1 and sum(isinstance(r, Conflict) for r in results) == 3
    assert intake.tables.count("register_entries") == 1


def test_claims_are_checked_at_submission_and_the_register_counts_where_the_unit_typed_nothing(intake):
    with pytest.raises(Ineligible) as without_register:  # nothing typed for 2025 and nothing in the register
        intake.call("vp", "submit_nomination", cstd_bo_2026())
    assert "cstdcs_three_years" in [u["code"] for u in without_register.value.detail]

    operator(intake, "import_register", [PAST_CSTDCS])
    receipt = intake.call("vp", "submit_nomination", cstd_bo_2026())
    notes = intake.call("vp", "get_nomination", receipt["nomination_id"])["register_notes"]
    assert [(n["code"], n["title"], n["year"]) for n in notes] == [("declared_before_register", "CSTDCS", 2024)]

    with pytest.raises(Ineligible) as unregistered:  # another person claims a 2025 CSTDCS the register lacks
        intake.call("vp", "submit_nomination", cstd_bo_2026("bo-other", "VP-0099", cstdcs_2025_typed=True))
    [problem] = [u for u in unregistered.value.detail if u["code"] == "not_in_register"]
    assert "CSTDCS" in problem["message"] and "2025" in problem["message"]


def test_a_revocation_returns_the_live_nomination_that_relied_on_it_through_review(intake, review):
    operator(intake, "import_register", [PAST_CSTDCS])
    with entrypoint_waiter(review.container, "on_nomination_submitted", timeout=20):
        nomination_id = intake.call("vp", "submit_nomination", cstd_bo_2026())["nomination_id"]
    [entry] = operator(intake, "register_show", {"unit_id": "vp", "employee_id": "VP-0042", "award_year": 2025})

    with entrypoint_waiter(intake.container, "on_nomination_returned", timeout=20):
        revoked = operator(intake, "revoke_register_entry", {
            "entry_id": entry["entry_id"], "ground": "a", "decision_number": "5/QĐ-VP", "date": "2026-12-01",
            "reason": "Khai man thành tích năm 2025"})
    assert [a["nomination_id"] for a in revoked["affected"]] == [nomination_id]
    assert revoked["revocation"]["money_to_recover"] == 2_340_000

    view = intake.call("vp", "get_nomination", nomination_id)
    assert view["status"] == "returned" and "revoked" in " ".join(view["history"][-1]["reasons"])
    assert review.call("get_case", nomination_id)["state"] == "returned"
    [kept] = operator(intake, "register_show", {"unit_id": "vp", "employee_id": "VP-0042", "award_year": 2025})
    assert kept["state"] == "revoked" and kept["revocation"]["ground"] == "a"  # kept, never deleted
    with pytest.raises(Conflict):
        operator(intake, "revoke_register_entry", {"entry_id": entry["entry_id"], "ground": "a",
                                                   "decision_number": "6/QĐ-VP", "date": "2026-12-02", "reason": "again"})
    with pytest.raises(Ineligible) as claimed:  # the revoked title proves nothing any more
        intake.call("vp", "amend_nomination", nomination_id, {"history": cstd_bo_2026(cstdcs_2025_typed=True)["history"]})
    assert "not_in_register" in [u["code"] for u in claimed.value.detail]
    assert [kind for kind, _ in audit_rows(intake)] == ["register_imported", "register_revoked"]


def test_a_proposal_is_awarded_by_the_central_decision_or_closed_as_not_awarded(intake):
    awarded, refused, approved = (intake.submit(submission_key=key, nominee={**EXAMPLE["nominee"], "employee_id": f"VP-{n}"})
                                  ["nomination_id"] for n, key in enumerate(("p1", "p2", "p3")))
    approve(intake, awarded, "proposed")
    approve(intake, refused, "proposed")
    approve(intake, approved)

    rejected = intake.submit(submission_key="p4", nominee={**EXAMPLE["nominee"], "employee_id": "VP-4"})["nomination_id"]
    approve(intake, rejected, "rejected")
    with pytest.raises(Conflict) as not_decidable:
        operator(intake, "close_not_awarded", {"nomination_ids": [refused, rejected], "reason": "Không được khen"})
    assert rejected in not_decidable.value.detail
    assert intake.call("vp", "get_nomination", refused)["status"] == "proposed"  # nothing of the call happened

    operator(intake, "close_not_awarded", {"nomination_ids": [refused], "reason": "Cấp trên không khen"})
    operator(intake, "record_decision", {"number": "9/QĐ-TTg", "date": "2026-01-10", "signer": "Thủ tướng",
                                         "nomination_ids": [awarded]})
    assert [intake.call("vp", "get_nomination", n)["status"] for n in (awarded, refused)] == ["awarded", "not_awarded"]
    assert [p["nomination_id"] for p in operator(intake, "pending_decisions")] == [approved]


def test_an_approval_that_relied_on_a_revoked_award_is_refused_a_decision_and_closed_as_not_awarded(intake):
    operator(intake, "import_register", [PAST_CSTDCS])
    nomination_id = intake.call("vp", "submit_nomination", cstd_bo_2026())["nomination_id"]
    approve(intake, nomination_id)  # the council approved on the CSTDCS of 2025 ...
    [entry] = operator(intake, "register_show", {"unit_id": "vp", "employee_id": "VP-0042", "award_year": 2025})
    revoked = operator(intake, "revoke_register_entry", {  # ... which is revoked before the head signs
        "entry_id": entry["entry_id"], "ground": "a", "decision_number": "5/QĐ-VP", "date": "2026-12-01",
        "reason": "Khai man thành tích năm 2025"})
    assert revoked["affected"] == []  # not live: the decision is where it is stopped
    with pytest.raises(Conflict) as refused:
        operator(intake, "record_decision", {"number": "12/QĐ-BNNMT", "date": "2026-12-01", "signer": "Bộ trưởng",
                                             "nomination_ids": [nomination_id]})
    assert nomination_id in refused.value.detail and "missing 2025" in refused.value.detail

    operator(intake, "close_not_awarded", {"nomination_ids": [nomination_id], "reason": "Danh hiệu CSTDCS 2025 "
                                           "đã bị hủy bỏ: người đứng đầu không quyết định khen thưởng"})
    view = intake.call("vp", "get_nomination", nomination_id)
    assert view["status"] == "not_awarded" and operator(intake, "pending_decisions") == []  # never stuck


@pytest.fixture
def warn_mode(monkeypatch):
    monkeypatch.setenv("TDKT_REGISTER_CHECK", "warn")


def test_under_warn_a_mismatch_is_accepted_and_shown_to_the_council_with_the_case(warn_mode, intake, review):
    operator(intake, "import_register", [PAST_CSTDCS])
    with entrypoint_waiter(review.container, "on_nomination_submitted", timeout=20):
        receipt = intake.call("vp", "submit_nomination", cstd_bo_2026("bo-warn", "VP-0099", cstdcs_2025_typed=True))
    assert receipt["status"] == "submitted"
    notes = review.call("get_case", receipt["nomination_id"])["register_notes"]
    assert [(n["code"], n["title"], n["year"]) for n in notes] == [
        ("declared_before_register", "CSTDCS", 2024), ("not_in_register", "CSTDCS", 2025)]


def test_a_decision_dated_in_the_future_or_before_any_rule_set_is_refused_clearly_and_changes_nothing(intake):
    operator(intake, "import_register", [PAST_CSTDCS])
    nomination_id = intake.call("vp", "submit_nomination", cstd_bo_2026())["nomination_id"]
    approve(intake, nomination_id)
    for day, says in (("2099-01-01", "after today"), ("1989-12-31", "before 1990"),
                      ("1995-05-05", "no rule set")):
        with pytest.raises(ValidationError) as refused:
            operator(intake, "record_decision", {"number": "1/QĐ-BTNMT", "date": day, "signer": "Bộ trưởng",
                                                 "nomination_ids": [nomination_id]})
        assert says in str(refused.value.detail)
    assert intake.call("vp", "get_nomination", nomination_id)["status"] == "approved"
    assert [e["source"] for e in operator(intake, "register_show", {"unit_id": "vp"})] == ["import"]


def test_an_import_of_an_old_award_without_its_money_is_refused_clearly_and_imports_nothing(intake):
    """A row signed before the first rule set (NĐ 91/2017, from 2017-07-31) has no award money the law
    data could compute: the operator is told which row needs its ``money``, nothing is entered; with the
    money given, the row imports."""
    old = {**PAST_CSTDCS, "award_year": 2012, "decision_number": "5/QĐ-VP", "decision_date": "2012-12-20"}
    with pytest.raises(ValidationError) as refused:
        operator(intake, "import_register", [PAST_CSTDCS, old])
    assert "money" in str(refused.value.detail) and "2012-12-20" in str(refused.value.detail)
    assert operator(intake, "register_show", {"unit_id": "vp"}) == []
    assert operator(intake, "import_register", [PAST_CSTDCS, {**old, "money": 0}])["added"] == 2


def test_a_revocation_dated_before_the_decision_it_cancels_is_refused_and_changes_nothing(intake):
    operator(intake, "import_register", [PAST_CSTDCS])
    [entry] = operator(intake, "register_show", {"unit_id": "vp", "employee_id": "VP-0042", "award_year": 2025})
    before = (date.fromisoformat(entry["decision"]["date"]) - timedelta(days=1)).isoformat()
    with pytest.raises(ValidationError) as refused:
        operator(intake, "revoke_register_entry", {"entry_id": entry["entry_id"], "ground": "a",
                                                   "decision_number": "5/QĐ-VP", "date": before, "reason": "Sai"})
    assert "before the decision it cancels" in str(refused.value.detail)
    [kept] = operator(intake, "register_show", {"unit_id": "vp", "employee_id": "VP-0042", "award_year": 2025})
    assert kept["state"] == "awarded" and kept["revocation"] is None
