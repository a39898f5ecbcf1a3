"""DOCX from the templates (docxtpl), PDF from that same DOCX (LibreOffice headless), so the two never differ.

Both run in child processes, so a thousand-item sitting never blocks the service's event loop (it
answers RPCs and counts votes while its documents render) and never stays in its memory: the DOCX are
filled by ``python -m services.review.documents.render`` (docxtpl's XML for a 1,000-item sitting takes
some 200 MB, which a long-lived process would keep; a child gives it back when it ends), then converted
by LibreOffice, both as green subprocesses, a batch of documents per run, in the idle scheduling class
(:func:`_background`): documents are background work, and on a busy machine the votes, outcomes and
mails go first.
LibreOffice gets a profile directory of its own (``-env:UserInstallation``), kept for the renderer's
life (a fresh profile costs seconds at each start). A DOCX is written reproducibly (every zip entry
dated 1980-01-01): the same sitting gives the same bytes.
"""
from __future__ import annotations

import functools
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import zipfile
from pathlib import Path

from eventlet import Timeout
from eventlet.green import subprocess

TEMPLATES = Path(__file__).parent / "templates"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
CONTENT_TYPES = {"docx": DOCX_TYPE, "pdf": PDF_TYPE}
SOFFICE_TIMEOUT = 600  # seconds for one batch (a 1,000-item sitting takes well under a minute)
FILL_TIMEOUT = 300  # seconds for one batch of DOCX (a 1,000-item sitting's three take about 5 s)
ROOT = Path(__file__).resolve().parents[3]  # the project, for the child's imports
NICENESS = 19  # the lowest priority, where the idle class (below) is refused


class RenderError(RuntimeError):
    """A document could not be made (LibreOffice missing, failing or too slow)."""


def reproducible(data: bytes) -> bytes:
    """The same package with every zip entry dated 1980-01-01, so equal content is equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def fill(kind: str, context: dict, templates: Path = TEMPLATES) -> bytes:
    """The DOCX of ``kind`` filled with ``context``, in this process (see :func:`fill_apart`)."""
    from docxtpl import DocxTemplate  # imported where documents are filled: the child, or a tool

    template = DocxTemplate(str(templates / f"{kind}.docx"))
    template.render(context, autoescape=True)
    buffer = io.BytesIO()
    template.save(buffer)
    return reproducible(buffer.getvalue())


def fill_apart(documents: dict[str, tuple[str, dict]], templates: Path = TEMPLATES,
               timeout: float = FILL_TIMEOUT) -> dict[str, bytes]:
    """``{name: (kind, context)}`` -> ``{name: docx bytes}``, every one filled by one child process;
    raises :class:`RenderError`. ``name`` is a file name (letters, digits, ``.``, ``-``)."""
    with tempfile.TemporaryDirectory(prefix="tdkt-fill-") as work:
        work = Path(work)
        request = {"templates": str(templates),
                   "documents": {name: {"kind": kind, "context": context} for name, (kind, context) in documents.items()}}
        (work / "request.json").write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        command = [*_background(), sys.executable, "-m", "services.review.documents.render", str(work)]
        returncode, err = _run(command, timeout, "filling the DOCX", env=environment)
        results = {name: work / f"{name}.docx" for name in documents}
        missing = [name for name, path in results.items() if not path.exists()]
        if returncode != 0 or missing:
            raise RenderError(f"filling the DOCX exited {returncode} without {missing}: {err.strip()[-300:]}")
        return {name: path.read_bytes() for name, path in results.items()}


# a child started in a session of its own (see _run) is, where Linux groups sessions for the scheduler
# (autogroup, on by default), a group of its own that shares the CPU equally with every other session
# whatever its processes' nice or class: so the group itself is put at the lowest priority first
AUTOGROUP = Path("/proc/self/autogroup")
# Linux takes one such write in 100 ms on the whole machine from a process without CAP_SYS_ADMIN (the
# service's user), so a child started just after another tries again; a write refused for good (a
# container's /proc) costs half a second, and the child runs all the same
LOWEST_GROUP = ('for attempt in 1 2 3 4 5; do {{ echo {nice} > /proc/self/autogroup; }} 2>/dev/null && break; '
                'sleep 0.1; done; exec "$@"')


class _Unknown(Exception):
    """The probe could not tell (it timed out, or the process could not start): asked again next time."""


def _background() -> tuple[str, ...]:
    """The prefix that runs a document's child as background work, so that at a year-end peak the
    votes, outcomes and mails are not slowed by it: its scheduler group at nice 19 (above), Linux's
    idle scheduling class (``chrt --idle``: it runs only on CPU no other process of its group wants)
    and ``nice`` 19 besides (or alone, where ``chrt`` is missing or refused). Measured on a 2-core
    machine beside two busy loops: a loop in a session of its own, at ``nice`` 19 in the idle class,
    took 87 % of a core; with its group at nice 19 as well, 4 %. Whether ``chrt`` works is probed
    once a process, or again after a probe that could not tell."""
    try:
        idle = _idle_class_works()
    except _Unknown:
        idle = False
    return (*_group_and_nice(), *(("chrt", "--idle", "0") if idle else ()))


@functools.cache
def _group_and_nice() -> tuple[str, ...]:
    """The prefix's part that needs no probe, looked up once a process."""
    group = (("sh", "-c", LOWEST_GROUP.format(nice=NICENESS), "tdkt-background")
             if AUTOGROUP.exists() and shutil.which("sh") else ())
    return (*group, *(("nice", "-n", str(NICENESS)) if shutil.which("nice") else ()))


