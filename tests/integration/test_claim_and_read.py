"""A message's inbox claim and a handler's first read in one statement (``insert_new_then_read``): the
same answers as the two statements, on SQLite and PostgreSQL, including a concurrent duplicate that
waits for the first delivery's transaction, and on PostgreSQL in one statement instead of two."""
import eventlet
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.platform.db import insert_new_then_insert_new, insert_new_then_read
from tests.integration.delivery import wait_for_a_lock_wait

META = sa.MetaData()
CLAIMS = sa.Table("claims", META, sa.Column("consumer", sa.String(40), primary_key=True),
                  sa.Column("message_id", sa.String(40), primary_key=True))
ITEMS = sa.Table("items", META, sa.Column("id", sa.String(40), primary_key=True),
                 sa.Column("status", sa.String(20)), sa.Column("body", sa.JSON))


@pytest.fixture
def engine(db_urls):
    engine = sa.create_engine(db_urls["intake"])
    META.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(ITEMS), [{"id": "i1", "status": "new", "body": {"a": [1, 2]}},
                                              {"id": "i2", "status": "old", "body": None}])
    yield engine
    engine.dispose()


def claim(session, message_id, query, params=None):
    return insert_new_then_read(session, CLAIMS, {"consumer": "c", "message_id": message_id}, query, params)


LOCKING = sa.select(ITEMS).where(ITEMS.c.id == sa.bindparam("item_id")).with_for_update()  # as the services do


def item(item_id):
    return sa.select(ITEMS).where(ITEMS.c.id == item_id)


def test_a_new_claim_reads_the_rows_and_a_repeated_one_reads_nothing(engine):
    with Session(engine) as session:
        assert claim(session, "m1", LOCKING, {"item_id": "i1"}) == [
            {"id": "i1", "status": "new", "body": {"a": [1, 2]}}]
        assert claim(session, "m4", LOCKING, {"item_id": "i2"}) == [{"id": "i2", "status": "old", "body": None}]
        assert claim(session, "m2", item("nobody")) == []  # claimed; the query found no row
        assert claim(session, "m3", sa.select(ITEMS.c.id).order_by(ITEMS.c.id)) == [{"id": "i1"}, {"id": "i2"}]
        assert claim(session, "m1", item("i1")) is None  # handled already
        session.commit()
    with Session(engine) as session:
        assert claim(session, "m2", item("i2")) is None
        assert session.execute(sa.select(sa.func.count()).select_from(CLAIMS)).scalar() == 4


def test_postgresql_claims_and_reads_in_one_statement(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no INSERT inside WITH: the claim and the read are two statements there")
    sent = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with Session(engine) as session:
        claim(session, "m1", item("i1").with_for_update())
        session.rollback()
    assert len(sent) == 1 and "INSERT INTO claims" in sent[0] and "FOR UPDATE" in sent[0]


def test_a_repeated_claim_does_not_run_its_query(engine):
    """The duplicate takes no lock: another transaction locks the row at once (``NOWAIT``)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    with Session(engine) as first:
        claim(first, "m1", item("i1"))
        first.commit()
    with Session(engine) as duplicate, Session(engine) as other:
        assert claim(duplicate, "m1", item("i1").with_for_update()) is None
        assert other.execute(item("i1").with_for_update(nowait=True)).first() is not None
        other.rollback()
        duplicate.rollback()


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_concurrent_duplicate_waits_for_the_first_delivery(engine, first_commits):
    """While the first delivery's transaction holds the claim, the duplicate waits; then it does nothing
    if the first committed, or claims and reads the row as the first left it, if it rolled back."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time: there is no concurrent duplicate to wait for")
    first = Session(engine)
    assert claim(first, "m1", item("i1").with_for_update()) == [{"id": "i1", "status": "new", "body": {"a": [1, 2]}}]
    first.execute(sa.update(ITEMS).where(ITEMS.c.id == "i1").values(status="changed"))

    def duplicate():
        with Session(engine) as session:
            rows = claim(session, "m1", item("i1").with_for_update())
            session.commit()
            return rows

    waiting = eventlet.spawn(duplicate)
    wait_for_a_lock_wait(engine, waiting, "the duplicate waiting for the first delivery's claim")
    assert not waiting.dead
    (first.commit if first_commits else first.rollback)()
    first.close()
    rows = waiting.wait()
    if first_commits:
        assert rows is None
    else:
        assert rows == [{"id": "i1", "status": "new", "body": {"a": [1, 2]}}]


