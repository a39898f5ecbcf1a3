"""A mail's bytes on the wire, written straight from its fields for the usual mail (an ASCII address, no
attachment): the bytes ``smtplib.send_message`` would send for ``mail.build_message``'s message, given
the same boundary and date, at a small part of the cost.

The ``email`` package builds a tree of parts, encodes each body, looks for a boundary that no part
holds (a random one, checked with a regular expression compiled anew for each mail) and folds every
header through its generator: in the year-end benchmark that was a third of notify's CPU. Here the
boundary comes from the mail's key (the parts are base64, whose lines never begin with ``--``, so no
boundary can clash with them), the bodies are base64 in one call each, and each header is folded by
the very policy the generator uses (``mail.ONE_LINE``), the subject through :data:`UTF8_LINES`, which
splits its encoded words as the ``email`` package does without encoding it once per character.
tests/unit/test_notify_wire.py compares the bytes with the ``email`` package's for many mails.
"""
from __future__ import annotations

import base64
from email import base64mime, quoprimime
from email.charset import RFC2047_CHROME_LEN, Charset
from email.header import Header
from email.utils import formatdate

from services.notify.domain import message_id, safe_header


class _Utf8Lines(Charset):
    """UTF-8 whose ``header_encode_lines`` gives what ``Charset.header_encode_lines`` gives, for a
    value it writes as base64 encoded words, by counting each character's bytes instead of encoding
    the line so far again after each character (a quadratic loop in the ``email`` package). A value
    it would write as quoted-printable words is left to that method."""

    def header_encode_lines(self, string, maxlengths):
        data = string.encode(self.output_codec)
        if not _base64_is_shorter(data):  # Charset._get_encoder's choice, without a loop over the bytes
            return super().header_encode_lines(string, maxlengths)
        extra = len(self.get_output_charset()) + RFC2047_CHROME_LEN
        lines, start, held = [], 0, 0  # the current line is string[start:i], held bytes long
        fits = _fits(next(maxlengths) - extra)
        for i, character in enumerate(string):
            size = _UTF8_SIZE(character)
            if held + size > fits:
                lines.append(None if not lines and i == start else _encoded(string[start:i], self.output_codec))
                start, held, fits = i, size, _fits(next(maxlengths) - extra)
            else:
                held += size
        lines.append(_encoded(string[start:], self.output_codec))
        return lines


_QP_ONE_CHARACTER = bytes(octet for octet in range(256) if len(quoprimime._QUOPRI_HEADER_MAP[octet]) == 1)


def _base64_is_shorter(data: bytes) -> bool:
    """Whether ``Charset("utf-8")._get_encoder`` writes ``data`` as base64 (the shorter of base64 and
    quoted-printable, which takes three characters for each byte outside its one-character set)."""
    quoted = len(data) + 2 * len(data.translate(None, _QP_ONE_CHARACTER))
    return base64mime.header_length(data) < quoted


def _fits(maxlen: int) -> int:
    """The most bytes whose base64 (4 characters for each 3 bytes or part of 3) is ``maxlen`` or less."""
    return maxlen // 4 * 3 if maxlen >= 0 else -1


def _UTF8_SIZE(character: str) -> int:
    code = ord(character)
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


def _encoded(text: str, codec: str) -> str:
    return base64mime.header_encode(text.encode(codec), charset=codec)


UTF8_LINES = _Utf8Lines("utf-8")


def boundary_of(key: str) -> str:
    """The multipart boundary of the mail with ``key``: its first 16 hex digits, so the Content-Type
    header fits its line; the same on a resend."""
    return f"=_tdkt_{key[:16]}"


def wire_bytes(mail, sender: str, domain: str, to: str, policy, date: str | None = None) -> bytes:
    """The message of ``mail`` (no attachment, ASCII addresses: ``mail.wire_message`` decides) as
    ``smtplib`` sends it. ``to`` is the To header's value and ``policy`` the header policy with CRLF
    lines, both as ``mail.build_message`` makes them; raises ValueError where ``build_message`` would
    (an unsafe header value, a body that is not UTF-8)."""
    boundary = boundary_of(mail.key)
    fold = policy.fold_binary
    subject = Header(safe_header(mail.subject), UTF8_LINES, header_name="Subject")
    head = b"".join((
        fold("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        b"MIME-Version: 1.0\r\n", fold("To", to), fold("Subject", subject),
        fold("From", safe_header(sender)), fold("Date", date or formatdate(localtime=False)),
        fold("Message-ID", message_id(mail.key, domain)), b"Auto-Submitted: auto-generated\r\n"))
    dash = f"--{boundary}".encode("ascii")
    return b"".join((head, b"\r\n", dash, b"\r\n", _part("plain", mail.text), b"\r\n", dash, b"\r\n",
                     _part("html", mail.html), b"\r\n", dash, b"--\r\n"))


def _part(subtype: str, body: str) -> bytes:
    encoded = base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + encoded
