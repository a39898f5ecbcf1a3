"""Ballot tokens (standard library only): signed, scoped to one sitting and member, expiring.

A token is ``base64url(json payload) + "." + base64url(HMAC-SHA256(key, payload))``; the payload
holds the sitting, the member and the expiry (the sitting's deadline). Replay is stopped by the roster
(one vote per member per sitting), not by the token, so a lost mail can be re-sent with the same token.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime


class BadToken(Exception):
    """``reason`` is ``malformed``, ``forged`` or ``expired``; never carries the token."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, body: str) -> str:
    return _b64(hmac.new(key.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest())


def issue(key: str, sitting_id: str, member_id: str, expires: datetime) -> str:
    payload = {"s": sitting_id, "m": member_id, "e": int(expires.timestamp()), "n": secrets.token_hex(4)}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return f"{body}.{_mac(key, body)}"


def verify(key: str, token, now: datetime) -> tuple[str, str]:
    """``(sitting_id, member_id)`` of a genuine, unexpired token; ``BadToken`` otherwise."""
    # Any string may arrive (non-ASCII, lone surrogates, empty, not base64): each is refused here,
    # before anything encodes it as ASCII or compares it, so it is answered as a bad token.
    if not isinstance(token, str) or len(token) > 1000 or token.count(".") != 1 or not token.isascii():
        raise BadToken("malformed")
    body, mac = token.split(".")
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise BadToken("forged")
    try:
        payload = json.loads(_unb64(body))
        sitting_id, member_id, expires = str(payload["s"]), str(payload["m"]), int(payload["e"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise BadToken("malformed") from None
    if now.timestamp() > expires:
        raise BadToken("expired")
    return sitting_id, member_id


def fingerprint(token) -> str:
    """A short digest to name a token in the audit without revealing it."""
    return hashlib.sha256(str(token).encode("utf-8", "surrogatepass")).hexdigest()[:12]