OTHERS = sa.Table("others", META, sa.Column("key", sa.String(40), primary_key=True), sa.Column("n", sa.Integer),
                  sa.Column("at", sa.DateTime(timezone=True)), sa.Column("data", sa.LargeBinary), sa.Column("doc", sa.JSON))


def claim_adding(session, message_id, key, **values):
    row = {"key": key, "n": None, "at": None, "data": None, "doc": None, **values}
    return insert_new_then_insert_new(session, CLAIMS, {"consumer": "c", "message_id": message_id}, OTHERS, row)


def test_a_new_claim_adds_its_row_and_a_repeated_one_adds_nothing(engine):
    from datetime import datetime, timezone
    moment = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
    with Session(engine) as session:
        assert claim_adding(session, "m1", "k1", n=7, at=moment, data=b"\x00\xff", doc={"a": [1]}) == 1
        assert claim_adding(session, "m2", "k1", n=8) == 0  # claimed; the row was there already
        assert claim_adding(session, "m1", "k2") is None  # handled already: nothing added
        assert claim_adding(session, "m3", "k3") == 1  # NULLs of every type
        session.commit()
    with Session(engine) as session:
        rows = {row.key: row for row in session.execute(sa.select(OTHERS))}
        assert set(rows) == {"k1", "k3"} and session.execute(sa.select(sa.func.count()).select_from(CLAIMS)).scalar() == 3
        k1 = rows["k1"]
        assert (k1.n, k1.data, k1.doc) == (7, b"\x00\xff", {"a": [1]}) and k1.at.replace(tzinfo=timezone.utc) == moment


def test_postgresql_claims_and_adds_in_one_statement(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no INSERT inside WITH")
    sent = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with Session(engine) as session:
        claim_adding(session, "m1", "k1")
        session.rollback()
    assert len(sent) == 1 and "INSERT INTO claims" in sent[0] and "INSERT INTO others" in sent[0]


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_concurrent_duplicate_adding_waits_for_the_first_delivery(engine, first_commits):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time")
    first = Session(engine)
    assert claim_adding(first, "m1", "k1", n=1) == 1

    def duplicate():
        with Session(engine) as session:
            added = claim_adding(session, "m1", "k1", n=2)
            session.commit()
            return added

    waiting = eventlet.spawn(duplicate)
    wait_for_a_lock_wait(engine, waiting, "the duplicate waiting for the first delivery's claim")
    assert not waiting.dead
    (first.commit if first_commits else first.rollback)()
    first.close()
    assert waiting.wait() == (None if first_commits else 1)
    with Session(engine) as session:
        assert session.execute(sa.select(OTHERS.c.n)).scalars().all() == [1 if first_commits else 2]


ITEM_IS = sa.exists().where(ITEMS.c.id == sa.bindparam("guard_id"), ITEMS.c.status == sa.bindparam("guard_status"))


def test_a_claim_under_a_condition_inserts_and_reads_only_while_the_condition_holds(engine):
    """``only_if`` (intake's submission checks the unit's token so): checked in the statement that
    inserts; when it fails, nothing is inserted and None is answered, as for a key taken already."""
    def claim_if(session, message_id, status):
        return insert_new_then_read(session, CLAIMS, {"consumer": "c", "message_id": message_id}, item("i1"),
                                    {"guard_id": "i1", "guard_status": status}, only_if=ITEM_IS)

    with Session(engine) as session:
        assert claim_if(session, "m1", "old") is None  # i1 is new: not inserted
        assert session.execute(sa.select(sa.func.count()).select_from(CLAIMS)).scalar() == 0
        assert claim_if(session, "m1", "new") == [{"id": "i1", "status": "new", "body": {"a": [1, 2]}}]
        assert claim_if(session, "m1", "new") is None  # the key is taken now
        session.execute(sa.update(ITEMS).where(ITEMS.c.id == "i1").values(status="gone"))
        assert claim_if(session, "m2", "new") is None
        session.commit()
    with Session(engine) as session:
        assert session.execute(sa.select(CLAIMS.c.message_id)).scalars().all() == ["m1"]
