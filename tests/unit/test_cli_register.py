"""``tdkt decision`` and ``tdkt register``: what each sends to intake (through a fake proxy), an import
file with a line that does not parse sends nothing, and exports are CSV with a BOM and neutral formulas."""
import pytest
from click.testing import CliRunner

from shared.cli.commands import main
from shared.contract.errors import Conflict

ENTRY = {"entry_id": "e-1", "unit_id": "vp", "nominee_kind": "individual", "employee_id": "VP-0042",
         "nominee_name": "=HYPERLINK(\"x\")", "award_code": "CSTDCS", "award_year": 2025,
         "decision": {"number": "88/QĐ-VP", "date": "2025-12-15", "signer": "Trần Văn Bình"}, "money": 2_340_000,
         "state": "awarded", "source": "import", "nomination_id": None, "contact_email": None,
         "nominee_email": None, "recorded_by": "abc", "revocation": None}


class FakeIntake:
    def __init__(self):
        self.calls, self.answers = [], {}

    def __call__(self, amqp_uri, context_data=None, timeout=None):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def __getattr__(self, name):
        if name != "intake":
            raise AttributeError(name)
        outer = self

        class Methods:
            def __getattr__(self, method):
                def call(*args):
                    outer.calls.append((method, args))
                    answer = outer.answers.get(method)
                    if isinstance(answer, Exception):
                        raise answer
                    return answer
                return call
        return Methods()


@pytest.fixture
def intake(monkeypatch):
    fake = FakeIntake()
    monkeypatch.setattr("shared.platform.client.rpc_proxy", fake)
    return fake


def tdkt(*args):
    return CliRunner().invoke(main, list(args), prog_name="tdkt")


def test_a_decision_is_recorded_for_the_ids_given_and_those_of_a_csv(intake, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("\ufeffnomination_id,nominee\nn-2,Lê Văn Nam\nn-3,Phạm Thu\n", encoding="utf-8")
    intake.answers["record_decision"] = {"number": "123/QĐ-BTNMT", "date": "2025-12-20", "entries": [
        {**ENTRY, "nomination_id": "n-1"}]}
    result = tdkt("decision", "record", "--number", "123/QĐ-BTNMT", "--date", "2025-12-20", "--signer", "Bộ trưởng",
                  "--csv", str(listing), "n-1")
    assert result.exit_code == 0, result.output
    assert intake.calls == [("record_decision", ({"number": "123/QĐ-BTNMT", "date": "2025-12-20",
                                                  "signer": "Bộ trưởng", "nomination_ids": ["n-1", "n-2", "n-3"]},))]


def test_a_refused_decision_is_one_message_and_a_non_zero_exit(intake):
    intake.answers["record_decision"] = Conflict("nothing recorded: nomination n-9: is rejected, not approved")
    result = tdkt("decision", "record", "--number", "1/QĐ", "--date", "2025-12-20", "--signer", "X", "n-9")
    assert result.exit_code == 1 and "n-9" in result.output and "not approved" in result.output


def test_an_import_with_a_line_that_does_not_parse_names_it_and_sends_nothing(intake, tmp_path):
    register = tmp_path / "register.csv"
    register.write_text("unit_id,employee_id,nominee_name,award_code,award_year,decision_number,decision_date\n"
                        "vp,VP-0042,Nguyễn Thị Hoa,CSTDCS,2024,12/QĐ-VP,2024-12-20\n"
                        "vp,VP-0043,Lê Văn Nam,CSTDCS,2024,13/QĐ-VP,20/12/2024\n", encoding="utf-8")
    result = tdkt("register", "import", str(register))
    assert result.exit_code == 1 and "line 3" in result.output and "nothing imported" in result.output
    assert intake.calls == []

    register.write_text(register.read_text(encoding="utf-8").replace("20/12/2024", "2024-12-20"), encoding="utf-8")
    intake.answers["import_register"] = {"rows": 2, "added": 2, "skipped": 0}
    assert tdkt("register", "import", str(register)).exit_code == 0
    [(method, (rows,))] = intake.calls
    assert method == "import_register" and [r["award_year"] for r in rows] == [2024, 2024]


def test_the_register_is_shown_as_csv_with_a_bom_and_formulas_neutralised(intake):
    intake.answers["register_show"] = [ENTRY]
    result = tdkt("register", "show", "--unit", "vp", "--person", "VP-0042", "--csv")
    assert result.exit_code == 0 and result.output.startswith("\ufeffentry_id,")
    assert "'=HYPERLINK" in result.output and "88/QĐ-VP" in result.output
    assert intake.calls == [("register_show", ({"unit_id": "vp", "employee_id": "VP-0042", "award_year": None},))]


def test_a_revocation_sends_ground_decision_date_and_reason(intake):
    intake.answers["revoke_register_entry"] = {**ENTRY, "revocation": {"money_to_recover": 2_340_000},
                                               "affected": [{"nomination_id": "n-5", "reasons": ["..."]}]}
    result = tdkt("register", "revoke", "e-1", "--ground", "b", "--decision", "5/QĐ-VP", "--date", "2026-12-01",
                  "--reason", "Giả mạo hồ sơ")
    assert result.exit_code == 0 and "2340000" in result.output and "n-5" in result.output
    assert intake.calls == [("revoke_register_entry", ({"entry_id": "e-1", "ground": "b", "decision_number": "5/QĐ-VP",
                                                        "date": "2026-12-01", "reason": "Giả mạo hồ sơ"},))]
