"""Helpers behind the fixtures: free ports, a waiter, the SMTP sink process and the service processes."""
from __future__ import annotations

import email
import email.policy
import importlib
import inspect
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import eventlet
import requests
import sqlalchemy as sa
from kombu import Connection
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

ROOT = Path(__file__).resolve().parent.parent
NAMEKO_CONFIG = ROOT / "deploy" / "nameko.yml"  # AMQP_URI from the environment, as every deployment
SERVICE_CLASSES = {"intake": "IntakeService", "review": "ReviewService", "notify": "NotifyService"}
SERVICES = tuple(SERVICE_CLASSES)
PG_ADMIN = os.environ.get("TDKT_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
RABBIT_API = "http://guest:guest@127.0.0.1:15672/api"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        eventlet.sleep(interval)


class MailSink:
    """``python -m shared.devtools.mailsink`` in its own process: every mail it accepts becomes a file."""

    def __init__(self, directory: Path, port: int, *script_args: str):
        self.directory, self.port, self.script_args = Path(directory), port, script_args
        self.process = None

    def start(self):
        """The development sink, or with ``script_args`` the scripted server of tests/smtp_script.py."""
        module = "tests.smtp_script" if self.script_args else "shared.devtools.mailsink"
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory.parent / f"{self.directory.name}.log"  # a file: a pipe nobody drains would fill
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, "--port", str(self.port), "--dir", str(self.directory),
                 *self.script_args], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        wait_until(lambda: self.process.poll() is not None or "listening" in log.read_text(errors="replace"),
                   timeout=30, what="the mail sink to listen")
        assert self.process.poll() is None, f"mail sink did not start: {log.read_text(errors='replace')}"

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(self.directory.glob("*.eml"))]

    def wait_for(self, count: int, timeout: float = 30.0):
        """Wait until at least ``count`` mails arrived; return all of them."""
        wait_until(lambda: len(list(self.directory.glob("*.eml"))) >= count, timeout,
                   what=f"{count} mail(s) in {self.directory}")
        return self.messages()


def process_cpu_seconds(pid: int, children: bool = False) -> float:
    """User and system CPU seconds of process ``pid``, or of the children it has waited for (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def memory_bytes(pid: int, field: str = "VmRSS") -> int:
    """Process ``pid``'s ``VmRSS`` (resident now) or ``VmHWM`` (the most so far), in bytes (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith(f"{field}:"))


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / tick, sum(values[:8]) / tick


def expected_queues(service: str) -> list[str]:
    """The queues a running service consumes from, read off its entrypoints."""
    module = importlib.import_module(f"services.{service}.service")
    cls = getattr(module, SERVICE_CLASSES[service])
    queues = []
    for method_name, method in inspect.getmembers(cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler):
                queues.append(f"evt-{entrypoint.source_service}-{entrypoint.event_type}--{cls.name}"
                              f".{method_name}")
            elif isinstance(entrypoint, Rpc):
                queues.append(f"rpc-{cls.name}")
    return sorted(set(queues))


