"""Engines and migrations that work the same on SQLite (local default) and PostgreSQL (production).

PostgreSQL goes through psycopg2 with eventlet's wait callback (installed by ``eventlet.monkey_patch()``,
which ``nameko run`` applies, and checked here), so a query yields to other green threads instead of
blocking the whole process (proven in tests/integration/test_postgres_under_eventlet.py).

Long because the inbox's one-statement helpers (a claim with the read or the insert that follows it)
live here beside ``insert_new``, whose guarantees they share.
"""
from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError

log = logging.getLogger(__name__)
IDLE_PING_SECONDS = 10.0  # a pooled connection unused this long is checked before it is handed out


class StatementCount:
    """SQL statements this process has sent (an ``executemany`` counts once), for ``/metrics``
    (``tdkt_sql_statements_total``) and the benchmark's statements per nomination. A Prometheus
    collector: its value is read when scraped."""

    def __init__(self):
        self.value = 0

    def count(self, *_args):
        self.value += 1  # green threads: no two run this at once

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        yield CounterMetricFamily("tdkt_sql_statements", "SQL statements sent by this process", value=self.value)


STATEMENTS = StatementCount()


def insert_new(session, table, **values) -> bool:
    """Insert a row unless one with the same key exists; True when inserted. One statement
    (``INSERT ... ON CONFLICT DO NOTHING``, on PostgreSQL and SQLite) instead of a look-up and an
    insert; a concurrent insert of the same key waits for the other transaction and then loses."""
    statement = _insert_new_statement(table, session.get_bind().dialect.name)
    return session.execute(statement, values).rowcount == 1


def insert_new_rows(session, table, rows: list[dict]) -> None:
    """``insert_new`` of each of ``rows`` in one statement: a key that exists, or comes twice, is skipped.
    Every row names the same columns of ``table`` (an ``executemany`` would drop any other name silently,
    or fail on a row missing one); else ValueError, and nothing is sent."""
    if not rows:
        return
    names = rows[0].keys()
    if not names <= set(table.c.keys()) or any(row.keys() != names for row in rows):
        raise ValueError(f"rows for {table.name} must name the same columns of it: {sorted(names)}")
    session.execute(_insert_new_statement(table, session.get_bind().dialect.name), rows)


@functools.lru_cache(maxsize=None)
def _insert_new_statement(table, dialect: str):
    return dialect_insert(dialect)(table).on_conflict_do_nothing()


def insert_new_then_read(session, table, values: dict, query, params: dict | None = None,
                         only_if=None) -> list | None:
    """:func:`insert_new`, then, only when it inserted, ``query`` (with ``params`` for its bound
    parameters): its rows as mappings, or None when the row existed. One statement on PostgreSQL (the
    insert in a ``WITH``, the query joined ``LATERAL`` to the row it returned, so it runs only after an
    insert), two elsewhere. ``query`` is best a constant with ``bindparam``s: the statement made of it
    is built once (building it is most of the client's cost of a statement).

    Like the two statements, the query's locks (``FOR UPDATE``, an advisory lock) are taken only after
    the insert won its key. Unlike them, the query reads the database as the statement began, which
    may be before the insert waited for a concurrent holder of the key (a duplicate delivery, which
    then rolled back): a row locked ``FOR UPDATE`` is read as last committed, but a row that began to
    exist or to match meanwhile is not seen, and a plain read gives the values of before the wait.
    So read here only rows that exist before the message (intake's nomination, which review's events
    follow) or values as of the message's handling (a unit's name); what must be read after a lock is
    read by a later statement, or by a ``VOLATILE`` SQL function (which takes a snapshot of its own
    when it runs: intake's register reads, migration intake_0008).

    ``only_if``, when given, is a condition the row is inserted under, checked in the same statement
    (``INSERT ... SELECT ... WHERE``; its bound parameters in ``params``): None also when it does not
    hold. Best a constant too (intake's submission checks the unit's token so)."""
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        if only_if is None:
            inserted = insert_new(session, table, **values)
        else:
            inserted = session.execute(_insert_new_if_statement(table, tuple(sorted(values)), only_if, dialect),
                                       {**(params or {}), **_values(values)}).rowcount == 1
        return session.execute(query, params or {}).mappings().all() if inserted else None
    statement = _insert_then_read_statement(table, tuple(sorted(values)), query, only_if)
    rows = session.execute(statement, {**(params or {}), **_values(values)}).mappings().all()
    if not rows:
        return None
    return [{key: value for key, value in row.items() if key not in (_INSERTED, _FOUND)}
            for row in rows if row[_FOUND] is not None]


@functools.lru_cache(maxsize=64)
def _insert_then_read_statement(table, keys: tuple[str, ...], query, only_if=None):
    if only_if is None:
        insert = _insert_new_statement(table, "postgresql").values(
            {key: sa.bindparam(_value(key), type_=table.c[key].type) for key in keys})
    else:
        insert = _insert_new_if_statement(table, keys, only_if, "postgresql")
    inserted = insert.returning(sa.literal_column("1").label(_INSERTED)).cte("inserted_row")
    read = query.add_columns(sa.literal_column("1").label(_FOUND)).lateral("read_after_insert")
    return sa.select(inserted.c[_INSERTED], read).select_from(inserted.outerjoin(read, sa.true()))


@functools.lru_cache(maxsize=16)
def _insert_new_if_statement(table, keys: tuple[str, ...], only_if, dialect: str):
    """``INSERT INTO table (keys) SELECT <the values> WHERE only_if ON CONFLICT DO NOTHING``."""
    source = sa.select(*(sa.bindparam(_value(key), type_=table.c[key].type) for key in keys)).where(only_if)
    return dialect_insert(dialect)(table).from_select(keys, source).on_conflict_do_nothing()


