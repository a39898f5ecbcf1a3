"""``tdkt dlq list|replay`` work whatever the dead-letter queue's type, and tell an expected failure
(broker out of reach, queue missing, access refused) in one line with a non-zero exit (issue #22, finding 9)."""
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner
from kombu import Connection, Queue

from shared.cli.commands import main
from tests.harness import free_port


def tdkt(*args):
    return CliRunner().invoke(main, list(args))


def declare_dead_letter(amqp_uri, queue_type, origin="evt-council-vote_cast--review.on_vote_cast"):
    """dlq.review as the services would have declared it under TDKT_QUEUE_TYPE, holding one letter."""
    arguments = {"x-queue-type": queue_type}
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        Queue(origin, durable=True, queue_arguments=arguments)(channel).declare()
        Queue("dlq.review", durable=True, queue_arguments=arguments)(channel).declare()
        connection.Producer(channel).publish(
            b'{"ballot_token": "secret-token", "choices": {}}', exchange="", routing_key="dlq.review",
            message_id="letter-1", headers={"x-death": [{"queue": origin, "count": 1}]}, delivery_mode=2,
            content_type="application/json", content_encoding="utf-8")


def one_line_failure(result):
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.mark.parametrize("queue_type, cli_queue_type", [("quorum", "classic"), ("classic", "quorum")])
def test_the_operator_lists_and_replays_dead_letters_whatever_the_queue_type(rabbit_config, monkeypatch,
                                                                             queue_type, cli_queue_type):
    amqp_uri = rabbit_config["AMQP_URI"]
    declare_dead_letter(amqp_uri, queue_type)
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    monkeypatch.setenv("TDKT_QUEUE_TYPE", cli_queue_type)

    listed = tdkt("dlq", "list", "review")
    replayed = tdkt("dlq", "replay", "review")

    assert listed.exit_code == 0, listed.output
    assert "letter-1" in listed.output and "secret-token" not in listed.output
    assert "1 dead letter(s) in dlq.review" in listed.output
    assert replayed.exit_code == 0 and "1 message(s) replayed" in replayed.output, replayed.output
    with Connection(amqp_uri) as connection:
        back = Queue("evt-council-vote_cast--review.on_vote_cast")(connection.channel()).get(no_ack=True)
        assert back is not None and back.properties["message_id"] == "letter-1"


def test_a_missing_dead_letter_queue_is_one_line(rabbit_config, monkeypatch):
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])

    for command in ("list", "replay"):
        assert "dlq.review does not exist" in one_line_failure(tdkt("dlq", command, "review"))


def test_a_broker_out_of_reach_is_one_line(monkeypatch):
    monkeypatch.setenv("AMQP_URI", f"amqp://guest:guest@127.0.0.1:{free_port()}/")

    for command in ("list", "replay"):
        assert "cannot reach RabbitMQ" in one_line_failure(tdkt("dlq", command, "review"))


def test_refused_credentials_or_vhost_are_one_line_without_the_password(rabbit_config, monkeypatch):
    parts = urlsplit(rabbit_config["AMQP_URI"])
    wrong_password = urlunsplit(parts._replace(netloc=f"guest:not-the-password@{parts.hostname}:{parts.port}"))
    no_vhost = urlunsplit(parts._replace(path="/no-such-vhost-here"))

    for uri in (wrong_password, no_vhost):
        monkeypatch.setenv("AMQP_URI", uri)
        output = one_line_failure(tdkt("dlq", "list", "review"))
        assert "RabbitMQ" in output and "not-the-password" not in output
