"""Ballot tokens: opaque (decoding one reveals no member and no sitting), resolved only by their keyed
digest; any string at all is either a genuine token or a ``BadToken``, never another error."""
import base64
import binascii
import inspect
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services.review import ballots

KEY = "k" * 32
NOW = datetime(2025, 12, 1, tzinfo=timezone.utc)
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()))  # surrogates included, as JSON may carry


def nothing_issued(digest):
    return None


@settings(max_examples=500, deadline=None)
@given(st.one_of(ANY_TEXT, st.builds(lambda a, b: f"{a}.{b}", ANY_TEXT, ANY_TEXT),
                 st.builds(lambda a: f"b1.{a}", ANY_TEXT)))
def test_any_string_is_a_bad_token_and_has_a_fingerprint(token):
    with pytest.raises(ballots.BadToken) as bad:
        ballots.verify(KEY, token, nothing_issued)

    assert bad.value.reason in ("malformed", "forged") and str(bad.value) == bad.value.reason  # never the token
    assert len(ballots.fingerprint(token)) == 12


@pytest.mark.parametrize("token", [
    "abc.déf", "ébc.def", "", ".", "..", "a" * 100_000, "a" * 999 + ".", "abc.d=f", "!!!.???",
    "abc.\ud800", "\x00.\x00", "abc.defg\u0301", "b1." + "A" * 42, "b1." + "A" * 44, "b1." + "A" * 42 + "=",
    "b1." + "A" * 43 + "\n", None, 12,
])
def test_a_non_ascii_huge_empty_or_garbled_token_is_malformed(token):
    with pytest.raises(ballots.BadToken, match="malformed"):
        ballots.verify(KEY, token, nothing_issued)
    ballots.fingerprint(token)


def test_a_token_names_neither_its_member_nor_its_sitting_when_decoded():
    assert not inspect.signature(ballots.issue).parameters  # made of nothing but randomness
    tokens = [ballots.issue() for _ in range(50)]

    for token in tokens:
        raw = base64.urlsafe_b64decode(token[3:] + "=")
        assert len(raw) == 32 and b"m-vp" not in raw and "m-vp" not in token
    assert len(set(tokens)) == 50


def test_a_genuine_token_is_found_by_its_keyed_digest_and_verifies_until_its_deadline_only():
    token, deadline = ballots.issue(), NOW + timedelta(days=1)
    issued = {ballots.digest(KEY, token): ("s-1", "m-1", deadline)}

    def at(now):
        return lambda digest: issued[digest][:2] + (deadline < now,) if digest in issued else None

    assert ballots.verify(KEY, token, at(NOW)) == ("s-1", "m-1")
    with pytest.raises(ballots.BadToken, match="expired"):
        ballots.verify(KEY, token, at(NOW + timedelta(days=2)))
    with pytest.raises(ballots.BadToken, match="forged"):  # another master secret finds nothing
        ballots.verify("other" * 8, token, at(NOW))
    with pytest.raises(ballots.BadToken, match="forged"):  # nor does a token review never issued
        ballots.verify(KEY, ballots.issue(), at(NOW))


def test_the_stored_digest_is_not_the_token_and_depends_on_the_key():
    token = ballots.issue()

    stored = ballots.digest(KEY, token)
    assert token not in stored and token[3:] not in stored and len(stored) == 64
    assert stored != ballots.digest("other" * 8, token)
    binascii.unhexlify(stored)
