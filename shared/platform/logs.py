"""JSON log lines that carry the Nameko call id, so one nomination can be followed across the services.

A service declares ``logs = JsonLogging()``. In ``setup`` the provider installs, once per process and
idempotently: a log record factory that stamps every record with the worker running in the green thread
that emits it; the :class:`RedactSecrets` filter on the root logger's handlers; and, with
``TDKT_LOG_FORMAT=json`` (the default), the :class:`JsonFormatter` on those handlers (a stderr handler is
added at INFO, as ``nameko run`` would, when there is none). ``TDKT_LOG_FORMAT=text`` leaves the
handlers' plain format as it is (``nameko run``: the bare message), for reading ``make run`` in a terminal.

Each line is one JSON object: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``service``, ``message``,
``call_id`` (``review.on_vote_cast.<uuid>``), ``call_id_stack`` (the ids of the calls that led here,
oldest first), ``exc`` (the traceback, or null) and any ``extra=`` fields, redacted. The outbox stores a
worker's call id stack as the event's headers, so review's ``on_nomination_submitted`` worker has
intake's ``submit_nomination`` call id in its stack, and notify's worker has both: one nomination is
followed with ``jq 'select(.call_id_stack | index("intake.submit_nomination.<uuid>"))'``. Lines from
background relays (outbox publisher, mail sender) run in no worker and carry none. Every worker ends
with one line ``handled <service>.<method>: <outcome>`` (its outcome and duration, never its arguments
or result, which may hold ballot choices or tokens), at DEBUG for a timer tick that succeeded.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from datetime import datetime, timezone

from eventlet.corolocal import local
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from shared.platform.config import ConfigError, read_at_start

log = logging.getLogger(__name__)

FORMAT_VARIABLE = "TDKT_LOG_FORMAT"
FORMATS = ("json", "text")
REDACTED = "***"
WORKER = "tdkt_worker"  # record attribute: {"service", "call_id", "call_id_stack"} or None
_B64 = "A-Za-z0-9_-"
# a ballot token (base64url body "." HMAC-SHA256) or a unit token (secrets.token_urlsafe(32)), standing alone
_SECRET_VALUE = re.compile(rf"(?<![{_B64}])(?:[{_B64}]{{16,}}\.[{_B64}]{{43}}|[{_B64}]{{43}})(?![{_B64}])")
_SECRET_KEY = re.compile(r"token|secret|password", re.IGNORECASE)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", WORKER}
_MAX_DEPTH = 8

_current = local()  # per green thread: the worker it runs, if any
_lock = threading.Lock()
_services: set = set()  # the services set up in this process (one under `nameko run`)


def log_format(environ=None) -> str:
    """``TDKT_LOG_FORMAT``: ``json`` (default) or ``text``; anything else is a :class:`ConfigError`."""
    env = os.environ if environ is None else environ
    value = (env.get(FORMAT_VARIABLE) or "").strip() or "json"
    if value not in FORMATS:
        raise ConfigError(f"{FORMAT_VARIABLE} must be one of {', '.join(FORMATS)}, got {value!r}")
    return value


def redact(value, key: str = "", depth: int = 0):
    """``value`` made JSON-friendly, with anything that looks like a token replaced by ``***``."""
    if depth > _MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, dict):
        return {str(k): redact(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(item, key, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if _SECRET_KEY.search(key) and value not in ("", b""):
        return REDACTED
    return _SECRET_VALUE.sub(REDACTED, value if isinstance(value, str) else repr(value))


def extras(record: logging.LogRecord) -> dict:
    """The fields a caller passed with ``extra=``."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


EXPECTED = "(expected) error handling worker"  # how Nameko logs an entrypoint's expected exception


