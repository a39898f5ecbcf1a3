"""A closed sitting's facts, as review's repository gives them to the document builders."""
from datetime import datetime, timedelta, timezone

from shared.law.rulesets import by_id

VN = timezone(timedelta(hours=7))
ND152 = by_id("nd152-2025")


def member(i, role="member", voted=True, written=False, name=None):
    return {"member_id": f"m-{i}", "name": name or f"Thành viên {i}", "email": f"m{i}@example.vn", "role": role,
            "voted": voted, "written_opinion": written}


def item(nid, code, name, approve, reject, abstain, required, outcome, kind="individual", unit="vp", reasons=(),
         year=2025):
    return {"nomination_id": nid, "award_code": code, "award_year": year, "approve": approve, "reject": reject,
            "abstain": abstain, "required": required, "outcome": outcome, "reasons": list(reasons),
            "nominee": {"kind": kind, "name": name, "gender": "female"}, "unit_id": unit, "rule_set": ND152}


def unit_sitting_facts(items=None, chair_choices=None):
    """A seven-member unit council of Văn phòng Bộ: six took part, one by written opinion, one absent."""
    roster = [member(1, "chair", name="Nguyễn Văn Ân"), member(2, "vice_chair", name="Trần Thị Bình"),
              member(3, name="Lê Hữu Cường"), member(4, name="Phạm Thị Dung"), member(5, name="Hoàng Minh Đức"),
              member(6, written=True, name="Vũ Thị Êm"), member(7, voted=False, name="Đặng Quốc Gia")]
    items = items if items is not None else [
        item("n-1", "LDTT", "Nguyễn Thị Hoà", 6, 0, 0, 4, "approved"),
        item("n-2", "CSTDCS", "Trần Văn Khải", 5, 1, 0, 6, "rejected",
             reasons=["Đạt 5/7 phiếu đồng ý, cần 6 (NĐ 98 Điều 30.7)."]),
        item("n-3", "TTLDTT", "Phòng Tổng hợp", 6, 0, 0, 4, "approved", kind="collective"),
        item("n-4", "BK_BO", "Lê Thị Ngọc Ánh", 5, 0, 1, 4, "advanced"),
        item("n-5", "CSTDCS", "Đỗ Thị Quyên", 6, 0, 0, 6, "approved"),
    ]
    return {"sitting": {"id": "s-unit-1", "council_id": "hd-vp", "stage": "unit", "status": "closed",
                        "members_total": 7, "quorum_met": True, "chair_choices": chair_choices,
                        "convened_at": datetime(2025, 12, 1, 8, 0, tzinfo=VN),
                        "closed_at": datetime(2025, 12, 3, 16, 30, tzinfo=VN)},
            "council": {"id": "hd-vp", "name": "Hội đồng Thi đua – Khen thưởng Văn phòng Bộ", "level": "unit",
                        "unit_id": "vp"},
            "body": {"id": "vp", "name": "Văn phòng Bộ", "parent": "bo"},
            "parent": {"id": "bo", "name": "Bộ Nông nghiệp và Môi trường", "parent": None},
            "roster": roster, "items": items,
            "unit_names": {"vp": "Văn phòng Bộ", "bo": "Bộ Nông nghiệp và Môi trường"}}
