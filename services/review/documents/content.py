"""What a closed sitting's documents say (standard library, shared.law and review's decision texts only): the
minutes (biên bản), the proposal letter (tờ trình, NĐ 98/2023 Annex I Mẫu 01) and the draft decision (dự thảo
quyết định) with its list and award money. Each builder turns the sitting's facts into the fields of its template; the same
facts give the same fields, so a document rendered again is the same document.

``facts``: ``sitting`` (row), ``council`` (row), ``body`` (the council's unit), ``parent`` (its parent unit
or None), ``roster`` (rows), ``items`` (agenda rows joined with their case: ``nominee``, ``unit_id``,
``award_year``, ``rule_set`` a RuleSet, and optionally ``comment_until`` with the ``objections`` of its public
comment period as they stood at the close, and the ``register_notes`` of intake's register check) and
``unit_names`` (id -> name).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

from services.review.decisions import OVER_QUOTA, OVER_QUOTA_CHAIR, OVER_QUOTA_PRIORITY
from shared.contract.awards import AWARD_CODES, AWARD_NAMES
from shared.law.articles import KIND_NAMES, LAW, legal_basis
from shared.law.money import money

VIETNAM = timezone(timedelta(hours=7))
MINUTES, PROPOSAL, DECISION = "minutes", "proposal", "decision"
KINDS = (MINUTES, PROPOSAL, DECISION)
OUTCOMES = {"approved": "Đạt", "advanced": "Đạt – trình cấp trên", "proposed": "Đạt – đề nghị cấp trên",
            "rejected": "Không đạt", "requeued": "Chưa xét (không đủ số thành viên)", "withdrawn": "Đơn vị đã rút",
            "restaged": "Chuyển xét lại từ hội đồng đầu tiên"}
ROLES = {"chair": "Chủ tịch", "vice_chair": "Phó Chủ tịch", "member": "Ủy viên"}
GOES_UP = ("advanced", "proposed")
BLANK = "……"
COMMENTED = ("Các hồ sơ dưới đây đã được công khai lấy ý kiến trước khi Hội đồng họp; ý kiến, khiếu nại "
             "nhận được và việc xử lý (không ghi danh tính, địa chỉ người góp ý):")
HANDLED = {"open": "chưa xử lý xong", "resolved": "đã xem xét, giải quyết", "upheld": "ý kiến được chấp nhận"}
CHANNELS = {"web": "qua trang công khai", "paper": "bằng văn bản"}
NO_NOTES = "Không có ghi chú nào khi đối chiếu các danh hiệu đã kê khai với cơ sở dữ liệu khen thưởng."
WHY_OVER = {OVER_QUOTA: "xếp theo số phiếu đồng ý",
            OVER_QUOTA_PRIORITY: "bằng phiếu tại ngưỡng, ưu tiên ứng viên nữ hoặc tập thể có từ 70% nữ, NĐ 98 Điều 4",
            OVER_QUOTA_CHAIR: "bằng phiếu tại ngưỡng, Chủ tịch Hội đồng quyết định"}
NOT_APPLICABLE = ("Không áp dụng: không có hồ sơ nào của phiên họp phải lấy ý kiến công khai trước khi "
                  "Hội đồng họp, và không có ý kiến, khiếu nại nào gửi đến Hội đồng.")


def kinds_of(facts: dict) -> list[str]:
    """The documents this sitting has: minutes always; a proposal when outcomes go to a higher level; a draft
    decision when its council's own level decides some."""
    outcomes = {item["outcome"] for item in facts["items"]}
    return [MINUTES] + ([PROPOSAL] if outcomes & set(GOES_UP) else []) + ([DECISION] if "approved" in outcomes else [])


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def percent(share: Fraction) -> str:
    """85,71% (Vietnamese decimal comma); a whole percentage without decimals (80%)."""
    text = f"{float(share) * 100:.2f}".replace(".", ",")
    return (text[:-3] if text.endswith(",00") else text) + "%"


def when(moment: datetime) -> str:
    local = moment.astimezone(VIETNAM)
    return f"{local:%H} giờ {local:%M}, ngày {local:%d/%m/%Y}"


