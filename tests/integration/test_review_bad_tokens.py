"""Property: a vote with any ballot token string that is not genuine is answered with ``vote_rejected``
and an audit row by a real review, never retried or dead-lettered (issue #22, finding 4)."""
import base64
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from nameko.testing.services import entrypoint_waiter

from services.review import ballots
from services.review.service import MIGRATIONS
from tests.harness import wait_until
from tests.integration.delivery import Tables

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=80)


def old_style(payload: dict) -> str:
    """A token of the old signed form, which named the member in clear: now merely malformed."""
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{encoded}.c2lnbmF0dXJl"


def cast(review, token):
    """Cast a vote with ``token``; the one handling of it must end without an error."""
    with entrypoint_waiter(review.container, "on_vote_cast", timeout=15) as result:
        review.council("vote_cast", {"ballot_token": token, "choices": {"n-1": "approve"}}, str(uuid.uuid4()), {})
    assert result.get() is None  # raises the handler's exception, if it failed


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_any_bad_token_string_is_rejected_and_audited_not_dead_lettered(review, db_urls):
    tables = Tables(db_urls["review"], MIGRATIONS)
    tokens = ["abc.déf", "ébc.def", "", "x" * 200_000, "abc.d=f", "Zm9v.YmFy", "abc.\ud800",
              old_style({"s": "x", "m": "m-vp-1", "e": 1}), ballots.issue(), ballots.issue()[:-1] + "\u0301",
              "b1." + "A" * 43 + "\n"]
    try:
        for token in tokens:
            cast(review, token)

        @settings(max_examples=60, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
        @given(ANY_TEXT)
        def any_text(token):
            tokens.append(token)
            cast(review, token)

        any_text()
        rejected = wait_until(lambda: len(review.events("vote_rejected")) >= len(tokens) and
                              review.events("vote_rejected"), what="one vote_rejected per token")
        assert len(rejected) == len(tokens) and tables.count("audit") == len(tokens)
        assert {event["reason"] for event in rejected} <= {"malformed_token", "forged_token"}
    finally:
        tables.dispose()
