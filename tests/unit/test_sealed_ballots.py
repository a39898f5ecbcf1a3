"""Sealed ballots: the client's helper (shared.contract.ballots) and review's side (services.review.sealing)
agree; only the sitting's key, unwrapped with the master secret, opens a ballot; receipts reveal nothing."""
import base64
import json

import pytest

from services.review import sealing
from shared.contract.ballots import BadPublicKey, receipt_code, seal_choices, sealed_vote

SECRET = "a-master-secret-of-thirty-two-ch"
CHOICES = {"n-1": "approve", "n-2": "reject"}


def test_a_ballot_sealed_by_the_client_opens_with_its_sitting_key_only():
    public, stored = sealing.new_key_pair(SECRET)
    other_public, other_stored = sealing.new_key_pair(SECRET)
    sealed = seal_choices(public, CHOICES, written_opinion=True)

    assert sealing.open_ballot(SECRET, stored, sealed) == {"choices": CHOICES, "written_opinion": True}
    for key, kept in ((SECRET, other_stored), ("another-master-secret-entirely", stored), (SECRET, None)):
        with pytest.raises(sealing.Unreadable):
            sealing.open_ballot(key, kept, sealed)
    assert "approve" not in sealed and "n-1" not in sealed


@pytest.mark.parametrize("tamper", [
    lambda s: s[:-4] + ("AAAA" if s[-4:] != "AAAA" else "BBBB"),  # a flipped byte: the MAC fails
    lambda s: s[:40],  # cut short
    lambda s: "not base64 at all!",
    lambda s: "",
    lambda s: s + "\u0301",
])
def test_a_tampered_sealed_box_is_unreadable(tamper):
    public, stored = sealing.new_key_pair(SECRET)

    with pytest.raises(sealing.Unreadable):
        sealing.open_ballot(SECRET, stored, tamper(seal_choices(public, CHOICES)))


@pytest.mark.parametrize("content", [b"not json", b"[1]", b'{"choices": "approve"}', b'{"written_opinion": true}',
                                     b'{"choices": {"n-1": "approve"}, "extra": 1}', b"\xff\xfe"])
def test_a_sealed_box_that_holds_no_ballot_is_unreadable(content):
    from nacl.public import PublicKey, SealedBox

    public, stored = sealing.new_key_pair(SECRET)
    sealed = base64.b64encode(SealedBox(PublicKey(base64.b64decode(public))).encrypt(content)).decode()

    with pytest.raises(sealing.Unreadable):
        sealing.open_ballot(SECRET, stored, sealed)


def test_the_stored_private_key_is_encrypted_under_the_master_secret():
    from nacl.public import PrivateKey

    public, stored = sealing.new_key_pair(SECRET)
    assert len(stored) == 24 + 16 + 32  # nonce, MAC, the key itself encrypted
    assert base64.b64encode(bytes(PrivateKey(stored[-32:]).public_key)).decode() != public


def test_two_seals_of_the_same_choices_differ_and_so_do_their_receipts():
    public, _ = sealing.new_key_pair(SECRET)
    first, second = seal_choices(public, CHOICES), seal_choices(public, CHOICES)

    assert first != second and receipt_code(first) != receipt_code(second)
    assert receipt_code(first) == receipt_code(first)
    code = receipt_code(first)
    assert len(code) == 19 and code.count("-") == 3 and code == code.upper()


def test_a_sealed_vote_is_the_whole_vote_cast_payload():
    public, stored = sealing.new_key_pair(SECRET)

    vote = sealed_vote("b1.token", public, CHOICES)
    assert set(vote) == {"ballot_token", "sealed"} and vote["ballot_token"] == "b1.token"
    assert sealing.open_ballot(SECRET, stored, vote["sealed"])["choices"] == CHOICES
    json.dumps(vote)


@pytest.mark.parametrize("key", ["", "not base64!", base64.b64encode(b"short").decode(), None])
def test_sealing_to_something_that_is_no_public_key_is_refused(key):
    with pytest.raises(BadPublicKey):
        seal_choices(key, CHOICES)


def respelled(sealed: str) -> str:
    """The same sealed box in another base64 spelling: the unused low bits of the last character before
    the padding changed (a lenient decoder ignores them)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert sealed.endswith("="), "only a padded spelling has unused bits"
    last = len(sealed.rstrip("=")) - 1
    return sealed[:last] + alphabet[alphabet.index(sealed[last]) ^ 1] + sealed[last + 1:]


def test_another_base64_spelling_of_a_sealed_box_is_unreadable_so_it_cannot_pass_as_a_new_ballot():
    public, stored = sealing.new_key_pair(SECRET)
    sealed = seal_choices(public, {"n-1": "approve"})  # 101 bytes: padded, with two unused bits
    twin = respelled(sealed)

    assert base64.b64decode(twin) == base64.b64decode(sealed) and receipt_code(twin) != receipt_code(sealed)
    with pytest.raises(sealing.Unreadable):
        sealing.open_ballot(SECRET, stored, twin)
