"""The pool checks a PostgreSQL connection only after it sat idle (issue #20: a ping per transaction was
5 % of each service's CPU): a connection the server dropped while idle is replaced without an error; one
in steady use is not pinged, and its loss costs one failed statement, after which the pool is new."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shared.platform import db
from tests.conftest import PG_ADMIN_URL
from tests.harness import wait_until

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()


def terminate(pid: int) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        wait_until(lambda: not connection.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                                  {"pid": pid}).scalar(), timeout=10, what="the backend gone")
    admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_without_an_error(db_urls, monkeypatch):
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every checkout counts as after an idle spell
    engine = db.make_engine(db_urls["intake"], pool_size=1)
    try:
        first = backend_pid(engine)
        terminate(first)
        assert backend_pid(engine) != first  # pinged, found dead, replaced: the caller saw nothing
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_its_loss_fails_one_statement_only(db_urls, monkeypatch):
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    engine = db.make_engine(db_urls["intake"], pool_size=1)
    try:
        first = backend_pid(engine)
        terminate(first)
        with pytest.raises(DBAPIError) as failed:  # not pinged (a ping would have replaced it unseen)
            backend_pid(engine)
        assert failed.value.connection_invalidated
        assert backend_pid(engine) != first  # the pool connected anew
    finally:
        engine.dispose()
