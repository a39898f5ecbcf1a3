"""JSON log lines: their fields, the worker's call id in its own green thread only, redaction, the switch.

A worker is simulated with the provider's own hooks and a fake worker context; every test restores the
logging set-up it changed (record factory, root handlers and level), so no other test sees JSON.
"""
import json
import logging
import sys
from types import SimpleNamespace

import eventlet
import pytest
from nameko.timer import Timer

from shared.platform import logs
from shared.platform.config import ConfigError
from shared.platform.logs import JsonFormatter, JsonLogging, RedactSecrets, install, log_format

BALLOT_TOKEN = "eyJzIjoiYWJjIiwibSI6Im0tdnAtMSIsImUiOjE3NjQ5MjYwMDAsIm4iOiJhYmNkIn0." + "M" * 43
UNIT_TOKEN = "Zq3v_8-xYtR2mN0pL5kJ7hG4fD1sA9wE6cB3uI0oPaQ"  # secrets.token_urlsafe(32): 43 characters


@pytest.fixture(autouse=True)
def restored_logging():
    root = logging.getLogger()
    factory, handlers, level = logging.getLogRecordFactory(), list(root.handlers), root.level
    saved = [(h, h.formatter, list(h.filters)) for h in handlers]
    services = set(logs._services)
    logs._services.clear()  # as in a fresh process: containers of earlier tests set up other services
    yield
    logging.setLogRecordFactory(factory)
    root.handlers[:] = handlers
    root.setLevel(level)
    for handler, formatter, filters in saved:
        handler.setFormatter(formatter)
        handler.filters[:] = filters
    logs._services.clear()
    logs._services.update(services)


