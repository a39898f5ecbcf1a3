"""tdkt's RabbitMQ users in a test's vhost: load ``deploy/rabbitmq``'s definitions there, connect as
one of the users, and try AMQP actions (each a function of a py-amqp channel) to see what is refused.
"""
from __future__ import annotations

import importlib.util
from urllib.parse import urlsplit

import amqp
from amqp.exceptions import AccessRefused

from tests.harness import ROOT

LOADER_PATH = ROOT / "deploy" / "rabbitmq" / "load.py"


def loader():
    """``deploy/rabbitmq/load.py`` as a module (it is a script, not part of a package)."""
    spec = importlib.util.spec_from_file_location("tdkt_rabbitmq_load", LOADER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def local_password(user: str) -> str:
    """The documented local development password of ``user`` (``tdkt-intake`` -> ``tdkt-intake-local``)."""
    return f"{user}-local"


class Broker:
    """The test's vhost with the definitions loaded into it."""

    def __init__(self, rabbit_config: dict, api: str):
        self.vhost = rabbit_config["vhost"]
        parts = urlsplit(rabbit_config["AMQP_URI"])
        self.host, self.port = parts.hostname, parts.port or 5672
        load = loader()
        load.load(load.for_vhost(load.read_definitions(), self.vhost), api)

    def uri(self, user: str) -> str:
        return f"amqp://{user}:{local_password(user)}@{self.host}:{self.port}/{self.vhost}"

    def attempt(self, user: str, *actions):
        """Run ``actions`` in order on one channel as ``user``: None if the broker allowed them all,
        otherwise its ``AccessRefused``. Ends with a round trip, so a refused publish (which the
        broker answers asynchronously, by closing the channel) is reported here too."""
        connection = amqp.Connection(f"{self.host}:{self.port}", userid=user, password=local_password(user),
                                     virtual_host=self.vhost)
        connection.connect()
        try:
            channel = connection.channel()
            for action in actions:
                action(channel)
            channel.basic_qos(0, 0, False)
            return None
        except AccessRefused as refused:
            return refused
        finally:
            try:
                connection.close()
            except Exception:  # the broker closed it first
                connection.collect()

    def take(self, user: str, queue: str, reject: bool = False):
        """One message off ``queue`` as ``user`` (acknowledged, or with ``reject`` dead-lettered), or None."""
        taken = []

        def action(channel):
            message = channel.basic_get(queue)
            if message is None:
                return
            if reject:
                channel.basic_reject(message.delivery_tag, False)
            else:
                channel.basic_ack(message.delivery_tag)
            taken.append(message)
        self.allows(user, action)
        return taken[0] if taken else None

    def allows(self, user: str, *actions) -> bool:
        refused = self.attempt(user, *actions)
        assert refused is None, f"{user} was refused: {refused}"
        return True

    def refuses(self, user: str, action) -> bool:
        refused = self.attempt(user, action)
        assert refused is not None, f"{user} was allowed"
        assert refused.code == 403 and "ACCESS_REFUSED" in str(refused), refused
        return True


def consume(queue: str):
    return lambda channel: channel.basic_consume(queue, callback=lambda message: None)


def get(queue: str):
    return lambda channel: channel.basic_get(queue)


def publish(exchange: str, routing_key: str, body: bytes = b"{}", **properties):
    message = amqp.Message(body, content_type="application/json", **properties)
    return lambda channel: channel.basic_publish(message, exchange, routing_key)


def declare_exchange(name: str, kind: str = "topic"):
    return lambda channel: channel.exchange_declare(name, kind, durable=True, auto_delete=False)


def delete_exchange(name: str):
    return lambda channel: channel.exchange_delete(name)


def declare_queue(name: str, exchange: str | None = None, routing_key: str = "", dead_letters: str | None = None):
    """Declare a durable queue, bound to ``exchange`` when given, dead-lettering to ``tdkt.dead-letter``
    with routing key ``dead_letters`` when given (as the services' event queues do)."""
    arguments = {} if dead_letters is None else {"x-dead-letter-exchange": "tdkt.dead-letter",
                                                 "x-dead-letter-routing-key": dead_letters}

    def action(channel):
        channel.queue_declare(name, durable=True, auto_delete=False, arguments=arguments)
        if exchange is not None:
            channel.queue_bind(name, exchange, routing_key)
    return action


def bind(queue: str, exchange: str, routing_key: str):
    return lambda channel: channel.queue_bind(queue, exchange, routing_key)
