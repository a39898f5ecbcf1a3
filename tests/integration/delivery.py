"""Helpers of the delivery tests: a bound test queue, and direct access to a service's tables."""
import sqlalchemy as sa
from kombu import Connection, Queue
from sqlalchemy.orm import sessionmaker

from shared.db import make_engine, migrate
from shared.messaging import event_exchange
from shared.store import UnitOfWork


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


def commit_after_the_other_waits(engine, held, other) -> None:
    """Force an interleaving on PostgreSQL without sleeping: ``held`` (a session whose transaction is
    open) stays open while ``other()`` runs in a green thread; once ``other`` has finished or waits
    on a lock (``pg_stat_activity``), ``held`` commits and ``other`` is waited for."""
    import eventlet

    from tests.harness import wait_until

    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")

    def someone_waits() -> bool:  # a new transaction each time: pg_stat_activity is read once per transaction
        with engine.connect() as watcher:
            return watcher.execute(query).scalar() > 0

    thread = eventlet.spawn(other)
    wait_until(lambda: thread.dead or someone_waits(), timeout=10,
               what="the other transaction to finish or wait on a lock")
    held.commit()
    thread.wait()
