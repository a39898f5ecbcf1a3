"""How events cross RabbitMQ: the outbox's publisher and the inbox's event handler entrypoint.

Both speak Nameko's own event format (topic exchange ``<service>.events``, routing key = event type,
JSON body), so any Nameko ``event_handler`` or standalone ``event_dispatcher`` interoperates.
"""
from __future__ import annotations

import hashlib
import logging

from kombu import Connection, Exchange, Queue, producers
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import PERSISTENT
from nameko.events import SERVICE_POOL, EventHandler

from shared.config import load_settings
from shared.errors import ValidationError
from shared.outbox import Undeliverable

log = logging.getLogger(__name__)

MESSAGE_ID = "message_id"  # worker context key: the AMQP message id of the event being handled
DEAD_LETTER_EXCHANGE = Exchange("tdkt.dead-letter", type="direct", durable=True)


ATTEMPTS = "x-tdkt-attempts"  # header: how many times handlers failed on this message
MAX_ATTEMPTS = 5


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


def event_exchange(service_name: str) -> Exchange:
    return Exchange(f"{service_name}.events", type="topic", durable=True, delivery_mode=PERSISTENT)


class EventPublisher:
    """Publishes one event and returns once RabbitMQ has confirmed it (persistent, mandatory)."""

    def __init__(self, amqp_uri: str, service_name: str):
        self.exchange = event_exchange(service_name)
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, declare=[self.exchange])

    def __call__(self, event_type: str, payload: dict, event_id: str, headers: dict):
        try:
            self.publisher.publish(payload, exchange=self.exchange, routing_key=event_type,
                                   message_id=event_id, headers=headers)
        except UndeliverableMessage:
            raise Undeliverable(event_type) from None


def message_id_of(message) -> str:
    """The publisher's message id, or for clients that set none, a digest of route and body."""
    given = message.properties.get("message_id")
    if given:
        return str(given)[:128]
    route = message.delivery_info.get("routing_key", "")
    return "sha256:" + hashlib.sha256(route.encode() + b"\0" + message.body).hexdigest()


class InboxEventHandler(EventHandler):
    """A reliable, service-pool event handler that passes the message id on for the inbox.

    A handler that raises ``ValidationError`` (the payload is malformed) has its message dead-lettered
    at once to ``dlq.<service>``. Any other error (a database outage, a bug) sends the message to
    ``<queue>.retry``, from which it returns after a delay that doubles from ``TDKT_RETRY_SECONDS``;
    after ``MAX_ATTEMPTS`` it is dead-lettered too, so one poison message never stops the others.
    """

    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, **kwargs)

    def setup(self):
        super().setup()
        service, settings = self.container.service_name, load_settings()
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
        with Connection(self.amqp_uri) as connection:
            self.dead_letters(connection.default_channel).declare()
            self.retries(connection.default_channel).declare()
        super().start()

    def unpack_message_headers(self, message):
        context = super().unpack_message_headers(message)
        context[MESSAGE_ID] = message_id_of(message)
        return context

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        if not message.channel.connection:
            return  # the broker has taken the message back already
        attempts = int((message.headers or {}).get(ATTEMPTS, 0)) + 1
        if issubclass(exc_info[0], ValidationError) or attempts >= MAX_ATTEMPTS:
            why = exc_info[1].detail if issubclass(exc_info[0], ValidationError) else repr(exc_info[1])
            log.error("event %s from %s (message %s) dead-lettered after %d attempt(s): %s", self.event_type,
                      self.source_service, message_id_of(message), attempts, why)
            message.reject(requeue=False)
            return
        delay = self.retry_seconds * 2 ** (attempts - 1)
        try:
            with producers[Connection(self.amqp_uri, transport_options={"confirm_publish": True})].acquire(
                    block=True, timeout=10) as producer:
                producer.publish(message.body, exchange="", routing_key=self.retries.name,
                                 headers={**(message.headers or {}), ATTEMPTS: attempts},
                                 content_type=message.content_type, content_encoding=message.content_encoding,
                                 message_id=message.properties.get("message_id"), delivery_mode=PERSISTENT,
                                 expiration=delay, retry=True)
        except Exception:  # the retry queue is out of reach: let the broker redeliver it
            log.exception("event %s: cannot schedule a retry; requeued", self.event_type)
            message.requeue()
            return
        log.warning("event %s from %s (message %s) failed (%r); retry %d in %.1fs", self.event_type,
                    self.source_service, message_id_of(message), exc_info[1], attempts, delay)
        message.ack()


inbox_event_handler = InboxEventHandler.decorator
