"""The sitting's key pair (adapter over PyNaCl): made at convening, kept only encrypted under the master
secret, used to open each sealed ballot inside the vote handler, destroyed when voting ends.

The private key is stored as a ``SecretBox`` (XSalsa20-Poly1305) under a key derived from
``TDKT_SECRET_KEY`` with BLAKE2b (keyed, personalised), so a database backup alone opens nothing; once
the sitting leaves ``open`` the stored key is erased (``NULL``), so a ballot captured from the bus or a
backup cannot be opened later by anyone, the operator included.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from nacl.secret import SecretBox

from shared.contract import ballots as client
from shared.contract import schemas
from shared.contract.errors import ValidationError

PERSON = b"tdkt-sitting-key"  # BLAKE2b personalisation: this derived key serves nothing else


class Unreadable(Exception):
    """A sealed ballot that does not open with the sitting's key (tampered, sealed to another key, not
    base64) or whose content is not a ballot. Never carries the ballot."""


def _box(secret_key: str) -> SecretBox:
    master = hashlib.blake2b(secret_key.encode("utf-8"), digest_size=64).digest()  # any length fits the key
    derived = hashlib.blake2b(b"sitting private keys v1", key=master, digest_size=32, person=PERSON).digest()
    return SecretBox(derived)


def new_key_pair(secret_key: str) -> tuple[str, bytes]:
    """``(public key in standard base64, private key encrypted under the master secret)``."""
    private = PrivateKey.generate()
    public = base64.b64encode(bytes(private.public_key)).decode("ascii")
    return public, bytes(_box(secret_key).encrypt(bytes(private)))


def open_ballot(secret_key: str, stored_key: bytes, sealed: str) -> dict:
    """The ballot inside ``sealed`` (``{"choices", "written_opinion"}``), or ``Unreadable``."""
    if stored_key is None:  # the sitting's key was destroyed, or it was convened before sealing
        raise Unreadable("the sitting has no key")
    try:
        box = base64.b64decode(sealed, validate=True)
        # one spelling per box: base64 ignores the unused bits before its padding, so another spelling
        # of a copied box would open, get another receipt and count as a new ballot (a replay whose
        # doubled marks would tell the copier how the original voter chose)
        if base64.b64encode(box).decode("ascii") != sealed:
            raise ValueError("not the canonical base64 of its box")
        private = PrivateKey(_box(secret_key).decrypt(bytes(stored_key)))
        plain = SealedBox(private).decrypt(box)
        return schemas.load(schemas.SealedContent, json.loads(plain.decode("utf-8")), schemas.MAX_BALLOT_BYTES)
    except (CryptoError, binascii.Error, ValueError, UnicodeDecodeError, RecursionError, ValidationError):
        raise Unreadable("the sealed ballot does not open with this sitting's key") from None


receipt_code = client.receipt_code
