"""A deleted exchange takes a service's bindings with it; the service puts them back, readiness sees it."""
import pytest
from kombu import Connection
from nameko.exceptions import UnknownService

from shared.platform import guard
from shared.platform.client import rpc_proxy
from shared.platform.healthcheck import main as healthcheck, missing_exchanges
from shared.platform.messaging import event_exchange
from tests.harness import wait_until


def delete_exchange(amqp_uri, name):
    with Connection(amqp_uri) as connection:
        connection.default_channel.exchange_delete(name)


def catalogue(intake):
    with rpc_proxy(intake.rabbit_config["AMQP_URI"], {"auth_token": intake.tokens["vp"]}, timeout=5) as proxy:
        return proxy.intake.award_catalogue()


@pytest.fixture
def quick_keeper(monkeypatch):
    monkeypatch.setattr(guard, "KEEP_BINDINGS_SECONDS", 0.2)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_intake_is_reachable_again_soon_after_nameko_rpc_is_deleted(quick_keeper, intake, rabbit_config):
    assert catalogue(intake)["rule_set"]
    delete_exchange(rabbit_config["AMQP_URI"], "nameko-rpc")

    def answered():
        try:
            return catalogue(intake)
        except (UnknownService, Exception):  # the exchange or the binding is not back yet
            return None

    assert wait_until(answered, timeout=20, what="intake reachable again")["rule_set"]
    assert missing_exchanges(rabbit_config["AMQP_URI"], ["nameko-rpc"], 5) == []


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_review_hears_intakes_events_again_after_intake_events_is_deleted(quick_keeper, review, rabbit_config):
    from tests.integration.review_support import submitted

    delete_exchange(rabbit_config["AMQP_URI"], "intake.events")

    def routed():  # a mandatory publish is refused (Undeliverable) until the exchange and binding are back
        try:
            review.submit(submitted("n-after", "LDTT"))  # waits for review's handler
            return True
        except Exception:
            return False

    wait_until(routed, timeout=20, what="intake.events and review's binding declared again")
    assert review.call("get_case", "n-after")["state"] == "waiting"


def test_readiness_reports_an_absent_exchange(rabbit_config, monkeypatch, capsys):
    amqp_uri = rabbit_config["AMQP_URI"]
    with Connection(amqp_uri) as connection:  # intake's queue, consumed, but its exchange gone
        channel = connection.channel()
        event_exchange("review")(channel).declare()
        channel.exchange_declare("nameko-rpc", "topic", durable=True)
        channel.queue_declare("rpc-intake", durable=True)
        channel.exchange_delete("nameko-rpc")
        for queue in ("rpc-intake", "evt-review-nomination_decided--intake.on_nomination_decided"):
            channel.queue_declare(queue, durable=True)
        assert missing_exchanges(amqp_uri, ["nameko-rpc", "review.events"], 5) == ["nameko-rpc"]
        monkeypatch.setenv("AMQP_URI", amqp_uri)
        assert healthcheck(["intake"]) == 1
        assert "exchange nameko-rpc: absent" in capsys.readouterr().out
