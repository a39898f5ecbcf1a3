"""Attack 5: the RPC replies written on one connection of the service's own (shared.platform.replies),
against a real broker: many callers at once, big replies among small ones, hostile request properties,
the broker closing the reply connection or losing the ``nameko-rpc`` exchange, a service stopping while
it answers; and notify fed hostile submissions.

Long because each attack needs its own client or broker trick (a raw caller, a connection closer, a
TCP proxy that stops reading) beside the service it attacks."""
import collections
import json
import logging
import math
import random
import time
import uuid
from urllib.parse import quote, urlsplit

import eventlet
import pytest
import requests
from kombu import Connection, Exchange, Producer
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.replies import Replies
from shared.platform.rpc import rpc
from tests.attack.raw import publish_raw
from tests.harness import wait_until
from tests.proxy import FreezingProxy

SERVICE = "attack5"
RPC_QUEUE = f"rpc-{SERVICE}"
EXECUTIONS = collections.Counter()  # value -> how often a worker ran for it
SECRET = "tok-SECRET-4f9c2b7e"


class Target:
    name = SERVICE

    @rpc
    def echo(self, value):
        EXECUTIONS[json.dumps(value, sort_keys=True)] += 1
        return value

    @rpc
    def big(self, tag, size):
        EXECUTIONS[tag] += 1
        return {"tag": tag, "blob": tag[:1] * size}

    @rpc
    def slow(self, value, seconds):
        EXECUTIONS[json.dumps(value, sort_keys=True)] += 1
        eventlet.sleep(seconds)
        return value


@pytest.fixture
def db_backend():
    return "sqlite"  # nothing here touches a database


@pytest.fixture
def target(container_factory, rabbit_config, service_env):
    EXECUTIONS.clear()
    container = container_factory(Target, rabbit_config)
    container.start()
    return container


def replies_of(container) -> Replies:
    return next(extension for extension in container.extensions if isinstance(extension, Replies))


def alive(container) -> bool:
    return not container._died.ready() and not container._being_killed


def vhost_api(api, rabbit_config, what):
    return f"{api.rstrip('/')}/api/{what}/{quote(rabbit_config['vhost'], safe='')}"


def queue_info(api, rabbit_config, name):
    return requests.get(f"{vhost_api(api, rabbit_config, 'queues')}/{quote(name, safe='')}", timeout=10).json()


def drained(api, rabbit_config):
    info = queue_info(api, rabbit_config, RPC_QUEUE)
    return info.get("messages") == 0 and info.get("messages_unacknowledged") == 0 and info


def all_answered(target, api, rabbit_config) -> bool:
    """Every request taken and acknowledged, and every reply written confirmed by the broker (so routed
    to its queue): no reply, nor a second copy of one, can arrive after this."""
    link = replies_of(target)._link
    return bool(drained(api, rabbit_config)) and (link is None or not link.pending)


def reply_port(replies) -> int:
    return replies._link.connection.connection.transport.sock.getsockname()[1]


def reply_connection(api, rabbit_config, replies):
    port = reply_port(replies)
    found = [c for c in requests.get(vhost_api(api, rabbit_config, "vhosts") + "/connections", timeout=10).json()
             if c.get("peer_port") == port]
    return found[0] if found else None


class RawCaller:
    """A client on a plain kombu connection: its own uuid reply queue, requests with any properties."""

    def __init__(self, rabbit_config):
        self.connection = Connection(rabbit_config["AMQP_URI"])
        self.channel = self.connection.channel()
        self.reply_to = str(uuid.uuid4())
        self.channel.queue_declare(self.reply_to, exclusive=True)
        self.channel.queue_bind(self.reply_to, "nameko-rpc", self.reply_to)
        self.producer = Producer(self.channel)
        self.exchange = Exchange("nameko-rpc", type="topic", durable=True)
        self.replies = []

    def call(self, method, *args, correlation_id, **properties):
        properties.setdefault("reply_to", self.reply_to)
        self.producer.publish(json.dumps({"args": list(args), "kwargs": {}}).encode(), exchange=self.exchange,
                              routing_key=f"{SERVICE}.{method}", content_type="application/json",
                              correlation_id=correlation_id, **properties)

    def collect(self):
        while (message := self.channel.basic_get(self.reply_to, no_ack=True)) is not None:
            self.replies.append((message.properties.get("correlation_id"), json.loads(message.body)))
        return self.replies

    def close(self):
        self.connection.release()