def _value(key: str) -> str:
    return f"tdkt_insert_{key}"


def _values(values: dict) -> dict:
    return {_value(key): value for key, value in values.items()}


def insert_new_then_insert_new(session, table, values: dict, then, then_values: dict) -> int | None:
    """:func:`insert_new` of ``values`` in ``table``, then, only when it inserted, :func:`insert_new`
    of ``then_values`` in ``then``: None when the first row existed, else 1 or 0 as the second was
    inserted or existed. One statement on PostgreSQL (both inserts in a ``WITH``, the second a
    ``SELECT`` of its values that exists only with the first's returned row), two elsewhere. A key
    taken by a concurrent transaction waits for it, as with two statements."""
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        return int(insert_new(session, then, **then_values)) if insert_new(session, table, **values) else None
    statement = _insert_then_insert_statement(table, tuple(sorted(values)), then, tuple(sorted(then_values)))
    inserted, added = session.execute(statement, {**_values(values),
                                                  **{_then(key): v for key, v in then_values.items()}}).one()
    return added if inserted else None


@functools.lru_cache(maxsize=16)
def _insert_then_insert_statement(table, keys: tuple[str, ...], then, then_keys: tuple[str, ...]):
    inserted = _insert_new_statement(table, "postgresql").values(
        {key: sa.bindparam(_value(key), type_=table.c[key].type) for key in keys}
    ).returning(sa.literal_column("1").label(_INSERTED)).cte("inserted_row")
    source = sa.select(*(sa.bindparam(_then(key), type_=then.c[key].type) for key in then_keys)).where(
        sa.exists(sa.select(inserted.c[_INSERTED])))
    added = _insert_new_statement(then, "postgresql").from_select(then_keys, source).returning(
        sa.literal_column("1").label(_ADDED)).cte("then_row")
    return sa.select(sa.select(sa.func.count()).select_from(inserted).scalar_subquery(),
                     sa.select(sa.func.count()).select_from(added).scalar_subquery())


def _then(key: str) -> str:
    return f"tdkt_then_{key}"


_INSERTED, _FOUND, _ADDED = "tdkt_inserted", "tdkt_found", "tdkt_added"  # unlike any column of ours


def upsert_rows(session, table, rows: list[dict], update: tuple[str, ...]) -> None:
    """Insert ``rows`` in one statement, or update their ``update`` columns where the key exists
    (``INSERT ... ON CONFLICT DO UPDATE``, on PostgreSQL and SQLite)."""
    if not rows:
        return
    statement = dialect_insert(session.get_bind().dialect.name)(table).values(rows)
    keys = [column.name for column in table.primary_key.columns]
    session.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in update}))


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time as an aware UTC time: every service stores UTC, and SQLite gives it back naive."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def dialect_insert(dialect: str):
    """The ``insert`` construct with ``ON CONFLICT`` of PostgreSQL or SQLite."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def make_engine(url: str, pool_size: int = 12) -> Engine:
    """An engine for ``url``; SQLite gets one pooled connection per process (see below). Its errors
    and logs never show a statement's parameters (``hide_parameters``): they hold ballot choices,
    member ids and token digests, and a database error is logged where anyone reading logs sees it."""
    from shared.platform.config import with_driver

    parsed = make_url(with_driver(url))
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        _make_psycopg_green()
        # values_plus_batch: an UPDATE run for many rows goes in pages of statements, not one round trip each
        engine = create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_timeout=60,
                               executemany_mode="values_plus_batch", hide_parameters=True)
        _ping_after_idle(engine, IDLE_PING_SECONDS)
    event.listen(engine, "after_cursor_execute", STATEMENTS.count)
    return engine


def _ping_after_idle(engine: Engine, idle: float) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection that sat unused for ``idle`` seconds.

    A ping on every checkout was one round trip per transaction (5 % of each service's CPU in the
    year-end benchmark). A connection in steady use proves itself: if the server went away meanwhile
    (a restart), its next statement fails, SQLAlchemy invalidates the whole pool, and that one
    transaction fails as any would during the outage (a handler's message is retried, a caller
    retries). A connection idle longer is pinged first and replaced if dead (``DisconnectionError``
    makes the pool connect anew), so a quiet night's restart costs no one an error."""
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:  # noqa: BLE001 - any failure: this connection is not to be used
            raise DisconnectionError(f"a pooled connection idle for {time.monotonic() - since:.0f} s is gone") from exc


def _sqlite_engine(url) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # A SQLite call does not yield under eventlet: two green threads holding two connections could
    # wait on each other's lock while the hub is blocked. One connection per process serialises them
    # in the (green) pool instead; WAL lets other processes read meanwhile.
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=120, hide_parameters=True,
                           connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _make_psycopg_green():
    from eventlet import patcher
    from psycopg2 import extensions

    if patcher.is_monkey_patched("socket") and extensions.get_wait_callback() is None:
        from eventlet.support.psycopg2_patcher import make_psycopg_green

        make_psycopg_green()


def migrate(engine: Engine, migrations: Path) -> None:
    """Apply the service's Alembic migrations up to head (each instance may call this at start)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # before import: it logs its plugins
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # several instances starting at once take turns; the lock ends with the transaction
            connection.execute(text("SELECT pg_advisory_xact_lock(7262021)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.info("migrations applied: %s", migrations.parent.name)


def run_migrations_online(context) -> None:
    """The body of every service's ``migrations/env.py``: use the caller's connection if given."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from shared.platform.config import load_settings

    service = Path(context.config.get_main_option("script_location")).parent.name
    engine = make_engine(load_settings().db_url(service))
    with engine.begin() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
