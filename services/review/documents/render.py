"""DOCX from the templates (docxtpl), PDF from that same DOCX (LibreOffice headless), so the two never differ.

The DOCX is filled in a real OS thread (``eventlet.tpool``) and LibreOffice runs as a green subprocess,
so a thousand-item sitting never blocks the service's event loop: it answers RPCs and counts votes while
its documents render. LibreOffice gets a profile directory of its own (``-env:UserInstallation``), kept
for the renderer's life (a fresh profile costs seconds at each start), converts a batch of documents in
one run, and runs at a lower priority (``nice``): documents are background work, and on a busy machine
the votes, outcomes and mails go first. A DOCX is written reproducibly (every zip entry dated 1980-01-01): the same sitting gives
the same bytes.
"""
from __future__ import annotations

import io
import os
import shutil
import signal
import tempfile
import zipfile
from pathlib import Path

from docxtpl import DocxTemplate
from eventlet import Timeout, tpool
from eventlet.green import subprocess

TEMPLATES = Path(__file__).parent / "templates"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
CONTENT_TYPES = {"docx": DOCX_TYPE, "pdf": PDF_TYPE}
SOFFICE_TIMEOUT = 600  # seconds for one batch (a 1,000-item sitting takes well under a minute)
NICENESS = 10  # LibreOffice yields the CPU to the services: votes, outcomes and mails go first


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
    """The DOCX of ``kind`` filled with ``context`` (blocking; see :func:`fill_green`)."""
    template = DocxTemplate(str(templates / f"{kind}.docx"))
    template.render(context, autoescape=True)
    buffer = io.BytesIO()
    template.save(buffer)
    return reproducible(buffer.getvalue())


def fill_green(kind: str, context: dict, templates: Path = TEMPLATES) -> bytes:
    """:func:`fill` in an OS thread, so the green threads of the service go on meanwhile."""
    return tpool.execute(fill, kind, context, templates)


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
            nice = ["nice", "-n", str(NICENESS)] if shutil.which("nice") else []
            command = [*nice, self.soffice, f"-env:UserInstallation={self.profile.as_uri()}", "--headless",
                       "--norestore", "--nolockcheck", "--convert-to", "pdf:writer_pdf_Export", "--outdir",
                       str(work / "pdf"), *sources]
            # a session of its own: ``soffice`` is a script whose oosplash starts soffice.bin, and the whole
            # group goes when it is done, so a hung or crashed LibreOffice never keeps the profile busy
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
            out = err = None
            try:
                # eventlet's Timeout, not communicate(timeout=): the green communicate raises a TimeoutExpired
                # of eventlet's private copy of subprocess, which no ``except`` here can name
                with Timeout(self.timeout, False):
                    out, err = process.communicate()
            finally:
                _end_group(process)
            if out is None:
                raise RenderError(f"LibreOffice took longer than {self.timeout} s")
            results = {name: work / "pdf" / f"{name}.pdf" for name in documents}
            missing = [name for name, path in results.items() if not path.exists()]
            if process.returncode != 0 or missing:
                raise RenderError(f"LibreOffice exited {process.returncode} without {missing}: "
                                  f"{(err or out).decode(errors='replace').strip()[:300]}")
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
