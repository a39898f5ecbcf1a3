"""A sitting's close and a later member's invitation, handled at the same moment on PostgreSQL.

Two transactions on two connections; the interleaving is forced by holding one transaction open while
the other runs in a green thread, and is observed (the other finished, or waits on a row lock in
``pg_stat_activity``), never guessed with a sleep. Whichever order they take, the ballot ends closed
and its member is never reminded.
"""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.notify.models import Ballots
from services.notify.service import MIGRATIONS
from tests.integration.delivery import Tables, commit_after_the_other_waits

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)

NOW = datetime(2025, 12, 1, 10, 0, tzinfo=timezone.utc)
DEADLINE = NOW + timedelta(hours=12)


@pytest.fixture
def tables(db_urls):
    tables = Tables(db_urls["notify"], MIGRATIONS)
    yield tables
    tables.dispose()


def invite(session, member_id):
    Ballots(session).add_once("s-1", member_id, f"issued-{member_id}", DEADLINE,
                              {"sitting_id": "s-1", "member": {"id": member_id}, "ballot_token": f"tok-{member_id}"})


def close(session):
    Ballots(session).mark("s-1", None, "closed-s-1", NOW, closed=True)


def run_while_held(tables, held, other):
    """Run ``held`` in a transaction left open, then ``other`` (committing) in a green thread; once
    ``other`` has finished or waits on a lock, commit ``held`` and let ``other`` end."""
    with tables.sessions() as first, tables.sessions() as second:
        held(first)

        def run_other():
            other(second)
            second.commit()

        commit_after_the_other_waits(tables.engine, first, run_other)


def open_ballots(tables) -> dict:
    with tables.sessions() as session:
        return dict(session.execute(sa.text("SELECT member_id, closed FROM ballots WHERE member_id != '*'")).all())


def test_a_close_handled_while_a_later_ballot_is_being_recorded_closes_that_ballot_too(tables):
    with tables.sessions() as session:
        invite(session, "m-1")  # the first ballot of the sitting: its sitting row exists from now on
        session.commit()
    run_while_held(tables, held=lambda s: invite(s, "m-2"), other=close)
    assert open_ballots(tables) == {"m-1": True, "m-2": True}
    with tables.sessions() as session:
        assert Ballots(session).due_for_reminder(DEADLINE - timedelta(hours=1), timedelta(hours=24)) == []


def test_a_ballot_recorded_while_the_close_is_being_handled_is_closed(tables):
    with tables.sessions() as session:
        invite(session, "m-1")
        session.commit()
    run_while_held(tables, held=close, other=lambda s: invite(s, "m-2"))
    assert open_ballots(tables) == {"m-1": True, "m-2": True}


def test_a_close_racing_the_very_first_ballot_of_a_sitting_closes_it(tables):
    run_while_held(tables, held=lambda s: invite(s, "m-1"), other=close)
    assert open_ballots(tables) == {"m-1": True}
