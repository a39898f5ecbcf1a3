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
