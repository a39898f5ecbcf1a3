"""Fault injection: a batch of nominations flows end to end (submission, sittings, votes, mail) while
services are killed with SIGKILL and restarted, RabbitMQ is restarted and PostgreSQL is restarted; then
``checker`` counts lost, duplicated and unexpected effects.

Run on demand: ``python -m tests.faults.chaos --nominations 500 --faults 2`` (``make faults``); the test
suite runs a short form (tests/faults/test_faults.py). Everything runs on this machine: a vhost and a
PostgreSQL database of its own, created here and dropped at the end.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time

from tests.faults import checker
from tests.faults.client import Client
from tests.harness import SERVICES, Sandbox


class Faults(threading.Thread):
    """Injects each fault type ``per_type`` times, in random order, at random moments, until done."""

    def __init__(self, system, per_type, seed):
        super().__init__(daemon=True)
        self.system, self.random = system, random.Random(seed)
        self.plan = [f"kill-{s}" for s in SERVICES for _ in range(per_type)] + \
            ["restart-rabbitmq", "restart-postgresql"] * per_type
        self.random.shuffle(self.plan)
        self.done, self.log, self.error = [], [], None

    def run(self):
        try:
            for fault in self.plan:
                time.sleep(self.random.uniform(0.5, 2.5))
                self.inject(fault)
                self.done.append(fault)
        except Exception as exc:  # reported by the driver, which fails the run
            self.error = exc

    def inject(self, fault):
        started = time.monotonic()
        if fault.startswith("kill-"):
            service = fault[5:]
            self.system.kill(service)
            self.system.start_service(service)
            self.system.wait_ready(service, timeout=120)
        elif fault == "restart-rabbitmq":
            subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
            subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
            subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True)
        else:
            cluster = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()[0]
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
                           check=True, capture_output=True)
        self.log.append(f"{fault} ({time.monotonic() - started:.1f}s)")


def run(nominations: int, per_type: int, units: int = 5, seed: int = 1, timeout: float = 600.0) -> dict:
    """The whole fault run; returns the checker's report (``report["ok"]`` says whether all held)."""
    with Sandbox("tdkt_faults", SMTP_TIMEOUT="2", TDKT_MAIL_RETRY_SECONDS="0.2",
                 TDKT_RETRY_SECONDS="0.2") as sandbox:
        sink, system = sandbox.mail_sink(), sandbox.system()
        try:
            sink.start()
            system.start(SERVICES)
            client = Client(sandbox.env, units, seed)
            faults = Faults(system, per_type, seed)
            faults.start()
            started = time.monotonic()
            client.load_directory()
            client.submit(nominations)
            client.wait_for_cases(sandbox.urls["review"], nominations, timeout)
            client.hold_sittings(sandbox.urls["review"])
            faults.join(timeout)
            report = checker.check(sandbox.urls, sink, client, nominations, deadline=started + timeout)
            report.update(faults=faults.log, fault_error=repr(faults.error) if faults.error else None,
                          seconds=round(time.monotonic() - started, 1))
            report["ok"] = report["ok"] and faults.error is None and len(faults.done) == len(faults.plan)
            return report
        finally:
            system.stop()
            sink.stop()


def main() -> int:
    import eventlet

    eventlet.monkey_patch()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominations", type=int, default=500)
    parser.add_argument("--faults", type=int, default=2, help="how many times each fault type is injected")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--units", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    report = run(args.nominations, args.faults, units=args.units, seed=args.seed, timeout=args.timeout)
    print(checker.describe(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
