"""``deploy/rabbitmq/definitions.json`` agrees with the code: each service may declare, bind and consume
the queues its entrypoints use and nobody else may read them; each hash is of its documented password."""
import re

import pytest

from tests.harness import expected_queues
from tests.rabbit_users import loader, local_password

LOAD = loader()
DEFINITIONS = LOAD.read_definitions()
SERVICES = ("intake", "review", "notify")
EVENT_QUEUE = re.compile(r"^evt-(?P<source>[a-z]+)-(?P<event>[a-z_]+)--")


def permits(regex: str, name: str) -> bool:
    """RabbitMQ's reading of a permission: an empty one permits nothing."""
    return regex != "" and re.search(regex, name) is not None


def permission(user: str, kind: str) -> str:
    return next(entry[kind] for entry in DEFINITIONS["permissions"] if entry["user"] == user)


def topic_read(user: str, exchange: str) -> str:
    return next(entry["read"] for entry in DEFINITIONS["topic_permissions"]
                if (entry["user"], entry["exchange"]) == (user, exchange))


def test_every_users_hash_is_of_its_documented_local_password():
    for user in DEFINITIONS["users"]:
        assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
        assert LOAD.hash_matches(local_password(user["name"]), user["password_hash"]), user["name"]


def test_a_password_hash_is_salted_and_verifies_only_its_password():
    first, second = LOAD.password_hash("tdkt-unit-local"), LOAD.password_hash("tdkt-unit-local")
    assert first != second
    assert LOAD.hash_matches("tdkt-unit-local", second) and not LOAD.hash_matches("tdkt-unit-locals", second)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_may_declare_bind_and_consume_every_queue_its_entrypoints_use(service):
    user = f"tdkt-{service}"
    for queue in expected_queues(service):
        assert all(permits(permission(user, kind), queue) for kind in ("configure", "write", "read")), queue
        event = EVENT_QUEUE.match(queue)
        if event is None:  # its RPC queue, bound with "<service>.*"
            assert permits(topic_read(user, "nameko-rpc"), f"{service}.*")
            continue
        exchange = f"{event['source']}.events"
        assert permits(permission(user, "configure"), exchange) and permits(permission(user, "read"), exchange)
        assert permits(topic_read(user, exchange), event["event"]), queue
        assert permits(permission(user, "configure"), f"{queue}.retry")
        assert permits(permission(user, "read"), f"{queue}.retry")  # RabbitMQ checks it for a DLX argument


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_service_reads_its_queues_and_only_the_operator_its_dead_letters(service):
    for queue in expected_queues(service):
        readers = {entry["user"] for entry in DEFINITIONS["permissions"] if permits(entry["read"], queue)}
        assert readers == {f"tdkt-{service}"}, queue
    readers = {entry["user"] for entry in DEFINITIONS["permissions"] if permits(entry["read"], f"dlq.{service}")}
    assert readers == {"tdkt-operator"}
