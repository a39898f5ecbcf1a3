"""What the operator and council commands of ``tdkt`` (``shared/cli/review.py``) read and print: the words
of a vote, and plain-text tables and CSV of a sitting's result and of a year's statistics, in Vietnamese
(``vi``) or English (``en``).

Tables are lists of lines, columns aligned on the characters a terminal shows. CSV keeps the contract's
field names and codes in every language, so that scripts and spreadsheets can rely on them.

Long because the two languages' labels of every operator command live together, so that a
translation is made in one place.
"""
from __future__ import annotations

import csv
import io
import unicodedata

from shared.cli import clerk

OUTCOMES = ("approved", "proposed", "rejected")
VERDICTS = ("approve", "reject", "abstain")

LABELS = {
    "vi": {"loaded": "Đã nạp danh mục: {units} đơn vị, {councils} hội đồng, {members} thành viên",
           "convened": "Đã triệu tập phiên họp {sitting_id}", "agenda": "Số hồ sơ đưa ra xét: {n}",
           "members": "Số thành viên được phát phiếu: {n}", "deadline": "Hạn bỏ phiếu: {deadline}",
           "closed": "Đã đóng phiên họp {sitting_id}", "returned": "Đã trả lại hồ sơ {id} cho đơn vị",
           "tie": "Đã ghi quyết định của Chủ tịch Hội đồng tại phiên {sitting_id}, {award}: {ids}",
           "doc_written": "Đã ghi {path}", "doc_none": "Phiên {sitting_id} không có văn bản {kind}",
           "doc_wait": "Văn bản của phiên {sitting_id} chưa tạo xong sau {seconds} giây; thử lại sau",
           "vote_sent": "Đã gửi phiếu ({n} hồ sơ)",
           "receipt": "Mã biên nhận (đối chiếu với danh sách công bố khi phiên họp kết thúc): {code}",
           "key_or_unsealed": "cần --key (khoá công khai của phiên họp, trong thư mời) hoặc --unsealed, "
                              "không dùng cả hai",
           "bad_key": "không phải khoá công khai của phiên họp",
           "sitting": "Phiên họp {sitting_id} — hội đồng {council_id} — {status}",
           "turnout": "Thành viên: {members}; tham gia: {participants} (ý kiến bằng văn bản: "
                      "{written_opinions}); đủ số lượng tham gia: {quorum}",
           "yes": "có", "no": "không", "reasons": "Lý do:",
           "columns": ("Mã hồ sơ", "Họ tên / tập thể", "Hình thức", "Đơn vị", "Đồng ý", "Không đồng ý",
                       "Không ý kiến", "Cần đạt", "Kết quả"),
           "outcomes": {"approved": "thông qua", "proposed": "đề nghị cấp trên",
                        "rejected": "không thông qua", "pending": "chưa có kết quả",
                        "advanced": "chuyển vòng sau", "tie": "đồng phiếu"},
           "statuses": {"open": "đang mở", "closed": "đã đóng"},
           "statistics": "Thống kê khen thưởng năm {year} (hồ sơ đã có kết quả)",
           "by_award": "Theo hình thức khen thưởng", "by_unit": "Theo đơn vị", "code": "Mã",
           "total": "Tổng", "gender": "Theo giới tính: nữ {female}, nam {male}",
           "direct_workers": "Công nhân, người lao động trực tiếp: {n}",
           "grand_total": "Tổng số hồ sơ đã có kết quả: {n}",
           "error": "Lỗi", "validation_error": "Dữ liệu không hợp lệ", "conflict": "Xung đột",
           "unauthorized": "Chưa xác thực", "forbidden": "Không được phép", "not_found": "Không tìm thấy",
           "ineligible": "Không đủ điều kiện", "whole": "(toàn bộ)",
           "remote_error": "Lỗi phía máy chủ: {detail}",
           "timeout": "Không nhận được trả lời sau {seconds:g} giây; thao tác có thể vẫn được thực hiện, "
                      "hãy kiểm tra lại trước khi làm lại",
           "broker": "Không kết nối được tới RabbitMQ ({uri}): {reason}",
           "no_service": "Dịch vụ xét duyệt (review) chưa chạy",
           "undeliverable": "Dịch vụ xét duyệt (review) chưa chạy: phiếu chưa được gửi",
           "not_utf8": "{path}: không phải văn bản UTF-8",
           "bad_yaml": "{path}: không phải YAML hợp lệ: {detail}",
           "not_directory": "{path}: phải là một tập khóa-giá trị có units và councils",
           "one_deadline": "cần đúng một trong hai: --deadline hoặc --working-days",
           "bad_deadline": "{value!r} không phải ngày giờ ISO 8601 có múi giờ "
                           "(ví dụ 2025-11-30T17:00:00+07:00)",
           "no_choices": "cần ít nhất một lựa chọn: approve, reject hoặc abstain, mỗi từ theo sau là "
                         "mã hồ sơ",
           "id_first": "mã hồ sơ {word!r} phải đứng sau approve, reject hoặc abstain",
           "no_ids": "sau {word} cần ít nhất một mã hồ sơ", "twice": "hồ sơ {word} được nêu hơn một lần",
           "blank": "mã hồ sơ không được để trống"},
    "en": {"loaded": "Directory loaded: {units} units, {councils} councils, {members} members",
           "convened": "Sitting {sitting_id} convened", "agenda": "Nominations on the agenda: {n}",
           "members": "Members given a ballot: {n}", "deadline": "Voting deadline: {deadline}",
           "closed": "Sitting {sitting_id} closed", "returned": "Nomination {id} returned to its unit",
           "tie": "Chair's decision recorded at sitting {sitting_id}, {award}: {ids}",
           "doc_written": "Wrote {path}", "doc_none": "Sitting {sitting_id} has no {kind} document",
           "doc_wait": "The documents of sitting {sitting_id} were not ready after {seconds} s; try again later",
           "vote_sent": "vote sent ({n} nominations)",
           "receipt": "Receipt (check it on the list published when the sitting closes): {code}",
           "key_or_unsealed": "give --key (the sitting's public key, in the invitation) or --unsealed, not both",
           "bad_key": "is not a sitting's public key",
           "sitting": "Sitting {sitting_id} — council {council_id} — {status}",
           "turnout": "Members: {members}; took part: {participants} (written opinions: "
                      "{written_opinions}); quorum met: {quorum}",
           "yes": "yes", "no": "no", "reasons": "Reasons:",
           "columns": ("Nomination", "Nominee", "Award", "Unit", "Approve", "Reject", "Abstain",
                       "Required", "Outcome"),
           "outcomes": {}, "statuses": {},
           "total": "Total", "gender": "By gender: female {female}, male {male}",
           "statistics": "Award statistics for {year} (decided nominations)",
           "by_award": "By award", "by_unit": "By unit", "code": "Code",
           "direct_workers": "Direct workers: {n}", "grand_total": "Decided nominations: {n}",
           "error": "Error", "validation_error": "Invalid data", "conflict": "Conflict",
           "unauthorized": "Not authenticated", "forbidden": "Forbidden", "not_found": "Not found",
           "ineligible": "Not eligible", "whole": "(whole document)",
           "remote_error": "Server error: {detail}",
           "timeout": "No answer within {seconds:g} seconds; the operation may still complete, so check "
                      "before trying again",
           "broker": "Cannot connect to RabbitMQ ({uri}): {reason}",
           "no_service": "The review service is not running",
           "undeliverable": "The review service is not running: the vote was not sent",
           "not_utf8": "{path}: is not UTF-8 text", "bad_yaml": "{path}: is not valid YAML: {detail}",
           "not_directory": "{path}: must be a mapping with units and councils",
           "one_deadline": "give exactly one of --deadline and --working-days",
           "bad_deadline": "{value!r} is not an ISO 8601 time with a zone (e.g. 2025-11-30T17:00:00+07:00)",
           "no_choices": "give at least one choice: approve, reject or abstain, each followed by "
                         "nomination ids",
           "id_first": "nomination {word!r} must come after approve, reject or abstain",
           "no_ids": "{word} needs at least one nomination id", "twice": "nomination {word} is given twice",
           "blank": "a nomination id cannot be blank"},
}


