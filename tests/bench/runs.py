"""The benchmark's phases, each on a sandbox (vhost + database) of its own with fresh processes."""
from __future__ import annotations

import os
import subprocess
import time

import eventlet

from shared.platform.config import load_settings
from shared.platform.outbox import utcnow
from shared.platform.store import standalone_uow
from services.intake import handlers as intake_handlers
from services.intake.service import MIGRATIONS as INTAKE_MIGRATIONS
from tests.bench import durable, workload
from tests.bench.load import call_all
from tests.bench.profiling import Profiler
from tests.bench.yearend import YearEnd
from tests.harness import SERVICES, Sandbox, machine_busy_seconds, memory_bytes, process_cpu_seconds

ECHO = "bench_echo"
DURABLE = durable.NAME
PEERS = (ECHO, DURABLE, "intake")  # measured in turn, on the same bodies
WARM_UP = 200


def rpc_phase(calls: int, callers: int, profile_dir=None) -> dict:
    """``intake.submit_nomination`` beside the bare echo and the durable echo, sequentially and with
    ``callers`` at once.

    Review and notify are started (so their event queues are bound, and each submission's event is
    published and confirmed as in production) and stopped again: the figures are intake's own. The
    durable echo's events go to a queue bound here, which nobody consumes.
    """
    with Sandbox("tdkt_bench_rpc") as sandbox:
        sandbox.env[durable.URL_VARIABLE] = sandbox.schema(DURABLE)
        system = sandbox.system()
        try:
            system.start(SERVICES)
            for service in ("review", "notify"):
                system.kill(service, 15)
            _bind_sink(sandbox.env["AMQP_URI"], DURABLE)
            system.start_service(ECHO, "tests.bench.echo:EchoService")
            system.start_service(DURABLE, "tests.bench.durable:DurableEchoService")
            system.wait_ready(ECHO, queues=[f"rpc-{ECHO}"])
            system.wait_ready(DURABLE, queues=[f"rpc-{DURABLE}"])
            uow = standalone_uow("intake", INTAKE_MIGRATIONS, load_settings(sandbox.env))
            token = intake_handlers.issue_unit_token("dv001", uow, utcnow())
            uow.close()
            amqp = sandbox.env["AMQP_URI"]
            bodies = iter(workload.nominations("dv001", WARM_UP + 2 * calls))

            def take(count):
                return [next(bodies) for _ in range(count)]

            results = {}
            warm_up = take(WARM_UP)
            for name in PEERS:  # warm each up (connections, caches, the database)
                call_all(amqp, name, "submit_nomination", warm_up, callers, token)
            for concurrency in (1, callers):
                for name in PEERS:  # the same bodies, new ones for intake (no duplicates)
                    work = take(calls) if name == "intake" else workload.nominations("dv001", calls)
                    profiler = None
                    if profile_dir is not None and name == "intake" and concurrency == callers:
                        profiler = Profiler({"intake": system.processes["intake"].pid}, profile_dir, "rpc")
                    pids = {**{peer: system.processes[peer].pid for peer in PEERS},
                            "driver": os.getpid(), "RabbitMQ": _pids("beam.smp"), "PostgreSQL": _pids("postgres")}
                    before, machine_before = _cpu(pids), machine_busy_seconds()
                    result = call_all(amqp, name, "submit_nomination", work, concurrency, token)
                    after, machine_after = _cpu(pids, _pids("postgres")), machine_busy_seconds()
                    result["cpu_seconds"] = {k: round(after[k] - before[k], 2) for k in pids}
                    result["machine_busy"] = round((machine_after[0] - machine_before[0])
                                                   / (machine_after[1] - machine_before[1]), 2)
                    results[f"{name}_{concurrency}"] = result
                    if profiler is not None:
                        results["profile"] = profiler.stop()
            results["peak_rss_mb"] = {name: round(system.peak_rss(name) / 2**20, 1) for name in PEERS}
            return results
        finally:
            system.stop()


class RssWatch:
    """Each service's resident memory every half second of the run, to say in which phase it peaked."""

    def __init__(self, pids: dict, every: float = 0.5):
        self.pids, self.every, self.started = pids, every, time.monotonic()
        self.samples: list[tuple[float, dict]] = []
        self.thread = eventlet.spawn(self._watch)

    def _watch(self):
        while True:
            try:
                self.samples.append((time.monotonic() - self.started,
                                     {s: memory_bytes(pid) for s, pid in self.pids.items()}))
            except (FileNotFoundError, ProcessLookupError, StopIteration):
                pass
            eventlet.sleep(self.every)

    def stop(self):
        self.thread.kill()

    def peaks(self, phases: dict) -> dict:
        """``{service: {"mb", "second", "after"}}``: the highest sample, when, and the last phase mark before it."""
        found = {}
        for service in self.pids:
            if not self.samples:
                break
            second, sample = max(self.samples, key=lambda s: s[1][service])
            done = [name for name, at in sorted(phases.items(), key=lambda p: p[1]) if at <= second]
            found[service] = {"mb": round(sample[service] / 2**20, 1), "second": round(second, 1),
                              "after": done[-1] if done else "start"}
        return found


