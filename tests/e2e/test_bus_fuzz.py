"""The bus fuzz suite: generated properties, headers and bodies to every queue of the three running
services, with raw py-amqp, Nameko's standalone event dispatcher and its standalone RPC proxy.

Afterwards every process still runs; every event lies in ``dlq.<service>`` with its reason; every RPC
request that named a reply address got exactly one (error) reply, and every one that did not was
dropped with a log line; and an ordinary nomination sent last is acknowledged by mail.
``TDKT_FUZZ_MESSAGES`` (per service, default 500) sets the size: ``make fuzz`` runs 5,000.
"""
import json
import os
import uuid
from collections import Counter

import amqp
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from kombu import Connection
from nameko.standalone.events import event_dispatcher
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.guard import MAX_BODY_BYTES
from shared.platform.messaging import REASON
from tests.e2e.test_first_thread import EXAMPLE, issue_token
from tests.harness import expected_queues, wait_until

pytestmark = pytest.mark.e2e
SERVICES = ("intake", "review", "notify")
PER_SERVICE = int(os.environ.get("TDKT_FUZZ_MESSAGES", "500"))
BATCH = 25
NOBODY = str(uuid.UUID(int=0))  # a well-formed reply address nobody listens on: answered into the void
METHODS = {"intake": ["submit_nomination", "get_nomination", "list_nominations", "amend_nomination",
                      "withdraw_nomination", "award_catalogue"],
           "review": ["convene_sitting", "close_sitting", "sitting_result", "resolve_tie", "return_nomination",
                      "set_quota", "statistics", "get_case", "load_directory"],
           "notify": ["mail_log"]}

CONTENT_TYPES = st.sampled_from([None, "application/json", "application/data", "text/plain", "application/x-yaml",
                                 "application/x-python-serialize", "application/x-msgpack", "é/?"])
ENCODINGS = st.sampled_from([None, "utf-8", "binary", "gzip", "x-unknown", "latin-1", "utf-16", "ascii", ""])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 63, 2 ** 63 - 1), st.text(max_size=30),
                    st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                    max_leaves=12)
HEADER_VALUES = st.one_of(SCALARS, st.binary(max_size=30), st.lists(SCALARS, max_size=4),
                          st.dictionaries(st.text(max_size=8), SCALARS, max_size=3))
HEADER_KEYS = st.one_of(st.sampled_from(["x-tdkt-attempts", "nameko.call_id_stack", "nameko.auth_token",
                                         "compression", "x-death", "x-tdkt-queue", "nameko.language"]),
                        st.text(min_size=1, max_size=20).filter(lambda k: len(k.encode()) < 200))
BODIES = st.one_of(JSON.map(lambda value: json.dumps(value).encode()), st.binary(max_size=300),
                   st.dictionaries(st.sampled_from(["args", "kwargs", "ballot_token", "choices", "nomination_id",
                                                    "sitting_id", "member"]), JSON, max_size=4)
                   .map(lambda value: json.dumps(value).encode()),
                   st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")))
CORRELATION = st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=40).filter(lambda c: len(c.encode()) < 250))


@st.composite
def raw_messages(draw, queues):
    queue = draw(st.sampled_from(queues))
    service = queue.rsplit("--", 1)[-1].split(".")[0] if queue.startswith("evt-") else queue[4:]
    rpc = queue.startswith("rpc-")
    if rpc:
        methods = METHODS[service] + ["no_such_method", draw(st.text(max_size=10).filter(lambda m: "." not in m))]
        exchange, routing_key = draw(st.sampled_from([("nameko-rpc", f"{service}.{draw(st.sampled_from(methods))}"),
                                                      ("", queue)]))
    else:
        exchange, routing_key = "", queue
    properties = {"content_type": draw(CONTENT_TYPES), "content_encoding": draw(ENCODINGS),
                  "application_headers": draw(st.dictionaries(HEADER_KEYS, HEADER_VALUES, max_size=4)),
                  "message_id": draw(st.one_of(st.none(), st.text(max_size=200).filter(lambda m: len(m.encode()) < 250))),
                  "correlation_id": draw(CORRELATION),
                  "reply_to": draw(st.sampled_from(["reply", None, "", "not a queue", NOBODY]))}
    return {"service": service, "queue": queue, "rpc": rpc, "exchange": exchange, "routing_key": routing_key,
            "body": draw(BODIES), "properties": {k: v for k, v in properties.items() if v is not None}}


@pytest.fixture
def service_env(service_env, monkeypatch):
    """Retries in milliseconds, so that a message that failed for another reason than its shape is
    dead-lettered within the test too."""
    monkeypatch.setenv("TDKT_RETRY_SECONDS", "0.05")
    return {**service_env, "TDKT_RETRY_SECONDS": "0.05"}


