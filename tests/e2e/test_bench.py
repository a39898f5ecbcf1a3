"""The benchmark's machinery at a tiny size (the real run is ``make bench``): its counts must add up,
or its figures would mean nothing."""
import json
import time

import pytest

from tests.bench import report, runs, workload

pytestmark = pytest.mark.e2e


def test_a_tiny_year_end_run_counts_every_vote_and_every_mail_once_and_reports_them(tmp_path):
    run = runs.year_end_phase(units=2, per_unit=10, callers=4)

    assert run["nominations"] == 20 and run["unit_sittings"] == 2
    assert run["advanced"] == 2  # the CSTD_BO of each unit (numbers 0 of 10)
    assert run["votes"] == 2 * workload.UNIT_MEMBERS + workload.MINISTRY_MEMBERS
    # 20 acknowledgements, 14 + 15 invitations, receipts and lists of receipts, 20 outcomes and 2 advanced
    # to the nominees, one mail per sitting to each unit it decided on (2 unit sittings, then the ministry's
    # for both units)
    assert run["mails_expected"] == 20 + 3 * 29 + 22 + 4 == run["mails_received"] == run["distinct_message_ids"]
    assert run["mail_rows"] == {"sent": run["mails_expected"]}
    assert run["ballots_left_open"] == run["dead_letters"] == 0
    assert run["broker"]["published"] > 0 and all(mb > 0 for mb in run["peak_rss_mb"].values())
    assert set(run["cpu_seconds"]) >= {"intake", "review", "notify", "RabbitMQ", "PostgreSQL"}

    # every statement the services sent during the run is counted (each nomination takes several)
    assert sum(run["sql_statements"].values()) > 5 * run["nominations"]
    run["per_nomination"] = report.per_nomination(run, None)
    assert run["per_nomination"]["bus_messages"] > 1
    results = {"machine": report.machine(), "rpc": None, "year_end": [run]}
    results["targets"] = report.targets(results)
    assert {c["target"]: c["met"] for c in results["targets"]}["every mail once, none failed, no dead letter (20)"]
    table = report.write(results, tmp_path)
    assert "| 20 nominations |" in table
    assert json.loads((tmp_path / "latest.json").read_text())["year_end"][0]["nominations"] == 20


def test_the_rpc_phase_measures_intake_beside_the_echo_service_with_the_same_callers():
    rpc = runs.rpc_phase(calls=20, callers=4)

    for name in ("intake", runs.ECHO, runs.DURABLE):
        assert rpc[f"{name}_1"]["calls"] == rpc[f"{name}_4"]["calls"] == 20
        assert 0 < rpc[f"{name}_4"]["p50_ms"] <= rpc[f"{name}_4"]["p99_ms"]
        assert rpc[f"{name}_4"]["cpu_seconds"][name] > 0
    checks = report.targets({"rpc": rpc})
    assert [c["target"] for c in checks][:3] == ["submit throughput >= 0.8 x durable echo (1 caller(s))",
                                                 "submit throughput >= 0.5 x bare echo (1 caller(s))",
                                                 "submit p99 <= 2 x durable echo p99 (1 caller(s))"]
    assert "| durable echo | 4 |" in report.markdown({"machine": report.machine(), "rpc": rpc})


def test_a_clerk_whose_nomination_is_refused_ends_the_run_at_once_with_the_error(monkeypatch):
    from shared.contract.errors import ValidationError

    valid = workload.nominations

    def refused(unit_id, count):
        return [{**body, "award_code": "KHONG_CO"} for body in valid(unit_id, count)]

    monkeypatch.setattr(workload, "nominations", refused)
    started = time.monotonic()
    with pytest.raises(ValidationError):
        runs.year_end_phase(units=1, per_unit=2, callers=1)
    assert time.monotonic() - started < 60  # not the run's 30-minute deadline
