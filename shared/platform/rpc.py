"""Nameko's RPC entrypoint, hardened against requests a client can forge.

Every request ends in exactly one of: a reply (the result, or an error such as ``ValidationError``,
``MalformedRequest`` or ``MethodNotFound`` when the body, the method or the arguments are wrong), or,
when it names no one to answer (no valid ``reply_to`` or ``correlation_id``) or was dead-lettered on its
way (``x-death``: a queue a client may declare re-published it under a routing key of its choosing, past
the client's topic permissions), a drop with a log line.
Replies go out on a connection of the service's own, their confirms read as they come
(:mod:`shared.platform.replies`); one the broker refuses or loses twice is logged: the request's
effect is already committed, and the caller retries idempotently after its timeout. Bodies kombu
cannot decode, forged context headers and workers that die outside their method are handled by
:mod:`shared.platform.guard`; none of them stops the service.
"""
import logging
import re

from kombu import Queue
from nameko.exceptions import ContainerBeingKilled, MalformedRequest
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange

from shared.platform.config import load_settings
from shared.contract.errors import ValidationError
from shared.platform.guard import GuardedQueueConsumer, InflightMessages, install_worker_guard, safe_context
from shared.platform.messaging import queue_arguments
from shared.platform.replies import Replies

log = logging.getLogger(__name__)
REPLY_TO = re.compile(r"[0-9a-fA-F-]{32,36}")  # Nameko's clients reply on a uuid routing key
MAX_CORRELATION_ID = 256


def answerable(message) -> bool:
    """Whether a reply can be addressed: a uuid ``reply_to`` and a short string correlation id."""
    properties = message.properties
    reply_to, correlation_id = properties.get("reply_to"), properties.get("correlation_id")
    return (isinstance(reply_to, str) and REPLY_TO.fullmatch(reply_to) is not None
            and isinstance(correlation_id, str) and 0 < len(correlation_id) <= MAX_CORRELATION_ID)


def dead_lettered(message) -> bool:
    """Whether the request carries ``x-death``: re-published by a dead-letter queue, not sent by a client."""
    try:
        headers = message.headers
    except Exception:  # noqa: BLE001 - properties the guard could not read
        return False
    return isinstance(headers, dict) and "x-death" in headers


DEAD_LETTERED = "dead-lettered on its way, so not a call as its client sent it"


class SafeRpcConsumer(RpcConsumer):
    queue_consumer = GuardedQueueConsumer()
    replies = Replies()

    def setup(self):
        super().setup()
        self.exchange_name = get_rpc_exchange(self.container.config).name
        install_worker_guard(self.container)
        queue_type = load_settings().queue_type
        if queue_type == "quorum" and self.queue is not None:  # replicated across a cluster's nodes
            self.queue = Queue(self.queue.name, exchange=self.queue.exchange, routing_key=self.queue.routing_key,
                               durable=True, queue_arguments=queue_arguments(queue_type))

    def handle_message(self, body, message):
        if not answerable(message):
            self.drop(message, "no valid reply_to or correlation_id")
            return
        if dead_lettered(message):
            self.drop(message, DEAD_LETTERED)
            return
        if not isinstance(body, dict):
            self.handle_result(message, None, _error(MalformedRequest("the request body must be a JSON object")))
            return
        super().handle_message(body, message)

    def handle_result(self, message, result, exc_info):
        # always JSON (Nameko answers in the request's own serialisation: pickle, for a request that
        # claims to be pickled), written on the service's reply connection (shared.platform.replies)
        try:
            result, exc_info = self.replies.send(self.exchange_name, message.properties["reply_to"],
                                                 message.properties["correlation_id"], result, exc_info)
        except Exception:  # the broker refused or lost the reply; the request itself is done
            log.exception("rpc reply to %s could not be sent", message.delivery_info.get("routing_key"))
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def refuse(self, message, reason: str):
        """A request the guard refused before any worker ran: answered with the reason if possible."""
        if not answerable(message):
            self.drop(message, reason)
            return
        if dead_lettered(message):  # whatever else is wrong with it, nobody is waiting for its answer
            self.drop(message, f"{DEAD_LETTERED} ({reason})")
            return
        log.warning("rpc request %s refused: %s", message.delivery_info.get("routing_key"), reason)
        self.handle_result(message, None, _error(ValidationError({"_request": [reason]})))

    def drop(self, message, reason: str):
        log.warning("rpc request %s dropped: %s", message.delivery_info.get("routing_key"), reason)
        self.queue_consumer.ack_message(message)


class SafeRpc(Rpc):
    """An RPC entrypoint that takes only well-typed context headers and settles its request even when
    its worker dies outside the method."""

    rpc_consumer = SafeRpcConsumer()

    def setup(self):
        super().setup()
        self.inflight = InflightMessages()

    def unpack_message_headers(self, message):
        return safe_context(message)

    def handle_message(self, body, message):
        args, kwargs = body.get("args"), body.get("kwargs")
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
            raise MalformedRequest("the request needs a list `args` and an object `kwargs`")
        self.check_signature(args, kwargs)
        try:
            worker_ctx = self.container.spawn_worker(self, args, kwargs, context_data=safe_context(message),
                                                     handle_result=lambda ctx, result, exc_info:
                                                     self.handle_result(message, ctx, result, exc_info))
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)
            return
        self.inflight.add(worker_ctx, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        self.inflight.pop(worker_ctx)
        return super().handle_result(message, worker_ctx, result, exc_info)

    def worker_died(self, worker_ctx, exc_info):
        message = self.inflight.pop(worker_ctx)
        if message is not None:
            self.rpc_consumer.handle_result(message, None, exc_info)


def _error(exc: Exception):
    try:
        raise exc
    except Exception as raised:
        return type(raised), raised, raised.__traceback__


rpc = SafeRpc.decorator
