"""The clerk's batch files and report: what ``tdkt submit`` reads, and how it tells each outcome.

Long because it holds one test per mistake a clerk's batch file can make, over one set of fixtures.
"""
import json
from pathlib import Path

import pytest

from shared.cli import clerk

from shared.contract import schemas
from shared.cli.clerk import BatchFileError, describe_error, describe_file_error, read_nominations
from shared.contract.errors import ValidationError

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"
EXAMPLE = json.loads((EXAMPLES / "nomination.json").read_text(encoding="utf-8"))
HEADER = "submission_key,award_code,award_year,contact_email,nominee.kind,nominee.full_name,history"
HISTORY = '"[{""year"": 2025, ""rating"": ""HTXSNV""}]"'


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def file_error(path) -> BatchFileError:
    with pytest.raises(BatchFileError) as caught:
        read_nominations(path)
    return caught.value


def wire_detail(nomination) -> dict:
    """The detail of the ValidationError the server sends for ``nomination``, as it arrives (JSON)."""
    with pytest.raises(ValidationError) as caught:
        schemas.load(schemas.NominationSchema(), nomination)
    return json.loads(json.dumps(caught.value.detail))


# reading JSON

def test_a_json_object_is_one_nomination(tmp_path):
    path = write(tmp_path, "one.json", json.dumps(EXAMPLE, ensure_ascii=False))

    assert read_nominations(path) == [EXAMPLE]


def test_a_json_list_is_a_batch_in_file_order_and_a_bom_is_ignored(tmp_path):
    second = {**EXAMPLE, "submission_key": "vp-2025-0002"}
    path = write(tmp_path, "batch.JSON", json.dumps([EXAMPLE, second], ensure_ascii=False), "utf-8-sig")

    assert read_nominations(path) == [EXAMPLE, second]


def test_malformed_json_is_refused_naming_its_line_and_column(tmp_path):
    error = file_error(write(tmp_path, "bad.json", '[\n  {"award_code": "LDTT",,}\n]'))

    assert (error.problem, error.line, error.column) == ("bad_json", 2, 25)
    assert str(error).startswith(f"{tmp_path / 'bad.json'}, line 2, column 25: is not valid JSON")
    assert "dòng 2, cột 25: không phải JSON hợp lệ" in describe_file_error(error, "vi")


def test_a_json_list_item_that_is_not_an_object_is_refused_by_its_number(tmp_path):
    error = file_error(write(tmp_path, "bad.json", json.dumps([EXAMPLE, "LDTT"])))

    assert (error.problem, error.item) == ("not_object", 2)
    assert "hồ sơ 2: mỗi hồ sơ phải là một đối tượng JSON" in describe_file_error(error, "vi")


@pytest.mark.parametrize("name, content, problem", [
    ("empty.json", "[]", "no_nominations"),
    ("empty.csv", "", "no_nominations"),
    ("only-header.csv", HEADER + "\n", "no_nominations"),
    ("nominations.xlsx", "PK", "unsupported"),
    ("latin1.csv", HEADER.encode() + b"\nvp-1,LDTT,2025,a@b.vn,individual,Nguy\xea\xf1,\n", "not_utf8"),
])
def test_an_empty_unknown_or_undecodable_file_is_refused(tmp_path, name, content, problem):
    assert file_error(write(tmp_path, name, content)).problem == problem


# reading CSV

def test_the_example_batch_holds_three_good_ldtt_nominations_like_the_json_example():
    batch = read_nominations(EXAMPLES / "batch.csv")

    assert len(batch) == 3
    for nomination in batch:
        assert schemas.load(schemas.NominationSchema(), nomination)
        assert (nomination["award_code"], nomination["award_year"], nomination["under_review"]) \
            == ("LDTT", 2025, False)
        assert nomination["documents"] == EXAMPLE["documents"]
        assert [(row["year"], row["rating"]) for row in nomination["history"]] == [(2025, "HTXSNV")]
    assert [n["nominee"]["full_name"] for n in batch] == ["Trần Văn Minh", "Lê Thị Thu Hà", "Phạm Quốc Bảo"]


def test_csv_columns_are_dotted_paths_and_empty_cells_are_left_out(tmp_path):
    text = (HEADER + ",nominee.email,nominee.members_total,under_review,nominee.direct_worker\n"
            f"vp-1,LDTT,2025,vp@example.vn,individual,Nguyễn Thị Hoa,{HISTORY},,,không,có\n")

    [nomination] = read_nominations(write(tmp_path, "batch.csv", text, "utf-8-sig"))

    assert nomination == {
        "submission_key": "vp-1", "award_code": "LDTT", "award_year": 2025, "contact_email": "vp@example.vn",
        "nominee": {"kind": "individual", "full_name": "Nguyễn Thị Hoa", "direct_worker": True},
        "history": [{"year": 2025, "rating": "HTXSNV"}], "under_review": False}


@pytest.mark.parametrize("cell, value", [("true", True), ("1", True), ("có", True), ("Có", True),
                                         ("co\u0301", True), ("false", False), ("0", False),
                                         ("không", False), ("KHÔNG", False), (" False ", False)])
