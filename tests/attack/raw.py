"""Publishing what a client may put on the wire but py-amqp's own encoder would never write: raw content
header bytes (property strings that are not UTF-8, header tables with values py-amqp cannot read back)."""
from __future__ import annotations

import struct
from urllib.parse import unquote, urlsplit

import amqp
from amqp.basic_message import Message


def shortstr(value) -> bytes:
    value = value.encode("utf-8") if isinstance(value, str) else value
    return struct.pack("B", len(value)) + value


def table(*items) -> bytes:
    """An AMQP field table from ``(key, typed_value_bytes)`` pairs, written as is."""
    data = b"".join(shortstr(key) + value for key, value in items)
    return struct.pack(">I", len(data)) + data


def timestamp(seconds: int) -> bytes:
    return b"T" + struct.pack(">Q", seconds)


def nested(depth: int) -> bytes:
    value = b"V"
    for _ in range(depth):
        data = shortstr("k") + value
        value = b"F" + struct.pack(">I", len(data)) + data
    return value


class RawMessage(Message):
    """A message whose content header properties are the given raw bytes (each a shortstr or table)."""

    FLAGS = {"content_type": 0x8000, "content_encoding": 0x4000, "application_headers": 0x2000,
             "delivery_mode": 0x1000, "correlation_id": 0x0400, "reply_to": 0x0200, "message_id": 0x0080}

    def __init__(self, body: bytes, **raw):
        super().__init__(body)
        self._raw = raw

    def _serialize_properties(self):
        flags, out = 0, b""
        for name, flag in self.FLAGS.items():  # in the order of the AMQP property list
            if name not in self._raw:
                continue
            flags |= flag
            value = self._raw[name]
            if name == "application_headers":
                out += value
            elif name == "delivery_mode":
                out += struct.pack("B", value)
            else:
                out += shortstr(value)
        return struct.pack(">H", flags) + out


def connect(amqp_uri: str) -> amqp.Connection:
    parts = urlsplit(amqp_uri)
    connection = amqp.Connection(f"{parts.hostname}:{parts.port or 5672}", userid=unquote(parts.username),
                                 password=unquote(parts.password), virtual_host=unquote(parts.path[1:]) or "/",
                                 confirm_publish=True)
    connection.connect()
    return connection


def publish_raw(amqp_uri: str, exchange: str, routing_key: str, body: bytes, **raw) -> None:
    """Publish (confirmed) a message with raw properties, e.g. ``message_id=b"\\xff"``,
    ``application_headers=table(("t", timestamp(2**63)))``."""
    raw.setdefault("content_type", "application/json")
    raw.setdefault("content_encoding", "utf-8")
    raw.setdefault("delivery_mode", 2)
    connection = connect(amqp_uri)
    try:
        connection.channel().basic_publish(RawMessage(body, **raw), exchange=exchange, routing_key=routing_key)
    finally:
        connection.close()
