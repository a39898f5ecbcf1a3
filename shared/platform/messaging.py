"""How events cross RabbitMQ: the outbox's publisher and the inbox's event handler entrypoint.

Both speak Nameko's own event format (topic exchange ``<service>.events``, routing key = event type,
JSON body), so any Nameko ``event_handler`` or standalone ``event_dispatcher`` interoperates.

Long because the inbox entrypoint's paths (handled, retried later, dead-lettered, handled in a batch)
read best together.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import threading
from dataclasses import dataclass

import eventlet
from amqp.exceptions import MessageNacked, NotFound
from kombu import Connection, Exchange, Queue, producers
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import DEFAULT_PARENT_CALLS_TRACKED, PARENT_CALLS_CONFIG_KEY, PERSISTENT
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import ContainerBeingKilled

from shared.platform.config import load_settings
from shared.contract.errors import ValidationError
from shared.platform.guard import (GuardedQueueConsumer, InflightMessages, body_bytes, describe, header_count,
                                   install_worker_guard, printable, safe_context, refuse as refuse_quietly)
from shared.platform.outbox import NotConfirmed, Undeliverable

log = logging.getLogger(__name__)

MESSAGE_ID = "message_id"  # worker context key: the AMQP message id of the event being handled
DEAD_LETTER_EXCHANGE = Exchange("tdkt.dead-letter", type="direct", durable=True)


ATTEMPTS = "x-tdkt-attempts"  # header: how many times handlers failed on this message
MAX_ATTEMPTS = 5
REASON = "x-tdkt-reason"  # header of a dead letter: why it was dead-lettered
ORIGIN_QUEUE = "x-tdkt-queue"  # header of a dead letter: the queue it was taken from (for a replay)
MAX_MESSAGE_ID = 128
BATCH_LIMIT = 25  # deliveries one batch worker handles at most
BATCH_WORKERS = 2  # workers of one batch=True handler at a time (others wait, and are handed over together)
BATCH_PREFETCH = 2 * BATCH_LIMIT  # deliveries a batch=True handler's consumer holds unacknowledged


def queue_arguments(queue_type: str, **arguments) -> dict:
    """Arguments of a durable queue; quorum queues are replicated across a cluster's nodes."""
    return {**arguments, "x-queue-type": queue_type} if queue_type == "quorum" else arguments


def retry_queue(queue_name: str, queue_type: str = "classic") -> Queue:
    """Holds a failed message until its per-message TTL ends, then returns it to ``queue_name``."""
    return Queue(f"{queue_name}.retry", durable=True, auto_delete=False, queue_arguments=queue_arguments(
        queue_type, **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name}))


def dead_letter_queue(service_name: str, queue_type: str = "classic") -> Queue:
    """Where a service's rejected events go, for an operator to inspect and replay."""
    return Queue(f"dlq.{service_name}", exchange=DEAD_LETTER_EXCHANGE, routing_key=service_name,
                 durable=True, auto_delete=False, queue_arguments=queue_arguments(queue_type))


def event_exchange(service_name: str, passive: bool = False) -> Exchange:
    return Exchange(f"{service_name}.events", type="topic", durable=True, delivery_mode=PERSISTENT,
                    passive=passive)


class EventPublisher:
    """Publishes one event and returns once RabbitMQ has confirmed it (persistent, mandatory)."""

    def __init__(self, amqp_uri: str, service_name: str, passive: bool = False):
        self.exchange = event_exchange(service_name, passive)
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, declare=[self.exchange])

    def __call__(self, event_type: str, payload: dict, event_id: str, headers: dict):
        try:
            self.publisher.publish(payload, exchange=self.exchange, routing_key=event_type,
                                   message_id=event_id, headers=headers)
        except UndeliverableMessage:
            raise Undeliverable(event_type) from None
        except OperationalError as exc:  # kombu's wrapping of a nack: the broker refused it
            if isinstance(exc.__cause__, MessageNacked):
                raise NotConfirmed(event_type) from None
            raise