# --- many callers at once -----------------------------------------------------------------------------

def test_hundreds_of_concurrent_calls_with_multi_megabyte_replies_each_get_exactly_their_own_reply(
        target, rabbit_config, api):
    """4 Nameko clients and a raw client, 360 calls in flight together, a fifth of them answered with
    1-4 MiB (8-32 frames of 131072): every caller gets its own reply, whole, exactly once."""
    results, failures = {}, []

    def client(n):
        with ClusterRpcProxy(rabbit_config, timeout=60) as proxy:
            pending = []
            for i in range(70):
                key = f"c{n}-{i}"
                if i % 5 == 0:
                    pending.append((key, proxy[SERVICE].big.call_async(key, (1 + i % 4) * 1024 * 1024 + i)))
                else:
                    pending.append((key, proxy[SERVICE].echo.call_async({"k": key, "pad": "é" * (i * 37)})))
            for key, reply in pending:
                try:
                    results[key] = reply.result()
                except Exception as exc:  # noqa: BLE001
                    failures.append((key, repr(exc)))

    raw = RawCaller(rabbit_config)
    try:
        threads = [eventlet.spawn(client, n) for n in range(4)]
        for i in range(80):  # the raw caller, interleaved, with request properties a client may set
            raw.call("echo", {"raw": i}, correlation_id=f"raw-{i}", priority=i % 10,
                     expiration=600 + i, headers={"x-junk": "j" * i, "n": i})
        for thread in threads:
            thread.wait()
        wait_until(lambda: len(raw.collect()) >= 80, timeout=60, what="the raw caller's 80 replies")
        wait_until(lambda: all_answered(target, api, rabbit_config), what="every reply confirmed")
        raw.collect()  # a second copy of any reply would be in the queue by now
    finally:
        raw.close()
    assert failures == []
    assert len(results) == 4 * 70
    for key, result in results.items():
        n, i = key[1:].split("-")
        if int(i) % 5 == 0:
            assert result == {"tag": key, "blob": "c" * ((1 + int(i) % 4) * 1024 * 1024 + int(i))}
        else:
            assert result == {"k": key, "pad": "é" * (int(i) * 37)}
    assert sorted(c for c, _ in raw.replies) == sorted(f"raw-{i}" for i in range(80))
    assert all(reply == {"result": {"raw": int(c[4:])}, "error": None} for c, reply in raw.replies)
    assert all(count == 1 for count in EXECUTIONS.values()) and len(EXECUTIONS) == 360
    assert alive(target)
    wait_until(lambda: drained(api, rabbit_config), what="the rpc queue to drain")


# --- hostile request properties ------------------------------------------------------------------------

ANSWERABLE = [  # (raw correlation_id bytes, why): each must come back byte for byte, once
    (b"c" * 255, "the longest shortstr"),
    ("ế".encode() * 85, "255 bytes of 3-byte characters"),
    ("😀".encode() * 63, "4-byte characters"),
    (b"\x00", "a NUL"),
    (b" ", "a space"),
    (b"\xed\xa0\x80", "an encoded lone surrogate (py-amqp reads it with surrogatepass)"),
]