def label(lang: str, key: str, **values) -> str:
    return LABELS[lang][key].format(**values)


def term(lang: str, kind: str, code) -> str:
    """The name in ``lang`` of an outcome or a status (``kind``); an unknown one is shown as its code."""
    return LABELS[lang][kind].get(code, "" if code is None else str(code))


def describe_error(code: str, detail, lang: str) -> str:
    """A wire error of ``shared.contract.errors`` as one line, or a heading and each field fault of a
    ``ValidationError``."""
    heading = f"{label(lang, 'error')} — {LABELS[lang].get(code, code)}"
    if code != "validation_error" or not isinstance(detail, dict):
        return heading if detail in (None, "") else f"{heading}: {detail}"
    faults = [f"   - {path or label(lang, 'whole')}: {clerk.translate(message, lang)}"
              for path, message in clerk.flatten(detail)]
    return "\n".join([heading + ":", *faults])


class ChoiceError(ValueError):
    """The words of ``tdkt vote`` are malformed; ``problem`` is a key of ``reports.LABELS``."""

    def __init__(self, problem, word=None):
        super().__init__(problem, word)
        self.problem, self.word = problem, word


def parse_choices(words) -> dict:
    """``{nomination_id: verdict}`` from ``approve ID... reject ID... abstain ID...``: each verdict word
    applies to the ids after it, up to the next one. A verdict without ids, an id before any verdict, a
    blank id, an id given twice or no choice at all raises :class:`ChoiceError`."""
    choices, verdict, waiting = {}, None, False
    for item in words:
        if item in VERDICTS:
            if waiting:
                raise ChoiceError("no_ids", verdict)
            verdict, waiting = item, True
        elif not item.strip():
            raise ChoiceError("blank")
        elif verdict is None:
            raise ChoiceError("id_first", item)
        elif item in choices:
            raise ChoiceError("twice", item)
        else:
            choices[item], waiting = verdict, False
    if waiting:
        raise ChoiceError("no_ids", verdict)
    if not choices:
        raise ChoiceError("no_choices")
    return choices