def test_a_boolean_cell_reads_true_false_one_zero_co_or_khong(tmp_path, cell, value):
    path = write(tmp_path, "b.csv", f"submission_key,under_review\nvp-1,{cell}\n")

    assert read_nominations(path) == [{"submission_key": "vp-1", "under_review": value}]


def test_collective_counts_are_whole_numbers(tmp_path):
    path = write(tmp_path, "c.csv", "nominee.kind,nominee.name,nominee.members_total,nominee.members_ldtt\n"
                                    "collective,Phòng Tổ chức cán bộ,12, 9 \n")

    assert read_nominations(path) == [{"nominee": {"kind": "collective", "name": "Phòng Tổ chức cán bộ",
                                                   "members_total": 12, "members_ldtt": 9}}]


def test_blank_rows_are_skipped_and_a_quoted_newline_keeps_line_numbers_true(tmp_path):
    text = ("submission_key,achievements,award_year\n"
            'vp-1,"Dòng một\nDòng hai",2025\n'
            ",,\n"
            "vp-2,,năm 2025\n")

    error = file_error(write(tmp_path, "b.csv", text))

    assert (error.line, error.item, error.column) == (5, 2, "award_year")


@pytest.mark.parametrize("row, problem, column", [
    (f"vp-1,LDTT,2025a,a@b.vn,individual,Hoa,{HISTORY}", "not_integer", "award_year"),
    ('vp-1,LDTT,2025,a@b.vn,individual,Hoa,"[{""year"": 2025,}]"', "bad_json_cell", "history"),
    ('vp-1,LDTT,2025,a@b.vn,individual,Hoa,"{""year"": 2025}"', "bad_json_cell", "history"),
])
def test_a_malformed_cell_is_refused_naming_its_line_nomination_and_column(tmp_path, row, problem, column):
    good = f"vp-0,LDTT,2025,a@b.vn,individual,Hoa,{HISTORY}"
    error = file_error(write(tmp_path, "batch.csv", f"{HEADER}\n{good}\n{row}\n"))

    assert (error.problem, error.line, error.item, error.column) == (problem, 3, 2, column)
    assert f"line 3, nomination 2, column {column}: " in str(error)
    assert f"dòng 3, hồ sơ 2, cột {column}: " in describe_file_error(error, "vi")


def test_a_boolean_cell_with_another_word_is_refused(tmp_path):
    error = file_error(write(tmp_path, "b.csv", "submission_key,under_review\nvp-1,maybe\n"))

    assert (error.problem, error.line, error.column) == ("not_boolean", 2, "under_review")
    assert "'maybe' không phải true/false/1/0/có/không" in describe_file_error(error, "vi")


@pytest.mark.parametrize("header", ["award_code,award_code", "nominee,nominee.kind", "award_code,,x",
                                    "nominee..kind"])
def test_a_header_with_an_empty_repeated_or_overlapping_column_is_refused(tmp_path, header):
    error = file_error(write(tmp_path, "h.csv", f"{header}\nLDTT,x,y\n"))

    assert (error.problem, error.line) == ("bad_header", 1)


def test_a_row_with_more_cells_than_the_header_is_refused(tmp_path):
    error = file_error(write(tmp_path, "r.csv", "submission_key,award_code\nvp-1,LDTT,2025\n"))

    assert (error.problem, error.line, error.item) == ("extra_cells", 2, 1)


# the report

def test_a_receipt_names_the_nomination_and_its_status_and_notes_a_duplicate():
    receipt = {"nomination_id": "n-1", "status": "submitted", "duplicate": False}

    assert clerk.describe_receipt(1, receipt, "vi") == "1: Đã nộp — mã hồ sơ n-1, trạng thái submitted"
    assert clerk.describe_receipt(2, {**receipt, "duplicate": True}, "en") \
        == "2: Submitted — nomination n-1, status submitted (duplicate: this nomination was submitted before)"


def test_validation_faults_are_flattened_to_dotted_paths_in_order():
    detail = {"nominee": {"full_name": ["a", "b"]}, "history": {"0": {"rating": ["c"]}},
              "_schema": ["d"], "documents": {"1": {"_schema": ["e"]}}}

    assert list(clerk.flatten(detail)) == [("nominee.full_name", "a"), ("nominee.full_name", "b"),
                                           ("history.0.rating", "c"), ("", "d"), ("documents.1", "e")]


