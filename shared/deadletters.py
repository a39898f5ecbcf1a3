"""Dead letters: what an operator sees of ``dlq.<service>`` and how a message is replayed.

A dead letter keeps its body, message id and headers; RabbitMQ's ``x-death`` header names the queue it
died in, which is where a replay sends it back (with the attempt count reset).
"""
from __future__ import annotations

import json

from kombu import Connection

from shared.config import load_settings
from shared.messaging import ATTEMPTS, dead_letter_queue

SECRET_KEYS = ("ballot_token", "auth_token")


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
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        queue = dead_letter_queue(service, load_settings().queue_type)(channel)
        queue.declare()
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
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        queue = dead_letter_queue(service, load_settings().queue_type)(channel)
        queue.declare()
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