def width(text: str) -> int:
    """Columns a terminal uses for ``text``: combining marks (of decomposed Vietnamese) take none."""
    return sum(not unicodedata.combining(ch) for ch in text)


def table(headers, rows, numeric=()) -> list[str]:
    """Aligned plain-text lines: the headers, a rule, each row; columns in ``numeric`` align right."""
    cells = [[unicodedata.normalize("NFC", str(cell)) for cell in row] for row in [headers, *rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        padded = [" " * (w - width(cell)) + cell if i in numeric else cell + " " * (w - width(cell))
                  for i, (cell, w) in enumerate(zip(row, widths))]
        return "  ".join(padded).rstrip()

    return [line(cells[0]), "  ".join("-" * w for w in widths), *(line(row) for row in cells[1:])]


BOM = "\ufeff"  # Excel reads a CSV as UTF-8 (Vietnamese intact) only when it starts with one
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet takes for the start of a formula


def to_csv(headers, rows) -> str:
    """The one CSV writer of every export (``tdkt sitting result``, ``tdkt report``, ``tdkt mail log``):
    UTF-8 with a byte-order mark, and text cells neutralised with :func:`spreadsheet_text`."""
    out = io.StringIO(newline="")
    # CRLF (RFC 4180, Excel's own): the writer then also quotes a cell holding a lone CR, which with
    # "\n" it left bare, breaking the row where a spreadsheet sees a line end
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_text(cell) for cell in headers])
    writer.writerows([spreadsheet_text(cell) for cell in row] for row in rows)
    return BOM + out.getvalue()