class Bus:
    """Raw publishing, one reply queue, and what was sent (to know where each message must end)."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri)
        self.channel = self.connection.default_channel
        self.reply_queue = str(uuid.uuid4())
        self.channel.queue_declare(self.reply_queue, exclusive=True)
        self.channel.queue_bind(self.reply_queue, "nameko-rpc", self.reply_queue)
        self.events = Counter()  # service -> events published
        self.answerable = {}  # correlation id -> the request that must get one reply
        self.dropped = Counter()  # service -> rpc requests nobody can be answered on
        self.replies = Counter()
        self.dispatched = 0
        self.sent = Counter()

    def publish(self, message):
        self.sent[message["service"]] += 1
        properties = dict(message["properties"])
        if properties.get("reply_to") == "reply":
            properties["reply_to"] = self.reply_queue
        if message["rpc"]:
            correlation = properties.get("correlation_id")
            if not (isinstance(correlation, str) and correlation and properties.get("reply_to") in
                    (self.reply_queue, NOBODY)) or "x-death" in properties.get("application_headers", {}):
                self.dropped[message["service"]] += 1  # nobody to answer, or dead-lettered on its way
            elif properties["reply_to"] == self.reply_queue:  # to us: must be answered once
                properties["correlation_id"] = correlation = f"{uuid.uuid4()}:{correlation}"
                self.answerable[correlation] = {**message, "properties": properties}
        else:
            self.events[message["service"]] += 1
        self.channel.basic_publish(amqp.Message(message["body"], **properties), exchange=message["exchange"],
                                   routing_key=message["routing_key"])

    def collect_replies(self):
        while (reply := self.channel.basic_get(self.reply_queue, no_ack=True)) is not None:
            self.replies[reply.properties.get("correlation_id")] += 1
            assert json.loads(reply.body)["error"] is not None, reply.body
        return self.replies

    def depth(self, queue):
        return self.channel.queue_declare(queue, passive=True).message_count


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_no_generated_message_stops_a_service_and_each_ends_in_its_place(system, rabbit_config, mail_sink):
    amqp_uri = rabbit_config["AMQP_URI"]
    bus = Bus(amqp_uri)
    queues = {service: expected_queues(service) for service in SERVICES}
    event_queues = {service: [q for q in queues[service] if q.startswith("evt-")] for service in SERVICES}
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri})
    consumed = sorted({(q.split("-")[1], q.split("-")[2].split("--")[0], service)
                       for service in SERVICES for q in event_queues[service]})

    def publish_to(service):
        @settings(max_examples=-(-PER_SERVICE // BATCH), deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(raw_messages(queues[service]), min_size=BATCH, max_size=BATCH),
               st.lists(JSON, min_size=1, max_size=3))
        def publish_batch(messages, payloads):
            for message in messages:
                bus.publish(message)
            for payload in payloads:  # an outsider's client written with the framework's own tools
                source, event_type, _ = consumed[bus.dispatched % len(consumed)]
                bus.dispatched += 1
                dispatch(source, event_type, payload)
                for target in {s for s_, e_, s in consumed if (s_, e_) == (source, event_type)}:
                    bus.events[target] += 1

        publish_batch()

    for service in SERVICES:
        publish_to(service)
        assert bus.sent[service] >= PER_SERVICE
    for service in SERVICES:  # too large for any payload, to each service
        if event_queues[service]:
            bus.publish({"service": service, "queue": event_queues[service][0], "rpc": False, "exchange": "",
                         "routing_key": event_queues[service][0], "body": b"[" * (MAX_BODY_BYTES + 1),
                         "properties": {"content_type": "application/json", "message_id": f"huge-{service}"}})
    _rpc_proxy_calls(rabbit_config, bus)

    for service in SERVICES:
        wait_until(lambda: bus.depth(f"dlq.{service}") >= bus.events[service], timeout=180,
                   what=f"{bus.events[service]} dead letters in dlq.{service}")
    try:
        wait_until(lambda: sum(bus.collect_replies().values()) >= len(bus.answerable), timeout=60,
                   what=f"{len(bus.answerable)} rpc replies")
    except AssertionError as timed_out:
        unanswered = [request for correlation, request in bus.answerable.items() if correlation not in bus.replies]
        raise AssertionError(f"{timed_out}; unanswered: {unanswered!r}") from None
    for service in SERVICES:
        assert system.processes[service].poll() is None, system.log(service)
        assert bus.depth(f"dlq.{service}") == bus.events[service]
        for queue in event_queues[service]:
            assert bus.depth(queue) == 0 and bus.depth(f"{queue}.retry") == 0
        log = lambda: (system.log_dir / f"{service}.log").read_text(errors="replace")  # noqa: E731
        wait_until(lambda: log().count("dropped:") >= bus.dropped[service], timeout=30,
                   what=f"{bus.dropped[service]} unanswerable requests to {service} dropped and logged")
        log = log()
        assert "thread exited with error" not in log and "killing" not in log
    assert set(bus.replies) == set(bus.answerable) and set(bus.replies.values()) == {1}
    _every_dead_letter_has_a_reason(amqp_uri)
    _an_ordinary_nomination_is_acknowledged(system, rabbit_config, mail_sink)


def _rpc_proxy_calls(rabbit_config, bus):
    """The standalone RPC proxy, as a client would call: real methods, generated arguments, forged tokens."""
    calls = st.tuples(st.sampled_from([(s, m) for s in SERVICES for m in METHODS[s]]),
                      st.lists(JSON, max_size=3), st.one_of(st.none(), st.text(max_size=40), st.integers()))

    @settings(max_examples=60, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(calls)
    def call(spec):
        (service, method), args, token = spec
        with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=20) as proxy:
            try:  # answered, with a result or an error, never left to time out
                getattr(getattr(proxy, service), method)(*args)
            except RpcTimeout:
                raise
            except Exception:
                pass

    call()


def _every_dead_letter_has_a_reason(amqp_uri):
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        for service in SERVICES:
            tags = []
            while (message := channel.basic_get(f"dlq.{service}", no_ack=False)) is not None:
                tags.append(message.delivery_tag)
                headers = message.properties.get("application_headers") or {}
                assert headers.get(REASON), (service, message.properties)
            for tag in tags:
                channel.basic_reject(tag, requeue=True)


def _an_ordinary_nomination_is_acknowledged(system, rabbit_config, mail_sink):
    before = len(mail_sink.messages())
    token = issue_token(system.env, "vp")
    nomination = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=30) as proxy:
        assert proxy.intake.submit_nomination(nomination)["status"] == "submitted"
    mails = mail_sink.wait_for(before + 1, timeout=60)
    assert any(nomination["contact_email"] in str(mail["To"]) for mail in mails[before:])