_DECLARING = threading.Lock()
DECLARE_ATTEMPTS = 3


def declare_queues(amqp_uri: str, queues) -> None:
    """Declare ``queues`` (idempotent), one declaration at a time in this process, and again after a
    moment when RabbitMQ answers ``NOT_FOUND - home node ... is down or inaccessible``: its answer to
    one of two declarations of a new durable queue made at once (each of a service's event handlers
    declares the service's dead-letter queue as the container starts; a second replica may too)."""
    for attempt in range(1, DECLARE_ATTEMPTS + 1):
        try:
            with _DECLARING, Connection(amqp_uri) as connection:
                for queue in queues:
                    queue(connection.default_channel).declare()
            return
        except NotFound as exc:
            if "home node" not in str(exc) or attempt == DECLARE_ATTEMPTS:
                raise
            log.warning("declaring %s: %s; again", ", ".join(q.name for q in queues), exc)
            eventlet.sleep(0.2 * attempt)


def message_id_of(message) -> str:
    """The publisher's message id (a short printable string), or else a digest of it, or for clients
    that set none, a digest of route and body: two identical deliveries are one message, two different
    bodies two, whatever type py-amqp gave the body."""
    given = message.properties.get("message_id")
    if isinstance(given, str) and given and len(given) <= MAX_MESSAGE_ID and given.isprintable():
        return given
    if given:
        return "sha256:" + hashlib.sha256(body_bytes(given)).hexdigest()
    route = str((message.delivery_info or {}).get("routing_key", ""))
    return "sha256:" + hashlib.sha256(body_bytes(route) + b"\0" + body_bytes(message.body)).hexdigest()


def publishable_body(message) -> tuple[bytes, str]:
    """The body and content encoding to publish a copy of ``message`` with, byte for byte (``message``
    is kombu's or py-amqp's)."""
    encoding = message.properties.get("content_encoding")
    encoding = encoding if isinstance(encoding, str) else None
    if isinstance(message.body, str):
        try:
            return message.body.encode(encoding or "utf-8"), encoding or "utf-8"
        except (LookupError, UnicodeError):
            return body_bytes(message.body), "utf-8"
    return body_bytes(message.body), encoding or "binary"


def kept_headers(message) -> dict:
    """The only headers of a message that tdkt publishes again (retry, dead letter, replay): the Nameko
    call id stack, when well typed. A sender's other headers stay behind: ``CC``/``BCC`` would route the
    copy to any queue by name on the default exchange, a forged ``x-tdkt-queue`` would steer a replay,
    and a large table would not fit the copy in a frame."""
    stack = safe_context(message).get("call_id_stack")
    return {"nameko.call_id_stack": stack} if stack else {}


def content_type_of(message) -> str:
    content_type = message.properties.get("content_type")
    return content_type if isinstance(content_type, str) and content_type else "application/octet-stream"


@dataclass
class BatchItem:
    payload: object
    message_id: str
    call_id_stack: list


@dataclass(repr=False)
class Batch:
    """Deliveries of one ``batch=True`` handler's queue that were waiting together, handled by one worker
    in one transaction: the handler runs once per delivery, in order, as it would alone (its claim, its
    effects, its ``uow.commit()``), and the store commits once after the last. ``Store`` binds it to
    its worker's unit of work (in batch mode, see ``UnitOfWork.begin_item``)."""

    items: list[BatchItem]
    uow: object = None
    call_id: str = ""
    calls_tracked: int = DEFAULT_PARENT_CALLS_TRACKED

    def bind(self, uow, worker_ctx) -> None:
        """The unit of work the deliveries share, and what each one's call id stack is made of: its
        sender's stack and this worker's call id, as long as Nameko keeps one."""
        self.uow, self.call_id = uow, worker_ctx.call_id
        self.calls_tracked = worker_ctx.config.get(PARENT_CALLS_CONFIG_KEY, DEFAULT_PARENT_CALLS_TRACKED)

    def __len__(self):
        return len(self.items)

    def __repr__(self):  # never the payloads, whatever prints an entrypoint's arguments
        return f"<Batch of {len(self.items)} deliveries>"

    def run(self, handle) -> None:
        if self.uow is None:
            raise RuntimeError("a batch of events needs the service's Store")
        try:
            for item in self.items:
                stack = (list(item.call_id_stack) + [self.call_id])[-(self.calls_tracked + 1):]
                self.uow.begin_item(item.message_id, {"nameko.call_id_stack": stack})
                handle(item.payload)
                self.uow.end_item()
            self.uow.commit_batch()
        except BaseException:  # a kill too (GreenletExit): the transaction and its locks end here
            self.uow.abandon()
            raise