def spreadsheet_text(cell):
    """A text cell starting like a formula (a nominee named ``=HYPERLINK(...)``) gets a leading single
    quote, so a spreadsheet shows it as text instead of evaluating it; numbers are left as they are."""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


ITEM_FIELDS = ("nomination_id", "nominee_name", "award_code", "unit_id", "approve", "reject", "abstain",
               "required", "outcome")


def sitting_lines(result: dict, lang: str) -> list[str]:
    """A sitting's result as a heading, its turnout, a table of its items and their reasons."""
    quorum = label(lang, "yes" if result.get("quorum_met") else "no")
    counts = {key: result.get(key, "") for key in ("members", "participants", "written_opinions")}
    lines = [label(lang, "sitting", sitting_id=result.get("sitting_id"), council_id=result.get("council_id"),
                   status=term(lang, "statuses", result.get("status"))),
             label(lang, "turnout", quorum=quorum, **counts), ""]
    items = result.get("items") or []
    rows = [[*(item.get(key, "") for key in ITEM_FIELDS[:-1]), term(lang, "outcomes", item.get("outcome"))]
            for item in items]
    lines += table(LABELS[lang]["columns"], rows, numeric={4, 5, 6, 7})
    reasons = [(item, reason) for item in items for reason in item.get("reasons") or []]
    if reasons:
        lines += ["", label(lang, "reasons")]
        lines += [f"   - {item.get('nomination_id')} ({item.get('nominee_name')}): {reason}"
                  for item, reason in reasons]
    return lines


def sitting_csv(result: dict) -> str:
    rows = [[*(item.get(key, "") for key in ITEM_FIELDS), "; ".join(item.get("reasons") or [])]
            for item in result.get("items") or []]
    return to_csv([*ITEM_FIELDS, "reasons"], rows)


def _outcome_rows(counts: dict) -> list[list]:
    rows = []
    for key in sorted(counts or {}):
        numbers = [int(counts[key].get(outcome, 0)) for outcome in OUTCOMES]
        rows.append([key, *numbers, sum(numbers)])
    return rows


def statistics_lines(stats: dict, lang: str) -> list[str]:
    """A year's statistics: a table by award, a table by unit, then gender, direct workers and total."""
    outcomes = [term(lang, "outcomes", outcome).capitalize() for outcome in OUTCOMES]
    headers = [label(lang, "code"), *outcomes, label(lang, "total")]
    lines = [label(lang, "statistics", year=stats.get("award_year"))]
    for group in ("by_award", "by_unit"):
        lines += ["", label(lang, group)] + table(headers, _outcome_rows(stats.get(group)), {1, 2, 3, 4})
    gender = stats.get("by_gender") or {}
    return lines + ["", label(lang, "gender", female=gender.get("female", 0), male=gender.get("male", 0)),
                    label(lang, "direct_workers", n=stats.get("direct_workers", 0)),
                    label(lang, "grand_total", n=stats.get("total", 0))]


def statistics_csv(stats: dict) -> str:
    """One row per award and per unit (``group,key,approved,proposed,rejected,total``), then the counts by
    gender, of direct workers and the total, each in the ``total`` column."""
    rows = [[group[3:], *row] for group in ("by_award", "by_unit") for row in _outcome_rows(stats.get(group))]
    gender = stats.get("by_gender") or {}
    rows += [["gender", key, "", "", "", gender.get(key, 0)] for key in ("female", "male")]
    rows += [[key, "", "", "", "", stats.get(key, 0)] for key in ("direct_workers", "total")]
    return to_csv(["group", "key", *OUTCOMES, "total"], rows)
