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


def test_the_minutes_give_the_public_comment_result_with_each_objection_and_its_handling_but_not_who_objected():
    commented = item("n-7", "CSTD_BO", "Lý Văn Phúc", 7, 0, 0, 7, "advanced")
    commented.update(comment_until=datetime(2025, 11, 28, 16, 59, tzinfo=VN), objections=[
        {"name": "Người Tố Giác", "text": "Sáng kiến đã dùng\ncho khen thưởng khác.", "channel": "web",
         "received_at": "2025-11-20T03:00:00+00:00", "status": "resolved", "handling": "Đã xác minh: không đúng."},
        {"name": "Người Khác", "text": "Ý kiến thứ hai", "channel": "paper",
         "received_at": "2025-11-21T03:00:00+00:00", "status": "open", "handling": None}])
    quiet = item("n-8", "CSTD_BO", "Mai Thị Lan", 7, 0, 0, 7, "advanced")
    quiet.update(comment_until=datetime(2025, 11, 28, 16, 59, tzinfo=VN), objections=[])
    minutes = content.minutes(unit_sitting_facts(items=[commented, quiet, item("n-1", "LDTT", "Ai", 6, 0, 0, 4,
                                                                                 "approved")]))
    assert not minutes["public_comment"].startswith("Không áp dụng")
    lines = "\n".join(minutes["public_comment_lines"])
    assert "Lý Văn Phúc" in lines and "28/11/2025" in lines and "2 ý kiến" in lines
    assert "Sáng kiến đã dùng cho khen thưởng khác." in lines and "Đã xác minh: không đúng." in lines
    assert "chưa xử lý xong" in lines and "Mai Thị Lan" in lines and "không có ý kiến, khiếu nại nào" in lines
    assert "Người Tố Giác" not in lines and "Ai (" not in lines  # the minutes go to every unit in scope


def test_the_minutes_show_the_council_what_the_register_check_noted():
    warned = item("n-2", "CSTDCS", "Trần Văn Khải", 6, 0, 0, 6, "approved")
    warned["register_notes"] = [{"code": "not_in_register", "title": "LDTT", "year": 2024,
                                 "message": "Danh hiệu LDTT năm 2024 không có trong sổ khen thưởng (Luật TĐKT Điều 89)."}]
    notes = content.minutes(unit_sitting_facts(items=[warned]))["register_notes"]
    assert notes == ["Trần Văn Khải (Chiến sĩ thi đua cơ sở): Danh hiệu LDTT năm 2024 không có trong sổ khen "
                     "thưởng (Luật TĐKT Điều 89)."]
    assert content.minutes(unit_sitting_facts())["register_notes"] == [content.NO_NOTES]


def test_the_minutes_say_a_tie_at_the_cut_off_went_to_the_woman_candidate_not_that_the_other_ranked_lower():
    from services.review.decisions import OVER_QUOTA_PRIORITY

    facts = unit_sitting_facts(items=[
        item("n-1", "CSTDCS", "Mai Thị Lan", 6, 1, 0, 6, "approved"),
        item("n-2", "CSTDCS", "Hồ Văn Tâm", 6, 1, 0, 6, "rejected", reasons=[OVER_QUOTA_PRIORITY])])
    [line] = content.minutes(facts)["cutoffs"]
    assert "ưu tiên ứng viên nữ" in line and "Hồ Văn Tâm" in line and "xếp theo số phiếu" not in line


def test_the_draft_decision_uses_the_coefficients_in_force_when_it_is_decided_as_the_register_will():
    """A BK_BO submitted under NĐ 98 (coefficient 1.0) and decided under NĐ 152 (1.5): the draft's money
    must be what intake's record_decision enters in the register, not the submission's rule set."""
    from shared.law import rulesets

    nd98 = rulesets.by_id("nd98-2023")
    old = item("n-5", "BK_BO", "Phan Thị Mơ", 6, 0, 0, 4, "approved")
    old["rule_set"] = nd98
    facts = unit_sitting_facts(items=[old])
    facts["money_rules"] = rulesets.in_force(content.decision_date(facts))
    [row] = content.decision(facts)["items"]
    assert row["money"] == "3.510.000"  # 1.5 × 2,340,000, as the register records it
    del facts["money_rules"]
    assert content.decision(facts)["items"][0]["money"].startswith("2.340.000")  # NĐ 98 coefficient (unconfirmed)