def _bind_sink(amqp_uri: str, service: str):
    """A durable queue bound to every event of ``service``, so its confirmed publishes are routed."""
    from kombu import Connection, Queue

    from shared.platform.messaging import event_exchange

    with Connection(amqp_uri) as connection:
        Queue(f"bench-sink-{service}", exchange=event_exchange(service), routing_key="#",
              durable=True)(connection.default_channel).declare()


def _statements(system) -> dict:
    """SQL statements each service has sent so far (its ``tdkt_sql_statements_total``)."""
    return {s: int(system.metric(s, "tdkt_sql_statements_total")) for s in SERVICES}


def _handled(system) -> dict:
    """``{"handled": ..., "workers": ...}`` of all three services so far: deliveries and calls handled
    (``tdkt_entrypoint_calls_total``: a batch counts its deliveries), and the workers that handled them
    (``tdkt_entrypoint_seconds_count``: a batch is one)."""
    return {"handled": sum(int(system.metric(s, "tdkt_entrypoint_calls_total")) for s in SERVICES),
            "workers": sum(int(system.metric(s, "tdkt_entrypoint_seconds_count")) for s in SERVICES)}


def _pids(name: str) -> list[int]:
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def _cpu(pids: dict, postgres_now=None) -> dict:
    """CPU seconds per name; PostgreSQL counts its processes alive now (backends started during the run
    count from zero, those that ended during it are missed)."""
    def total(group):
        seconds = 0.0
        for pid in group if isinstance(group, list) else [group]:
            try:
                seconds += process_cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                pass
        return seconds
    result = {name: total(group) for name, group in pids.items()}
    if postgres_now is not None:  # new backends: their whole time belongs to the run
        result["PostgreSQL"] += total([pid for pid in postgres_now if pid not in pids["PostgreSQL"]])
    return result


def year_end_phase(units: int, per_unit: int, callers: int, profile_dir=None) -> dict:
    """One year-end run of ``units`` x ``per_unit`` nominations; fresh services, so peaks are its own."""
    with Sandbox("tdkt_bench") as sandbox:
        sink, system = sandbox.mail_sink(), sandbox.system(http=True)
        run = None
        try:
            sink.start()
            system.start(SERVICES)
            run = YearEnd(sandbox, system, sink, units, per_unit, callers)
            run.prepare()
            profiler = None
            if profile_dir is not None:
                profiler = Profiler({s: system.processes[s].pid for s in SERVICES}, profile_dir,
                                    str(units * per_unit))
            pids = {**{s: system.processes[s].pid for s in SERVICES}, "mail sink": sink.process.pid,
                    "driver": os.getpid(), "RabbitMQ": _pids("beam.smp"), "PostgreSQL": _pids("postgres")}
            statements_before, handled_before = _statements(system), _handled(system)
            cpu_before, machine_before = _cpu(pids), machine_busy_seconds()
            documents_before = process_cpu_seconds(pids["review"], children=True)
            watch = RssWatch({s: system.processes[s].pid for s in SERVICES})
            try:
                result = run.run()
            finally:
                watch.stop()
            cpu_after, machine_after = _cpu(pids, _pids("postgres")), machine_busy_seconds()
            statements = {s: after - statements_before[s] for s, after in _statements(system).items()}
            handled = {key: after - handled_before[key] for key, after in _handled(system).items()}
            cpu = {name: cpu_after[name] - cpu_before[name] for name in pids}
            cpu["documents (LibreOffice, DOCX)"] = process_cpu_seconds(pids["review"], children=True) - documents_before
            busy = machine_after[0] - machine_before[0]
            cpu["rest of the machine"] = busy - sum(cpu.values())
            result["cpu_seconds"] = {name: round(value, 1) for name, value in cpu.items()}
            result["machine_busy"] = round(busy / (machine_after[1] - machine_before[1]), 2)
            if profiler is not None:
                result["profile"] = profiler.stop()
            # the documents are background work: made after the clock stops, their whole CPU reported apart
            result["documents_made"] = "{} of {}".format(*run.documents_made())
            result["documents_cpu_seconds"] = round(process_cpu_seconds(pids["review"], children=True)
                                                    - documents_before, 1)
            result["peak_rss_mb"] = {s: round(system.peak_rss(s) / 2**20, 1) for s in SERVICES}
            result["rss_peak_when"] = watch.peaks(result["phases"])
            result.update(run.verify())
            result["broker"] = run.broker_messages()
            seconds = result["seconds"]
            result["sql_statements"] = statements
            result["handled"] = handled
            result["nominations_per_second"] = round(result["nominations"] / seconds, 1)
            result["messages_per_second"] = round(result["broker"]["published"] / seconds, 1)
            result["mails_per_second"] = round(result["mails_received"] / seconds, 1)
            return result
        finally:
            if run is not None:
                run.close()
            system.stop()
            sink.stop()
