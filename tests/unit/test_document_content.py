"""What a closed sitting's documents say: the minutes' counts and shares, the proposal's legal basis, the
draft decision's money (no rendering here: see tests/integration/test_document_rendering.py)."""
from datetime import datetime

from services.review.documents import content
from tests.documents_support import VN, item, unit_sitting_facts


def test_a_unit_sitting_has_minutes_a_proposal_for_what_goes_up_and_a_decision_for_what_it_decides():
    assert content.kinds_of(unit_sitting_facts()) == ["minutes", "proposal", "decision"]


def test_a_sitting_that_approved_nothing_and_sent_nothing_up_has_only_its_minutes():
    facts = unit_sitting_facts(items=[item("n-9", "LDTT", "Ai Đó", 1, 6, 0, 4, "rejected")])
    assert content.kinds_of(facts) == ["minutes"]


def test_the_minutes_count_members_present_by_written_opinion_and_absent():
    minutes = content.minutes(unit_sitting_facts())
    assert (minutes["members_total"], minutes["present"], minutes["written"], minutes["absent"]) == (7, 5, 1, 1)
    assert minutes["chair"] == "Nguyễn Văn Ân" and minutes["participation_share"] == "85,71%"
    assert [m["role"] for m in minutes["roster"]][:2] == ["Chủ tịch", "Phó Chủ tịch"]


def test_the_minutes_give_each_nominee_the_votes_the_share_of_all_members_the_threshold_and_the_outcome():
    rows = {row["name"]: row for row in content.minutes(unit_sitting_facts())["items"]}
    khai = rows["Trần Văn Khải"]
    assert (khai["approve"], khai["reject"], khai["abstain"]) == (5, 1, 0)
    assert (khai["share"], khai["threshold"], khai["outcome"]) == ("71,43%", "≥ 80% (cần 6/7)", "Không đạt")
    assert rows["Nguyễn Thị Hoà"]["threshold"] == "> 50% (cần 4/7)"  # simple majority of all members
    assert rows["Lê Thị Ngọc Ánh"]["outcome"] == "Đạt – trình cấp trên"


def test_the_minutes_record_a_quota_cut_off_and_the_chairs_decision_by_name():
    facts = unit_sitting_facts(items=[
        item("n-1", "CSTDCS", "Mai Thị Lan", 7, 0, 0, 6, "approved"),
        item("n-2", "CSTDCS", "Hồ Văn Tâm", 6, 1, 0, 6, "rejected",
             reasons=["Vượt chỉ tiêu khen thưởng của hội đồng (xếp theo số phiếu đồng ý)."]),
    ], chair_choices={"CSTDCS/2025": ["n-1"]})
    lines = content.minutes(facts)["cutoffs"]
    assert "vượt chỉ tiêu" in lines[0] and "Hồ Văn Tâm" in lines[0]
    assert "Chủ tịch Hội đồng Nguyễn Văn Ân quyết định chọn: Mai Thị Lan" in lines[1]


def test_without_public_comment_data_the_minutes_say_not_applicable():
    assert content.minutes(unit_sitting_facts())["public_comment"].startswith("Không áp dụng")


def test_a_unit_proposal_goes_to_the_minister_citing_the_article_and_clause():
    proposal = content.proposal(unit_sitting_facts())
    assert proposal["addressee"] == "Bộ trưởng Bộ Nông nghiệp và Môi trường"
    [group] = proposal["groups"]
    assert group["award"] == "Bằng khen của Bộ trưởng" and group["kind"] == "công trạng"
    assert group["basis"] == "khoản 1 Điều 74 Luật Thi đua, khen thưởng số 06/2022/QH15"
    assert [i["name"] for i in proposal["items"]] == ["Lê Thị Ngọc Ánh"] and proposal["items"][0]["votes"] == "5/7"


def test_a_ministry_proposal_goes_to_the_prime_minister():
    facts = unit_sitting_facts(items=[item("n-7", "CSTD_TQ", "Lý Văn Phúc", 15, 0, 0, 14, "proposed")])
    facts["council"] = {**facts["council"], "level": "ministry"}
    assert content.proposal(facts)["addressee"] == "Thủ tướng Chính phủ"


