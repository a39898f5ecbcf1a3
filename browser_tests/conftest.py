"""The whole system as processes for a real browser: a RabbitMQ vhost of its own, SQLite databases, the
development mail sink, the three services (``nameko run``) with review's ballot page on a port of its
own, and Debian's Chromium driven by Playwright.

Nothing here imports eventlet or ``tests/conftest.py``: Playwright's sync API hangs in a process eventlet
has monkey-patched, so this suite runs in a pytest process of its own (``make test`` runs it second).
"""
from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "var" / "artifacts"
MANAGEMENT = os.environ.get("TDKT_TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")
BROKER = os.environ.get("TDKT_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SERVICES = {"intake": "IntakeService", "review": "ReviewService", "notify": "NotifyService"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


class System:
    """Processes started for the run, each in a process group of its own, stopped by their ids."""

    def __init__(self, base: Path):
        self.base, self.processes = base, []
        self.vhost = f"tdkt-browser-{uuid.uuid4().hex[:8]}"
        self.ports = {service: free_port() for service in SERVICES}
        self.smtp_port = free_port()
        self.public_url = f"http://localhost:{self.ports['review']}"
        self.env = {**os.environ, "AMQP_URI": f"{BROKER}/{self.vhost}", "TDKT_VAR_DIR": str(base / "var"),
                    "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.smtp_port), "TDKT_PUBLIC_URL": self.public_url,
                    "EVENTLET_TESTS": "1", "PYTHONPATH": str(ROOT), "TDKT_LOG_FORMAT": "text",
                    "PYTHONWARNINGS": "ignore"}
        for service in SERVICES:
            self.env[f"{service.upper()}_DB_URL"] = f"sqlite:///{base / f'{service}.db'}"
        self.mail_dir = base / "mail"

    def start(self):
        requests.put(f"{MANAGEMENT}/vhosts/{self.vhost}", timeout=10).raise_for_status()
        requests.put(f"{MANAGEMENT}/permissions/{self.vhost}/guest",
                     json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
        (self.base / "var").mkdir(parents=True, exist_ok=True)
        self.spawn("mail", [sys.executable, "-m", "shared.devtools.mailsink", "--port", str(self.smtp_port),
                            "--dir", str(self.mail_dir)], {})
        bin_dir = Path(sys.executable).parent
        for service, cls in SERVICES.items():
            self.spawn(service, [str(bin_dir / "nameko"), "run", f"services.{service}.service:{cls}",
                                 "--broker", self.env["AMQP_URI"]], {"TDKT_HTTP_PORT": str(self.ports[service])})
        for service in SERVICES:
            wait_until(lambda: answers(f"http://127.0.0.1:{self.ports[service]}/readyz"), 90, f"{service} ready")

    def spawn(self, name, command, extra):
        log = open(self.base / f"{name}.log", "ab")
        self.processes.append(subprocess.Popen(command, cwd=ROOT, env={**self.env, **extra}, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))

    def tdkt(self, *args, timeout=300) -> str:
        result = subprocess.run([str(Path(sys.executable).parent / "tdkt"), *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def mails(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(self.mail_dir.glob("*.eml"))]

    def invitations(self, count: int) -> dict[str, email.message.EmailMessage]:
        """The invitations by recipient address, once ``count`` have arrived."""
        def arrived():
            found = {m["To"].addresses[0].addr_spec: m for m in self.mails() if "Phiếu bầu" in m["Subject"]}
            return found if len(found) >= count else None
        return wait_until(arrived, 60, f"{count} invitations")

    def stop(self):
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        requests.delete(f"{MANAGEMENT}/vhosts/{self.vhost}", timeout=10)


def ballot_link(invitation) -> str:
    html = invitation.get_body(("html",)).get_content()
    return re.search(r'<a href="([^"]+/ballot/[^"]+)"', html).group(1)


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    system = System(tmp_path_factory.mktemp("system"))
    try:
        system.start()
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
