"""Review of the inbox claim merged with the handler's first read (``insert_new_then_read``): what the
read sees when the claim had to wait for a concurrent duplicate, the locks it takes, and the cached
statements' parameters. PostgreSQL unless said otherwise (SQLite runs the two statements as before)."""
from types import SimpleNamespace

import eventlet
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notify.models import Units, units
from services.notify.service import MIGRATIONS as NOTIFY_MIGRATIONS
from services.review.repository import Reviews
from services.review.service import MIGRATIONS as REVIEW_MIGRATIONS
from shared.platform.db import _insert_then_read_statement, insert_new, insert_new_then_read
from tests.integration.delivery import Tables, commit_after_the_other_waits, wait_for_a_lock_wait

META = sa.MetaData()
CLAIMS = sa.Table("claims", META, sa.Column("consumer", sa.String(40), primary_key=True),
                  sa.Column("message_id", sa.String(40), primary_key=True))
ITEMS = sa.Table("items", META, sa.Column("id", sa.String(40), primary_key=True),
                 sa.Column("status", sa.String(20)), sa.Column("message_id", sa.String(40)))
LOCKING = sa.select(ITEMS).where(ITEMS.c.id == sa.bindparam("item_id")).with_for_update()


@pytest.fixture
def engine(db_urls):
    engine = sa.create_engine(db_urls["intake"])
    META.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(ITEMS), [{"id": "i1", "status": "new", "message_id": "x"}])
    yield engine
    engine.dispose()