def test_hostile_request_properties_neither_poison_the_reply_connection_nor_cross_replies(target, rabbit_config,
                                                                                            api, caplog):
    caplog.set_level(logging.INFO)
    raw = RawCaller(rabbit_config)
    try:
        uri = rabbit_config["AMQP_URI"]
        body = json.dumps({"args": ["v"], "kwargs": {}}).encode()
        for correlation_id, _why in ANSWERABLE:
            publish_raw(uri, "nameko-rpc", f"{SERVICE}.echo", body, correlation_id=correlation_id,
                        reply_to=raw.reply_to)
        # reply_to the guard lets through but no queue is bound to: answered into the void, harmlessly
        for reply_to in ("-" * 36, "f" * 32, str(uuid.uuid4()).upper(), str(uuid.uuid4())):
            publish_raw(uri, "nameko-rpc", f"{SERVICE}.echo", body, correlation_id=b"void", reply_to=reply_to)
        # priority, expiration, odd headers and content types on requests
        raw.call("echo", "p", correlation_id="prio", priority=255)
        raw.call("echo", "e", correlation_id="exp", expiration=3600)
        raw.call("echo", "h", correlation_id="hdr", headers={"nameko.call_id_stack": ["x" * 300] * 20,
                                                             "x-match": "all", "CC": [raw.reply_to]})
        raw.producer.publish(b'{"args": ["ct"], "kwargs": {}}', exchange=raw.exchange,
                             routing_key=f"{SERVICE}.echo", content_type="application/json; charset=utf-16",
                             correlation_id="ctype", reply_to=raw.reply_to)
        wanted = len(ANSWERABLE) + 4
        wait_until(lambda: len(raw.collect()) >= wanted, timeout=30, what="every answerable request's reply")
        wait_until(lambda: all_answered(target, api, rabbit_config), what="every reply confirmed")
        raw.collect()  # a second copy of any reply would be in the queue by now
        with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
            assert proxy[SERVICE].echo("after") == "after"
    finally:
        raw.close()
    got = collections.Counter(c.encode("utf-8", "surrogatepass") for c, body in raw.replies if "result" in body)
    for correlation_id, why in ANSWERABLE:
        assert got.pop(correlation_id) == 1, why
    # "hdr" carries CC: [our queue]: RabbitMQ routes the *request* to the reply queue too (not the reply)
    assert all(count == 1 for count in got.values()) and set(got) >= {b"prio", b"exp", b"hdr", b"ctype"}
    assert not [r for r in caplog.records if "could not be sent" in r.getMessage()]
    assert alive(target)
    wait_until(lambda: drained(api, rabbit_config), what="the rpc queue to drain")


# --- the broker closing the reply connection while calls are in flight -----------------------------------

def test_the_broker_closing_the_reply_connection_again_and_again_never_runs_a_call_twice_or_leaves_it_unacked(
        target, rabbit_config, api, caplog):
    caplog.set_level(logging.INFO)
    replies, stop, closed = replies_of(target), eventlet.event.Event(), []

    def closer():  # the management API knows a connection once its stats are in (a few seconds)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            eventlet.sleep(random.uniform(0.01, 0.06))
            try:
                found = replies._link and reply_connection(api, rabbit_config, replies)
            except Exception:  # noqa: BLE001 - between two connections
                continue
            if found and found["name"] not in closed and requests.delete(
                    f"{api.rstrip('/')}/api/connections/{quote(found['name'], safe='')}",
                    timeout=10).status_code in (200, 204):
                closed.append(found["name"])
        stop.send(True)

    lost, answered = [], []

    def client(n):
        with ClusterRpcProxy(rabbit_config, timeout=8) as proxy:
            batch = 0
            while not stop.ready():
                pending = [(f"{n}-{batch}-{i}", proxy[SERVICE].echo.call_async(f"{n}-{batch}-{i}"))
                           for i in range(15)]
                for key, reply in pending:
                    try:
                        assert reply.result() == key
                        answered.append(key)
                    except RpcTimeout:
                        lost.append(key)
                batch += 1
                eventlet.sleep(0.02)

    closing = eventlet.spawn(closer)
    clients = [eventlet.spawn(client, n) for n in range(3)]
    closing.wait()
    for thread in clients:
        thread.wait()
    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy[SERVICE].echo("after") == "after"
    assert len(closed) >= 2, closed
    assert all(count == 1 for count in EXECUTIONS.values()) and len(EXECUTIONS) == len(answered) + len(lost) + 1
    assert alive(target)
    wait_until(lambda: drained(api, rabbit_config), what="the rpc queue to drain")
    print(f"reply connections closed by the broker: {len(closed)}; replies lost: {len(lost)} of {len(answered) + len(lost)}")
    # a reply written into a connection the broker had closed: lost, and nothing in the service's log says so
    silent = len(lost) - sum("could not be sent" in r.getMessage() for r in caplog.records)
    assert silent == 0, f"{silent} replies lost without a log line (lost: {lost})"


