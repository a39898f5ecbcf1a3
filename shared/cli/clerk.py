"""What ``tdkt submit`` reads and prints for a unit clerk: nominations from a JSON or CSV batch file, and
each outcome in Vietnamese (``vi``, the default) or English (``en``).

``read_nominations`` reads the whole file before anything is sent, so a malformed file submits nothing;
its :class:`BatchFileError` names the line, the nomination and the column. ``describe_*`` turn a receipt or
a wire error (code and detail of ``shared.contract.errors``) into report lines. Every label lives in ``LABELS``.

Long because reading a batch file and reporting on it in two languages is one job: split, the halves
would share every label.
"""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from pathlib import Path

INTEGER_COLUMNS = {"award_year"} | {f"nominee.members_{group}" for group in
                                    ("total", "female", "ldtt", "completed", "cstdcs", "disciplined")}
BOOLEAN_COLUMNS = {"under_review", "nominee.direct_worker"}
JSON_COLUMNS = ("history", "documents")
BOOLEANS = {"true": True, "1": True, "có": True, "false": False, "0": False, "không": False}

LABELS = {  # one table per language; file problems and wire error codes are keys too
    "vi": {"submitted": "Đã nộp", "receipt": "mã hồ sơ {id}, trạng thái {status}", "error": "Lỗi",
           "duplicate": "trùng: hồ sơ này đã được nộp trước đó", "validation_error": "Hồ sơ không hợp lệ",
           "ineligible": "Không đủ điều kiện", "conflict": "Xung đột", "unauthorized": "Chưa xác thực",
           "forbidden": "Không được phép", "not_found": "Không tìm thấy", "remote_error": "Lỗi phía máy chủ",
           "timeout": "Không nhận được trả lời sau {detail:g} giây; hồ sơ có thể vẫn được xử lý sau, "
                      "hãy nộp lại tệp để biết kết quả (hồ sơ trùng sẽ được nhận ra)", "whole": "(cả hồ sơ)",
           "progress": "Đang nộp", "summary": "{accepted}/{total} hồ sơ được tiếp nhận",
           "broker": "Không kết nối được tới RabbitMQ ({uri}): {reason}",
           "no_service": "Dịch vụ tiếp nhận hồ sơ (intake) chưa chạy",
           "line": "dòng {line}", "item": "hồ sơ {item}", "column": "cột {column}",
           "unsupported": "chỉ đọc được tệp .json hoặc .csv", "not_utf8": "không phải văn bản UTF-8",
           "bad_json": "không phải JSON hợp lệ: {detail}", "bad_csv": "không phải CSV hợp lệ: {detail}",
           "not_object": "mỗi hồ sơ phải là một đối tượng JSON", "no_nominations": "tệp không có hồ sơ nào",
           "bad_header": "tên cột bị trống, trùng hoặc chồng lên cột khác",
           "extra_cells": "hàng có nhiều ô hơn dòng tiêu đề",
           "bad_json_cell": "ô phải chứa một mảng JSON ({detail})",
           "not_integer": "{detail!r} không phải số nguyên",
           "not_boolean": "{detail!r} không phải true/false/1/0/có/không"},
    "en": {"submitted": "Submitted", "receipt": "nomination {id}, status {status}", "error": "Error",
           "duplicate": "duplicate: this nomination was submitted before",
           "validation_error": "Invalid nomination",
           "ineligible": "Not eligible", "conflict": "Conflict", "unauthorized": "Not authenticated",
           "forbidden": "Forbidden", "not_found": "Not found", "remote_error": "Server error",
           "timeout": "No answer within {detail:g} seconds; it may still be processed later, so submit "
                      "the file again to learn the outcome (duplicates are recognised)",
           "whole": "(whole nomination)",
           "progress": "Submitting", "summary": "{accepted} of {total} nominations accepted",
           "broker": "Cannot connect to RabbitMQ ({uri}): {reason}",
           "no_service": "The intake service is not running",
           "line": "line {line}", "item": "nomination {item}", "column": "column {column}",
           "unsupported": "only .json and .csv files can be read", "not_utf8": "is not UTF-8 text",
           "bad_json": "is not valid JSON: {detail}", "bad_csv": "is not valid CSV: {detail}",
           "not_object": "each nomination must be a JSON object",
           "no_nominations": "the file holds no nominations",
           "bad_header": "a column name is empty, repeated or overlaps another column",
           "extra_cells": "the row has more cells than the header",
           "bad_json_cell": "the cell must hold a JSON array ({detail})",
           "not_integer": "{detail!r} is not a whole number",
           "not_boolean": "{detail!r} is not true/false/1/0/có/không"},
}

