"""``tdkt submit`` as a clerk runs it, against a running intake container on a real broker and database."""
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.intake import handlers
from services.intake.service import MIGRATIONS, IntakeService
from shared.cli.commands import main
from shared.platform.outbox import utcnow
from tests.harness import free_port
from tests.integration.delivery import Tables

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"


@pytest.fixture
def running_intake(container_factory, rabbit_config, service_env, db_urls, monkeypatch):
    """A running intake service, and a token of unit ``vp`` in ``TDKT_UNIT_TOKEN``."""
    tables = Tables(db_urls["intake"], MIGRATIONS)
    monkeypatch.setenv("TDKT_UNIT_TOKEN", handlers.issue_unit_token("vp", tables.uow(), utcnow()))
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    container = container_factory(IntakeService, rabbit_config)
    container.start()
    yield tables
    tables.dispose()


@pytest.fixture
def batch_with_a_bad_second_row(tmp_path) -> Path:
    """The example batch, its second nomination given a bad email, gender and rating."""
    with open(EXAMPLES / "batch.csv", encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    rows[1].update({"contact_email": "không-phải-email", "nominee.gender": "nữ",
                    "history": json.dumps([{"year": 2025, "rating": "XUAT_SAC"}])})
    path = tmp_path / "batch.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def tdkt(*args):
    return CliRunner().invoke(main, list(args))


def test_a_batch_with_one_bad_nomination_gets_two_receipts_and_every_fault_in_vietnamese(
        running_intake, batch_with_a_bad_second_row):
    result = tdkt("submit", str(batch_with_a_bad_second_row))

    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith("1: Đã nộp — mã hồ sơ ") and lines[0].endswith(", trạng thái submitted")
    assert lines[1] == "2: Lỗi — Hồ sơ không hợp lệ:"
    assert set(lines[2:5]) == {"   - contact_email: Không phải địa chỉ email hợp lệ.",
                               "   - nominee.gender: Phải là một trong: female, male.",
                               "   - history.0.rating: Phải là một trong: HTXSNV, HTTNV, HTNV, KHTNV."}
    assert lines[5].startswith("3: Đã nộp — mã hồ sơ ")
    assert lines[6:] == ["2/3 hồ sơ được tiếp nhận"]
    assert "Đang nộp" in result.stderr  # the progress bar
    assert running_intake.count("nominations") == 2


def test_the_same_batch_reported_in_english(running_intake, batch_with_a_bad_second_row):
    result = tdkt("submit", "--lang", "en", str(batch_with_a_bad_second_row))

    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith("1: Submitted — nomination ") and lines[0].endswith(", status submitted")
    assert lines[1] == "2: Error — Invalid nomination:"
    assert set(lines[2:5]) == {"   - contact_email: Not a valid email address.",
                               "   - nominee.gender: Must be one of: female, male.",
                               "   - history.0.rating: Must be one of: HTXSNV, HTTNV, HTNV, KHTNV."}
    assert lines[5].startswith("3: Submitted — nomination ")
    assert lines[6:] == ["2 of 3 nominations accepted"]


def test_a_single_json_nomination_gets_a_receipt_and_again_is_noted_as_a_duplicate(running_intake):
    first = tdkt("submit", str(EXAMPLES / "nomination.json"))
    again = tdkt("submit", str(EXAMPLES / "nomination.json"))

    assert first.exit_code == 0, first.output
    receipt, summary = first.stdout.splitlines()
    assert receipt.startswith("1: Đã nộp — mã hồ sơ ") and "trùng" not in receipt
    assert summary == "1/1 hồ sơ được tiếp nhận"
    assert first.stderr == ""  # no progress bar for a single nomination
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0] == f"{receipt} (trùng: hồ sơ này đã được nộp trước đó)"
    assert running_intake.count("nominations") == 1


def test_every_unmet_criterion_is_printed_in_the_clerks_language(running_intake, tmp_path):
    nomination = json.loads((EXAMPLES / "nomination.json").read_text(encoding="utf-8"))
    nomination.update(under_review=True, documents=nomination["documents"][:1])
    path = tmp_path / "on-hold.json"
    path.write_text(json.dumps(nomination, ensure_ascii=False), encoding="utf-8")

    vi, en = (tdkt("submit", "--lang", lang, str(path)).stdout.splitlines() for lang in ("vi", "en"))

    assert vi[0] == "1: Lỗi — Không đủ điều kiện:" and en[0] == "1: Error — Not eligible:"
    assert len(vi) == len(en) >= 4  # on hold, and two documents missing, then the summary
    assert all(line.startswith("   - ") for line in vi[1:-1] + en[1:-1])
    assert vi[1:-1] != en[1:-1]
    assert running_intake.count("nominations") == 0


def test_a_malformed_file_is_refused_naming_line_and_column_and_submits_nothing(running_intake, tmp_path):
    rows = (EXAMPLES / "batch.csv").read_text(encoding="utf-8").splitlines()
    rows[3] = rows[3].replace(",2025,", ",năm 2025,", 1)
    path = tmp_path / "batch.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    result = tdkt("submit", "--lang", "en", str(path))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}, line 4, nomination 3, column award_year: 'năm 2025' is not a whole number" \
        in result.stderr
    assert running_intake.count("nominations") == 0


def test_a_forged_token_is_reported_for_the_nomination(running_intake):
    result = tdkt("submit", "--token", "forged-token", "--lang", "en", str(EXAMPLES / "nomination.json"))

    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["1: Error — Not authenticated: unknown or revoked unit token",
                                          "0 of 1 nominations accepted"]


def test_an_unreachable_broker_is_one_clear_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("AMQP_URI", f"amqp://guest:secret@127.0.0.1:{free_port()}/")

    result = tdkt("submit", "--token", "t", str(EXAMPLES / "nomination.json"))

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Không kết nối được tới RabbitMQ (amqp://guest:***@127.0.0.1:")
    assert "Traceback" not in result.output and "secret" not in result.output
