"""How events cross RabbitMQ: the outbox's publisher and the inbox's event handler entrypoint.

Both speak Nameko's own event format (topic exchange ``<service>.events``, routing key = event type,
JSON body), so any Nameko ``event_handler`` or standalone ``event_dispatcher`` interoperates.
"""
from __future__ import annotations

import hashlib
import logging

from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import PERSISTENT
from nameko.events import SERVICE_POOL, EventHandler

from shared.errors import ValidationError
from shared.outbox import Undeliverable

log = logging.getLogger(__name__)

MESSAGE_ID = "message_id"  # worker context key: the AMQP message id of the event being handled
DEAD_LETTER_EXCHANGE = Exchange("tdkt.dead-letter", type="direct", durable=True)


def dead_letter_queue(service_name: str) -> Queue:
    """Where a service's rejected events go, for an operator to inspect and replay."""
    return Queue(f"dlq.{service_name}", exchange=DEAD_LETTER_EXCHANGE, routing_key=service_name,
                 durable=True, auto_delete=False)


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

    A handler that raises ``ValidationError`` (the payload is malformed) has its message rejected
    without requeue, so it is dead-lettered where the queue has a dead-letter policy; any other error
    requeues the message, since it may be a passing outage of the database.
    """

    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("requeue_on_error", True)
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, **kwargs)

    def setup(self):
        super().setup()
        service = self.container.service_name
        # rejected messages of this queue go to the service's dead-letter queue
        self.queue = Queue(self.queue.name, exchange=self.queue.exchange, routing_key=self.queue.routing_key,
                           durable=True, auto_delete=False, queue_arguments={
                               "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                               "x-dead-letter-routing-key": service})
        self.dead_letters = dead_letter_queue(service)

    def start(self):
        with Connection(self.container.config["AMQP_URI"]) as connection:
            self.dead_letters(connection.default_channel).declare()
        super().start()

    def unpack_message_headers(self, message):
        context = super().unpack_message_headers(message)
        context[MESSAGE_ID] = message_id_of(message)
        return context

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is not None and issubclass(exc_info[0], ValidationError):
            log.error("event %s from %s rejected as malformed: %s", self.event_type,
                      self.source_service, exc_info[1].detail)
            if message.channel.connection:
                message.reject(requeue=False)
            return
        super().handle_message_processed(message, result, exc_info)


inbox_event_handler = InboxEventHandler.decorator
