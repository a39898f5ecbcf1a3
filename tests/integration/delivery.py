"""Helpers of the delivery tests: a bound test queue, and direct access to a service's tables."""
import sqlalchemy as sa
from kombu import Connection, Queue
from sqlalchemy.orm import sessionmaker

from shared.platform.db import make_engine, migrate
from shared.platform.messaging import event_exchange
from shared.platform.store import UnitOfWork


class Tap:
    """A queue bound to a service's event exchange, to see what was published."""

    def __init__(self, amqp_uri, service, event_type):
        self.connection = Connection(amqp_uri)
        self.queue = Queue(f"tap-{service}-{event_type}", exchange=event_exchange(service),
                           routing_key=event_type, durable=False, auto_delete=False)
        self.queue(self.connection.default_channel).declare()

    def get_all(self):
        messages, queue = [], self.queue(self.connection.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            messages.append(message)
        return messages

    def close(self):
        self.connection.release()


class Tables:
    """A service's database, migrated, with units of work and row counts for assertions."""

    def __init__(self, url, migrations):
        self.engine = make_engine(url, pool_size=2)
        migrate(self.engine, migrations)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def uow(self, consumer="test", message_id=None, on_commit=lambda names: None):
        return UnitOfWork(self.sessions(), consumer, message_id, {}, on_commit)

    def count(self, table):
        with self.engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()

    def dispose(self):
        self.engine.dispose()


LOCK_WAITS = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND wait_event_type = 'Lock'")


def someone_waits_on_a_lock(engine) -> bool:
    """Whether a backend of this database waits on a lock (PostgreSQL). Each look is a transaction of
    its own: PostgreSQL keeps a transaction's first look at ``pg_stat_activity``."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        return watcher.execute(LOCK_WAITS).scalar() > 0


def wait_for_a_lock_wait(engine, thread=None, what: str = "another transaction to wait on a lock") -> None:
    """Until a backend waits on a lock, or ``thread`` (the green thread expected to wait) ended."""
    from tests.harness import wait_until

    wait_until(lambda: (thread is not None and thread.dead) or someone_waits_on_a_lock(engine), timeout=10,
               what=what)


def end_after_the_other_waits(engine, held, other, commit: bool = True, must_wait: bool = False):
    """Force an interleaving on PostgreSQL without sleeping: ``held`` (a session whose transaction is
    open) stays open while ``other()`` runs in a green thread; once ``other`` has finished or waits on
    a lock, ``held`` commits (or rolls back) and ``other``'s result is returned. ``must_wait``: fail if
    ``other`` finished without waiting."""
    import eventlet

    thread = eventlet.spawn(other)
    wait_for_a_lock_wait(engine, thread, "the other transaction to finish or wait on a lock")
    assert not (must_wait and thread.dead), "the other transaction did not wait for the held one"
    (held.commit if commit else held.rollback)()
    return thread.wait()


def commit_after_the_other_waits(engine, held, other) -> None:
    end_after_the_other_waits(engine, held, other)


def as_stored(engine, table, where: str = "", params: dict | None = None, skip=()) -> list[dict]:
    """``table``'s rows with each column as the database holds it (its type, NULL or not, its text),
    to compare two ways of writing a row beyond what SQLAlchemy gives back."""
    sqlite = engine.dialect.name == "sqlite"
    parts = []
    for column in table.c:
        if column.name in skip:
            continue
        name = f'"{column.name}"'
        if sqlite:
            parts.append(f"typeof({name}) || ':' || quote({name}) AS {name}")
        else:
            parts.append(f"pg_typeof({name})::text || ':' || ({name} IS NULL)::text || ':' || "
                         f"coalesce({name}::text, '<sql null>') AS {name}")
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            sa.text(f"SELECT {', '.join(parts)} FROM {table.name} {where}"), params or {}).mappings()]


def statements_of(engine, action) -> list[str]:
    """The SQL statements ``action()`` sends through ``engine``, in order."""
    sent = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return sent
