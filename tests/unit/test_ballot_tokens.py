"""Ballot tokens: any string at all is either a genuine token or a ``BadToken``, never another error."""
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services.review import ballots

KEY = "k" * 32
NOW = datetime(2025, 12, 1, tzinfo=timezone.utc)
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()))  # surrogates included, as JSON may carry


def signed(body: bytes) -> str:
    """A token whose signature is right around ``body`` (only the key holder can make one)."""
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{encoded}.{ballots._mac(KEY, encoded)}"


@settings(max_examples=500, deadline=None)
@given(st.one_of(ANY_TEXT, st.builds(lambda a, b: f"{a}.{b}", ANY_TEXT, ANY_TEXT)))
def test_any_string_is_a_bad_token_and_has_a_fingerprint(token):
    with pytest.raises(ballots.BadToken) as bad:
        ballots.verify(KEY, token, NOW)

    assert bad.value.reason in ("malformed", "forged") and str(bad.value) == bad.value.reason  # never the token
    assert len(ballots.fingerprint(token)) == 12


@pytest.mark.parametrize("token", [
    "abc.déf", "ébc.def", "", ".", "..", "a" * 100_000, "a" * 999 + ".", "abc.d=f", "!!!.???",
    "abc.\ud800", "\x00.\x00", "abc.defg\u0301",
])
def test_a_non_ascii_huge_empty_or_garbled_token_is_refused_as_a_bad_token(token):
    with pytest.raises(ballots.BadToken):
        ballots.verify(KEY, token, NOW)
    ballots.fingerprint(token)


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"not json", b"[1, 2]", b'"s"', b"{}", b'{"s": 1}',
                                  b'{"s": "x", "m": "y", "e": "soon"}', b'{"s": "x", "m": "y", "e": Infinity}',
                                  b'{"s": "x", "m": "y", "e": [1]}', b"[" * 5000 + b"]" * 5000])
def test_a_signed_body_that_is_not_a_ballot_payload_is_malformed(body):
    with pytest.raises(ballots.BadToken, match="malformed"):
        ballots.verify(KEY, signed(body), NOW)


def test_a_genuine_token_verifies_until_its_deadline_only():
    token = ballots.issue(KEY, "s-1", "m-1", NOW + timedelta(days=1))

    assert ballots.verify(KEY, token, NOW) == ("s-1", "m-1")
    with pytest.raises(ballots.BadToken, match="expired"):
        ballots.verify(KEY, token, NOW + timedelta(days=2))
    with pytest.raises(ballots.BadToken, match="forged"):
        ballots.verify("other" * 8, token, NOW)


@given(st.dictionaries(st.sampled_from("smen"), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=5)))
@settings(max_examples=300, deadline=None)
def test_any_signed_json_is_a_ballot_or_malformed(payload):
    try:
        body = json.dumps(payload).encode()
    except ValueError:
        return
    try:
        ballots.verify(KEY, signed(body), NOW)
    except ballots.BadToken as bad:
        assert bad.reason in ("malformed", "expired")
