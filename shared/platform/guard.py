"""The bus's guard: whatever arrives, no message stops a service.

Nameko 2.14 trusts its messages. A body kombu cannot decode (an unknown content type or encoding, a
broken compression header) raises in the queue consumer's own thread; a forged context header (a
``nameko.call_id_stack`` that is not a list of strings) raises while the worker is set up; a body that
py-amqp handed over as ``str`` broke our own message id. Each of those kills the whole container, and
since the message was never acknowledged, it kills the next one too.

Here every message is screened before a worker is spawned (size, decoding, context headers), every
step that runs in the consumer's threads is wrapped, and whatever still raises is *refused* by the
extension that owns the queue: an event is dead-lettered with its reason, an RPC request is answered
with an error (or dropped, logged, when it names no one to answer). A worker thread that dies anyway
(a dependency that raised while the worker was set up) is logged, its message settled by its
entrypoint, and the container goes on: :func:`install_worker_guard`.

Long because each of its parts (the screen, the reader shim, the worker guard, the binding keeper)
guards the same thing, a container that must not stop, and they are read together.
"""
from __future__ import annotations

import logging
import sys
from functools import partial

import eventlet.event
from greenlet import GreenletExit
from kombu import Connection
from nameko.constants import CALL_ID_STACK_CONTEXT_KEY
from nameko.messaging import QueueConsumer
from nameko.timer import Timer

log = logging.getLogger(__name__)

KEEP_BINDINGS_SECONDS = 5.0  # how often a service re-declares its exchanges, queues and bindings
MAX_BODY_BYTES = 8 * 1024 * 1024  # above any payload the services take (a directory file: 4 MiB)
MAX_CALL_ID_STACK = 32
MAX_CALL_ID = 256
MAX_AUTH_TOKEN = 1024
CONTEXT_KEYS = ("auth_token",)  # the context data a caller may send besides the call id stack
HEADER_PREFIX = "nameko."
UNREADABLE = "x-tdkt-unreadable"  # set by the reader shim on a message whose content header py-amqp could not read
ENCODINGS = {"", "utf-8", "utf8", "ascii", "us-ascii", "binary"}  # content encodings that cannot inflate a body


def body_bytes(body) -> bytes:
    """The body as bytes, whatever py-amqp and kombu made of it (bytes, or ``str`` when decoded)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return repr(body).encode("utf-8", "backslashreplace")


def safe_context(message) -> dict:
    """Nameko context data from a message's headers, keeping only what a caller may set, well typed.

    A call id stack that is not a short list of short strings is dropped (the worker starts a new
    one); an ``auth_token`` that is not a string is dropped (the entrypoint then refuses the caller).
    """
    headers = message.headers if isinstance(getattr(message, "headers", None), dict) else {}
    context = {}
    stack = headers.get(HEADER_PREFIX + CALL_ID_STACK_CONTEXT_KEY)
    if isinstance(stack, (list, tuple)) and all(isinstance(item, str) and len(item) <= MAX_CALL_ID
                                               for item in stack):
        context[CALL_ID_STACK_CONTEXT_KEY] = list(stack)[-MAX_CALL_ID_STACK:]
    for key in CONTEXT_KEYS:
        value = headers.get(HEADER_PREFIX + key)
        if isinstance(value, str) and len(value) <= MAX_AUTH_TOKEN:
            context[key] = value
    return context


def header_count(headers, name: str, ceiling: int) -> int:
    """A non-negative count header (such as retry attempts); anything else reads as 0."""
    value = headers.get(name) if isinstance(headers, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), ceiling)


def printable(value, width: int = 200) -> str:
    """``value`` as one line of at most ``width`` printable characters: a sender's text may carry
    escape sequences meant for an operator's terminal."""
    text = value if isinstance(value, str) else repr(value)
    return "".join(c if c.isprintable() else "?" for c in text[:width])