def test_the_draft_decision_lists_what_the_council_decided_with_the_award_money_and_its_total():
    decision = content.decision(unit_sitting_facts())
    money = {row["name"]: row["money"] for row in decision["items"]}
    assert money == {"Nguyễn Thị Hoà": "710.000", "Đỗ Thị Quyên": "2.340.000", "Phòng Tổng hợp": "1.880.000"}
    assert (decision["total"], decision["base_salary"], decision["money_note"]) == ("4.930.000", "2.340.000", "")
    assert (decision["individuals"], decision["collectives"]) == (2, 1)
    assert decision["signer_title"] == "Thủ trưởng Văn phòng Bộ"


def test_money_from_an_unconfirmed_base_salary_is_marked_in_the_draft_decision():
    facts = unit_sitting_facts()
    facts["sitting"] = {**facts["sitting"], "closed_at": datetime(2026, 12, 2, 9, 0, tzinfo=VN)}
    decision = content.decision(facts)
    assert decision["items"][0]["money"] == "760.000 *"  # 0.3 × 2,530,000 = 759,000
    assert decision["money_note"] and decision["base_salary"] == "2.530.000"


def test_the_benchmarks_ministry_sitting_has_all_three_documents_and_its_money_adds_up():
    from tests.bench.documents import ministry_facts

    facts = ministry_facts(16)
    decision = content.decision(facts)
    assert content.kinds_of(facts) == ["minutes", "proposal", "decision"]
    assert sum(row["amount"] for row in decision["items"]) == decision["total_amount"] > 0
    assert len(content.minutes(facts)["items"]) == 16


def test_the_minutes_carry_the_public_comment_period_and_each_objection_with_its_handling():
    """NĐ 98 Art. 46: the comments and their handling, complaints included, go into the minutes. An item
    that had a period must never be reported as "not applicable, no complaint received"."""
    order = item("n-8", "HCLD3", "Phan Văn Hùng", 15, 0, 0, 14, "proposed")
    order["public_comment"] = {"comment_until": "2025-09-12T16:59:59+00:00", "objections": [
        {"name": "Trần Văn B", "text": "Thành tích kê khai chưa đúng.", "channel": "paper",
         "received_at": "2025-09-03T02:00:00+00:00", "status": "resolved", "handling": "Đã xác minh: kê khai đúng."},
        {"name": "<b>Lê C</b>", "text": "=1+1 khiếu nại", "channel": "web", "received_at": "2025-09-04T02:00:00+00:00",
         "status": "open", "handling": None}]}
    quiet = item("n-9", "HCLD3", "Đinh Thị Mai", 15, 0, 0, 14, "proposed")
    quiet["public_comment"] = {"comment_until": "2025-09-12T16:59:59+00:00", "objections": []}
    facts = unit_sitting_facts(items=[order, quiet, item("n-1", "LDTT", "Nguyễn Thị Hoà", 6, 0, 0, 4, "approved")])
    minutes = content.minutes(facts)
    text = "\n".join(minutes["public_comment_lines"])
    assert not minutes["public_comment"].startswith("Không áp dụng")
    assert "Phan Văn Hùng" in text and "12/09/2025" in text and "2 ý kiến" in text
    assert "Trần Văn B" in text and "Thành tích kê khai chưa đúng." in text and "Đã xác minh: kê khai đúng." in text
    assert "<b>Lê C</b>" in text and "chưa xử lý" in text  # docxtpl escapes; an open one is said to be open
    assert "Đinh Thị Mai" in text and "không có ý kiến" in text
    assert "Nguyễn Thị Hoà" not in text  # no period for an LDTT
    assert minutes["public_comment"] == " ".join(minutes["public_comment_lines"])  # an office's own template


def test_without_a_comment_period_the_minutes_have_one_line_saying_not_applicable():
    minutes = content.minutes(unit_sitting_facts())
    assert minutes["public_comment_lines"] == [minutes["public_comment"]] and "Không áp dụng" in minutes["public_comment"]
