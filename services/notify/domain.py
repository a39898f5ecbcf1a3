"""Notify rules (standard library only): which mails an event causes, and their identity.

A logical email is (source event id, recipient, kind). Its key, and the ``Message-ID`` derived from it,
are the same however often the event is delivered, so the mail table holds it once and a resend
after a crash is recognisable by any mail client.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

ACKNOWLEDGEMENT = "acknowledgement"
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 8


class UnsafeHeader(ValueError):
    """A header value holds a line break (header injection) or is empty."""


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None = None


@dataclass(frozen=True)
class MailRequest:
    """One logical email to be rendered from template ``kind`` with ``context``."""

    event_id: str
    kind: str
    recipient: Recipient
    context: dict
    attachment: tuple | None = None  # (filename, content type, bytes)

    @property
    def key(self) -> str:
        return mail_key(self.event_id, self.recipient.email, self.kind)


def mail_key(event_id: str, email: str, kind: str) -> str:
    raw = "\0".join((event_id, email.strip().lower(), kind))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def message_id(key: str, domain: str) -> str:
    return f"<{key[:40]}@{domain}>"


_LINE_BREAK = re.compile("[\r\n\0]")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # every character below a space but the tab, and DEL


def safe_header(value: str, required: bool = True) -> str:
    """``value`` unchanged if it is a single line (and non-empty when ``required``)."""
    if _LINE_BREAK.search(value):
        raise UnsafeHeader("a header value holds a line break")
    if _CONTROL.search(value):  # \v, \f, \x1c-\x1e also split lines
        raise UnsafeHeader("a header value holds a control character")
    if required and not value.strip():
        raise UnsafeHeader("a required header value is empty")
    return value


def acknowledgement(event: dict, event_id: str) -> list[MailRequest]:
    """``intake.nomination_submitted`` -> the unit contact is told the dossier was received."""
    context = {"nomination_id": event["nomination_id"], "award_code": event["award_code"],
               "award_year": event["award_year"], "nominee_name": event["nominee"]["name"],
               "unit_id": event["unit_id"], "submitted_at": event["submitted_at"]}
    return [MailRequest(event_id, ACKNOWLEDGEMENT, Recipient(event["contact_email"]), context)]


def retry_delay(attempts: int, base: float = 30.0) -> timedelta:
    """Backoff after a temporary failure: base, 2 x base, 4 x base ... (30 s, 1, 2 min ...), at most an hour."""
    return timedelta(seconds=min(3600.0, base * 2 ** max(0, attempts - 1)))


def after_temporary_failure(attempts: int, now: datetime, base: float = 30.0) -> tuple[str, datetime]:
    """Status and next attempt time once ``attempts`` tries have failed temporarily."""
    if attempts >= MAX_ATTEMPTS:
        return FAILED, now
    return PENDING, now + retry_delay(attempts, base)