def describe(exc: BaseException) -> str:
    """A short reason for a log line or a dead-letter header: the class, and a bounded message."""
    text = printable(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def install_reader_shim() -> None:
    """Let a content header py-amqp cannot read reach the guard instead of killing the connection.

    py-amqp decodes a message's properties inside the connection's frame loop, before kombu or Nameko
    see the message: a property that is not UTF-8, a timestamp past the year 9999 or a header table
    nested deep enough raises there, the queue consumer's thread dies with it, and so does the
    container (and the next, since the message was never acknowledged). Once installed (per process,
    by the guarded entrypoints), such a message arrives with only ``x-tdkt-unreadable`` for properties,
    and the guard dead-letters or drops it. A ``compression`` header is refused the same way: kombu
    would inflate the body before any size check (tdkt never compresses)."""
    from amqp.serialization import GenericContent

    if getattr(GenericContent._load_properties, "tdkt_shim", False):
        return
    load = GenericContent._load_properties

    def load_properties(self, class_id, buf, offset):
        try:
            end = load(self, class_id, buf, offset)
        except Exception as exc:
            self.properties = {UNREADABLE: "content header cannot be read: " + describe(exc)}
            return offset
        headers = self.properties.get("application_headers")
        if isinstance(headers, dict) and "compression" in headers:
            headers.pop("compression")
            self.properties[UNREADABLE] = "compressed bodies are not accepted"
        return end

    load_properties.tdkt_shim = True
    GenericContent._load_properties = load_properties


def refuse(provider, message, reason: str) -> None:
    """Let the extension that owns the queue refuse the message; if even that fails, reject it (an
    event queue dead-letters it, other queues drop it) so the consumer can go on."""
    try:
        provider.refuse(message, reason)
    except Exception:
        log.exception("refusing a message (%s) failed; rejected without requeue", reason)
        try:
            message.reject(requeue=False)
        except Exception:
            log.exception("a refused message could not be rejected")


class GuardedQueueConsumer(QueueConsumer):
    """Nameko's queue consumer, screening each message before it reaches its entrypoint.

    The providers registered with it (the guarded RPC consumer, the inbox event handlers) implement
    ``refuse(message, reason)``.

    It also keeps the service reachable: every ``KEEP_BINDINGS_SECONDS`` it declares again each
    provider's exchange, queue and binding (all idempotent), so an exchange someone deleted, which takes
    the service's bindings with it while the service goes on consuming from an unreachable queue, is
    back within seconds."""

    _keeper = None

    def start(self):
        super().start()
        if self._keeper is None:
            self._keeping = eventlet.event.Event()
            self._keeper = self.container.spawn_managed_thread(self._keep_bindings, identifier="keep_bindings")

    def stop(self):
        if self._keeper is not None:
            self._keeping.send(True)
            self._keeper = None
        super().stop()

    def _keep_bindings(self):
        while not self._keeping.wait(KEEP_BINDINGS_SECONDS):
            try:
                self.declare_bindings()
            except Exception as exc:  # the broker is away: the consumer reconnects and declares them itself
                log.warning("keeping bindings: %s", describe(exc))

    def declare_bindings(self):
        with Connection(self.amqp_uri, connect_timeout=5) as connection:
            channel = connection.channel()
            for provider in list(self._providers):
                kept = getattr(provider, "kept_queues", None)
                for queue in kept() if kept else [provider.queue]:
                    queue(channel).declare()

    def get_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            consumer = consumer_cls(queues=[provider.queue], accept=self.accept,
                                    on_message=partial(self.on_raw_message, provider),
                                    on_decode_error=partial(self.on_decode_error, provider))
            # RabbitMQ applies a channel's last basic.qos to each consumer started after it: each
            # consumer sends its own just before it starts (batched event handlers take more)
            consumer.consume = _after_qos(consumer, getattr(provider, "prefetch_count", None) or self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def setup(self):
        super().setup()
        install_reader_shim()

    def on_raw_message(self, provider, message):
        """The consumer thread: nothing here may raise."""
        try:
            properties = message.properties if isinstance(message.properties, dict) else {}
            if properties.get(UNREADABLE):
                refuse(provider, message, properties[UNREADABLE])
                return
            encoding = properties.get("content_encoding")
            if encoding is not None and (not isinstance(encoding, str) or encoding.lower() not in ENCODINGS):
                refuse(provider, message, f"content_encoding {printable(encoding, 40)!r} is not accepted")
                return
            if len(body_bytes(message.body)) > MAX_BODY_BYTES:
                refuse(provider, message, f"body larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
                return
            body = message.decode()
        except Exception as exc:
            refuse(provider, message, "body cannot be decoded: " + describe(exc))
            return
        self.handle_message(provider, body, message)

    def on_decode_error(self, provider, message, exc):
        refuse(provider, message, "message cannot be read: " + describe(exc))

    def handle_message(self, provider, body, message):
        routing_key = (getattr(message, "delivery_info", None) or {}).get("routing_key")
        self.container.spawn_managed_thread(partial(self._handle, provider, body, message),
                                            identifier=f"{type(provider).__name__}.handle_message[{routing_key}]")

    def _handle(self, provider, body, message):
        try:
            provider.handle_message(body, message)
        except Exception as exc:
            log.exception("a message could not be handed to its entrypoint")
            refuse(provider, message, "message refused: " + describe(exc))


def _after_qos(consumer, prefetch: int):
    """``consumer.consume``, preceded by the ``basic.qos`` of ``prefetch`` deliveries unacknowledged."""
    consume = consumer.consume

    def consume_after_qos(*args, **kwargs):
        consumer.qos(prefetch_count=prefetch)
        return consume(*args, **kwargs)
    return consume_after_qos


class InflightMessages:
    """The message each running worker of an entrypoint was spawned for, so that the worker guard can
    still settle it when the worker dies before its result is handled."""

    def __init__(self):
        self._messages = {}

    def add(self, worker_ctx, message):
        self._messages[worker_ctx] = message

    def pop(self, worker_ctx):
        return self._messages.pop(worker_ctx, None)


def install_worker_guard(container) -> None:
    """Keep ``container`` alive when a worker thread raises outside its service method.

    Nameko kills the container when any worker thread ends with an exception (a dependency's
    ``get_dependency``, ``worker_setup``, ``worker_result`` or ``worker_teardown`` that raised). The
    guard logs it instead, lets the entrypoint settle its message (``worker_died``), and releases a
    timer waiting for the worker. Installed once per container by the guarded entrypoints."""
    if getattr(container, "_tdkt_worker_guard", False):
        return
    container._tdkt_worker_guard = True
    handle_exited = container._handle_worker_thread_exited

    def guarded(gt, worker_ctx):
        try:
            gt.wait()
        except GreenletExit:
            pass
        except Exception as exc:
            container._worker_threads.pop(worker_ctx, None)
            log.critical("worker %s died outside its method (%s); the service goes on",
                         worker_ctx.entrypoint.method_name, describe(exc), exc_info=True)
            _settle(worker_ctx, sys.exc_info())
            return
        handle_exited(gt, worker_ctx)

    container._handle_worker_thread_exited = guarded


def _settle(worker_ctx, exc_info) -> None:
    entrypoint = worker_ctx.entrypoint
    try:
        if isinstance(entrypoint, Timer):
            if not entrypoint.worker_complete.ready():
                entrypoint.worker_complete.send()
        elif hasattr(entrypoint, "worker_died"):
            entrypoint.worker_died(worker_ctx, exc_info)
    except Exception:
        log.exception("the message of a dead worker could not be settled")
