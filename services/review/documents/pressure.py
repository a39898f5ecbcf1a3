"""How busy the machine's CPUs are, from Linux's pressure stall information (PSI): the documents of a
closed sitting wait for a quiet machine (see ``jobs.make_step``), so that at a year-end peak the votes,
outcomes and mails have the CPUs, and LibreOffice comes after them.
"""
from __future__ import annotations

import math
from pathlib import Path

PSI_CPU = Path("/proc/pressure/cpu")  # the whole machine's, also inside a container: the database and
# the broker beside the service are what the documents must not slow
BUSY = 20.0  # % of the last ten seconds in which some runnable task waited for a CPU


def cpu_pressure(path: Path = PSI_CPU) -> float | None:
    """The share (%) of the last ten seconds in which some runnable task waited for a CPU (``some
    avg10``), or None where the kernel does not say (no PSI: an older kernel, ``psi=0``, an unreadable
    or malformed file)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except (OSError, ValueError):
        return None
    for line in text.splitlines():
        kind, _, fields = line.partition(" ")
        if kind != "some":
            continue
        values = dict(field.split("=", 1) for field in fields.split() if "=" in field)
        try:
            share = float(values["avg10"])
        except (KeyError, ValueError):
            return None
        return share if math.isfinite(share) and 0.0 <= share <= 100.0 else None
    return None


def busy(pressure=cpu_pressure) -> bool:
    """The CPUs are contended now (False where the kernel does not say: the documents are not held)."""
    share = pressure()
    return share is not None and share >= BUSY