# marshmallow's own messages and those of shared/contract/schemas.py; a message not listed is printed as it came
VI_MESSAGES = [(re.compile(pattern), text) for pattern, text in {
    r"Missing data for required field\.": "Thiếu dữ liệu cho trường bắt buộc.",
    r"Unknown field\.": "Trường không được phép.", r"Field may not be null\.": "Không được để trống (null).",
    r"Not a valid string\.": "Không phải chuỗi ký tự.", r"Not a valid integer\.": "Không phải số nguyên.",
    r"Not a valid number\.": "Không phải số.", r"Not a valid boolean\.": "Không phải giá trị đúng/sai.",
    r"Not a valid email address\.": "Không phải địa chỉ email hợp lệ.",
    r"Not a valid list\.": "Không phải danh sách.", r"Not a valid date(time)?\.": "Không phải ngày hợp lệ.",
    r"Not a valid mapping type\.": "Không phải đối tượng (tập khóa-giá trị).",
    r"Invalid (input )?type\.": "Sai kiểu dữ liệu.", r"Invalid input\.": "Giá trị không hợp lệ.",
    r"String does not match expected pattern\.": "Chuỗi không đúng định dạng.",
    r"Must be one of: (?P<choices>.*)\.": "Phải là một trong: {choices}.",
    r"Must be equal to (?P<other>.*)\.": "Phải bằng {other}.",
    r"Length must be between (?P<min>\S+) and (?P<max>\S+)\.": "Độ dài phải từ {min} đến {max}.",
    r"Shorter than minimum length (?P<min>\S+)\.": "Ngắn hơn độ dài tối thiểu {min}.",
    r"Longer than maximum length (?P<max>\S+)\.": "Dài hơn độ dài tối đa {max}.",
    r"Must be (?P<bounds>(greater|less) than .*)\.": "Phải {bounds}.",
    r"must be 1-64 letters, digits or _\.:-": "phải gồm 1-64 chữ cái, chữ số hoặc _.:-",
    r"must not contain control characters": "không được chứa ký tự điều khiển",
    r"must be 64 lowercase hex digits": "phải gồm 64 chữ số thập lục phân viết thường",
    r"cannot exceed (?P<field>\w+)": "không được vượt quá {field}",
    r"must be an object": "phải là một đối tượng",
    r"must be individual or collective": "phải là individual hoặc collective",
    r"has more than one row for a year": "có hơn một dòng cho cùng một năm",
    r"has a row after the award year": "có dòng của năm sau năm xét khen thưởng",
}.items()]
VI_BOUND_WORDS = {"greater than or equal to": "lớn hơn hoặc bằng", "greater than": "lớn hơn",
                  "less than or equal to": "nhỏ hơn hoặc bằng", "less than": "nhỏ hơn", "and": "và"}
VI_BOUNDS = re.compile(r"\b(" + "|".join(VI_BOUND_WORDS) + r")\b")


class BatchFileError(ValueError):
    """The batch file cannot be read. ``problem`` is a key of ``LABELS``; ``line``, ``item`` (the
    nomination's number) and ``column`` say where, as far as they are known."""

    def __init__(self, problem, line=None, item=None, column=None, detail=None):
        super().__init__(problem, line, item, column, detail)
        self.problem, self.line, self.item, self.column, self.detail = problem, line, item, column, detail
        self.path = None

    def __str__(self):
        return describe_file_error(self, "en")


def read_nominations(path) -> list[dict]:
    """Every nomination in a ``.json`` file (an object or a list of objects) or a ``.csv`` file (one per
    row, dotted column names); raises :class:`BatchFileError` when any part of the file is malformed."""
    path = Path(path)
    try:
        reader = {".json": _read_json, ".csv": _read_csv}.get(path.suffix.lower())
        if reader is None:
            raise BatchFileError("unsupported")
        nominations = reader(_text(path.read_bytes()))
        if not nominations:
            raise BatchFileError("no_nominations")
        return nominations
    except BatchFileError as error:
        error.path = str(path)
        raise


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = error.start
        raise BatchFileError("not_utf8", line=data.count(b"\n", 0, start) + 1,
                             column=start - data.rfind(b"\n", 0, start)) from None


