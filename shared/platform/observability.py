"""Liveness, readiness and Prometheus metrics of a service over HTTP, on port ``TDKT_HTTP_PORT``.

``Observability`` injects nothing. It times every worker of the container (``worker_setup`` to
``worker_result``) and, once the container starts, serves from a green thread (eventlet's WSGI server,
each request in its own green thread, so a slow broker check never holds up ``/healthz``):

- ``/healthz``: 200 while the container runs (the process serves requests);
- ``/readyz``: 200 when every queue the service consumes exists with a consumer (as ``shared.platform.healthcheck``
  sees it: the service as a whole) and its database answers ``SELECT 1``; else 503 with the reasons;
- ``/metrics``: the Prometheus text format, from a registry of its own (several containers may share a
  process). The backlogs and queue gauges are read when scraped; one that cannot be read is left out of
  that scrape and logged, the others are still served.

``TDKT_HTTP_PORT`` unset, empty or 0 serves nothing; the metrics are kept all the same.

Long because the server's parts belong together: the probes, the metrics and their gauges, and the
HTTP protocol whose own error answers and log lines must keep a ballot page's token to themselves.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time

import eventlet
import sqlalchemy as sa
from eventlet import wsgi
from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily

from shared import contract
from shared.platform.config import ConfigError, read_at_start
from shared.platform.db import STATEMENTS
from shared.platform.healthcheck import (consumed_exchanges, consumed_queues, consumer_counts, exchange_problems,
                                missing_exchanges, queue_states, verdict)
from shared.platform.logs import RedactedLog
from shared.platform.messaging import batch_of
from shared.platform.store import OUTBOX, Store

log = logging.getLogger(__name__)
PORT_VARIABLE = "TDKT_HTTP_PORT"
CHECK_SECONDS = 3.0  # each look at the broker or the database, for a probe or a scrape
MAILS = sa.table("mails", sa.column("status"))  # notify's mail table (services/notify/models.py)
MAIL_STATUSES = ("pending", "failed")
# what every answer of the port carries, the server's own error answers included (a ballot page's URL
# holds a member's token: nothing is cached, sniffed, framed or sent on as a referrer)
SECURITY_HEADERS = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
                    ("Referrer-Policy", "no-referrer"))


def http_port(environ=None) -> int | None:
    """The port to serve on, or None for none (unset, empty or 0); ConfigError names the variable."""
    value = (os.environ if environ is None else environ).get(PORT_VARIABLE, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{1,5}", value) or int(value) > 65535:
        raise ConfigError(f"{PORT_VARIABLE} must be a port from 1 to 65535 (or 0 for no HTTP server), "
                          f"got {value!r}")
    return int(value) or None


def _within(seconds: float, what: str, fn):
    """``fn()``, or None (logged) when it fails or takes longer than ``seconds``."""
    try:
        with eventlet.Timeout(seconds):
            return fn()
    except (Exception, eventlet.Timeout) as exc:
        log.warning("metrics: cannot read %s: %s", what, exc)
        return None


def _reason(what: str, exc: BaseException) -> str:
    first_line = (str(exc).splitlines() or [""])[0]
    return f"{what}: {type(exc).__name__}: {first_line}"[:300]


class ScrapedGauges:
    """A collector of the gauges read at each scrape, each from a source given as a callable.

    ``outbox()`` -> rows waiting; ``mails()`` (notify only) -> {status: rows}; ``queues()`` -> {queue:
    (messages ready, consumers), or None when absent}. Consumers are reported for the ``consumed`` queues
    only (retry and dead-letter queues have none by design). A source that fails or hangs is left out.
    """

    def __init__(self, service, outbox, queues, consumed, mails=None):
        self.service, self.outbox, self.queues, self.consumed, self.mails = service, outbox, queues, consumed, mails

    def collect(self):
        outbox = _within(CHECK_SECONDS, "the outbox backlog", self.outbox)
        if outbox is not None:
            yield _gauge("tdkt_outbox_backlog", "Events recorded and not yet published", "service",
                         {self.service: outbox})
        mails = _within(CHECK_SECONDS, "the mail backlog", self.mails) if self.mails else None
        if mails is not None:
            yield _gauge("tdkt_mail_backlog", "Mails by status (pending: to send; failed: given up)", "status",
                         mails)
        states = _within(CHECK_SECONDS + 1, "the queues", self.queues)
        if states is not None:
            present = {queue: state for queue, state in states.items() if state is not None}
            yield _gauge("tdkt_queue_depth", "Messages ready in a queue of the service", "queue",
                         {queue: state[0] for queue, state in present.items()})
            yield _gauge("tdkt_queue_consumers", "Consumers of a queue the service consumes", "queue",
                         {queue: state[1] for queue, state in present.items() if queue in self.consumed})


def _gauge(name, documentation, label, values: dict) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class Metrics:
    """Entrypoint calls and latencies, and the scraped gauges, in a registry of their own."""

    def __init__(self, service: str, entrypoints, gauges: ScrapedGauges | None = None):
        self.service = service
        self.registry = CollectorRegistry()
        self.calls = Counter("tdkt_entrypoint_calls", "Entrypoint calls by outcome (error: it raised)",
                             ["service", "entrypoint", "outcome"], registry=self.registry)
        self.seconds = Histogram("tdkt_entrypoint_seconds", "Time an entrypoint's worker took",
                                 ["service", "entrypoint"], registry=self.registry)
        for entrypoint in entrypoints:  # every series exists from the start, at 0
            for outcome in ("ok", "error"):
                self.calls.labels(service, entrypoint, outcome)
            self.seconds.labels(service, entrypoint)
        if gauges is not None:
            self.registry.register(gauges)
        self.registry.register(STATEMENTS)

    def observe(self, entrypoint: str, seconds: float, ok: bool, handled: int = 1):
        """One worker's end; ``handled``: the deliveries a batch worker handled (a failed batch counts for
        nothing here: each of its deliveries is then handled alone, and counted so)."""
        if not ok and handled > 1:
            return
        self.calls.labels(self.service, entrypoint, "ok" if ok else "error").inc(handled)
        self.seconds.labels(self.service, entrypoint).observe(seconds)


def http_app(metrics: Metrics, problems, mounts: dict | None = None):
    """The WSGI application; ``problems()`` lists why the service is not ready (empty: ready);
    ``mounts`` maps a path prefix (``/ballot/``) to another WSGI application of the service."""
    serve_metrics = make_wsgi_app(metrics.registry)
    mounts = mounts or {}

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        mounted = next((sub for prefix, sub in mounts.items() if path.startswith(prefix)), None)
        if mounted is not None:
            return mounted(environ, start_response)
        if path == "/metrics":
            return serve_metrics(environ, start_response)
        if path == "/healthz":
            status, body = "200 OK", {"status": "alive"}
        elif path == "/readyz":
            reasons = problems()
            status = "503 Service Unavailable" if reasons else "200 OK"
            body = {"status": "not ready" if reasons else "ready", "reasons": reasons}
        else:
            status, body = "404 Not Found", {"error": "not found: try /healthz, /readyz or /metrics"}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                *SECURITY_HEADERS])
        return [data]

    return app


class Protocol(wsgi.HttpProtocol):
    """eventlet's HTTP protocol, but what Python's ``http.server`` does on its own with a request it
    cannot parse (a bad request line, an HTTP/2 one, too many headers) is made safe: its log line, which
    holds the request line and so a ballot token, goes to the server's (redacting) log rather than
    straight to stderr, and its error page is a short text with ``SECURITY_HEADERS`` that names no server
    and echoes nothing of the request."""

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        self.server.log.info(format, *args)

    def send_error(self, code, message=None, explain=None):
        self.log_error("code %d", code)
        phrase = self.responses.get(code, ("Error",))[0]
        body = f"{code} {phrase}\n".encode("ascii")
        head = [f"HTTP/1.1 {code} {phrase}", "Content-Type: text/plain; charset=utf-8",
                f"Content-Length: {len(body)}", "Connection: close", *(f"{k}: {v}" for k, v in SECURITY_HEADERS)]
        self.close_connection = True
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body)


class Observability(DependencyProvider):
    """Health and metrics of the service it is declared on, which must also declare a ``Store``."""

    def setup(self):
        self.port = read_at_start(self.container.service_name, http_port)
        self.store = next((dep for dep in self.container.dependencies if isinstance(dep, Store)), None)
        if self.store is None:
            raise TypeError(f"{self.container.service_name}: Observability needs a Store dependency")
        self.queues = consumed_queues(self.container.service_cls)
        self.exchanges = consumed_exchanges(self.container.service_cls)
        self.amqp_uri = self.container.config["AMQP_URI"]
        service = self.container.service_name
        retries = [f"{queue}.retry" for queue in self.queues if queue.startswith("evt-")]
        watched = [*self.queues, *retries, f"dlq.{service}"]
        gauges = ScrapedGauges(service, self._outbox_backlog,
                               lambda: queue_states(self.amqp_uri, watched, CHECK_SECONDS), set(self.queues),
                               self._mail_backlog if service == contract.NOTIFY else None)
        self.metrics = Metrics(service, sorted({ep.method_name for ep in self.container.entrypoints}), gauges)
        self.started, self.socket, self.thread = {}, None, None

    def start(self):
        if self.port is None:
            return
        self.socket = eventlet.listen(("0.0.0.0", self.port))
        self.socket.settimeout(None)  # as nameko's WebServer: kombu may have set a default socket timeout
        # another dependency of the service may serve pages beside these (review's ballot page)
        mounts = {prefix: sub for dep in self.container.dependencies if hasattr(dep, "http_mounts")
                  for prefix, sub in dep.http_mounts().items()}
        app = http_app(self.metrics, self.problems, mounts)
        self.thread = self.container.spawn_managed_thread(lambda: self._serve(app), identifier="observability.http")
        log.info("%s: health and metrics on port %d", self.container.service_name, self.port)

    def _serve(self, app):
        """The HTTP server; an error that ends it (such as running out of file descriptors) is logged
        and the server started again, since an error in a managed thread would stop the service."""
        while True:
            try:
                # no access log, no traceback to the client, and any request line the server logs has
                # its ballot token blanked: a ballot page's path holds the member's token
                wsgi.server(self.socket, app, log=RedactedLog(log), log_output=False, socket_timeout=30,
                            debug=False, protocol=Protocol)
                return
            except Exception:
                log.exception("%s: the health and metrics server failed; started again", self.container.service_name)
                eventlet.sleep(1)

    def stop(self):
        if self.thread is not None:
            self.thread.kill()  # the server closes its socket and lets requests in progress finish
            self.thread = None

    def kill(self):
        self.stop()

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        if started is not None:
            batch = batch_of(worker_ctx)
            self.metrics.observe(worker_ctx.entrypoint.method_name, time.perf_counter() - started, exc_info is None,
                                 1 if batch is None else len(batch))

    def problems(self) -> list[str]:
        """Why the service is not ready: queues not consumed, broker or database out of reach."""
        problems = []
        try:
            with eventlet.Timeout(2 * CHECK_SECONDS + 1):
                problems += verdict(consumer_counts(self.amqp_uri, self.queues, CHECK_SECONDS))[1]
                problems += exchange_problems(missing_exchanges(self.amqp_uri, self.exchanges, CHECK_SECONDS))
        except (Exception, eventlet.Timeout) as exc:
            problems.append(_reason("broker", exc))
        try:
            with eventlet.Timeout(CHECK_SECONDS), self.store.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except (Exception, eventlet.Timeout) as exc:
            problems.append(_reason("database", exc))
        return problems

    def _outbox_backlog(self) -> int:
        with self.store.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(OUTBOX)).scalar_one()

    def _mail_backlog(self) -> dict[str, int]:
        query = (sa.select(MAILS.c.status, sa.func.count()).where(MAILS.c.status.in_(MAIL_STATUSES))
                 .group_by(MAILS.c.status))
        with self.store.engine.connect() as connection:
            return {**dict.fromkeys(MAIL_STATUSES, 0), **dict(connection.execute(query).all())}