class RedactSecrets(logging.Filter):
    """Replaces token-looking ``extra=`` values on the record itself, so every handler sees them hidden.

    Messages are not parsed: code must not put secrets in them in the first place.
    """

    def filter(self, record):
        try:
            for key, value in extras(record).items():
                setattr(record, key, redact(value, key))
            if str(record.msg).startswith(EXPECTED):  # a caller's error (NotFound ...), not ours:
                record.exc_info, record.exc_text = None, None  # one line, not a traceback
        except Exception:  # a log line must never take its caller down
            pass
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; never raises, whatever the record holds."""

    def format(self, record):
        try:
            return json.dumps(self.fields(record), ensure_ascii=False)
        except Exception as exc:
            return json.dumps({"time": _iso(getattr(record, "created", time.time())),
                               "level": str(getattr(record, "levelname", "")),
                               "logger": str(getattr(record, "name", "")), "service": _process_service(),
                               "message": "unformattable log record", "call_id": None, "call_id_stack": [],
                               "exc": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False)

    def fields(self, record) -> dict:
        worker = getattr(record, WORKER, None) or {}
        exc = self.formatException(record.exc_info) if record.exc_info and record.exc_info[0] else None
        if record.stack_info:
            exc = "\n".join(filter(None, (exc, self.formatStack(record.stack_info))))
        fields = {key: redact(value, key) for key, value in extras(record).items()}
        fields.update(time=_iso(record.created), level=record.levelname, logger=record.name,
                      service=worker.get("service") or _process_service(), message=_message(record),
                      call_id=worker.get("call_id"), call_id_stack=list(worker.get("call_id_stack", ())),
                      exc=exc)
        return fields


def install(fmt: str, service: str) -> None:
    """Stamp records with their worker, redact, and (``json``) format on the root logger's handlers."""
    with _lock:
        _services.add(service)
        factory = logging.getLogRecordFactory()
        if not getattr(factory, "tdkt_stamps_worker", False):
            logging.setLogRecordFactory(_stamping(factory))
        root = logging.getLogger()
        if not root.handlers:  # nobody configured logging: do what `nameko run` does
            root.addHandler(logging.StreamHandler(sys.stderr))
            root.setLevel(logging.INFO)
        for handler in root.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
            if fmt == "json" and not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(JsonFormatter())


class JsonLogging(DependencyProvider):
    """Installs JSON logging in ``setup``; holds the worker's call id in its green thread while it runs."""

    def setup(self):
        install(read_at_start(self.container.service_name, log_format), self.container.service_name)

    def worker_setup(self, worker_ctx):
        _current.worker = {"service": worker_ctx.service_name, "call_id": worker_ctx.call_id,
                           "call_id_stack": list(worker_ctx.call_id_stack)}
        _current.started = time.monotonic()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        try:
            outcome = "ok" if exc_info is None else exc_info[0].__name__  # the class only: never its text
            quiet = exc_info is None and isinstance(worker_ctx.entrypoint, Timer)
            method = worker_ctx.entrypoint.method_name
            started = getattr(_current, "started", None)
            duration = None if started is None else round((time.monotonic() - started) * 1000, 1)
            log.log(logging.DEBUG if quiet else logging.INFO, "handled %s.%s: %s", worker_ctx.service_name,
                    method, outcome, extra={"entrypoint": method, "outcome": outcome, "duration_ms": duration})
        except Exception:  # an exception here would kill the container
            pass

    def worker_teardown(self, worker_ctx):
        _current.worker = _current.started = None


def _stamping(factory):
    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        setattr(record, WORKER, getattr(_current, "worker", None))
        return record

    make_record.tdkt_stamps_worker = True
    return make_record


def _process_service():
    """The service of a line outside any worker: known only when the process runs one service."""
    return next(iter(_services)) if len(_services) == 1 else None


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _message(record) -> str:
    try:
        return record.getMessage()
    except Exception as exc:  # arguments that do not fit the format string: keep the format, drop them
        return f"{record.msg!s} (unformattable arguments: {type(exc).__name__})"


class RedactedLog:
    """The WSGI server's logger, with every ``/ballot/TOKEN`` path blanked to ``/ballot/…``."""

    TOKEN_PATH = re.compile(r"/ballot/[^\s\"?]+")

    def __init__(self, logger):
        self.logger = logger

    def _say(self, level, message, *args):
        text = str(message)
        if args:  # the arguments may hold the request line (http.server's "%s" with it): redacted as well
            try:
                text = text % args
            except (TypeError, ValueError):
                text = f"{text} {args!r}"
        self.logger.log(level, "%s", self.TOKEN_PATH.sub("/ballot/…", text))

    def debug(self, message, *args):
        self._say(logging.DEBUG, message, *args)

    def info(self, message, *args):
        self._say(logging.INFO, message, *args)

    def error(self, message, *args):
        self._say(logging.ERROR, message, *args)

    def write(self, message):
        self._say(logging.INFO, message.rstrip())
