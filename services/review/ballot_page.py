"""The ballot page's logic without a server (issue #14): what a member sees, the form they send, its
CSRF field, the response headers and the vote it becomes. No choice is stored: the choices live in the
member's form only, from the first render to the ``vote_cast`` event.

The form has, per agenda item, one radio group named by the nomination id with the values ``approve``,
``reject`` and ``abstain`` (contract.md, "Additions"). Everything works without JavaScript: a filter, a
"approve all remaining in this group" and the review step are submit buttons of the same form, so the
server renders the form again with the member's choices kept (hidden inputs for the items filtered out).
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jinja2

from shared.contract.awards import AWARD_NAMES
from shared.contract.ballots import receipt_code, sealed_vote

CHOICES = ("approve", "reject", "abstain")
VIETNAM = timezone(timedelta(hours=7), "ICT")
MAX_BODY = 512 * 1024  # a 5,000-item ballot's form is about 250 KiB
MAX_FIELDS = 5_100  # MAX_AGENDA items and a few fields of the form
SAME_SITE = ("same-origin", "none")  # Sec-Fetch-Site values a genuine submission carries
RATINGS = {"HTXSNV": ("Hoàn thành xuất sắc nhiệm vụ", "Excellent"), "HTTNV": ("Hoàn thành tốt nhiệm vụ", "Good"),
           "HTNV": ("Hoàn thành nhiệm vụ", "Completed"), "KHTNV": ("Không hoàn thành nhiệm vụ", "Not completed")}
OBJECTION_STATUS = {"open": ("Chưa xử lý", "Not yet handled"), "resolved": ("Đã giải quyết", "Resolved"),
                    "upheld": ("Được chấp nhận", "Upheld")}
CHANNELS = {"web": ("Trang công khai", "Public page"), "paper": ("Văn bản", "On paper")}
DOCUMENTS = {"to_trinh": ("Tờ trình", "Submission letter"),
             "bao_cao_thanh_tich": ("Báo cáo thành tích", "Achievement report"),
             "bien_ban": ("Biên bản bình xét", "Review minutes"),
             "xac_nhan_sang_kien": ("Xác nhận sáng kiến", "Initiative certificate"), "other": ("Khác", "Other")}
REFUSALS = {  # review's reasons (services/review/sittings.py) -> what the member is told
    "expired_token": "expired", "expired": "expired", "already_voted": "already_voted",
    "sitting_closed": "sitting_closed", "choices_do_not_match_agenda": "agenda_changed",
    "unknown_choice": "agenda_changed", "not_on_roster": "foreign", "unknown_sitting": "foreign",
    "forged_token": "foreign", "malformed_token": "foreign", "forged": "foreign", "malformed": "foreign",
    "unreadable_ballot": "unreadable", "ambiguous_ballot": "unreadable", "replayed_ballot": "unreadable",
    "unsealed": "unsealed"}

_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                                autoescape=True, trim_blocks=True, lstrip_blocks=True)


def headers(content_type: str = "text/html; charset=utf-8") -> list[tuple[str, str]]:
    """Every answer of the page: nothing cached, nothing inline, no referrer (the URL holds the token)."""
    return [("Content-Type", content_type), ("Cache-Control", "no-store"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "
                                        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY")]


def csrf_field(key: str, token: str) -> str:
    """The hidden field that binds a form to its ballot (HMAC under TDKT_SECRET_KEY); no cookie needed."""
    return hmac.new(key.encode(), f"ballot-form|{token}".encode("ascii", "replace"), hashlib.sha256).hexdigest()


def genuine_post(key: str, token: str, form: dict, fetch_site: str | None) -> bool:
    """A POST from the page itself: the right CSRF field, and not sent from another site."""
    if fetch_site is not None and fetch_site not in SAME_SITE:
        return False
    return hmac.compare_digest(str(form.get("csrf", "")), csrf_field(key, token))


def build_vote(token: str, choices: dict, written_opinion: bool, public_key: str | None) -> dict:
    """The ``council.vote_cast`` payload, the same as every client sends: the choices sealed to the
    sitting's public key (a sitting convened before sealing has none: then they go plain)."""
    if public_key:
        return sealed_vote(token, public_key, dict(choices), bool(written_opinion))
    return {"ballot_token": token, "choices": dict(choices), "written_opinion": bool(written_opinion)}