def test_every_validation_fault_is_printed_in_vietnamese_with_its_path():
    bad = {**EXAMPLE, "award_year": 1800, "contact_email": "không-phải-email", "surprise": 1,
           "nominee": {"kind": "individual", "full_name": 42, "employee_id": "VP 1", "gender": "nữ",
                       "direct_worker": "maybe"},
           "history": [{"year": "2025", "rating": "XUAT_SAC"}], "documents": "to_trinh.pdf"}

    lines = describe_error(3, "validation_error", wire_detail(bad), "vi")

    assert lines[0] == "3: Lỗi — Hồ sơ không hợp lệ:"
    assert set(lines[1:]) == {
        "   - award_year: Phải lớn hơn hoặc bằng 1990 và nhỏ hơn hoặc bằng 2100.",
        "   - contact_email: Không phải địa chỉ email hợp lệ.",
        "   - surprise: Trường không được phép.",
        "   - nominee.full_name: Không phải chuỗi ký tự.",
        "   - nominee.employee_id: phải gồm 1-64 chữ cái, chữ số hoặc _.:-",
        "   - nominee.gender: Phải là một trong: female, male.",
        "   - nominee.direct_worker: Không phải giá trị đúng/sai.",
        "   - history.0.year: Không phải số nguyên.",
        "   - history.0.rating: Phải là một trong: HTXSNV, HTTNV, HTNV, KHTNV.",
        "   - documents: Không phải danh sách."}


def test_the_same_faults_in_english_are_marshmallows_own_words():
    bad = {**EXAMPLE, "nominee": {"kind": "individual", "employee_id": "VP-1", "gender": "male"}}

    assert describe_error(1, "validation_error", wire_detail(bad), "en") == [
        "1: Error — Invalid nomination:", "   - nominee.full_name: Missing data for required field."]


@pytest.mark.parametrize("message, vietnamese", [
    ("Missing data for required field.", "Thiếu dữ liệu cho trường bắt buộc."),
    ("Not a valid integer.", "Không phải số nguyên."),
    ("Length must be between 1 and 200.", "Độ dài phải từ 1 đến 200."),
    ("Shorter than minimum length 1.", "Ngắn hơn độ dài tối thiểu 1."),
    ("Longer than maximum length 254.", "Dài hơn độ dài tối đa 254."),
    ("Must be greater than or equal to 0.", "Phải lớn hơn hoặc bằng 0."),
    ("Must be less than 10.", "Phải nhỏ hơn 10."),
    ("Must be equal to individual.", "Phải bằng individual."),
    ("cannot exceed members_total", "không được vượt quá members_total"),
])
def test_marshmallows_common_messages_are_translated_into_vietnamese(message, vietnamese):
    assert clerk.translate(message, "vi") == vietnamese
    assert clerk.translate(message, "en") == message


def test_a_message_nobody_translated_is_printed_as_it_came():
    assert clerk.translate("must be reviewed by the chair", "vi") == "must be reviewed by the chair"


def test_a_whole_object_fault_is_printed_against_the_nomination():
    assert describe_error(1, "validation_error", {"_schema": ["must be an object"]}, "vi") \
        == ["1: Lỗi — Hồ sơ không hợp lệ:", "   - (cả hồ sơ): phải là một đối tượng"]


INELIGIBLE = [{"code": "rating_not_excellent",
               "message": "Năm 2025 chưa đạt mức hoàn thành xuất sắc nhiệm vụ.",
               "message_en": "2025 was not rated HTXSNV."},
              {"code": "missing_document", "message": "Thiếu tài liệu bien_ban trong hồ sơ."}]


def test_every_unmet_criterion_is_printed_with_its_code_in_vietnamese():
    assert describe_error(2, "ineligible", INELIGIBLE, "vi") == [
        "2: Lỗi — Không đủ điều kiện:",
        "   - rating_not_excellent: Năm 2025 chưa đạt mức hoàn thành xuất sắc nhiệm vụ.",
        "   - missing_document: Thiếu tài liệu bien_ban trong hồ sơ."]


def test_in_english_an_unmet_criterion_uses_its_english_message_or_falls_back_to_the_vietnamese():
    assert describe_error(2, "ineligible", INELIGIBLE, "en") == [
        "2: Error — Not eligible:",
        "   - rating_not_excellent: 2025 was not rated HTXSNV.",
        "   - missing_document: Thiếu tài liệu bien_ban trong hồ sơ."]


@pytest.mark.parametrize("code, vi, en", [("conflict", "Xung đột", "Conflict"),
                                          ("unauthorized", "Chưa xác thực", "Not authenticated"),
                                          ("forbidden", "Không được phép", "Forbidden"),
                                          ("not_found", "Không tìm thấy", "Not found")])
def test_an_error_carrying_a_sentence_is_one_line(code, vi, en):
    assert describe_error(4, code, "why", "vi") == [f"4: Lỗi — {vi}: why"]
    assert describe_error(4, code, "why", "en") == [f"4: Error — {en}: why"]


def test_the_summary_counts_accepted_nominations():
    assert clerk.summary(2, 3, "vi") == "2/3 hồ sơ được tiếp nhận"
    assert clerk.summary(2, 3, "en") == "2 of 3 nominations accepted"


def test_both_languages_have_every_label():
    assert clerk.LABELS["vi"].keys() == clerk.LABELS["en"].keys()


def test_an_unanswered_nomination_says_it_may_still_be_processed():
    [line] = describe_error(5, "timeout", 30.0, "en")

    assert line.startswith("5: Error — No answer within 30 seconds; it may still be processed later")
    assert describe_error(5, "timeout", 2.5, "vi")[0].startswith(
        "5: Lỗi — Không nhận được trả lời sau 2.5 giây; hồ sơ có thể vẫn được xử lý sau")
