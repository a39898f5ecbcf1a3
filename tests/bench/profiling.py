"""Sampling profiles of the service processes with py-spy (attached to the running processes, so
the services run unchanged), summarised as the functions that hold the most samples."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRA = os.environ.get("TDKT_PY_SPY_ARGS", "").split()


def py_spy() -> str | None:
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))


class Profiler:
    """``py-spy record`` on each pid until ``stop``; raw collapsed stacks, one file per service."""

    def __init__(self, pids: dict[str, int], directory: Path, label: str, rate: int = 50):
        self.files = {name: Path(directory) / f"profile-{label}-{name}.txt" for name in pids}
        executable = py_spy()
        if executable is None:
            raise RuntimeError("py-spy is not installed (pip install -e '.[bench]')")
        self.processes = [subprocess.Popen(
            [executable, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--nonblocking", *EXTRA,
             "--output", str(self.files[name])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]

    def stop(self) -> dict:
        for process in self.processes:
            process.send_signal(signal.SIGINT)
        for process in self.processes:
            process.wait(60)
        return {name: summarise(path) for name, path in self.files.items() if path.exists()}


def summarise(path: Path, top: int = 12) -> dict:
    """Samples in all, and the functions with the most samples: ``self`` (on top of the stack) and
    ``total`` (anywhere in it), as shares of all samples."""
    own, anywhere, samples = Counter(), Counter(), 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(frame) for frame in stack.split(";")]
        samples += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            anywhere[frame] += int(count)
    share = (lambda n: round(n / samples, 3)) if samples else (lambda n: 0.0)
    return {"samples": samples, "self": [(f, share(n)) for f, n in own.most_common(top)],
            "total": [(f, share(n)) for f, n in anywhere.most_common(3 * top)
                      if not f.startswith(("<module>", "run (", "_bootstrap", "main ("))][:top]}


def _short(frame: str) -> str:
    """``send_due (services/notify/handlers.py:96)`` with the path cut to the project or site-packages."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", f"{ROOT}/", "/lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    where = where.rsplit(":", 1)[0]  # the function, not the line
    return f"{name} ({where})"
