"""A nomination's life in intake: listing, amending, withdrawing, following review, the catalogue."""
import pytest
from nameko.testing.services import entrypoint_waiter

from shared.contract.errors import Conflict, Ineligible, NotFound, ValidationError
from shared.platform.messaging import EventPublisher

from tests.integration.conftest import EXAMPLE


def review_event(intake, event_type, **payload):
    """Publish a review outcome event, as review's relay does, and wait until intake handled it."""
    with entrypoint_waiter(intake.container, f"on_{event_type}", timeout=15):
        EventPublisher(intake.rabbit_config["AMQP_URI"], "review")(event_type, payload, f"{event_type}-1", {})


def with_certificate(example_documents):
    return [*example_documents, {"kind": "xac_nhan_sang_kien", "filename": "sk.pdf", "sha256": "a" * 64,
                                 "size": 1000}]


def test_a_unit_lists_its_own_nominations_a_page_at_a_time_with_filters(intake):
    for number in range(5):
        intake.submit(submission_key=f"vp-{number}")
    intake.submit("tccb", submission_key="tccb-0")

    first = intake.call("vp", "list_nominations", {"page_size": 2})
    last = intake.call("vp", "list_nominations", {"page_size": 2, "page": 3})
    assert (first["total"], len(first["items"]), len(last["items"])) == (5, 2, 1)
    assert intake.call("vp", "list_nominations", {"status": "withdrawn"})["total"] == 0
    assert intake.call("vp", "list_nominations", {"award_code": "LDTT", "award_year": 2025})["total"] == 5
    with pytest.raises(ValidationError):
        intake.call("vp", "list_nominations", {"status": "lost", "page_size": 1000})


def test_a_submitted_nomination_can_be_amended_and_a_withdrawn_one_cannot(intake):
    receipt = intake.submit()
    amended = intake.call("vp", "amend_nomination", receipt["nomination_id"], {"achievements": "Bổ sung"})
    assert (amended["achievements"], amended["status"]) == ("Bổ sung", "submitted")

    with pytest.raises(ValidationError):
        intake.call("vp", "amend_nomination", receipt["nomination_id"], {"submission_key": "other"})
    with pytest.raises(Ineligible):  # the merged nomination is checked again, and nothing changes
        intake.call("vp", "amend_nomination", receipt["nomination_id"],
                    {"history": [{"year": 2025, "rating": "KHTNV"}]})

    withdrawn = intake.call("vp", "withdraw_nomination", receipt["nomination_id"], "Đơn vị rút hồ sơ")
    assert withdrawn["status"] == "withdrawn" and withdrawn["history"][-1]["reasons"] == ["Đơn vị rút hồ sơ"]
    with pytest.raises(Conflict):
        intake.call("vp", "amend_nomination", receipt["nomination_id"], {"achievements": "Muộn"})
    with pytest.raises(Conflict):
        intake.call("vp", "withdraw_nomination", receipt["nomination_id"], "")
    with pytest.raises(NotFound):
        intake.call("vp", "withdraw_nomination", "no-such-nomination", "")
    assert intake.call("vp", "get_nomination", receipt["nomination_id"])["achievements"] == "Bổ sung"


def test_status_and_history_follow_review_and_a_returned_dossier_goes_back_to_review(intake):
    nomination_id = intake.submit()["nomination_id"]
    tally = {"approve": 6, "reject": 1, "abstain": 0, "members": 7, "required": 4}
    review_event(intake, "nomination_returned", nomination_id=nomination_id, stage="unit",
                 reasons=["Thiếu biên bản họp"])
    assert intake.call("vp", "get_nomination", nomination_id)["status"] == "returned"

    amended = intake.call("vp", "amend_nomination", nomination_id, {"achievements": "Đã bổ sung biên bản"})
    assert amended["status"] == "in_review"

    review_event(intake, "nomination_decided", nomination_id=nomination_id, stage="unit",
                 outcome="approved", tally=tally, reasons=[])
    decided = intake.call("vp", "get_nomination", nomination_id)
    assert decided["status"] == "approved" and decided["history"][-1]["tally"] == tally
    review_event(intake, "nomination_advanced", nomination_id=nomination_id, stage="ministry")
    assert intake.call("vp", "get_nomination", nomination_id)["status"] == "approved"  # final stays final


def test_an_initiative_backs_one_nomination_until_that_one_is_withdrawn(intake):
    docs = with_certificate(EXAMPLE["documents"])
    sk1 = {"id": "SK-1", "title": "Số hoá hồ sơ", "scope": "co_so"}
    sk2 = {"id": "SK-2", "title": "Phần mềm tổng hợp", "scope": "co_so"}
    cstdcs = intake.submit(submission_key="cstdcs", award_code="CSTDCS", documents=docs,
                           history=[{"year": 2025, "rating": "HTTNV", "initiatives": [sk1]}])
    bk_history = [{"year": 2024, "rating": "HTXSNV", "initiatives": [sk2]},
                  {"year": 2025, "rating": "HTXSNV", "initiatives": [sk1]}]
    with pytest.raises(Ineligible) as error:
        intake.submit(submission_key="bk", award_code="BK_BO", documents=docs, history=bk_history)
    assert "initiative_already_used" in [item["code"] for item in error.value.detail]

    intake.call("vp", "withdraw_nomination", cstdcs["nomination_id"], "")
    assert intake.submit(submission_key="bk", award_code="BK_BO", documents=docs,
                         history=bk_history)["status"] == "submitted"


def test_the_catalogue_is_the_rule_set_in_force_on_the_date_asked(intake):
    assert intake.call("vp", "award_catalogue", "2023-06-01")["rule_set"] == "nd91-2017"
    assert intake.call("vp", "award_catalogue", "2025-06-30")["rule_set"] == "nd98-2023"
    catalogue = intake.call("vp", "award_catalogue", "2025-07-01")
    cstd_bo = next(a for a in catalogue["awards"] if a["code"] == "CSTD_BO")
    assert cstd_bo["name"] == "Chiến sĩ thi đua cấp Bộ"
    assert [s["council"] for s in cstd_bo["stages"]] == ["unit", "ministry"]
    assert cstd_bo["stages"][0]["threshold"]["fraction"] == "9/10"
    with pytest.raises(ValidationError):
        intake.call("vp", "award_catalogue", "26/11/2025")
