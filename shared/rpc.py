"""Nameko's RPC entrypoint, hardened against requests a client can forge.

Nameko 2.14 answers every request on its ``reply_to``; a request without one (or one whose answer the
broker refuses to route) raises inside the consumer and stops the whole service, and since the request
is never acknowledged it stops it again on every restart. Here such a request is dropped (acknowledged,
logged) and a reply the broker refuses is logged: the request's effect is already committed, and the
caller retries idempotently after its timeout.
"""
import logging
import re

from kombu import Queue
from nameko.rpc import Rpc, RpcConsumer

from shared.config import load_settings
from shared.messaging import queue_arguments

log = logging.getLogger(__name__)
REPLY_TO = re.compile(r"^[0-9a-fA-F-]{32,36}$")  # Nameko's clients reply on a uuid routing key


class SafeRpcConsumer(RpcConsumer):
    def setup(self):
        super().setup()
        queue_type = load_settings().queue_type
        if queue_type == "quorum" and self.queue is not None:  # replicated across a cluster's nodes
            self.queue = Queue(self.queue.name, exchange=self.queue.exchange, routing_key=self.queue.routing_key,
                               durable=True, queue_arguments=queue_arguments(queue_type))

    def handle_message(self, body, message):
        reply_to = message.properties.get("reply_to")
        if not isinstance(reply_to, str) or not REPLY_TO.match(reply_to) \
                or not message.properties.get("correlation_id"):
            log.warning("rpc request %s dropped: no valid reply_to or correlation_id",
                        message.delivery_info.get("routing_key"))
            self.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except Exception:  # the broker refused or lost the reply; the request itself is done
            log.exception("rpc reply to %s could not be sent", message.delivery_info.get("routing_key"))
            self.queue_consumer.ack_message(message)
            return result, exc_info


class SafeRpc(Rpc):
    rpc_consumer = SafeRpcConsumer()


rpc = SafeRpc.decorator
