"""What a client of tdkt (the ``tdkt`` command, a clerk's script, a member's mail client) connects with.

Clients never *configure* shared exchanges: ``nameko-rpc``, ``intake.events``, ``review.events`` and
``council.events`` are pre-declared (``deploy/rabbitmq/definitions.json``) and re-created by the services,
and the client users have no configure permission on them, since configure also allows deleting. So a
client looks them up passively: :func:`rpc_proxy` is Nameko's standalone cluster proxy whose reply queue
binds to a passively declared ``nameko-rpc``, and :func:`event_publisher` publishes to a passively
declared ``<service>.events``.
"""
from __future__ import annotations

import uuid

from kombu import Exchange, Queue
from nameko.rpc import RPC_REPLY_QUEUE_TEMPLATE, RPC_REPLY_QUEUE_TTL, get_rpc_exchange
from nameko.standalone.rpc import ClusterRpcProxy, SingleThreadedReplyListener

from shared.platform.messaging import EventPublisher


class PassiveReplyListener(SingleThreadedReplyListener):
    """Nameko's standalone reply listener, binding its reply queue to an exchange it only looks up."""

    def setup(self):
        reply_queue_uuid = uuid.uuid4()
        self.routing_key = str(reply_queue_uuid)
        name = get_rpc_exchange(self.container.config).name
        self.queue = Queue(RPC_REPLY_QUEUE_TEMPLATE.format(self.container.service_name, reply_queue_uuid),
                           exchange=Exchange(name, type="topic", durable=True, passive=True),
                           routing_key=self.routing_key, queue_arguments={"x-expires": RPC_REPLY_QUEUE_TTL})
        self.queue_consumer.register_provider(self)


def rpc_proxy(amqp_uri: str, context_data: dict | None = None, timeout: float | None = None):
    """``with rpc_proxy(uri, {"auth_token": ...}, timeout=30) as proxy: proxy.intake.get_nomination(id)``"""
    return ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data=context_data, timeout=timeout,
                           reply_listener_cls=PassiveReplyListener)


def event_publisher(amqp_uri: str, service: str) -> EventPublisher:
    """Publishes ``service``'s events (a member's client: ``council``), confirmed, to the existing exchange."""
    return EventPublisher(amqp_uri, service, passive=True)