# --- the nameko-rpc exchange deleted under the service ------------------------------------------------

def delete_rpc_exchange(api, rabbit_config):
    deleted = requests.delete(f"{vhost_api(api, rabbit_config, 'exchanges')}/nameko-rpc", timeout=10)
    assert deleted.status_code in (200, 204)


def test_a_reply_the_broker_refuses_for_want_of_its_exchange_is_logged(target, rabbit_config, api, caplog):
    """rpc.py: "one [reply] the broker refuses is logged". The exchange gone, the broker closes the reply
    channel over the reply (404): with Nameko's confirmed publisher that raised, and was logged as
    "could not be sent"; written without a confirm, the reply vanishes without a word."""
    caplog.set_level(logging.DEBUG, logger="shared")
    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy[SERVICE].echo("warm") == "warm"  # the reply connection is open
        proxy[SERVICE].slow.call_async("refused", 1.0)
        wait_until(lambda: EXECUTIONS[json.dumps("refused")] == 1, what="the slow call to start")
        delete_rpc_exchange(api, rabbit_config)
        wait_until(lambda: any("could not be sent" in r.getMessage() for r in caplog.records), timeout=15,
                   what="the reply, refused on its connection and the next, to be logged as not sent")
    assert alive(target)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("shared.platform")]
    assert any("could not be sent" in m or "reply" in m.lower() for m in messages), messages


def test_after_the_rpc_exchange_is_deleted_under_calls_in_flight_the_service_answers_again(target, rabbit_config,
                                                                                           api):
    with ClusterRpcProxy(rabbit_config, timeout=1.5) as proxy:  # the replies have nowhere to go: each times out
        pending = [proxy[SERVICE].slow.call_async(f"inflight-{i}", 0.5) for i in range(10)]
        eventlet.sleep(0.2)
        delete_rpc_exchange(api, rabbit_config)
        for reply in pending:
            try:
                reply.result()
            except RpcTimeout:
                pass
    # keep_bindings declares the exchange and the service's binding again within 5 s

    def answers():
        try:
            with ClusterRpcProxy(rabbit_config, timeout=3) as again:
                return again[SERVICE].echo("again") == "again"
        except Exception:  # noqa: BLE001 - not yet
            return False

    wait_until(answers, timeout=30, interval=0.5, what="the service to answer again")
    assert all(count == 1 for key, count in EXECUTIONS.items() if "inflight" in key)
    assert alive(target)
    wait_until(lambda: drained(api, rabbit_config), what="the rpc queue to drain")


# --- stop and kill while replies are written ----------------------------------------------------------

def test_a_stop_while_workers_are_answering_still_answers_every_call(target, rabbit_config, caplog):
    caplog.set_level(logging.INFO)
    with ClusterRpcProxy(rabbit_config, timeout=15) as proxy:
        pending = [proxy[SERVICE].big.call_async(f"s{i}", 2 * 1024 * 1024) if i % 2 else
                   proxy[SERVICE].slow.call_async(f"s{i}", 0.5 + i * 0.05) for i in range(10)]
        wait_until(lambda: len(EXECUTIONS) == 10, what="ten workers running")
        stopping = eventlet.spawn(target.stop)
        results = [reply.result() for reply in pending]
        stopping.wait()
    assert results[0] == "s0" and results[1]["tag"] == "s1"
    assert not [r for r in caplog.records if "could not be sent" in r.getMessage()]


def test_a_kill_while_workers_run_leaves_their_requests_to_be_delivered_again(target, rabbit_config, api):
    with ClusterRpcProxy(rabbit_config, timeout=15) as proxy:
        for i in range(6):
            proxy[SERVICE].slow.call_async(f"k{i}", 2.0)
        wait_until(lambda: len(EXECUTIONS) == 6, what="six workers running")
        target.kill()
    assert wait_until(lambda: queue_info(api, rabbit_config, RPC_QUEUE).get("messages_ready") == 6, timeout=20,
                      what="the six unanswered requests back in the queue")