def receipt_of(vote: dict) -> str | None:
    """The receipt code the member can look for in the list published at the close."""
    return receipt_code(vote["sealed"]) if "sealed" in vote else None


def read_choices(form: dict, nomination_ids: list[str]) -> dict[str, str]:
    """The member's marks in ``form`` for the agenda's items (anything else is ignored)."""
    return {nid: form[nid] for nid in nomination_ids if form.get(nid) in CHOICES}


def vietnam_date(moment: datetime, with_time: bool = True) -> str:
    """``"17:00, 05/12/2025"`` in Vietnam; a naive time (SQLite keeps no zone) is UTC, as review writes it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(VIETNAM)
    return local.strftime("%H:%M, %d/%m/%Y" if with_time else "%d/%m/%Y")


def _label(table: dict, code, lang: str) -> str:
    names = table.get(code)
    return names[lang == "en"] if names else str(code or "")


def groups(items: list[dict], query: str = "") -> list[dict]:
    """Agenda items by unit and award, each with its dossier summary; ``shown`` marks the items the
    filter keeps (by nominee, unit or award name, case-insensitive)."""
    needle = query.strip().casefold()
    grouped: dict[tuple, dict] = {}
    for item in sorted(items, key=lambda i: (i["unit_name"], i["award_code"], i["nominee_name"], i["nomination_id"])):
        key = (item["unit_id"], item["award_code"])
        group = grouped.setdefault(key, {"key": f"{item['unit_id']}/{item['award_code']}", "unit_name": item["unit_name"],
                                         "award_name": item["award_name"], "award_code": item["award_code"],
                                         "items": []})
        haystack = " ".join((item["nominee_name"], item["unit_name"], item["award_name"], item["award_code"]))
        group["items"].append({**item, "shown": not needle or needle in haystack.casefold()})
    return list(grouped.values())


def approve_rest(groups: list[dict], key: str, choices: dict[str, str]) -> dict[str, str]:
    """"Approve all remaining in this group": the group's unmarked items the member sees, never one the
    filter hides (the button stands under a heading that counts only those shown)."""
    rest = {item["nomination_id"]: "approve" for group in groups if group["key"] == key
            for item in group["items"] if item["shown"] and item["nomination_id"] not in choices}
    return {**choices, **rest}


def agenda_item(case: dict, unit_name: str | None, lang: str, comment: dict | None = None) -> dict:
    """One item of the page from review's case (its nominee and dossier) and, when it had a public comment
    period, ``comment`` (``{"comment_until", "objections"}``, never a contact: NĐ 98 Art. 46, the council
    sees the comments and their handling)."""
    nominee, dossier = case.get("nominee") or {}, case.get("dossier") or {}
    gender = {"female": ("Nữ", "Female"), "male": ("Nam", "Male")}.get(nominee.get("gender"))
    return {"nomination_id": case["nomination_id"], "unit_id": case["unit_id"],
            "withdrawn": case.get("state") == "withdrawn",  # still on the agenda, its marks ignored
            "unit_name": unit_name or case["unit_id"], "award_code": case["award_code"],
            "award_name": AWARD_NAMES.get(case["award_code"], case["award_code"]), "award_year": case["award_year"],
            "nominee_name": nominee.get("name") or "", "collective": nominee.get("kind") == "collective",
            "gender": gender[lang == "en"] if gender else None, "position": nominee.get("position"),
            "members_total": nominee.get("members_total"), "achievements": dossier.get("achievements") or "",
            "years": [{"year": row.get("year"), "rating": _label(RATINGS, row.get("rating"), lang),
                       "titles": [AWARD_NAMES.get(t, t) for t in row.get("titles") or []],
                       "initiatives": row.get("initiatives") or []}
                      for row in sorted(dossier.get("history") or [], key=lambda r: r.get("year") or 0, reverse=True)],
            "documents": [{"kind": _label(DOCUMENTS, d.get("kind"), lang), "filename": d.get("filename")}
                          for d in dossier.get("documents") or []],
            "public_comment": comment and {
                "until": vietnam_date(datetime.fromisoformat(comment["comment_until"]), with_time=False),
                "objections": [{"name": o["name"], "text": o["text"], "status": _label(OBJECTION_STATUS, o["status"], lang),
                                "channel": _label(CHANNELS, o["channel"], lang), "handling": o.get("handling") or "",
                                "received": vietnam_date(datetime.fromisoformat(o["received_at"]), with_time=False)}
                               for o in comment["objections"]]}}


def render(template: str, **context) -> bytes:
    lang = context.get("lang", "vi")
    return _templates.get_template(template).render(t=TEXT[lang], **context).encode("utf-8")


TEXT = {
    "vi": {"title": "Phiếu bầu", "lang_switch": "English", "sitting": "Phiên họp ngày", "deadline": "Hạn bỏ phiếu",
           "members": "Số thành viên Hội đồng", "rule": "Số phiếu đồng ý được tính trên tổng số thành viên Hội đồng, "
           "không phải trên số người có mặt (Nghị định 98/2023/NĐ-CP, Điều 30.7). Phiếu kín: hệ thống chỉ ghi nhận "
           "Ông/Bà đã bỏ phiếu, không ghi nhận lựa chọn.", "agenda": "Danh sách hồ sơ", "items": "hồ sơ",
           "filter": "Lọc theo tên, đơn vị, hình thức", "apply_filter": "Lọc", "approve": "Đồng ý",
           "reject": "Không đồng ý", "abstain": "Không biểu quyết", "approve_rest": "Đồng ý tất cả hồ sơ còn lại "
           "của nhóm này", "gender": "Giới tính", "position": "Chức vụ", "unit": "Đơn vị", "award": "Hình thức",
           "achievements": "Thành tích", "years": "Các năm trước", "initiatives": "Sáng kiến",
           "documents": "Hồ sơ kèm theo", "members_total": "Số thành viên tập thể", "titles": "Danh hiệu",
           "choice": "Ý kiến của Ông/Bà", "written_opinion": "Tôi vắng mặt và gửi ý kiến bằng văn bản",
           "review": "Xem lại trước khi bỏ phiếu", "confirm_title": "Xem lại phiếu bầu",
           "confirm_intro": "Kiểm tra lựa chọn của Ông/Bà. Phiếu chỉ được gửi khi bấm \u201cBỏ phiếu\u201d; "
           "sau đó không thể sửa.", "cast": "Bỏ phiếu", "back": "Quay lại sửa", "missing": "Còn {n} hồ sơ chưa "
           "chọn ý kiến; mỗi hồ sơ cần đúng một lựa chọn.", "nominee": "Người/tập thể được đề nghị",
           "written_opinion_yes": "Ý kiến bằng văn bản của thành viên vắng mặt",
           "recorded": "Phiếu bầu của Ông/Bà đã được ghi nhận.", "receipt": "Mã biên nhận của phiếu: {code}. Khi phiên họp kết thúc, danh sách mã biên nhận được gửi "
           "tới mọi thành viên: Ông/Bà có thể kiểm tra phiếu của mình đã được kiểm.",
           "recorded_note": "Kết quả chỉ được công bố "
           "sau khi phiên họp kết thúc. Cảm ơn Ông/Bà.", "pending": "Phiếu đã được gửi nhưng hệ thống chưa xác "
           "nhận. Vui lòng mở lại đường liên kết sau ít phút để biết phiếu đã được ghi nhận hay chưa.",
           "refused": "Phiếu bầu không được ghi nhận", "expired": "Phiếu bầu đã hết hạn (quá hạn bỏ phiếu).",
           "already_voted": "Ông/Bà đã bỏ phiếu tại phiên họp này. Mỗi thành viên chỉ bỏ phiếu một lần.",
           "sitting_closed": "Phiên họp đã kết thúc; không nhận thêm phiếu.",
           "agenda_changed": "Danh sách hồ sơ của phiên họp đã thay đổi. Vui lòng mở lại phiếu bầu và bỏ phiếu lại.",
           "foreign": "Đường liên kết này không phải là phiếu bầu hợp lệ.",
           "unreadable": "Phiếu bầu không đọc được (có thể đã bị thay đổi trên đường truyền) nên không được tính. "
           "Vui lòng mở lại phiếu bầu và bỏ phiếu lại.",
           "unsealed": "Phiếu bầu chưa được niêm phong (mã hóa) nên không được nhận: hệ thống chỉ nhận phiếu kín "
           "đã niêm phong. Vui lòng liên hệ thư ký Hội đồng.",
           "forbidden": "Yêu cầu không hợp lệ: phiếu chỉ được gửi từ chính trang phiếu bầu.",
           "too_large": "Nội dung gửi lên quá lớn.", "not_found": "Không tìm thấy trang.",
           "method": "Phương thức không được hỗ trợ.", "failed": "Hệ thống tạm thời không xử lý được yêu cầu; "
           "phiếu chưa được gửi. Vui lòng thử lại sau ít phút.", "vote_again": "Mở lại phiếu bầu", "skip": "Tới danh sách hồ sơ",
           "council": "Hội đồng", "none": "Không có",
           "withdrawn": "Đơn vị đã rút hồ sơ này sau khi phiên họp được triệu tập; ý kiến về hồ sơ này "
           "không được tính. Phiếu vẫn cần một lựa chọn cho hồ sơ.", "year": "Năm", "rating": "Xếp loại",
           "public_comment": "Lấy ý kiến công khai đến hết ngày", "objections": "ý kiến phản ánh, khiếu nại",
           "handling": "Kết quả xử lý"},
    "en": {"title": "Ballot", "lang_switch": "Tiếng Việt", "sitting": "Sitting of", "deadline": "Voting closes",
           "members": "Council members", "rule": "Approvals count against all members of the council, not those "
           "present (Decree 98/2023, Art. 30.7). Secret ballot: the system records that you voted, never your "
           "choices.", "agenda": "Agenda", "items": "items", "filter": "Filter by name, unit, award",
           "apply_filter": "Filter", "approve": "Approve", "reject": "Reject", "abstain": "Abstain",
           "approve_rest": "Approve all remaining in this group", "gender": "Gender", "position": "Position",
           "unit": "Unit", "award": "Award", "achievements": "Achievements", "years": "Previous years",
           "initiatives": "Initiatives", "documents": "Documents in the dossier",
           "members_total": "Members of the collective", "titles": "Titles", "choice": "Your choice",
           "written_opinion": "I am absent and send a written opinion", "review": "Review before casting",
           "confirm_title": "Review your ballot", "confirm_intro": "Check your choices. The ballot is sent only "
           "when you press \u201cCast ballot\u201d; it cannot be changed afterwards.", "cast": "Cast ballot",
           "back": "Go back and change", "missing": "{n} items have no choice yet; every item needs exactly one.",
           "nominee": "Nominee", "written_opinion_yes": "Written opinion of an absent member",
           "recorded": "Your ballot has been recorded.", "receipt": "Your ballot's receipt code: {code}. When the sitting closes every member is sent the "
           "list of receipt codes counted, so you can check yours was counted.",
           "recorded_note": "Results are published only after the "
           "sitting closes. Thank you.", "pending": "Your ballot was sent but not yet confirmed. Open the link "
           "again in a few minutes to see whether it was recorded.", "refused": "Your ballot was not recorded",
           "expired": "This ballot has expired (the deadline has passed).",
           "already_voted": "You have already voted at this sitting. Each member votes once.",
           "sitting_closed": "The sitting is closed; no more ballots are accepted.",
           "agenda_changed": "The sitting's agenda has changed. Please open your ballot again and vote again.",
           "foreign": "This link is not a valid ballot.",
           "unreadable": "The ballot could not be read (it may have been altered on the way) and was not counted. "
           "Please open your ballot again and vote again.",
           "unsealed": "The ballot was not sealed (encrypted), and only sealed secret ballots are accepted. "
           "Please contact the council's secretariat.", "forbidden": "Invalid request: a ballot can only be "
           "sent from its own ballot page.", "too_large": "The request is too large.", "not_found": "Page not found.",
           "method": "Method not supported.", "failed": "The system could not handle the request just now; no "
           "ballot was sent. Please try again in a few minutes.", "vote_again": "Open the ballot again", "skip": "Skip to the agenda",
           "council": "Council", "none": "None",
           "withdrawn": "The unit has withdrawn it since the sitting was convened; marks on it are not "
           "counted. The ballot still needs a choice for it.", "year": "Year", "rating": "Rating",
           "public_comment": "Public comment until", "objections": "objections", "handling": "Handling"},
}