class Lines(logging.Handler):
    """Keeps each record as the parsed JSON line the formatter makes of it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RedactSecrets())
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines():
    install("json", "review")
    handler, logger = Lines(), logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.lines
    logger.removeHandler(handler)


def worker(method="on_vote_cast", entrypoint=None, n=1):
    call_id = f"review.{method}.{n:08d}"
    return SimpleNamespace(service_name="review", call_id=call_id,
                           call_id_stack=["intake.submit_nomination.0001", call_id],
                           entrypoint=entrypoint or SimpleNamespace(method_name=method))


def test_a_line_is_one_json_object_with_every_field(lines):
    logging.getLogger("tests.logs").warning("sitting %s closed\nnext line", "s-1", extra={"items": 3})

    [line] = lines
    assert set(line) == {"time", "level", "logger", "service", "message", "call_id", "call_id_stack", "exc",
                         "items"}
    assert line["time"].endswith("Z") and line["time"][10] == "T"
    assert (line["level"], line["logger"], line["service"]) == ("WARNING", "tests.logs", "review")
    assert line["message"] == "sitting s-1 closed\nnext line" and line["items"] == 3
    assert "\n" not in JsonFormatter().format(logging.makeLogRecord({"msg": "a\nb"}))


def test_an_exception_is_formatted_into_exc(lines):
    try:
        raise RuntimeError("database unavailable")
    except RuntimeError:
        logging.getLogger("tests.logs").exception("relay outbox: step failed")

    assert "Traceback" in lines[0]["exc"] and "RuntimeError: database unavailable" in lines[0]["exc"]


def test_odd_records_never_raise(lines):
    circular = {}
    circular["self"] = circular
    logger = logging.getLogger("tests.logs")
    logger.info("%d votes", "many")
    logger.info(object(), extra={"when": object(), "circular": circular, "raw": b"\xff"})

    assert lines[0]["message"] == "%d votes (unformattable arguments: TypeError)"
    assert lines[1]["message"].startswith("<object object") and lines[1]["when"].startswith("<object")
    assert "too deep" in json.dumps(lines[1]["circular"])


def test_the_call_id_is_on_the_lines_of_the_worker_green_thread_only(lines):
    provider, ctx = JsonLogging(), worker()
    logger = logging.getLogger("tests.logs")
    logger.info("before")
    provider.worker_setup(ctx)
    logger.info("inside")
    eventlet.spawn(logger.info, "a background relay").wait()
    provider.worker_teardown(ctx)
    logger.info("after")

    by_message = {line["message"]: line for line in lines}
    assert by_message["inside"]["call_id"] == ctx.call_id
    assert by_message["inside"]["call_id_stack"] == ["intake.submit_nomination.0001", ctx.call_id]
    for outside in ("before", "a background relay", "after"):
        assert (by_message[outside]["call_id"], by_message[outside]["call_id_stack"]) == (None, [])


def test_concurrent_workers_each_log_their_own_call_id(lines):
    provider = JsonLogging()

    def run(ctx):
        provider.worker_setup(ctx)
        eventlet.sleep(0)  # let the other worker run in between
        logging.getLogger("tests.logs").info(ctx.call_id)
        provider.worker_teardown(ctx)

    pool = eventlet.GreenPool()
    for n in range(5):
        pool.spawn(run, worker(n=n))
    pool.waitall()

    assert len(lines) == 5 and all(line["call_id"] == line["message"] for line in lines)


def test_each_worker_ends_with_one_line_of_its_outcome_never_its_arguments(lines, caplog):
    caplog.set_level(logging.DEBUG, logger="shared.platform.logs")
    provider, tick = JsonLogging(), Timer(interval=5)
    tick.method_name = "tick"
    for ctx, exc_info in ((worker(), None), (worker(n=2), (ValueError, ValueError(BALLOT_TOKEN), None)),
                          (worker("tick", entrypoint=tick), None)):
        provider.worker_setup(ctx)
        provider.worker_result(ctx, {"choices": {"n-1": "approve"}}, exc_info)
        provider.worker_teardown(ctx)

    done = [(r.levelno, r.getMessage(), r.tdkt_worker["call_id"]) for r in caplog.records]
    assert done == [(logging.INFO, "handled review.on_vote_cast: ok", "review.on_vote_cast.00000001"),
                    (logging.INFO, "handled review.on_vote_cast: ValueError", "review.on_vote_cast.00000002"),
                    (logging.DEBUG, "handled review.tick: ok", "review.tick.00000001")]
    assert all(BALLOT_TOKEN not in r.getMessage() and "approve" not in str(vars(r)) for r in caplog.records)


def test_token_looking_extra_values_are_replaced(lines):
    logging.getLogger("tests.logs").info("vote received", extra={
        "ballot_token": BALLOT_TOKEN, "auth_token": "local-admin-token", "tokens_issued": 7,
        "event": {"ballot_token": "x", "choices": ["approve"]}, "command": f"tdkt vote --token {BALLOT_TOKEN}",
        "caller": UNIT_TOKEN, "digest": "a" * 64, "sitting": "5f0c0d0e0a0b4c4d8e8f000102030405"})

    line = lines[0]
    assert line["ballot_token"] == line["auth_token"] == line["event"]["ballot_token"] == "***"
    assert line["command"] == "tdkt vote --token ***" and line["caller"] == "***"
    assert (line["tokens_issued"], line["digest"], line["sitting"]) == (7, "a" * 64,
                                                                        "5f0c0d0e0a0b4c4d8e8f000102030405")


def test_the_redaction_filter_hides_tokens_from_every_handler_not_only_json():
    record = logging.makeLogRecord({"msg": "vote", "ballot_token": BALLOT_TOKEN, "member": "m-vp-1"})

    assert RedactSecrets().filter(record) is True
    assert (record.ballot_token, record.member) == ("***", "m-vp-1")


def test_the_log_format_is_json_unless_text_is_asked_for():
    assert log_format({}) == log_format({"TDKT_LOG_FORMAT": " "}) == "json"
    assert log_format({"TDKT_LOG_FORMAT": "text"}) == "text"


def test_an_unknown_log_format_stops_the_service_naming_the_variable(monkeypatch):
    monkeypatch.setenv("TDKT_LOG_FORMAT", "xml")
    provider = JsonLogging()
    provider.container = SimpleNamespace(service_name="review")

    with pytest.raises(ConfigError, match=r"TDKT_LOG_FORMAT must be one of json, text, got 'xml'"):
        provider.setup()


def test_installing_twice_changes_nothing_more_and_text_keeps_the_plain_format():
    root = logging.getLogger()
    root.handlers[:] = []
    install("text", "intake")
    [handler] = root.handlers
    assert handler.stream is sys.stderr and root.level == logging.INFO
    assert not isinstance(handler.formatter, JsonFormatter) and len(handler.filters) == 1

    install("json", "review")
    install("json", "review")
    factory = logging.getLogRecordFactory()
    assert root.handlers == [handler] and isinstance(handler.formatter, JsonFormatter)
    assert len(handler.filters) == 1 and factory.tdkt_stamps_worker
    install("json", "notify")
    assert logging.getLogRecordFactory() is factory  # stamped once, not wrapped again


def test_an_expected_error_of_a_caller_is_one_line_without_its_traceback():
    from shared.platform.logs import RedactSecrets

    try:
        raise ValueError("no such nomination")
    except ValueError:
        import sys

        record = logging.LogRecord("nameko.containers", logging.WARNING, __file__, 1,
                                   "(expected) error handling worker %s: %s", ("ctx", "no such nomination"),
                                   sys.exc_info())
    assert RedactSecrets().filter(record) and record.exc_info is None
    other = logging.LogRecord("x", logging.ERROR, __file__, 1, "error handling worker", (), (ValueError,
                              ValueError("boom"), None))
    assert RedactSecrets().filter(other) and other.exc_info is not None  # real errors keep theirs


def test_the_http_servers_log_blanks_every_ballot_token_in_a_path(caplog):
    import logging

    from shared.platform.logs import RedactedLog

    redacted = RedactedLog(logging.getLogger("tdkt.test.http"))
    with caplog.at_level(logging.DEBUG, "tdkt.test.http"):
        redacted.error('I/O error while discarding request body. client=1.2.3.4 request="POST /ballot/eyJz.abc-_ '
                       'HTTP/1.1"')
        redacted.info("GET /ballot/eyJz.def?lang=en HTTP/1.1")
    assert "eyJz" not in caplog.text and caplog.text.count("/ballot/…") == 2 and "lang=en" in caplog.text