class System:
    """The services as ``nameko run`` processes, ready once each of their queues has a consumer."""

    def __init__(self, env, log_dir: Path, http: bool = False):
        self.env, self.log_dir = env, Path(log_dir)
        self.nameko = str(Path(sys.executable).parent / "nameko")
        self.processes = {}
        self.http_ports = {} if http else None  # with http: each service its own TDKT_HTTP_PORT
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, services):
        for service in services:
            self.start_service(service)
        for service in services:
            self.wait_ready(service)

    def start_service(self, service, target: str | None = None):
        """``nameko run`` of one of the services, or of ``target`` (``module:Class``) under that name.
        The broker URI reaches it through the environment (deploy/nameko.yml), not its command line."""
        target = target or f"services.{service}.service:{SERVICE_CLASSES[service]}"
        log = open(self.log_dir / f"{service}.log", "ab")
        env = self.env
        if self.http_ports is not None:
            env = {**env, "TDKT_HTTP_PORT": str(self.http_ports.setdefault(service, free_port()))}
        self.processes[service] = subprocess.Popen(
            [self.nameko, "run", "--config", str(NAMEKO_CONFIG), target], cwd=ROOT, env=env,
            stdout=log, stderr=log)

    def metric(self, service: str, name: str) -> float:
        """A metric's value (summed over its series) from the service's ``/metrics`` (needs ``http``)."""
        text = requests.get(f"http://127.0.0.1:{self.http_ports[service]}/metrics", timeout=10).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"))

    def wait_ready(self, service, timeout: float = 60.0, queues: list[str] | None = None):
        queues = queues or expected_queues(service)

        def consumed():
            process = self.processes[service]
            if process.poll() is not None:
                raise AssertionError(f"{service} exited with {process.returncode}:\n{self.log(service)}")
            return all(self.consumers(queue) > 0 for queue in queues)

        wait_until(consumed, timeout, interval=0.1, what=f"{service} to consume {queues}")

    def peak_rss(self, service) -> int:
        """The most memory the process has held resident so far, in bytes."""
        return memory_bytes(self.processes[service].pid, "VmHWM")

    def cpu_seconds(self, service) -> float:
        """User and system CPU time the process has used so far."""
        return process_cpu_seconds(self.processes[service].pid)

    def consumers(self, queue: str) -> int:
        try:
            with Connection(self.env["AMQP_URI"]) as connection:
                return connection.default_channel.queue_declare(queue, passive=True).consumer_count
        except Exception:  # not declared yet
            return 0

    def log(self, service) -> str:
        return (self.log_dir / f"{service}.log").read_text(errors="replace")[-4000:]

    def kill(self, service, signum=signal.SIGKILL):
        process = self.processes.pop(service)
        process.send_signal(signum)
        process.wait(30)

    def stop(self):
        for service in list(self.processes):
            self.kill(service, signal.SIGTERM)


class Sandbox:
    """A RabbitMQ vhost and a PostgreSQL database (a schema per service) of their own, with the
    services' environment in ``env`` and their database URLs in ``urls``; both dropped on exit.
    Used by the fault run and the benchmark, which start the services as processes on them."""

    def __init__(self, prefix: str, **env):
        tag = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.vhost = self.database = tag
        self.work = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
        self.extra_env = env
        self.admin = None

    def __enter__(self):
        requests.put(f"{RABBIT_API}/vhosts/{self.vhost}", timeout=10).raise_for_status()
        requests.put(f"{RABBIT_API}/permissions/{self.vhost}/guest",
                     json={"configure": ".*", "write": ".*", "read": ".*"}, timeout=10).raise_for_status()
        self.admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{self.database}"'))
        db = sa.engine.make_url(PG_ADMIN).set(database=self.database)
        engine = sa.create_engine(db)
        with engine.begin() as connection:
            for service in SERVICES:
                connection.execute(sa.text(f"CREATE SCHEMA {service}"))
        engine.dispose()
        self.urls = {service: db.update_query_dict({"options": f"-csearch_path={service}"})
                     .render_as_string(hide_password=False) for service in SERVICES}
        self.env = {**os.environ, "AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}",
                    "EVENTLET_TESTS": "1", "PYTHONPATH": str(ROOT), "SMTP_HOST": "127.0.0.1",
                    "SMTP_PORT": str(free_port()), "TDKT_VAR_DIR": str(self.work / "var"),
                    **{f"{service.upper()}_DB_URL": url for service, url in self.urls.items()},
                    **self.extra_env}
        return self

    def schema(self, name: str) -> str:
        """Another schema in this sandbox's database, for a process beside the services; its URL."""
        db = sa.engine.make_url(PG_ADMIN).set(database=self.database)
        engine = sa.create_engine(db)
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        engine.dispose()
        return db.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)

    def mail_sink(self) -> MailSink:
        return MailSink(self.work / "mail", int(self.env["SMTP_PORT"]))

    def system(self, http: bool = False) -> "System":
        return System(self.env, self.work / "logs", http)

    def __exit__(self, *exc):
        requests.delete(f"{RABBIT_API}/vhosts/{self.vhost}", timeout=30)
        if self.admin is not None:
            with self.admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            self.admin.dispose()
