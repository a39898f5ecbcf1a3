"""A service's shared queues are declared one at a time in a process, and again after a moment when
RabbitMQ answers a declaration made at the same moment as another one with ``NOT_FOUND - home node ...
is down or inaccessible`` (seen in CI: two event handlers of one container declaring the new
``dlq.review`` together). Any other refusal is raised at once, as is the third such answer."""
import logging

import pytest
from amqp.exceptions import NotFound

from shared.platform import messaging

RACE = NotFound("Queue.declare: (404) NOT_FOUND - home node 'rabbit@localhost' of durable queue 'dlq.review' "
                "in vhost 'v' is down or inaccessible")


class FlakyQueue:
    """A queue whose first ``failures`` declarations get ``answer``."""

    def __init__(self, name, failures=0, answer=RACE):
        self.name, self.failures, self.answer, self.declared = name, failures, answer, 0

    def __call__(self, channel):
        return self

    def declare(self):
        if self.failures:
            self.failures -= 1
            raise self.answer
        self.declared += 1


def test_a_declaration_that_met_another_is_made_again(rabbit_config, caplog):
    dead_letters, retries = FlakyQueue("dlq.review", failures=1), FlakyQueue("review.retry")
    with caplog.at_level(logging.WARNING, logger="shared.platform.messaging"):
        messaging.declare_queues(rabbit_config["AMQP_URI"], [dead_letters, retries])
    assert (dead_letters.declared, retries.declared) == (1, 1)
    assert "home node" in caplog.text


def test_another_refusal_is_raised_at_once(rabbit_config):
    queue = FlakyQueue("dlq.review", failures=1, answer=NotFound("Queue.declare: (404) NOT_FOUND - no vhost"))
    with pytest.raises(NotFound, match="no vhost"):
        messaging.declare_queues(rabbit_config["AMQP_URI"], [queue])
    assert queue.declared == 0


def test_the_race_answered_every_time_is_raised(rabbit_config):
    queue = FlakyQueue("dlq.review", failures=messaging.DECLARE_ATTEMPTS)
    with pytest.raises(NotFound, match="home node"):
        messaging.declare_queues(rabbit_config["AMQP_URI"], [queue])
    assert queue.declared == 0


def test_real_queues_are_declared(rabbit_config):
    from kombu import Connection

    messaging.declare_queues(rabbit_config["AMQP_URI"], [messaging.dead_letter_queue("review"),
                                                         messaging.retry_queue("evt-review")])
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.default_channel
        assert channel.queue_declare("dlq.review", passive=True).queue == "dlq.review"
        assert channel.queue_declare("evt-review.retry", passive=True).queue == "evt-review.retry"