@functools.cache
def _idle_class_works() -> bool:
    """``chrt --idle 0`` runs a command here (not the group's write: the probe must not take the
    machine's 100 ms for it from the child after it); raises :class:`_Unknown` when that is not known."""
    if not shutil.which("chrt"):
        return False
    try:
        return _run(["chrt", "--idle", "0", "true"], 10, "chrt")[0] == 0
    except (OSError, RenderError) as exc:
        raise _Unknown(str(exc)) from None


def _run(command: list[str], timeout: float, what: str, **popen) -> tuple[int, str]:
    """Run ``command`` as a green subprocess in a session of its own, killed with all it started when it
    is done or after ``timeout``: ``(returncode, stderr or stdout)``; raises :class:`RenderError`."""
    # a session of its own: ``soffice`` is a script whose oosplash starts soffice.bin, and the whole
    # group goes when it is done, so a hung or crashed LibreOffice never keeps the profile busy
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               **popen)
    out = err = None
    try:
        # eventlet's Timeout, not communicate(timeout=): the green communicate raises a TimeoutExpired
        # of eventlet's private copy of subprocess, which no ``except`` here can name
        with Timeout(timeout, False):
            out, err = process.communicate()
    finally:
        _end_group(process)
    if out is None:
        raise RenderError(f"{what} took longer than {timeout} s")
    return process.returncode, (err or out).decode(errors="replace")


class Converter:
    """Converts DOCX to PDF with LibreOffice, one batch per call, with a profile directory of its own."""

    def __init__(self, soffice: str = "soffice", timeout: float = SOFFICE_TIMEOUT):
        self.soffice, self.timeout = soffice, timeout
        self.profile = Path(tempfile.mkdtemp(prefix="tdkt-soffice-profile-"))

    def to_pdf(self, documents: dict[str, bytes]) -> dict[str, bytes]:
        """``{name: docx bytes}`` -> ``{name: pdf bytes}``; raises :class:`RenderError`."""
        if shutil.which(self.soffice) is None:
            raise RenderError(f"{self.soffice!r} not found: install LibreOffice (libreoffice-writer-nogui)")
        with tempfile.TemporaryDirectory(prefix="tdkt-render-") as work:
            work = Path(work)
            sources = []
            for name, data in documents.items():
                path = work / f"{name}.docx"
                path.write_bytes(data)
                sources.append(str(path))
            command = [*_background(), self.soffice, f"-env:UserInstallation={self.profile.as_uri()}", "--headless",
                       "--norestore", "--nolockcheck", "--convert-to", "pdf:writer_pdf_Export", "--outdir",
                       str(work / "pdf"), *sources]
            returncode, err = _run(command, self.timeout, "LibreOffice")
            results = {name: work / "pdf" / f"{name}.pdf" for name in documents}
            missing = [name for name, path in results.items() if not path.exists()]
            if returncode != 0 or missing:
                raise RenderError(f"LibreOffice exited {returncode} without {missing}: {err.strip()[:300]}")
            return {name: path.read_bytes() for name, path in results.items()}

    def close(self):
        shutil.rmtree(self.profile, ignore_errors=True)


def _end_group(process) -> None:
    """Kill whatever is left of LibreOffice's process group (nothing, after a clean conversion) and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def main(work: str) -> int:
    """The child of :func:`fill_apart`: fill every document of ``work/request.json`` into ``work``."""
    try:
        request = json.loads((Path(work) / "request.json").read_text(encoding="utf-8"))
        templates = Path(request["templates"])
        for name, document in request["documents"].items():
            (Path(work) / f"{name}.docx").write_bytes(fill(document["kind"], document["context"], templates))
    except Exception as exc:  # noqa: BLE001 - one line for the service's log, not a traceback
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