def decision_date(facts: dict):
    """The date award money is computed for: the sitting's close in Vietnam (the head signs later; the
    draft says which base salary it used, and an office re-renders if the base salary changes)."""
    return facts["sitting"]["closed_at"].astimezone(VIETNAM).date()


def _ordered(items):
    return sorted(items, key=lambda i: (AWARD_CODES.index(i["award_code"]), i["nominee"]["name"], i["nomination_id"]))


def _common(facts: dict) -> dict:
    body, parent, council = facts["body"], facts["parent"], facts["council"]
    # NĐ 30/2020: above the issuer, its parent body (a ministry has none); the minutes are the council's,
    # under its body's name
    year = decision_date(facts).year
    decrees = sorted({i["rule_set"].title for i in facts["items"]}) or ["Nghị định 152/2025/NĐ-CP"]
    return {"parent_body_upper": parent["name"].upper() if parent else "", "council_name": council["name"],
            "council_name_upper": council["name"].upper(), "body": body["name"], "body_upper": body["name"].upper(),
            "body_code": body["id"].upper(), "number": BLANK, "sitting_id": facts["sitting"]["id"],
            "date_line": f"{BLANK}, ngày {BLANK} tháng {BLANK} năm {year}", "date_short": f"{BLANK}/{BLANK}/{year}",
            "sitting_date": f"{facts['sitting']['closed_at'].astimezone(VIETNAM):%d/%m/%Y}",
            "decree": ", ".join(d.replace("Nghị định ", "") for d in decrees),
            "basis_decrees": [f"Căn cứ {d}" for d in decrees]}


def minutes(facts: dict) -> dict:
    sitting, roster, items = facts["sitting"], facts["roster"], _ordered(facts["items"])
    members = sitting["members_total"]
    written = sum(m["written_opinion"] for m in roster)
    participants = sum(m["voted"] for m in roster)
    chair = next((m["name"] for m in roster if m["role"] == "chair"), BLANK)
    rows = []
    for no, item in enumerate(items, 1):
        threshold = item["rule_set"].awards[item["award_code"]]
        stage = next((s for s in threshold.stages if s.council == sitting["stage"]), threshold.stages[0])
        sign = ">" if stage.threshold.strictly_more else "≥"
        rows.append({"no": no, "name": item["nominee"]["name"], "award": AWARD_NAMES[item["award_code"]],
                     "unit": facts["unit_names"].get(item["unit_id"], item["unit_id"]),
                     "approve": item["approve"], "reject": item["reject"], "abstain": item["abstain"],
                     "share": percent(Fraction(item["approve"], members)),
                     "threshold": f"{sign} {percent(stage.threshold.fraction)} (cần {item['required']}/{members})",
                     "outcome": OUTCOMES.get(item["outcome"], item["outcome"] or BLANK)})
    passed = sum(i["outcome"] in ("approved", *GOES_UP) for i in items)
    return {**_common(facts), "started": when(sitting["convened_at"]), "closed": when(sitting["closed_at"]),
            "place": f"trực tuyến, phiếu bầu điện tử (bỏ phiếu kín); {BLANK}", "chair": chair,
            "secretary": BLANK, "secretary_signature": BLANK, "members_total": members,
            "present": participants - written, "written": written, "absent": members - participants,
            "participants": participants, "participation_share": percent(Fraction(participants, members)),
            "quorum_text": ("đủ điều kiện tiến hành phiên họp." if sitting["quorum_met"]
                            else "không đủ số thành viên theo quy định; các hồ sơ chờ phiên họp sau."),
            "roster": [{"no": no, "name": m["name"], "role": ROLES.get(m["role"], m["role"]),
                        "attendance": ("vắng mặt, có ý kiến bằng văn bản" if m["written_opinion"]
                                       else "có mặt, bỏ phiếu" if m["voted"] else "vắng mặt")}
                       for no, m in enumerate(sorted(roster, key=_by_role), 1)],
            "items_count": len(items), "items": rows, "cutoffs": _cutoffs(facts, chair),
            **_public_comment(items, facts["unit_names"]), "register_notes": _register_notes(items),
            "conclusion": (f"Có {passed}/{len(items)} hồ sơ đạt tỷ lệ phiếu đồng ý theo quy định; "
                           f"{len(items) - passed} hồ sơ không đạt hoặc chưa được xét.")}


