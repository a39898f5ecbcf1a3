"""The outbox relay's publisher: a batch of events published together, then their confirms awaited
together (RabbitMQ publisher confirms, tracked by delivery tag), instead of one round trip each.

Each event goes out as Nameko's ``event_dispatcher`` sends it (JSON, persistent, priority 0,
``mandatory``, the event id as ``message_id``) to ``<service>.events``. For each one the publisher
says how it ended: confirmed and routed (None), returned unroutable (``Undeliverable``: no queue is
bound yet), refused (``NotConfirmed``: a nack), or unknown (the exception: a lost connection, a
confirm that did not come in time). Only a confirmed event may leave the outbox: an event whose fate
is unknown is published again, and its consumers' inboxes make the copy harmless.

The frames of a batch are written to the socket in one write where py-amqp allows it. A connection
in doubt is dropped without the closing handshake (a silent broker would never answer it); one the
broker closed over an event it will not take (too large, say) is replaced, and the batch published
again one event at a time, so that the events before that one are delivered once.
"""
from __future__ import annotations

import logging
import threading
import time

import eventlet
from amqp import Message
from amqp.exceptions import ChannelError
from kombu import Connection
from kombu.serialization import dumps

from shared.platform.outbox import NotConfirmed, Undeliverable

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT = 30.0  # seconds without a frame from the broker (or a write) before a batch is given up
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0  # a graceful close at stop waits this long for the broker's answer
# the connection has no heartbeat (the relay only writes, and waits for answers when it does): one idle
# this long is replaced before it is used, rather than found dead (a firewall, a NAT) by a batch that
# then waits CONFIRM_TIMEOUT for answers that cannot come
IDLE_RECONNECT = 60.0


class BatchPublisher:
    """``publish_many([(event_type, payload, event_id, headers), ...])`` returns one outcome per event
    in order (None, ``Undeliverable`` or another exception), possibly fewer when the connection broke:
    the rest are unknown. Also callable for one event, like ``EventPublisher``."""

    def __init__(self, amqp_uri: str, exchange, confirm_timeout: float = CONFIRM_TIMEOUT):
        self.amqp_uri, self.exchange, self.confirm_timeout = amqp_uri, exchange, confirm_timeout
        self._lock = threading.Lock()
        self._connection = self._channel = None
        self._closed = False
        self._used_at = time.monotonic()  # when the connection was last opened or used
        # confirm mode numbers a channel's publishes from 1: the last one sent; every tag up to
        # ``_upto`` answered (acked unless in ``_failed``); tags answered singly beyond it
        self._sent = self._upto = 0
        self._acked, self._failed, self._returned = set(), set(), set()

    def __call__(self, event_type: str, payload: dict, event_id: str, headers: dict):
        outcome = self.publish_many([(event_type, payload, event_id, headers)])
        if outcome and outcome[0] is not None:
            raise outcome[0]

    def publish_many(self, events: list) -> list:
        with self._lock:
            try:
                return self._publish(events)
            except ChannelError as exc:  # the broker would not take one of them: which one?
                log.warning("outbox: RabbitMQ refused a batch of %d (%s); one at a time", len(events), exc)
                self._discard()
                return self._one_at_a_time(events)
            except Exception as exc:  # the connection is in doubt: a new one for the next batch
                log.warning("outbox: publishing a batch of %d failed (%s); reconnecting", len(events), exc)
                self._discard()
                return [exc]

    def close(self):
        """At stop: no connection is opened after this; the open one is closed (a batch publishing on
        it fails, its events stay in the outbox)."""
        self._closed = True
        self._discard(graceful=True)

    def _one_at_a_time(self, events: list) -> list:
        outcomes = []
        for event in events:
            try:
                outcomes += self._publish([event])
            except Exception as exc:
                self._discard()
                return outcomes + [exc]
        return outcomes

    def _discard(self, graceful: bool = False):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is None:
            return
        if graceful:
            try:
                with eventlet.Timeout(CLOSE_TIMEOUT):
                    connection.release()
                return
            except (Exception, eventlet.Timeout):
                pass
        try:  # no handshake: the broker sees the socket close
            connection.connection.transport.close()
        except Exception:
            pass

    # --- one batch ---------------------------------------------------------------------------------
    def _publish(self, events: list) -> list:
        if self._channel is not None and time.monotonic() - self._used_at > IDLE_RECONNECT:
            self._discard(graceful=True)
        channel = self._channel or self._open()
        self._used_at = time.monotonic()
        first = self._sent + 1
        with one_write(channel.connection.transport):
            for event_type, payload, event_id, headers in events:
                content_type, encoding, body = dumps(payload, serializer="json")
                channel.basic_publish(Message(body, content_type=content_type, content_encoding=encoding,
                                              delivery_mode=2, priority=0, application_headers=dict(headers or {}),
                                              message_id=event_id),
                                      exchange=self.exchange.name, routing_key=event_type, mandatory=True)
                self._sent += 1
        outcomes = []
        for tag, (event_type, _payload, event_id, _headers) in enumerate(events, start=first):
            while not (tag <= self._upto or tag in self._acked or tag in self._failed):
                self._connection.drain_events(timeout=self.confirm_timeout)  # socket.timeout: not confirmed
            if tag in self._failed:
                outcomes.append(NotConfirmed(f"RabbitMQ did not accept {event_type} {event_id}"))
            elif event_id in self._returned:
                outcomes.append(Undeliverable(event_type))
            else:
                outcomes.append(None)
        self._forget(self._sent)  # all answered
        return outcomes

    def _open(self):
        if self._closed:
            raise RuntimeError("the publisher was closed (the service is stopping)")
        connection = Connection(self.amqp_uri, heartbeat=0, connect_timeout=CONNECT_TIMEOUT, transport_options={
            "read_timeout": self.confirm_timeout, "write_timeout": self.confirm_timeout})
        connection.ensure_connection(max_retries=1)
        channel = connection.channel()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        channel.confirm_select()
        self.exchange(channel).declare()
        self._connection, self._channel = connection, channel
        self._sent = 0  # a new channel numbers its publishes from 1 again
        self._forget(0)
        return channel

    def _forget(self, upto: int):
        """Every tag up to ``upto`` answered, and nothing known beyond it."""
        self._upto = upto
        self._acked.clear()
        self._failed.clear()
        self._returned.clear()

    # RabbitMQ may answer out of order, one tag or all up to one at a time
    def _on_ack(self, tag: int, multiple: bool):
        if multiple:
            self._upto = max(self._upto, tag)
        else:
            self._acked.add(tag)

    def _on_nack(self, tag: int, multiple: bool):
        if multiple:
            self._failed.update(t for t in range(self._upto + 1, tag + 1) if t not in self._acked)
            self._upto = max(self._upto, tag)
        else:
            self._failed.add(tag)

    def _on_return(self, _exc, _exchange, _routing_key, message):
        message_id = (message.properties or {}).get("message_id")
        if message_id:
            self._returned.add(message_id)


class one_write:
    """Collects what py-amqp writes to the socket and sends it in one write on leaving (without
    py-amqp's ``_write`` hook, it writes as usual)."""

    def __init__(self, transport):
        self.transport, self.chunks = transport, []

    def __enter__(self):
        self.original = getattr(self.transport, "_write", None)
        if self.original is not None:
            self.transport._write = self._keep
        return self

    def _keep(self, chunk):
        self.chunks.append(bytes(chunk))  # py-amqp writes views of a buffer it reuses for the next frame

    def __exit__(self, *exc):
        if self.original is None:
            return
        self.transport._write = self.original
        if exc[0] is None and self.chunks:
            self.original(b"".join(self.chunks))
