"""The LibreOffice converter's process handling, with a fake ``soffice`` that hangs the way LibreOffice can:
a launcher script whose child (soffice.bin's part) holds the profile."""
import os
import stat

import pytest

from services.review.documents.render import Converter, RenderError
from tests.harness import wait_until

HANGING = """#!/bin/sh
sleep 300 &
echo $! > "{pidfile}"
exec sleep 300
"""


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_libreoffice_that_hangs_is_a_render_error_and_leaves_no_process_behind(tmp_path):
    pidfile = tmp_path / "child.pid"
    soffice = tmp_path / "soffice"
    soffice.write_text(HANGING.format(pidfile=pidfile))
    soffice.chmod(soffice.stat().st_mode | stat.S_IXUSR)
    converter = Converter(soffice=str(soffice), timeout=0.5)
    try:
        with pytest.raises(RenderError, match="longer than 0.5 s"):
            converter.to_pdf({"minutes": b"PK"})
    finally:
        converter.close()
    child = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), what="the child's pid"))
    try:
        wait_until(lambda: gone(child), timeout=5, what="LibreOffice's child killed with its launcher")
    finally:
        if not gone(child):
            os.kill(child, 9)  # the one process this test started
