"""RPC replies on a real broker (shared.platform.replies): every call answered on the service's own
reply connection, and that connection replaced when the broker ends it, so no reply goes into a
socket the broker has closed."""
import logging
from urllib.parse import quote

import pytest
import requests
from nameko.exceptions import RemoteError, RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from shared.contract.errors import ValidationError
from shared.platform.replies import Replies
from shared.platform.rpc import rpc
from tests.harness import wait_until


class Answering:
    name = "replies_test"

    @rpc
    def echo(self, value):
        return value

    @rpc
    def refuse(self):
        raise ValidationError({"award_code": ["unknown"]})

    @rpc
    def unserializable(self):
        return {"when": object()}


@pytest.fixture
def answering(container_factory, rabbit_config, service_env):
    container = container_factory(Answering, rabbit_config)
    container.start()
    return container


def replies_of(container) -> Replies:
    return next(extension for extension in container.extensions if isinstance(extension, Replies))


def broker_connections(api, vhost):
    return requests.get(f"{api.rstrip('/')}/api/vhosts/{quote(vhost, safe='')}/connections", timeout=10).json()


def test_results_errors_and_unserializable_results_are_answered(answering, rabbit_config):
    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy.replies_test.echo({"name": "Nguyễn Thị Ánh", "n": [1, 2]}) == {"name": "Nguyễn Thị Ánh",
                                                                                      "n": [1, 2]}
        with pytest.raises(ValidationError):
            proxy.replies_test.refuse()
        with pytest.raises(RemoteError) as unserializable:
            proxy.replies_test.unserializable()
        assert unserializable.value.exc_type == "UnserializableValueError"
        assert [proxy.replies_test.echo.call_async(n) for n in range(50)][-1].result() == 49


def test_a_reply_connection_the_broker_closed_is_replaced_before_the_next_reply(answering, rabbit_config, api,
                                                                               caplog):
    replies = replies_of(answering)
    caplog.set_level(logging.INFO, logger="shared.platform.replies")
    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy.replies_test.echo(1) == 1
        link = replies._link
        port = link.connection.connection.transport.sock.getsockname()[1]
        reply_connection = wait_until(lambda: [c for c in broker_connections(api, rabbit_config["vhost"])
                                               if c.get("peer_port") == port], what="the reply connection")[0]
        closed = requests.delete(f"{api.rstrip('/')}/api/connections/{quote(reply_connection['name'], safe='')}",
                                 timeout=10)
        assert closed.status_code in (200, 204)
        wait_until(lambda: replies._link is not link, what="the reader to see the broker's close")
        # replaced before the write, not after a write failed on it (or, worse, seemed to succeed)
        assert proxy.replies_test.echo(2) == 2
        assert not [r for r in caplog.records if "connection failed" in r.getMessage()]
        assert replies._link.connection.connection.transport.sock.getsockname()[1] != port
        assert proxy.replies_test.echo(3) == 3


def test_a_reply_no_connection_takes_is_logged_and_its_request_settled_not_run_again(answering, rabbit_config,
                                                                                     caplog, monkeypatch):
    replies, calls = replies_of(answering), []

    def broken(reply):
        calls.append(reply.routing_key)
        raise ConnectionResetError("the broker went away")

    monkeypatch.setattr(replies, "_write", broken)
    with ClusterRpcProxy(rabbit_config, timeout=3) as proxy:
        with pytest.raises(RpcTimeout):
            proxy.replies_test.echo("lost")
        assert len(calls) == 2  # tried on the connection, then once more on a new one
        monkeypatch.undo()
        assert proxy.replies_test.echo("next") == "next"
    assert len(calls) == 2  # the request was acked, not delivered again
    assert any("could not be sent" in r.getMessage() for r in caplog.records)


def reading(fileno: int) -> bool:
    from eventlet import hubs

    hub = hubs.get_hub()
    return fileno in hub.listeners[hub.READ]


def test_a_reply_connection_dropped_or_stopped_leaves_no_reader_waiting_on_its_descriptor(answering, rabbit_config):
    """A reader left waiting on a closed socket keeps its descriptor in the hub: the next socket or pipe
    given that number (a psycopg2 connection, a subprocess's pipe) fails with "second simultaneous read"."""
    replies = replies_of(answering)
    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy.replies_test.echo(1) == 1
        first = replies._link.connection.connection.transport.sock.fileno()
        assert reading(first)  # the reader waits for confirms there
        with replies._lock:
            replies._drop()  # as when it has been idle for a minute
        assert not reading(first)
        assert proxy.replies_test.echo(2) == 2
        second = replies._link.connection.connection.transport.sock.fileno()
    answering.stop()
    assert not reading(second)
