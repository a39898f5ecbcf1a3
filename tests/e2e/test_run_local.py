"""``make run`` (deploy/run-local.sh): Ctrl-C stops everything it started, and a second copy is refused
while the first runs (issue #22, finding 6). Started as a terminal would start it, in a process group
of its own, on this test's vhost, ports and var directory; bounded to about 30 s."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.harness import ROOT, free_port, wait_until


def descendants(root: int) -> dict[int, tuple[str, str]]:
    """pid -> (start time, command line) of every live process below ``root``."""
    parents, found = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                parents[int(entry.name)] = (int(fields[1]), fields[19],
                                            (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except (OSError, ValueError):
                continue
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, start, cmdline) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = (start, cmdline)
                frontier.append(pid)
    return found


def alive(pid: int, start: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[19] == start and " Z " not in stat[stat.rindex(")"):][:4]


def test_ctrl_c_stops_every_process_make_run_started_and_a_second_copy_is_refused(rabbit_config, tmp_path):
    ports = [free_port() for _ in range(3)]
    env = {**os.environ, "AMQP_URI": rabbit_config["AMQP_URI"], "TDKT_VAR_DIR": str(tmp_path / "var"),
           "SMTP_PORT": str(free_port()), "TDKT_RUN_HTTP_PORTS": " ".join(map(str, ports)),
           "VENV": sys.prefix, "PYTHONPATH": str(ROOT), "STOP_SECONDS": "15"}
    command = ["bash", str(ROOT / "deploy" / "run-local.sh")]
    with open(tmp_path / "first.log", "wb") as log:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, preexec_fn=as_in_a_terminal)  # a foreground job
    started = {}
    try:
        def healthy():
            return all(requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok for port in ports)

        wait_until(lambda: first.poll() is None and _quietly(healthy), timeout=25, interval=0.2,
                   what=f"make run to start: {(tmp_path / 'first.log').read_text(errors='replace')[-2000:]}")
        started = descendants(first.pid)
        assert sum("nameko run" in cmdline for _, cmdline in started.values()) == 3, started

        second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, start_new_session=True)
        try:
            _, error = second.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            kill_all(second)
            raise AssertionError("a second copy started beside the first") from None
        assert second.returncode != 0 and "already running" in error, error
        assert first.poll() is None and _quietly(healthy)  # the first copy is untouched

        os.killpg(first.pid, signal.SIGINT)  # Ctrl-C in its terminal
        assert first.wait(timeout=20) != 0
        wait_until(lambda: not [pid for pid, (start, _) in started.items() if alive(pid, start)], timeout=5,
                   what="every process it started to end")
        assert not any(_quietly(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok)
                       for port in ports)
    finally:  # whatever happened, leave nothing of this test running (by pid, nothing else)
        kill_all(first, started)


def as_in_a_terminal():
    """Ctrl-C reaches a terminal's foreground job with SIGINT at its default. This test's own process
    may have it ignored (started as a background job of a script, as CI may be), which a child
    inherits and a non-interactive bash cannot trap: make run would then not see the Ctrl-C at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_all(process, known=None):
    """SIGKILL ``process``, its group and every process below it (and those ``known`` before)."""
    below = {**(known or {}), **descendants(process.pid)}
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pid, (start, _) in below.items():
        if alive(pid, start):
            os.kill(pid, signal.SIGKILL)


def _quietly(check):
    try:
        return check()
    except requests.RequestException:
        return False