def batch_of(worker_ctx) -> Batch | None:
    """The batch a worker was given, if it was given one."""
    args = worker_ctx.args or ()
    return args[0] if len(args) == 1 and isinstance(args[0], Batch) else None


class InboxEventHandler(EventHandler):
    """A reliable, service-pool event handler that passes the message id on for the inbox.

    A handler that raises ``ValidationError`` (the payload is malformed) has its message dead-lettered
    at once to ``dlq.<service>`` with the reason in its ``x-tdkt-reason`` header; so has a message the
    guard refuses (a body that cannot be decoded, or too large). Any other error (a database outage, a
    bug) sends the message to ``<queue>.retry``, from which it returns after a delay that doubles from
    ``TDKT_RETRY_SECONDS``; after ``MAX_ATTEMPTS`` it is dead-lettered too, so one poison message never
    stops the others.

    With ``batch=True`` (see :func:`inbox_event_handler`), deliveries that arrive while one is being
    handed over are handled together by one worker (a :class:`Batch`, one transaction, one commit) and
    acknowledged after it; if the batch fails in any way, each of its deliveries is handled again alone,
    with the paths above, so a batch changes what a message costs and nothing of what becomes of it.
    """

    queue_consumer = GuardedQueueConsumer()

    def __init__(self, source_service, event_type, batch: bool = False, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, **kwargs)
        self.batch = batch
        self.prefetch_count = BATCH_PREFETCH if batch else None  # None: the consumer's, max_workers
        self._waiting = []
        self._gathering = False
        self._counted = set()  # this handler's workers that the deliveries in _waiting wait for
        self._stopping = False

    def setup(self):
        super().setup()
        install_worker_guard(self.container)
        self.inflight = InflightMessages()
        service, settings = self.container.service_name, load_settings()
        self.service = service
        # rejected messages of this queue go to the service's dead-letter queue
        self.queue = Queue(self.queue.name, exchange=self.queue.exchange, routing_key=self.queue.routing_key,
                           durable=True, auto_delete=False, queue_arguments=queue_arguments(
                               settings.queue_type, **{"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                                                       "x-dead-letter-routing-key": service}))
        self.dead_letters = dead_letter_queue(service, settings.queue_type)
        self.retries = retry_queue(self.queue.name, settings.queue_type)
        self.retry_seconds = settings.retry_seconds
        self.amqp_uri = self.container.config["AMQP_URI"]

    def start(self):
        declare_queues(self.amqp_uri, [self.dead_letters, self.retries])
        super().start()

    def stop(self):
        """No batch starts once the container stops: deliveries still waiting are never acknowledged,
        so the broker gives them back when the consumer's connection closes."""
        self._stopping = True
        super().stop()

    def kept_queues(self):
        """What the guard's binding keeper declares again and again: this queue, its retries, the DLQ."""
        return [self.queue, self.retries, self.dead_letters]

    def unpack_message_headers(self, message):
        context = safe_context(message)
        context[MESSAGE_ID] = message_id_of(message)
        return context

    def handle_message(self, body, message):
        if not self.batch:
            self._handle_alone(body, message)
            return
        self._waiting.append((body, message))
        self._dispatch_soon()

    def _dispatch_soon(self):
        if not self._gathering:
            self._gathering = True
            self.container.spawn_managed_thread(self._dispatch, identifier=f"{self.method_name}.batch")

    def _dispatch(self):
        """A managed thread (nothing here raises): once the deliveries already read have been handed over
        too, and while fewer than ``BATCH_WORKERS`` of this handler's workers run, one worker for those
        waiting (the usual one for a lone delivery); the rest wait for a worker to end."""
        eventlet.sleep(0)
        self._gathering = False
        while self._waiting and len(self._counted) < BATCH_WORKERS and not self._stopping:
            items, self._waiting = self._waiting[:BATCH_LIMIT], self._waiting[BATCH_LIMIT:]
            worker_ctx = self._handle_together(items) if len(items) > 1 else self._handle_alone(*items[0])
            if worker_ctx is not None:  # else none started here (requeued, refused, or each handed over alone)
                self._counted.add(worker_ctx)

    def _ended(self, worker_ctx):
        """A worker this handler counted has ended: those waiting may go."""
        if worker_ctx in self._counted:
            self._counted.discard(worker_ctx)
            if self._waiting:
                self._dispatch_soon()

    def _handle_together(self, items):
        try:
            batch = Batch([BatchItem(body, message_id_of(message), safe_context(message).get("call_id_stack") or [])
                           for body, message in items])
            worker_ctx = self.container.spawn_worker(
                self, (batch,), {}, context_data={},
                handle_result=lambda ctx, result, exc_info: self._batch_result(items, ctx, result, exc_info))
        except ContainerBeingKilled:
            for _, message in items:
                self.queue_consumer.requeue_message(message)
            return None
        except Exception:
            log.exception("event %s: deliveries could not be handed to a worker together", self.event_type)
            self._one_by_one(items)
            return None
        self.inflight.add(worker_ctx, items)
        return worker_ctx

    def _batch_result(self, items, worker_ctx, result=None, exc_info=None):
        self.inflight.pop(worker_ctx)
        try:
            if exc_info is None:
                for _, message in items:
                    self.queue_consumer.ack_message(message)
            else:
                self._after_failed_batch(items, exc_info)
        finally:
            self._ended(worker_ctx)
        return result, exc_info

    def _after_failed_batch(self, items, exc_info):
        if self._stopping:  # unacknowledged, they come back to a consumer when this one's connection ends
            return
        log.warning("event %s: a batch of %d failed (%s); each is handled alone", self.event_type, len(items),
                    describe(exc_info[1]))
        # from a thread of its own: this worker still holds its place in the pool the others need
        self.container.spawn_managed_thread(lambda: self._one_by_one(items),
                                            identifier=f"{self.method_name}.one_by_one")

    def _one_by_one(self, items):
        for body, message in items:
            self._handle_alone(body, message)

    def _handle_alone(self, body, message):
        """One delivery to one worker; None when none started (the message requeued or refused): nothing
        here raises, as the dispatcher is a managed thread."""
        try:
            worker_ctx = self.container.spawn_worker(
                self, (body,), {}, context_data=self.unpack_message_headers(message),
                handle_result=lambda ctx, result, exc_info: self.handle_result(message, ctx, result, exc_info))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)
            return None
        except Exception as exc:
            log.exception("event %s: a delivery could not be handed to a worker", self.event_type)
            refuse_quietly(self, message, "message refused: " + describe(exc))
            return None
        self.inflight.add(worker_ctx, message)
        return worker_ctx

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        self.inflight.pop(worker_ctx)
        try:
            self.handle_message_processed(message, result, exc_info)
        except Exception as exc:  # settling must never raise in the worker: that would stop the service
            log.exception("event %s: settling a message failed", self.event_type)
            self.refuse(message, "settling failed: " + describe(exc))
        finally:
            self._ended(worker_ctx)
        return result, exc_info

    def worker_died(self, worker_ctx, exc_info):
        message = self.inflight.pop(worker_ctx)
        try:
            if isinstance(message, list):
                self._after_failed_batch(message, exc_info)
            elif message is not None:
                self.handle_message_processed(message, None, exc_info)
        finally:
            self._ended(worker_ctx)

    def refuse(self, message, reason: str):
        """Dead-letter a message no handler may see, with its reason."""
        log.error("event %s from %s (message %s) dead-lettered: %s", self.event_type, self.source_service,
                  message_id_of(message), reason)
        self.dead_letter(message, reason)

    def dead_letter(self, message, reason: str):
        """A copy in ``dlq.<service>`` carrying ``x-tdkt-reason`` and the queue it came from, confirmed
        before the original is acknowledged; if the copy cannot be made, the broker dead-letters the
        original (without a reason)."""
        if not message.channel.connection:
            return  # the broker has taken the message back already
        headers = {**kept_headers(message), REASON: printable(reason, 500), ORIGIN_QUEUE: self.queue.name,
                   ATTEMPTS: header_count(message.headers, ATTEMPTS, MAX_ATTEMPTS)}
        body, encoding = publishable_body(message)
        try:
            self._publish(body, exchange=DEAD_LETTER_EXCHANGE.name, routing_key=self.service, headers=headers,
                          content_type=content_type_of(message), content_encoding=encoding,
                          message_id=message_id_of(message))
        except Exception:
            log.exception("event %s: cannot copy a message to dlq.%s; rejected to it", self.event_type,
                          self.service)
            message.reject(requeue=False)
            return
        message.ack()

    def _publish(self, body, **options):
        with producers[Connection(self.amqp_uri, transport_options={"confirm_publish": True})].acquire(
                block=True, timeout=10) as producer:
            producer.publish(body, delivery_mode=PERSISTENT, retry=True, **options)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        if not message.channel.connection:
            return  # the broker has taken the message back already
        attempts = header_count(message.headers, ATTEMPTS, MAX_ATTEMPTS) + 1
        if issubclass(exc_info[0], ValidationError) or attempts >= MAX_ATTEMPTS:
            why = exc_info[1].detail if issubclass(exc_info[0], ValidationError) else describe(exc_info[1])
            log.error("event %s from %s (message %s) dead-lettered after %d attempt(s): %s", self.event_type,
                      self.source_service, message_id_of(message), attempts, why)
            self.dead_letter(message, f"{'invalid' if attempts == 1 else f'failed {attempts} times'}: {why}")
            return
        delay = self.retry_seconds * 2 ** (attempts - 1)
        body, encoding = publishable_body(message)
        try:  # the retry keeps the message's identity, whatever route it comes back by
            self._publish(body, exchange="", routing_key=self.retries.name,
                          headers={**kept_headers(message), ATTEMPTS: attempts},
                          content_type=content_type_of(message), content_encoding=encoding,
                          message_id=message_id_of(message), expiration=delay)
        except Exception as exc:  # with the broker away the message comes back by itself; else it is
            log.exception("event %s: cannot schedule a retry", self.event_type)  # dead-lettered, not looped
            if message.channel.connection:
                self.dead_letter(message, f"failed {attempts} time(s), and its retry could not be scheduled: "
                                          + describe(exc))
            return
        log.warning("event %s from %s (message %s) failed (%s); retry %d in %.1fs", self.event_type,
                    self.source_service, message_id_of(message), type(exc_info[1]).__name__, attempts, delay)
        message.ack()


def inbox_event_handler(source_service, event_type, batch: bool = False, **kwargs):
    """Declare an inbox event handler (``InboxEventHandler``). With ``batch=True`` the method, still
    written for one ``payload``, is also given a :class:`Batch`, which it runs payload by payload; such a
    handler must make every write inside ``with uow:`` and end it with ``uow.commit()`` (a delivery it
    claims without committing fails the batch, and each delivery is then handled alone)."""
    if not batch:
        return InboxEventHandler.decorator(source_service, event_type, **kwargs)

    def decorate(fn):
        @functools.wraps(fn)
        def method(self, payload):
            if isinstance(payload, Batch):  # never a decoded body: only the entrypoint makes one
                return payload.run(functools.partial(fn, self))
            return fn(self, payload)
        return InboxEventHandler.decorator(source_service, event_type, batch=True, **kwargs)(method)
    return decorate
