"""``python -m tests.bench`` (``make bench``): submit latency and throughput against a bare Nameko
echo service, then the year-end run at each size; writes ``var/bench/`` and prints the table.

Everything runs on this machine's RabbitMQ and PostgreSQL, in a vhost and a database of its own per
phase (dropped afterwards), with the real SMTP sink (aiosmtpd) receiving the mail.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import eventlet


def main(argv=None) -> int:
    eventlet.monkey_patch()
    from tests.bench import report, runs  # after patching: they import kombu, psycopg2, requests

    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2500,5000,10000",
                        help="year-end runs, in nominations (a multiple of --per-unit each)")
    parser.add_argument("--per-unit", type=int, default=100, help="nominations each unit submits")
    parser.add_argument("--rpc-calls", type=int, default=2000, help="calls per RPC measurement (0: skip)")
    parser.add_argument("--callers", type=int, default=16, help="concurrent callers")
    parser.add_argument("--profile", type=int, default=None, metavar="SIZE",
                        help="also profile the services with py-spy during the run of this size")
    parser.add_argument("--profile-rpc", action="store_true",
                        help="also profile intake with py-spy while the concurrent callers submit")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if any(size <= 0 or size % args.per_unit for size in sizes):
        parser.error(f"each size must be a positive multiple of --per-unit ({args.per_unit})")
    args.out.mkdir(parents=True, exist_ok=True)

    results = {"machine": report.machine(), "rpc": None, "year_end": []}
    if args.rpc_calls:
        results["rpc"] = runs.rpc_phase(args.rpc_calls, args.callers, args.out if args.profile_rpc else None)
    for size in sizes:
        results["year_end"].append(runs.year_end_phase(size // args.per_unit, args.per_unit, args.callers,
                                                       profile_dir=args.out if size == args.profile else None))
    echo_cpu = report.echo_cpu_per_call(results["rpc"])
    for run in results["year_end"]:
        run["per_nomination"] = report.per_nomination(run, echo_cpu)
    results["targets"] = report.targets(results)
    print(report.write(results, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
