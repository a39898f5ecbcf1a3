"""The benchmark's arithmetic: percentiles, profile summaries and the target checks."""
import pytest

from tests.bench import report
from tests.bench.load import percentile
from tests.bench.profiling import ROOT, summarise


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)
    assert percentile([3.0], 0.99) == 3.0


def test_a_profile_summary_counts_own_and_inclusive_samples_per_function(tmp_path):
    raw = tmp_path / "profile.txt"
    raw.write_text(("main (/x/site-packages/nameko/cli.py:10);send_due (/repo/services/notify/handlers.py:96) 6\n"
                   "main (/x/site-packages/nameko/cli.py:12);build (/repo/services/notify/mail.py:40) 2\n"
                   "main (/x/site-packages/nameko/cli.py:12);send_due (/repo/services/notify/handlers.py:99);"
                   "build (/repo/services/notify/mail.py:41) 2\n").replace("/repo/", f"{ROOT}/"))
    summary = summarise(raw)
    assert summary["samples"] == 10
    assert summary["self"][0] == ("send_due (services/notify/handlers.py)", 0.6)
    assert ("build (services/notify/mail.py)", 0.4) in summary["self"]
    assert ("send_due (services/notify/handlers.py)", 0.8) in summary["total"]


def test_targets_compare_ratios_and_the_growth_from_5000_to_10000():
    def run(size, seconds, rss=100.0):
        return {"nominations": size, "seconds": seconds, "peak_rss_mb": {"intake": rss, "review": 90.0, "notify": 80.0},
                "mails_expected": 10, "mails_received": 10, "distinct_message_ids": 10, "mail_rows": {"sent": 10},
                "ballots_left_open": 0, "dead_letters": 0}

    rpc = {"intake_1": {"per_second": 90.0, "p99_ms": 9.0}, "bench_echo_1": {"per_second": 180.0, "p99_ms": 3.0},
           "bench_durable_echo_1": {"per_second": 100.0, "p99_ms": 4.5},
           "intake_16": {"per_second": 70.0, "p99_ms": 40.0}, "bench_echo_16": {"per_second": 100.0, "p99_ms": 10.0},
           "bench_durable_echo_16": {"per_second": 90.0, "p99_ms": 19.0}}
    checks = {c["target"]: c for c in report.targets(
        {"rpc": rpc, "year_end": [run(5000, 60.0), run(10000, 130.0, rss=260.0)]})}
    assert checks["submit throughput >= 0.8 x durable echo (1 caller(s))"]["met"]
    assert checks["submit throughput >= 0.5 x bare echo (1 caller(s))"]["met"]  # exactly 0.5 x
    assert checks["submit p99 <= 2 x durable echo p99 (1 caller(s))"]["met"]  # exactly 2 x
    assert not checks["submit throughput >= 0.8 x durable echo (16 caller(s))"]["met"]  # 0.78 x
    assert checks["submit throughput >= 0.5 x bare echo (16 caller(s))"]["met"]
    assert not checks["submit p99 <= 2 x durable echo p99 (16 caller(s))"]["met"]
    assert not checks["10,000 nominations decided and mailed in <= 120 s"]["met"]
    assert checks["peak RSS <= 250 MB per service (5,000)"]["met"]
    assert not checks["peak RSS <= 250 MB per service (10,000)"]["met"]
    assert checks["time(10,000) <= 2.1 x time(5,000)"]["measured"] == "2.17 x"
    assert not checks["time(10,000) <= 2.1 x time(5,000)"]["met"]
    assert checks["every mail once, none failed, no dead letter (5,000)"]["met"]


