"""Sealed ballots, the client's side (README "Secret ballot"): every client seals a member's choices to
the sitting's public key before they leave it, so the bus, the broker's disk and its backups carry
nothing anyone can open once the sitting has closed (review destroys the sitting's private key then).

A sealed ballot is a libsodium sealed box (X25519 + XSalsa20-Poly1305, PyNaCl ``SealedBox``) of the
UTF-8 JSON ``{"choices": {NOMINATION_ID: "approve"|"reject"|"abstain"}, "written_opinion": bool}``,
in standard base64. Its receipt is a digest of that base64 text: the member keeps it, and the list of
receipts review publishes at the close shows their ballot was counted, without saying how they voted.

    vote = sealed_vote(token, ballot["public_key"], {"n-1": "approve"})   # the council.vote_cast body
    receipt = receipt_code(vote["sealed"])                                # e.g. "7K3Q-M2ZD-XW4A-P9RT"
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json

from nacl.exceptions import CryptoError, TypeError as NaclTypeError
from nacl.public import PublicKey, SealedBox

RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"  # Crockford-like: no I, L, O, U to misread


class BadPublicKey(ValueError):
    """The text is not a sitting's public key (32 bytes in standard base64)."""


def seal_choices(public_key_b64: str, choices: dict, written_opinion: bool = False) -> str:
    """The sealed ballot (standard base64 text) of ``choices`` for the sitting whose public key is
    ``public_key_b64`` (``ballot_issued["public_key"]``). Only that sitting's private key opens it."""
    try:
        key = PublicKey(base64.b64decode(public_key_b64, validate=True))
    except (binascii.Error, ValueError, TypeError, NaclTypeError, CryptoError):
        raise BadPublicKey("not a sitting's public key") from None
    plain = json.dumps({"choices": dict(choices), "written_opinion": bool(written_opinion)},
                       ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.b64encode(SealedBox(key).encrypt(plain)).decode("ascii")


def sealed_vote(ballot_token: str, public_key_b64: str, choices: dict, written_opinion: bool = False) -> dict:
    """The whole ``council.vote_cast`` payload of a sealed ballot: ``{"ballot_token", "sealed"}``."""
    return {"ballot_token": ballot_token, "sealed": seal_choices(public_key_b64, choices, written_opinion)}


def receipt_code(sealed: str) -> str:
    """The receipt of a sealed ballot: 80 bits of SHA-256 over its text, as four groups of four
    characters. The sealed box holds fresh randomness, so the code says nothing of the choices."""
    digest = int.from_bytes(hashlib.sha256(sealed.encode("utf-8", "surrogatepass")).digest()[:10], "big")
    chars = "".join(RECEIPT_ALPHABET[(digest >> (5 * i)) & 31] for i in reversed(range(16)))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))
