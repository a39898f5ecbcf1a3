"""Ballot tokens (standard library only): opaque, scoped to one sitting and member, expiring.

A token is ``"b1." + 32 random bytes in base64url``: decoding it reveals nothing, neither the member
nor the sitting. Review keeps only ``digest(key, token)`` (HMAC-SHA256 under ``TDKT_SECRET_KEY``) on
the member's roster row of the sitting, and resolves a token by that keyed digest; the sitting's
deadline is the token's expiry. Replay is stopped by the roster (one vote per member per sitting), not
by the token, so a lost mail can be re-sent with the same token.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Callable

PREFIX = "b1."
SHAPE = re.compile(r"b1\.[A-Za-z0-9_-]{43}\Z")


class BadToken(Exception):
    """``reason`` is ``malformed``, ``forged`` or ``expired``; never carries the token."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def issue() -> str:
    """A new token; hand it to the member and keep only its ``digest``."""
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str, token: str) -> str:
    """The keyed digest review stores for ``token`` (a database reader cannot turn it back into a token,
    nor test a guess without the key)."""
    return hmac.new(key.encode("utf-8"), token.encode("ascii"), hashlib.sha256).hexdigest()


def verify(key: str, token, lookup: Callable[[str], tuple | None]) -> tuple[str, str]:
    """``(sitting_id, member_id)`` of a genuine, unexpired token; ``BadToken`` otherwise.

    ``lookup(digest)`` answers ``(sitting_id, member_id, expired)`` for a digest review issued (expired:
    its sitting's deadline has passed), else None.
    """
    # Any string may arrive (non-ASCII, lone surrogates, empty, an old signed token): each is refused
    # here, before anything encodes or looks it up, so it is answered as a bad token.
    if not isinstance(token, str) or not token.isascii() or not SHAPE.match(token):
        raise BadToken("malformed")
    found = lookup(digest(key, token))
    if found is None:
        raise BadToken("forged")
    sitting_id, member_id, expired = found
    if expired:
        raise BadToken("expired")
    return sitting_id, member_id


def fingerprint(token) -> str:
    """A short digest to name a token in the audit without revealing it."""
    return hashlib.sha256(str(token).encode("utf-8", "surrogatepass")).hexdigest()[:12]