# --- what reaches the logs ------------------------------------------------------------------------------

def test_no_log_line_carries_a_calls_arguments_or_result_even_when_its_reply_fails(target, rabbit_config,
                                                                                   caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy[SERVICE].echo({"token": SECRET, "choice": "approve"})["token"] == SECRET
        replies = replies_of(target)
        original = replies._write

        def broken(reply):
            raise ConnectionResetError("the broker went away")

        monkeypatch.setattr(replies, "_write", broken)
        with ClusterRpcProxy(rabbit_config, timeout=2) as impatient, pytest.raises(RpcTimeout):
            impatient[SERVICE].echo.call_async({"token": SECRET, "choice": "reject"}).result()
        monkeypatch.setattr(replies, "_write", original)
    assert "could not be sent" in caplog.text
    # the service's side only (the test's own client logs what it received at DEBUG)
    service_side = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records
                             if not r.getMessage().startswith("RPC reply event complete"))
    assert SECRET not in service_side and "reject" not in service_side


# --- the reply connection itself ------------------------------------------------------------------------

def test_the_reply_connection_has_no_heartbeat_and_an_idle_one_is_replaced(target, rabbit_config, api,
                                                                           monkeypatch):
    from shared.platform import replies as module

    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy[SERVICE].echo(1) == 1
        replies = replies_of(target)
        first = wait_until(lambda: reply_connection(api, rabbit_config, replies), what="the reply connection")
        assert first["timeout"] == 0  # no heartbeat: the broker never speaks on it unprompted
        monkeypatch.setattr(module, "IDLE_RECONNECT", 0.2)
        eventlet.sleep(0.4)
        assert proxy[SERVICE].echo(2) == 2
        second = wait_until(lambda: reply_connection(api, rabbit_config, replies), what="a new reply connection")
        assert second["name"] != first["name"]
        wait_until(lambda: first["name"] not in [c["name"] for c in requests.get(
            vhost_api(api, rabbit_config, "vhosts") + "/connections", timeout=10).json()],
                   what="the idle connection to be gone from the broker")


# --- notify fed hostile nomination_submitted events ------------------------------------------------------

SUBMITTED = {"nomination_id": "n-ok", "unit_id": "vp", "award_code": "LDTT", "award_year": 2025,
             "nominee": {"kind": "individual", "name": "Nguyễn Thị Hoa", "email": None, "gender": "female",
                         "direct_worker": True, "members_total": None, "members_female": None},
             "contact_email": "vanphong@example.vn", "submitted_at": "2025-03-01T08:00:00+00:00",
             "rule_set": "nd98-2023"}