def _one_line(text: str) -> str:
    return " ".join(str(text or "").split())


def _public_comment(items, unit_names) -> dict:
    """NĐ 98 Art. 46: the result of the public comment where a period applied, every objection with its
    handling. The objector's name and contact stay out: the minutes go to every unit in scope."""
    lines = []
    for item in items:
        if item.get("comment_until") is None:
            continue
        objections = item.get("objections") or []
        until = item["comment_until"].astimezone(VIETNAM)
        lines.append(f"{item['nominee']['name']} ({AWARD_NAMES[item['award_code']]}, "
                     f"{unit_names.get(item['unit_id'], item['unit_id'])}): lấy ý kiến đến ngày {until:%d/%m/%Y}; "
                     + (f"{len(objections)} ý kiến, khiếu nại." if objections else "không có ý kiến, khiếu nại nào."))
        for no, o in enumerate(objections, 1):
            received = datetime.fromisoformat(o["received_at"]).astimezone(VIETNAM)
            handling = f": {_one_line(o['handling'])}" if o.get("handling") else ""
            lines.append(f"  Ý kiến {no} ({CHANNELS.get(o['channel'], o['channel'])}, ngày {received:%d/%m/%Y}): "
                         f"{_one_line(o['text'])} — Xử lý: {HANDLED.get(o['status'], o['status'])}{handling}"
                         .rstrip(".") + ".")
    return {"public_comment": COMMENTED if lines else NOT_APPLICABLE, "public_comment_lines": lines}


def _register_notes(items) -> list[str]:
    """What intake's register check noted for the council (claims taken as declared; mismatches kept under
    ``TDKT_REGISTER_CHECK=warn``), one line per nominee."""
    lines = [f"{item['nominee']['name']} ({AWARD_NAMES[item['award_code']]}): "
             + " ".join(_one_line(note.get("message")) for note in item["register_notes"])
             for item in items if item.get("register_notes")]
    return lines or [NO_NOTES]


def _by_role(member):
    return (list(ROLES).index(member["role"]) if member["role"] in ROLES else 9, member["name"])


def _cutoffs(facts: dict, chair: str) -> list[str]:
    """Quota cut-offs and the chair's decisions at a tie, by award and year."""
    names = {i["nomination_id"]: i["nominee"]["name"] for i in facts["items"]}
    lines = []
    over = {}
    for item in _ordered(facts["items"]):
        why = next((WHY_OVER[r] for r in item["reasons"] or [] if r in WHY_OVER),
                   WHY_OVER[OVER_QUOTA] if any("chỉ tiêu" in r for r in item["reasons"] or []) else None)
        if item["outcome"] == "rejected" and why:
            over.setdefault((item["award_code"], item["award_year"], why), []).append(item["nominee"]["name"])
    for (code, year, why), who in sorted(over.items()):
        lines.append(f"{AWARD_NAMES[code]} năm {year}: đạt ngưỡng nhưng vượt chỉ tiêu ({why}): {', '.join(who)}.")
    for key, chosen in sorted((facts["sitting"].get("chair_choices") or {}).items()):
        code, _, year = key.partition("/")
        lines.append(f"{AWARD_NAMES.get(code, code)} năm {year}: bằng phiếu tại ngưỡng chỉ tiêu; Chủ tịch Hội đồng "
                     f"{chair} quyết định chọn: {', '.join(names.get(i, i) for i in chosen)}.")
    return lines or ["Không có hồ sơ nào vượt chỉ tiêu hoặc bằng phiếu tại ngưỡng chỉ tiêu."]