def postgresql_only(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL")


def claim(session, message_id, query, params=None):
    return insert_new_then_read(session, CLAIMS, {"consumer": "c", "message_id": message_id}, query, params)


def two_statements(session, message_id, query, params=None):
    """What the handlers did before: the claim, then the read in a statement of its own."""
    if not insert_new(session, CLAIMS, consumer="c", message_id=message_id):
        return None
    return [dict(row) for row in session.execute(query, params or {}).mappings()]


def waiting_on(engine, what):
    wait_for_a_lock_wait(engine, what=what)


def test_a_locked_read_that_waits_for_a_writer_gets_the_writers_committed_row(engine):
    """``FOR UPDATE`` inside the merged statement: PostgreSQL follows the row to its newest version."""
    postgresql_only(engine)
    with Session(engine) as writer:
        writer.execute(sa.update(ITEMS).where(ITEMS.c.id == "i1").values(status="changed"))
        with Session(engine) as handler:
            got = []
            commit_after_the_other_waits(engine, writer, lambda: got.append(claim(handler, "m1", LOCKING,
                                                                                  {"item_id": "i1"})))
            handler.rollback()
    assert got == [[{"id": "i1", "status": "changed", "message_id": "x"}]]


@pytest.mark.parametrize("merged", [True, False], ids=["merged", "two statements"])
def test_a_row_committed_while_the_claim_waited_is_seen_only_by_a_later_statement(engine, merged):
    """A duplicate delivery waits on the first one's claim; meanwhile the row it will read is
    committed; the first delivery rolls back. The two statements read the row (the read's snapshot is
    taken after the wait); the merged one does not, ``FOR UPDATE`` or not: its snapshot was taken
    before the wait, and PostgreSQL only follows rows that were visible in it. So "a locked row is
    read as last committed" (insert_new_then_read's docstring) holds for rows that existed and still
    match, not for a row inserted, or changed to match the query, during the wait: the handler would
    see no row and its claim would commit with no effect. The docstring now says so, and says to read
    in it only rows that exist before the message (intake's nomination, which review's events follow);
    this test pins both halves of that."""
    postgresql_only(engine)
    first = Session(engine)
    assert claim(first, "m1", LOCKING, {"item_id": "i1"}) is not None

    def duplicate():
        with Session(engine) as session:
            rows = (claim if merged else two_statements)(session, "m1", LOCKING, {"item_id": "late"})
            session.commit()
            return rows

    waiting = eventlet.spawn(duplicate)
    waiting_on(engine, "the duplicate waiting for the first delivery's claim")
    with engine.begin() as other:
        other.execute(sa.insert(ITEMS).values(id="late", status="new", message_id="y"))
    first.rollback()
    first.close()
    assert waiting.wait() == ([] if merged else [{"id": "late", "status": "new", "message_id": "y"}])


@pytest.mark.parametrize("merged", [True, False], ids=["merged", "two statements"])
def test_notify_names_a_unit_as_it_was_named_when_the_message_was_handled(db_urls, db_backend, merged):
    """notify's ``queue_mails``: its claim and the look-up of unit names in one statement. A unit
    renamed (and committed) while the claim waits for a duplicate delivery that then rolls back: the
    old code named it with the new name, the merged statement with the old one (a plain read sees the
    statement's snapshot, taken before the wait). Both are a name the unit had while the mail's event
    was handled, as insert_new_then_read's docstring now says; this test pins the difference."""
    if db_backend != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL")
    notify = Tables(db_urls["notify"], NOTIFY_MIGRATIONS)
    try:
        with notify.sessions() as session, session.begin():
            session.execute(sa.insert(units).values(id="u1", name="Old name"))
        request = SimpleNamespace(context={"unit_id": "u1"})
        first = notify.uow("queue_mails", "m1")
        assert first.claim_message()

        def duplicate():
            with notify.uow("queue_mails", "m1") as uow:
                if merged:
                    rows = uow.claim_message_reading(*Units.names_query([request]))
                else:
                    rows = uow.claim_message() and uow.session.execute(*Units.names_query([request])).mappings().all()
                return [dict(row) for row in rows]

        waiting = eventlet.spawn(duplicate)
        waiting_on(notify.engine, "the duplicate waiting for the first delivery's claim")
        with notify.sessions() as session, session.begin():
            session.execute(sa.update(units).where(units.c.id == "u1").values(name="New name"))
        first.session.rollback()
        first.close()
        assert waiting.wait() == [{"id": "u1", "name": "Old name" if merged else "New name"}]
    finally:
        notify.dispose()


def test_review_takes_the_nominations_lock_only_when_it_claims(db_urls, db_backend):
    """record_submission: claim and ``pg_advisory_xact_lock`` in one statement; a duplicate takes no lock."""
    if db_backend != "postgresql":
        pytest.skip("advisory locks: PostgreSQL")
    review = Tables(db_urls["review"], REVIEW_MIGRATIONS)
    advisory = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
    try:
        with review.uow("record_submission", "m1") as uow:
            assert uow.claim_message_reading(*Reviews(uow.session).nomination_lock("n1")) is not None
            assert uow.session.execute(advisory).scalar() == 1
            uow.commit()
        with review.uow("record_submission", "m1") as uow:
            assert uow.claim_message_reading(*Reviews(uow.session).nomination_lock("n1")) is None
            assert uow.session.execute(advisory).scalar() == 0
    finally:
        review.dispose()


def test_cached_statements_keep_each_calls_parameters(engine):
    """Parameters named like the claim's columns, literal values in queries built per call, and more
    distinct queries than the cache holds: every call reads and claims with its own values (SQLite too)."""
    by_message = sa.select(ITEMS.c.id).where(ITEMS.c.message_id == sa.bindparam("message_id"))
    with engine.begin() as connection:
        connection.execute(sa.insert(ITEMS), [{"id": f"j{i}", "status": "s", "message_id": f"m{i}"} for i in range(80)])
    with Session(engine) as session:
        for i in range(80):
            assert claim(session, f"m{i}", by_message, {"message_id": f"m{79 - i}"}) == [{"id": f"j{79 - i}"}]
            built_per_call = sa.select(ITEMS.c.id).where(ITEMS.c.message_id == f"m{i}")
            assert claim(session, f"n{i}", built_per_call) == [{"id": f"j{i}"}]
        session.commit()
        assert session.execute(sa.select(sa.func.count()).select_from(CLAIMS).where(
            CLAIMS.c.consumer == "c")).scalar() == 160
        assert claim(session, "m5", by_message, {"message_id": "m6"}) is None
    assert _insert_then_read_statement.cache_info().currsize <= 64
