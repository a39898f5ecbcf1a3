"""The LibreOffice converter's process handling, with a fake ``soffice`` that hangs the way LibreOffice can:
a launcher script whose child (soffice.bin's part) holds the profile."""
import os
import shutil
import stat
import subprocess
import sys

import pytest

from services.review.documents import render
from services.review.documents.render import Converter, RenderError
from tests.harness import process_cpu_seconds as cpu_seconds, wait_until

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


NICE = """#!/bin/sh
for source in "$@"; do :; done
mkdir -p "$(dirname "$source")/pdf"
for source in "$@"; do
  case "$source" in *.docx) name=$(basename "$source" .docx)
    group=$(sed 's/.* nice //' /proc/self/autogroup 2>/dev/null || echo -)
    printf '%s %s %s' "$(nice)" "$(chrt -p $$ | head -n 1 | sed 's/.*: //')" "$group" > "$(dirname "$source")/pdf/$name.pdf";; esac
done
"""


def executable(path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def probed_again():
    render._idle_class_works.cache_clear()  # chrt is probed once a process; each test probes its own
    render._group_and_nice.cache_clear()
    yield
    render._idle_class_works.cache_clear()
    render._group_and_nice.cache_clear()


def test_libreoffice_runs_in_the_idle_class_at_the_lowest_nice_and_converts_a_batch_in_one_run(tmp_path, probed_again):
    # the stand-in writes its own niceness (coreutils' `nice` without a command) and scheduling policy
    converter = Converter(soffice=executable(tmp_path / "soffice", NICE))
    try:
        made = converter.to_pdf({"s-1.minutes": b"PK", "s-2.minutes": b"PK"})
    finally:
        converter.close()
    assert set(made) == {"s-1.minutes", "s-2.minutes"}
    # runs only on CPU nothing else wants, its session's scheduler group at the lowest priority too
    assert set(made.values()) == {b"19 SCHED_IDLE " + (b"19" if render.AUTOGROUP.exists() else b"-")}


@pytest.mark.skipif(not render.AUTOGROUP.exists(), reason="the kernel groups no sessions (no autogroup)")
def test_the_lowest_group_priority_holds_a_busy_child_back_where_a_new_session_alone_escapes_its_nice(probed_again):
    """Two busy loops of this session and one background loop on a 2-core machine: with its group at
    nice 19 the background loop gets a small share; at nice 19 and idle class alone it got most of a core."""
    import time

    from eventlet.green import subprocess

    loop = ["sh", "-c", "while :; do :; done"]
    busy = [subprocess.Popen(loop) for _ in range(os.cpu_count() or 2)]
    background = subprocess.Popen([*render._background(), *loop], start_new_session=True)
    try:
        time.sleep(0.5)  # let the scheduler settle, then measure a second of the background loop's CPU
        before = cpu_seconds(background.pid)
        time.sleep(2)
        share = (cpu_seconds(background.pid) - before) / 2
    finally:
        for process in (*busy, background):
            process.kill()
            process.wait()
    assert share < 0.25, f"the background loop took {share:.0%} of a core"


def test_where_the_idle_class_is_refused_or_chrt_missing_the_children_still_run_at_nice_19(tmp_path, monkeypatch,
                                                                                         probed_again):
    refusing = tmp_path / "bin"
    refusing.mkdir()
    executable(refusing / "chrt", "#!/bin/sh\necho 'chrt: failed to set pid 0's policy: Operation not permitted' >&2\n"
                                  "exit 1\n")
    monkeypatch.setenv("PATH", f"{refusing}{os.pathsep}{os.environ['PATH']}")
    group = render._background()[:4] if render.AUTOGROUP.exists() else ()  # the scheduler group's prefix
    assert render._background()[len(group):] == ("nice", "-n", "19")
    render._idle_class_works.cache_clear()
    real_which = render.shutil.which
    monkeypatch.setattr(render.shutil, "which", lambda name: None if name == "chrt" else real_which(name))
    assert render._background()[len(group):] == ("nice", "-n", "19")
    converter = Converter(soffice=executable(tmp_path / "soffice", NICE.replace("$(chrt -p $$ | head -n 1 | sed 's/.*: //')", "-")))
    try:
        assert set(converter.to_pdf({"s-1.minutes": b"PK"}).values()) == {
            b"19 - " + (b"19" if render.AUTOGROUP.exists() else b"-")}
    finally:
        converter.close()


def test_the_docx_are_filled_in_a_child_process_the_same_bytes_and_its_memory_is_not_the_services():
    """A thousand-item sitting's minutes take docxtpl some 200 MB; filled apart, this process keeps none."""
    from pathlib import Path

    from services.review.documents import content
    from services.review.documents.render import fill, fill_apart
    from tests.bench.documents import ministry_facts

    def resident_mb():
        status = Path("/proc/self/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024

    small = content.minutes(ministry_facts(12))
    assert fill_apart({"s-1.minutes": ("minutes", small)}) == {"s-1.minutes": fill("minutes", small)}
    big = {f"big-{n}.{kind}": (kind, content.BUILDERS[kind](ministry_facts(1000))) for n, kind in
           enumerate(["minutes", "decision"])}
    before = resident_mb()
    filled = fill_apart(big)
    assert set(filled) == set(big) and all(data.startswith(b"PK") for data in filled.values())
    assert resident_mb() - before < 40


def test_a_template_that_cannot_be_filled_is_a_render_error_naming_the_cause(tmp_path):
    from services.review.documents.render import fill_apart

    (tmp_path / "minutes.docx").write_bytes(b"not a docx at all")
    with pytest.raises(RenderError, match=r"filling the DOCX exited 1 without \['s-1.minutes'\]: PackageNotFoundError: "):
        fill_apart({"s-1.minutes": ("minutes", {})}, templates=tmp_path)


def test_a_refused_group_priority_still_runs_the_child_and_says_nothing(tmp_path):
    """In a container whose /proc refuses the write (or a kernel without autogroup), the child runs all the
    same, and no shell complaint reaches the error LibreOffice's failures are reported with."""
    import subprocess as plain

    script = render.LOWEST_GROUP.format(nice=19).replace("/proc/self/autogroup", str(tmp_path / "no" / "such"))
    done = plain.run(["sh", "-c", script, "tdkt-background", "echo", "converted"], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "converted\n", "")


def test_a_probe_that_could_not_tell_is_asked_again_not_kept_for_the_process_life(monkeypatch, probed_again):
    real, calls = render._run, []

    def slow_once(command, timeout, what, **popen):
        calls.append(what)
        if what == "chrt" and len(calls) == 1:
            raise RenderError("chrt took longer than 10 s")  # a machine too busy to start it in time
        return real(command, timeout, what, **popen)

    monkeypatch.setattr(render, "_run", slow_once)
    assert "chrt" not in render._background()  # this once at nice 19 only
    assert render._background()[-3:] == ("chrt", "--idle", "0") and calls == ["chrt", "chrt"]
    assert render._background()[-3:] == ("chrt", "--idle", "0") and calls == ["chrt", "chrt"]  # known now


CHILDREN = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from services.review.documents import render
prefix = render._background()
child = lambda: render._run([*prefix, "cat", "/proc/self/autogroup"], 10, "child")[1].split()[-1]
print(child(), child())
time.sleep(0.2)
print(child())
"""


@pytest.mark.skipif(not render.AUTOGROUP.exists() or not shutil.which("setpriv"), reason="no autogroup, or no setpriv")
def test_without_cap_sys_admin_children_started_together_all_get_the_lowest_group(tmp_path):
    """Linux takes one autogroup write in 100 ms from a process without CAP_SYS_ADMIN (review's user):
    the probe does not write, and a child refused at first tries again (a reviewer's finding: the first
    child after the probe ran at nice 0, so at 87 % of a core)."""
    script = tmp_path / "children.py"
    script.write_text(CHILDREN)
    done = subprocess.run(["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin",
                           sys.executable, "-W", "ignore", str(script), str(render.ROOT)],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["19", "19", "19"], done.stdout + done.stderr