def deep(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def notify(container_factory, rabbit_config, service_env, mail_sink, monkeypatch):
    from services.notify.service import NotifyService

    monkeypatch.setenv("TDKT_RETRY_SECONDS", "0.05")
    container = container_factory(NotifyService, rabbit_config)
    container.start()
    return container


def test_hostile_submissions_to_notify_are_mailed_correctly_or_dead_lettered_with_a_reason(notify, rabbit_config,
                                                                                          mail_sink):
    from shared.platform.deadletters import peek
    from shared.platform.messaging import EventPublisher

    publish = EventPublisher(rabbit_config["AMQP_URI"], "intake")
    mailed = {  # accepted: each one mail to its contact, with its nominee's name
        "big-dossier": {**SUBMITTED, "nomination_id": "n-big", "dossier": {"achievements": "x" * 20_000}},
        "last-valid": {**SUBMITTED, "nomination_id": "n-last"},
    }
    refused = {  # event id -> what the reason must name
        "over-cap": ({**SUBMITTED, "nomination_id": "n-cap", "dossier": {"a": "x" * 300_000}}, "256 KiB"),
        "name-newline": ({**SUBMITTED, "nominee": {**SUBMITTED["nominee"], "name": "a\nBcc: x@evil.example"}},
                         "nominee"),
        "year-nan": ({**SUBMITTED, "award_year": math.nan}, "award_year"),
        "nominee-text": ({**SUBMITTED, "nominee": "Hoa"}, "nominee"),
        "nominee-robot": ({**SUBMITTED, "nominee": {**SUBMITTED["nominee"], "kind": "robot"}}, "nominee"),
        "no-contact": ({k: v for k, v in SUBMITTED.items() if k != "contact_email"}, "contact_email"),
        "id-path": ({**SUBMITTED, "nomination_id": "../x"}, "nomination_id"),
        "unknown-nan": ({**SUBMITTED, "score": math.nan, "junk": deep(400)}, "score"),
        "not-object": ([SUBMITTED], "object"),
    }
    for event_id, payload in mailed.items():
        publish("nomination_submitted", payload, event_id, {})
    for event_id, (payload, _) in refused.items():
        publish("nomination_submitted", payload, event_id, {})
    publish("nomination_submitted", SUBMITTED, "valid-first-again", {})
    mails = mail_sink.wait_for(3)
    letters = wait_until(lambda: (found := peek(rabbit_config["AMQP_URI"], "notify", 100))
                         and len(found) >= len(refused) and found, timeout=30, what="the dead letters")
    eventlet.sleep(1)
    assert len(mail_sink.messages()) == 3
    assert sorted(m["To"] for m in mails) == ["vanphong@example.vn"] * 3
    assert all("Nguyễn Thị Hoa" in m.get_body(("plain",)).get_content() for m in mails)
    reasons = {letter["message_id"]: letter["reason"] for letter in letters}
    assert set(reasons) == set(refused), reasons
    for event_id, (_, named) in refused.items():
        assert reasons[event_id].startswith("invalid") and named in reasons[event_id], (event_id, reasons[event_id])
    assert alive(notify)


def test_deep_garbage_in_a_nominee_is_dead_lettered_at_once_as_invalid(notify, rabbit_config, mail_sink):
    """Normalising a nominee with garbage nested ~600 deep raised RecursionError, which the inbox took
    for a passing fault (retried five times, then dead-lettered as a failure)."""
    from shared.platform.deadletters import peek
    from shared.platform.messaging import EventPublisher

    EventPublisher(rabbit_config["AMQP_URI"], "intake")(
        "nomination_submitted", {**SUBMITTED, "nominee": {"name": "Hoa", "junk": deep(600)}}, "deep-nominee", {})
    letters = wait_until(lambda: peek(rabbit_config["AMQP_URI"], "notify", 10), timeout=30, what="a dead letter")
    assert alive(notify)
    assert letters[0]["reason"].startswith("invalid"), letters[0]["reason"]


# --- a broker that stops taking the reply connection's frames -------------------------------------------

def test_a_reply_write_the_broker_stops_taking_fails_after_the_write_timeout_and_goes_on_a_new_connection(
        container_factory, rabbit_config, service_env, monkeypatch, caplog):
    from shared.platform import replies as module

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(module, "WRITE_TIMEOUT", 2.0)
    uri = urlsplit(rabbit_config["AMQP_URI"])
    proxy = FreezingProxy(("127.0.0.1", uri.port or 5672), receive_buffer=16384)
    try:
        proxied = {**rabbit_config, "AMQP_URI": uri._replace(netloc=f"{uri.username}:{uri.password}@127.0.0.1:{proxy.port}").geturl()}
        assert proxied["AMQP_URI"] != rabbit_config["AMQP_URI"]
        container = container_factory(Target, proxied)
        container.start()
        with ClusterRpcProxy(rabbit_config, timeout=30) as client:
            assert client[SERVICE].echo("warm") == "warm"
            replies = replies_of(container)
            proxy.freeze(reply_port(replies))
            started = time.monotonic()
            assert client[SERVICE].big("b-frozen", 16 * 1024 * 1024)["tag"] == "b-frozen"
            took = time.monotonic() - started
            assert client[SERVICE].echo("after") == "after"
        assert took < 20, f"the frozen write held every reply for {took:.1f}s"
        assert any("connection failed" in r.getMessage() for r in caplog.records)
        assert alive(container)
        print(f"the frozen reply took {took:.1f}s")
        container.stop()  # before the proxy goes: its consumer would reconnect to it forever
    finally:
        proxy.close()