def test_cost_per_nomination_is_counted_in_bare_echo_calls_of_the_same_run():
    rpc = {"intake_16": {}, "bench_echo_16": {"calls": 2000, "cpu_seconds": {"bench_echo": 1.6}}}
    run = {"nominations": 1000, "cpu_seconds": {"intake": 4.0, "review": 2.0, "notify": 3.6, "PostgreSQL": 5.0,
                                                 "RabbitMQ": 2.5},
           "sql_statements": {"intake": 9000, "review": 6000, "notify": 6000}, "broker": {"published": 4400},
           "handled": {"handled": 7500, "workers": 3000}, "seconds": 10.0, "peak_rss_mb": {"intake": 1.0}, "mails_expected": 1, "mails_received": 1,
           "distinct_message_ids": 1, "mail_rows": {"sent": 1}, "ballots_left_open": 0, "dead_letters": 0}
    echo = report.echo_cpu_per_call(rpc)
    assert echo == pytest.approx(0.0008)
    run["per_nomination"] = cost = report.per_nomination(run, echo)
    assert cost == {"service_cpu_ms": 9.6, "service_cpu_in_echo_calls": 12.0, "postgresql_cpu_ms": 5.0,
                    "rabbitmq_cpu_ms": 2.5, "sql_statements": 21.0, "bus_messages": 4.4, "handled": 7.5,
                    "workers": 3.0}
    checks = {c["target"]: c for c in report.targets({"year_end": [run]})}
    assert checks["services' CPU per nomination <= 12 echo calls (1,000)"]["met"]  # exactly 12
    assert not checks["SQL statements per nomination <= 20 (1,000)"]["met"]


def test_a_doubled_mail_or_a_dead_letter_fails_the_delivery_check_and_a_profiled_run_is_not_timed():
    run = {"nominations": 10000, "seconds": 100.0, "peak_rss_mb": {"intake": 1.0}, "mails_expected": 10,
           "mails_received": 11, "distinct_message_ids": 10, "mail_rows": {"sent": 10}, "ballots_left_open": 0,
           "dead_letters": 1, "profile": {"intake": {}}}
    checks = {c["target"]: c for c in report.targets({"year_end": [run]})}
    assert not checks["every mail once, none failed, no dead letter (10,000)"]["met"]
    assert "10,000 nominations decided and mailed in <= 120 s" not in checks


def test_the_memory_watch_says_when_each_service_peaked_and_after_which_phase():
    from tests.bench.runs import RssWatch

    watch = RssWatch.__new__(RssWatch)
    watch.pids = {"intake": 1, "review": 2}
    watch.samples = [(1.0, {"intake": 50 * 2**20, "review": 60 * 2**20}),
                     (5.0, {"intake": 70 * 2**20, "review": 61 * 2**20}),
                     (9.0, {"intake": 40 * 2**20, "review": 300 * 2**20})]
    peaks = watch.peaks({"submitted_all": 4.0, "unit_sittings_closed": 8.5, "decided_all": 9.5})
    assert peaks == {"intake": {"mb": 70.0, "second": 5.0, "after": "submitted_all"},
                     "review": {"mb": 300.0, "second": 9.0, "after": "unit_sittings_closed"}}
    assert watch.peaks({"decided_all": 9.5})["intake"]["after"] == "start"


def _markdown_of(**run_values) -> str:
    """The report of one 2,500-nomination year-end run with ``run_values`` over a plain one."""
    run = {"nominations": 2500, "seconds": 30.0, "phases": {"mailed_all": 30.0}, "cpu_seconds": {"intake": 8.0},
           "machine_busy": 0.98, "peak_rss_mb": {"intake": 90.0, "review": 100.0, "notify": 95.0},
           "nominations_per_second": 83.3, "messages_per_second": 300.0, "mails_received": 5870,
           "mails_per_second": 195.7, "votes": 190,
           "per_nomination": {"service_cpu_ms": 1, "service_cpu_in_echo_calls": None, "postgresql_cpu_ms": 1,
                              "rabbitmq_cpu_ms": 1, "sql_statements": 14, "bus_messages": 4.4}, **run_values}
    return report.markdown({"machine": {"cpu": "x", "cores": 2, "memory_gib": 1, "python": "3", "rabbitmq": "3",
                                        "postgresql": "15", "date": "today"}, "year_end": [run]})


def test_the_report_says_when_the_background_documents_were_all_made_and_their_whole_cpu():
    text = _markdown_of(phases={"decided_all": 21.0, "mailed_all": 30.0, "documents_made": 41.5},
                        documents_cpu_seconds=15.0)
    assert "documents made 41.5" in text
    assert "2,500: all made at 41.5 s, 15.0 s of CPU (6.0 ms a nomination)" in text


def test_documents_not_all_made_say_how_many_were():
    text = _markdown_of(documents_made="3 of 26", documents_cpu_seconds=1.0)
    assert "2,500: only 3 of 26 sittings' documents made, 1.0 s of CPU" in text