def _read_json(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BatchFileError("bad_json", line=error.lineno, column=error.colno, detail=error.msg) from None
    nominations = data if isinstance(data, list) else [data]
    for item, nomination in enumerate(nominations, 1):
        if not isinstance(nomination, dict):
            raise BatchFileError("not_object", item=item)
    return nominations


def _read_csv(text: str) -> list[dict]:
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(rows, [])]
        _check_header(header)
        nominations, line = [], rows.line_num + 1
        for cells in rows:
            start, line = line, rows.line_num + 1
            if any(cell.strip() for cell in cells):
                nominations.append(_row(header, cells, start, len(nominations) + 1))
    except csv.Error as error:
        raise BatchFileError("bad_csv", line=rows.line_num, detail=str(error)) from None
    return nominations


def _check_header(header):
    for name in header:
        if (not name or "" in name.split(".") or header.count(name) > 1
                or any(other.startswith(name + ".") for other in header)):
            raise BatchFileError("bad_header", line=1, column=name or header.index(name) + 1)


def _row(header, cells, line, item) -> dict:
    if len(cells) > len(header):
        raise BatchFileError("extra_cells", line=line, item=item)
    nomination = {}
    for column, cell in zip(header, cells):
        if cell.strip():
            *parents, leaf = column.split(".")
            target = nomination
            for key in parents:
                target = target.setdefault(key, {})
            try:
                target[leaf] = _cell(column, cell)
            except BatchFileError as error:
                error.line, error.item, error.column = line, item, column
                raise
    return nomination


def _cell(column, cell):
    word = unicodedata.normalize("NFC", cell.strip()).casefold()
    if column in INTEGER_COLUMNS:
        if not re.fullmatch(r"[+-]?\d+", word):
            raise BatchFileError("not_integer", detail=cell)
        return int(word)
    if column in BOOLEAN_COLUMNS:
        if word not in BOOLEANS:
            raise BatchFileError("not_boolean", detail=cell)
        return BOOLEANS[word]
    if column in JSON_COLUMNS:
        try:
            value = json.loads(cell)
        except json.JSONDecodeError as error:
            raise BatchFileError("bad_json_cell", detail=f"{error.msg}, {error.pos + 1}") from None
        if not isinstance(value, list):
            raise BatchFileError("bad_json_cell", detail=type(value).__name__)
        return value
    return cell


def describe_file_error(error: BatchFileError, lang: str) -> str:
    labels = LABELS[lang]
    where = [labels[key].format(**vars(error)) for key in ("line", "item", "column")
             if getattr(error, key) is not None]
    place = ", ".join(part for part in (error.path, *where) if part)
    return f"{place}: " + labels[error.problem].format(detail=error.detail)


def describe_receipt(number: int, receipt: dict, lang: str) -> str:
    labels = LABELS[lang]
    line = f"{number}: {labels['submitted']} — " + labels["receipt"].format(
        id=receipt.get("nomination_id"), status=receipt.get("status"))
    return line + (f" ({labels['duplicate']})" if receipt.get("duplicate") else "")


def describe_error(number: int, code: str, detail, lang: str) -> list[str]:
    """The report lines of a nomination that was not accepted: a heading, then each fault."""
    labels = LABELS[lang]
    heading = f"{number}: {labels['error']} — " + labels.get(code, code).format(detail=detail)
    if code == "validation_error" and isinstance(detail, dict):
        faults = [f"{path or labels['whole']}: {translate(message, lang)}"
                  for path, message in flatten(detail)]
    elif code == "ineligible" and isinstance(detail, list):
        faults = [_criterion(item, lang) for item in detail]
    elif code == "timeout" or detail in (None, ""):
        return [heading]
    else:
        return [f"{heading}: {detail}"]
    return [heading + ":"] + [f"   - {fault}" for fault in faults]


def _criterion(item, lang):
    if not isinstance(item, dict):
        return str(item)
    message = (item.get("message_en") or item.get("message")) if lang == "en" else item.get("message")
    return f"{item.get('code')}: {message}"


def flatten(detail, path=()):
    """``(dotted path, message)`` for each message of a nested marshmallow error dict, in its order;
    ``_schema`` (an error of the object itself) names the object."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from flatten(value, path if key == "_schema" else (*path, str(key)))
    elif isinstance(detail, (list, tuple)):
        for message in detail:
            yield from flatten(message, path)
    else:
        yield ".".join(path), str(detail)


def translate(message: str, lang: str) -> str:
    if lang != "vi":
        return message
    for pattern, text in VI_MESSAGES:
        match = pattern.fullmatch(message)
        if match:
            words = match.groupdict()
            if "bounds" in words:
                words["bounds"] = VI_BOUNDS.sub(lambda m: VI_BOUND_WORDS[m[0]], words["bounds"])
            return text.format(**words)
    return message


def summary(accepted: int, total: int, lang: str) -> str:
    return LABELS[lang]["summary"].format(accepted=accepted, total=total)
