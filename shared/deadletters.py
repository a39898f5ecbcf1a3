"""Dead letters: what an operator sees of ``dlq.<service>`` and how a message is replayed.

A dead letter keeps its body, message id and headers; RabbitMQ's ``x-death`` header names the queue it
died in, which is where a replay sends it back (with the attempt count reset).
"""
from __future__ import annotations

import json

from kombu import Connection

from shared.config import redact
from shared.messaging import ATTEMPTS, dead_letter_queue

SECRET_KEYS = ("ballot_token", "auth_token")
CONNECT_TIMEOUT = 5  # seconds; an operator's command must not hang on a broker out of reach


def _origin(message) -> str | None:
    deaths = (message.headers or {}).get("x-death") or []
    return deaths[0].get("queue") if deaths else None


def _preview(body: bytes, width: int = 160) -> str:
    """The body with secrets masked, cut to ``width`` characters."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:width].decode("utf-8", "replace")
    if isinstance(data, dict):
        data = {key: "***" if key in SECRET_KEYS else value for key, value in data.items()}
    return json.dumps(data, ensure_ascii=False)[:width]


def peek(amqp_uri: str, service: str, limit: int = 100) -> list[dict]:
    """Up to ``limit`` dead letters of ``service``, left in their queue, in their order."""
    found, taken = [], []
    with Connection(amqp_uri, connect_timeout=CONNECT_TIMEOUT) as connection:
        channel = connection.channel()
        queue = existing_dead_letter_queue(channel, service)
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            taken.append(message)
            found.append({"message_id": message.properties.get("message_id"), "queue": _origin(message),
                          "routing_key": (message.headers or {}).get("x-death", [{}])[0].get("routing-keys",
                                                                                             [None])[0],
                          "attempts": (message.headers or {}).get(ATTEMPTS, 0), "body": _preview(message.body)})
        for message in taken:
            message.requeue()
        queue.queue_declare(passive=True)  # a round trip: the broker has put them back before we go
        channel.close()
    return found


def replay(amqp_uri: str, service: str, limit: int = 100) -> int:
    """Send up to ``limit`` dead letters back to the queues they died in; return how many."""
    replayed = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True},
                    connect_timeout=CONNECT_TIMEOUT) as connection:
        channel = connection.channel()
        queue = existing_dead_letter_queue(channel, service)
        producer = connection.Producer(channel=connection.channel())
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            origin = _origin(message)
            if origin is None:
                message.reject(requeue=True)
                break
            headers = {k: v for k, v in (message.headers or {}).items() if k not in (ATTEMPTS, "x-death")}
            producer.publish(message.body, exchange="", routing_key=origin, headers=headers,
                             content_type=message.content_type, content_encoding=message.content_encoding,
                             message_id=message.properties.get("message_id"), delivery_mode=2)
            message.ack()
            replayed += 1
    return replayed


def existing_dead_letter_queue(channel, service: str):
    """``dlq.<service>`` as the services declared it, looked up passively: a passive declare ignores
    the queue's arguments, so it works whatever its type (classic, or quorum under
    ``TDKT_QUEUE_TYPE=quorum``) and creates nothing; a missing queue raises ``NotFound``."""
    queue = dead_letter_queue(service)(channel)
    queue.queue_declare(passive=True)
    return queue


def explain(exc: BaseException, amqp_uri: str, service: str) -> str | None:
    """One line for what an operator may expect to go wrong (broker out of reach, no such queue, access
    refused), or None for anything else (a bug, to be shown in full)."""
    from amqp import exceptions as amqp_errors
    from kombu.exceptions import OperationalError

    broker = f"RabbitMQ at {redact(amqp_uri)}"
    if isinstance(exc, amqp_errors.NotFound):
        return f"dlq.{service} does not exist at {broker}: has the {service} service ever started there?"
    if isinstance(exc, amqp_errors.AccessRefused):
        return f"{broker} refused access to dlq.{service}: {exc.reply_text or exc}"
    if isinstance(exc, amqp_errors.NotAllowed):
        return f"{broker} does not allow this: {exc.reply_text or exc}"
    if isinstance(exc, (OSError, OperationalError, amqp_errors.ConnectionError)):
        return f"cannot reach {broker}: {exc}"
    return None
