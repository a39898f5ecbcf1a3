"""Finding 1: a message whose content header py-amqp cannot read stops the service, and every restart.

The guard screens messages in ``GuardedQueueConsumer.on_raw_message``; but py-amqp parses the content
header (properties and header table) in the connection's frame handler, inside ``drain_events``, before
kombu or the guard see a message. RabbitMQ passes these properties through unchecked:

* a property string that is not UTF-8 (``message_id``, ``correlation_id``, ``content_type``, ...):
  ``bytes_to_str`` raises ``UnicodeDecodeError``;
* a header of type ``T`` (timestamp) beyond year 9999: ``datetime.fromtimestamp`` raises ``OverflowError``;
* a header table nested ~1500 deep (9 KB): ``_read_item`` raises ``RecursionError``.

The exception leaves Nameko's queue consumer thread, a managed thread, so the container is killed; the
message was never acknowledged, so it is delivered again to the restarted service, which dies too. A
council member (write on ``council.events``/``vote_cast``) stops review this way; a unit clerk
(write on ``nameko-rpc``/``intake.*``) stops intake.
"""
import pytest

from services.review.service import ReviewService
from shared.contract.errors import NotFound
from shared.platform.deadletters import peek
from tests.attack.raw import nested, publish_raw, table, timestamp
from tests.harness import wait_until
from tests.integration.review_support import Review

POISON = {
    "message-id-not-utf8": {"message_id": b"\xff\xfe"},
    "timestamp-header-after-9999": {"application_headers": table(("sent", timestamp(2 ** 63)))},
    "header-table-nested-1500-deep": {"application_headers": table(("n", nested(1500)))},
}


def alive(container) -> bool:
    return not container._died.ready() and not container._being_killed


def vote(rabbit_config, **raw):
    publish_raw(rabbit_config["AMQP_URI"], "council.events", "vote_cast",
                b'{"ballot_token": "x", "choices": {}}', **raw)


def dead_lettered(rabbit_config):
    """The unreadable vote, once the guard has dead-lettered it with its reason."""
    letters = wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), what="the vote dead-lettered")
    assert [letter["reason"].split(":")[0] for letter in letters] == ["content header cannot be read"]
    return letters


@pytest.mark.parametrize("poison", POISON.values(), ids=list(POISON))
def test_a_vote_py_amqp_cannot_read_leaves_review_running(review, rabbit_config, poison):
    vote(rabbit_config, **poison)
    dead_lettered(rabbit_config)
    assert alive(review.container)
    with pytest.raises(NotFound):
        review.call("sitting_result", "no-such-sitting")


def test_the_unreadable_vote_stays_queued_and_stops_the_restarted_review_too(review, rabbit_config,
                                                                              container_factory):
    vote(rabbit_config, **POISON["message-id-not-utf8"])
    dead_lettered(rabbit_config)  # settled, so no restart meets it again
    restarted = review.container
    if not alive(review.container):  # as a supervisor (systemd, Kubernetes) would: start review again
        restarted = container_factory(ReviewService, rabbit_config)
        restarted.start()
    assert alive(restarted)
    with pytest.raises(NotFound):
        Review(restarted, rabbit_config).call("sitting_result", "no-such-sitting")


def test_a_unit_clerks_rpc_request_with_a_non_utf8_correlation_id_leaves_intake_running(intake, rabbit_config,
                                                                                         caplog):
    publish_raw(rabbit_config["AMQP_URI"], "nameko-rpc", "intake.award_catalogue", b'{"args": [], "kwargs": {}}',
                correlation_id=b"\xc3\x28", reply_to="0b3c2e5e-5a0b-4b8e-9d6c-1c2b3a4d5e6f")
    wait_until(lambda: "dropped: content header cannot be read" in caplog.text, what="the request dropped")
    assert alive(intake.container)
    assert intake.call("vp", "award_catalogue")
