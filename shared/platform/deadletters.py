"""Dead letters: what an operator sees of ``dlq.<service>`` and how a message is replayed.

A dead letter keeps its body and message id, and only the headers tdkt writes: ``x-tdkt-reason`` says why
it died and ``x-tdkt-queue`` the queue it died in. A letter the broker dead-lettered itself (when the
copy could not be made) carries the sender's headers and the broker's own ``x-death``, whose first entry
names the queue; that entry is believed, never a ``x-tdkt-queue`` the sender may have forged. A replay
sends a letter back only to a queue of its own service that still exists, with only the Nameko call id
stack among its headers, and takes each letter once (those already in the queue when it starts).
"""
from __future__ import annotations

import json
import re

from amqp import exceptions as amqp_errors
from kombu import Connection

from shared.platform.config import redact
from shared.platform.guard import header_count, printable
from shared.platform.messaging import (ATTEMPTS, MAX_ATTEMPTS, ORIGIN_QUEUE, REASON, content_type_of, dead_letter_queue,
                                       kept_headers, publishable_body)

SECRET_KEYS = ("ballot_token", "auth_token")
CONNECT_TIMEOUT = 5  # seconds; an operator's command must not hang on a broker out of reach


def _headers(message) -> dict:
    headers = message.properties.get("application_headers")
    return headers if isinstance(headers, dict) else {}


def _death(message) -> dict:
    deaths = _headers(message).get("x-death")
    return deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _origin(message, service: str) -> str | None:
    """The event queue of ``service`` the letter died in, or None when no trustworthy one is named."""
    deaths = _headers(message).get("x-death")
    queue = _text(_death(message).get("queue")) if deaths else _text(_headers(message).get(ORIGIN_QUEUE))
    return queue if queue and re.fullmatch(rf"evt-[a-z_]+-[a-z_]+--{re.escape(service)}\.[a-z_]+", queue) else None


def _routing_key(message) -> str | None:
    keys = _death(message).get("routing-keys")
    return _text(keys[0]) if isinstance(keys, list) and keys else _text((message.delivery_info or {}).get("routing_key"))


def _reason(message) -> str:
    reason = _text(_headers(message).get(REASON))
    if reason:
        return reason
    return f"rejected ({_text(_death(message).get('reason')) or 'by the broker'})"


def _preview(body, width: int = 160) -> str:
    """The body with secrets masked, cut to ``width`` characters."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        text = body[:width].decode("utf-8", "replace")
        return "".join(c if c.isprintable() else "\ufffd" for c in text)
    if isinstance(data, dict):
        data = {key: "***" if key in SECRET_KEYS else value for key, value in data.items()}
    return json.dumps(data, ensure_ascii=False)[:width]


def peek(amqp_uri: str, service: str, limit: int = 100) -> list[dict]:
    """Up to ``limit`` dead letters of ``service``, left in their queue, in their order. Messages are
    read raw (py-amqp's), so that one kombu cannot decode is still listed."""
    found, taken = [], []
    with Connection(amqp_uri, connect_timeout=CONNECT_TIMEOUT) as connection:
        channel = connection.channel()
        queue = existing_dead_letter_queue(channel, service)
        for _ in range(limit):
            message = channel.basic_get(queue=queue.name, no_ack=False)
            if message is None:
                break
            taken.append(message.delivery_tag)
            found.append({"message_id": printable(_text(message.properties.get("message_id")) or "", 80),
                          "queue": _origin(message, service), "routing_key": printable(_routing_key(message) or ""),
                          "reason": printable(_reason(message), 300),
                          "attempts": header_count(_headers(message), ATTEMPTS, MAX_ATTEMPTS),
                          "body": _preview(message.body)})
        for tag in taken:
            channel.basic_reject(tag, requeue=True)
        queue.queue_declare(passive=True)  # a round trip: the broker has put them back before we go
        channel.close()
    return found


def replay(amqp_uri: str, service: str, limit: int = 100) -> int:
    """Send up to ``limit`` dead letters back to the queues they died in; return how many. A letter
    naming no queue of ``service`` that exists stays in the dead-letter queue; a replayed letter that
    fails again comes back behind the others and is not taken again by this replay."""
    replayed, kept = 0, []
    with Connection(amqp_uri, transport_options={"confirm_publish": True},
                    connect_timeout=CONNECT_TIMEOUT) as connection:
        channel = connection.channel()
        queue = existing_dead_letter_queue(channel, service)
        waiting = channel.queue_declare(queue.name, passive=True).message_count
        producer = connection.Producer(channel=connection.channel())
        for _ in range(min(limit, waiting)):
            message = channel.basic_get(queue=queue.name, no_ack=False)
            if message is None:
                break
            origin = _origin(message, service)
            if origin is None or not _exists(connection, origin):
                kept.append(message.delivery_tag)
                continue
            body, encoding = publishable_body(message)
            producer.publish(body, exchange="", routing_key=origin, headers=kept_headers(message),
                             content_type=content_type_of(message), content_encoding=encoding,
                             message_id=_text(message.properties.get("message_id")), delivery_mode=2)
            channel.basic_ack(message.delivery_tag)
            replayed += 1
        for tag in kept:
            channel.basic_reject(tag, requeue=True)
    return replayed


def _exists(connection, queue: str) -> bool:
    channel = connection.channel()  # a 404 closes the channel
    try:
        channel.queue_declare(queue, passive=True)
        return True
    except amqp_errors.NotFound:
        return False
    finally:
        if channel.is_open:
            channel.close()


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