def _groups(items, with_basis: bool) -> list[dict]:
    groups = []
    for code in AWARD_CODES:
        mine = [i for i in items if i["award_code"] == code]
        if not mine:
            continue
        kinds = {i["nominee"]["kind"] for i in mine}
        individuals = sum(i["nominee"]["kind"] == "individual" for i in mine)
        groups.append({"award": AWARD_NAMES[code], "count": len(mine), "individuals": individuals,
                       "collectives": len(mine) - individuals,
                       "kind": KIND_NAMES.get(mine[0]["rule_set"].awards[code].kind, BLANK),
                       "basis": legal_basis(code, kinds.pop() if len(kinds) == 1 else None) if with_basis else ""})
    return groups


def proposal(facts: dict) -> dict:
    items = _ordered(i for i in facts["items"] if i["outcome"] in GOES_UP)
    ministry = facts["council"]["level"] == "ministry"
    addressee = "Thủ tướng Chính phủ" if ministry else f"Bộ trưởng {(facts['parent'] or facts['body'])['name']}"
    individuals = sum(i["nominee"]["kind"] == "individual" for i in items)
    return {**_common(facts), "addressee": addressee,
            "request": ("xét tặng hoặc trình Chủ tịch nước tặng thưởng" if ministry else "xét tặng"),
            "basis": [f"Căn cứ {LAW}", *_common(facts)["basis_decrees"]],
            "individuals": individuals, "collectives": len(items) - individuals,
            "groups": _groups(items, True),
            "signer_title": "BỘ TRƯỞNG" if ministry else "THỦ TRƯỞNG ĐƠN VỊ",
            "items": [{"no": no, "name": i["nominee"]["name"], "position": _position(i),
                       "unit": facts["unit_names"].get(i["unit_id"], i["unit_id"]),
                       "award": AWARD_NAMES[i["award_code"]],
                       "votes": f"{i['approve']}/{facts['sitting']['members_total']}"}
                      for no, i in enumerate(items, 1)]}


def _position(item) -> str:
    return "Tập thể" if item["nominee"]["kind"] == "collective" else ""


def decision(facts: dict) -> dict:
    items = _ordered(i for i in facts["items"] if i["outcome"] == "approved")
    ministry = facts["council"]["level"] == "ministry"
    signer = f"Bộ trưởng {facts['body']['name']}" if ministry else f"Thủ trưởng {facts['body']['name']}"
    on = decision_date(facts)
    rows, total, unconfirmed, base = [], 0, False, None
    for no, item in enumerate(items, 1):
        # the coefficients in force on the decision's date, as the register will record (intake's
        # record_decision), not those of the rule set the dossier was submitted under
        sum_ = money(facts.get("money_rules") or item["rule_set"], item["award_code"], item["nominee"]["kind"], on)
        total += sum_.amount
        unconfirmed |= not sum_.confirmed
        base = base or sum_.base_salary
        rows.append({"no": no, "name": item["nominee"]["name"], "position": _position(item),
                     "unit": facts["unit_names"].get(item["unit_id"], item["unit_id"]),
                     "award": AWARD_NAMES[item["award_code"]], "amount": sum_.amount,
                     "money": vnd(sum_.amount) + ("" if sum_.confirmed else " *")})
    individuals = sum(i["nominee"]["kind"] == "individual" for i in items)
    note = ("Mức đánh dấu * dùng hệ số hoặc mức lương cơ sở chưa được xác nhận theo văn bản; kiểm tra trước khi ký."
            if unconfirmed else "")
    return {**_common(facts), "signer_title": signer, "signer_title_upper": signer.upper(),
            "basis": [f"Căn cứ {LAW}", *_common(facts)["basis_decrees"]],
            "individuals": individuals, "collectives": len(items) - individuals, "groups": _groups(items, False),
            "base_salary": vnd(base.amount) if base else BLANK,
            "base_salary_source": f"{base.source}, áp dụng tại ngày {on:%d/%m/%Y}" if base else BLANK,
            "total": vnd(total), "total_amount": total, "money_note": note, "items": rows}


BUILDERS = {MINUTES: minutes, PROPOSAL: proposal, DECISION: decision}
