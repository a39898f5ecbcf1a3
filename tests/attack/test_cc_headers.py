"""Finding 2: RabbitMQ's sender-selected distribution headers (``CC``, ``BCC``) route a message to more
routing keys than the one the broker's topic permissions checked, and tdkt re-publishes them.

RabbitMQ checks a topic permission against the routing key of ``basic.publish`` only; the routing keys in
a message's ``CC`` and ``BCC`` headers are routed to as well, unchecked. So:

* a unit clerk (``tdkt-unit``: write ``nameko-rpc`` only with ``^intake\\.[a-z_]+$``) reaches
  ``rpc-review`` and ``rpc-notify`` (and every poison of finding 1 with them);
* worse, the services and ``tdkt dlq replay`` copy a message's headers when they publish it again on the
  *default* exchange (the retry to ``<queue>.retry``; the replay to its origin queue), where a ``CC``
  routing key is any queue's name. A council member's junk vote carrying ``CC: [<intake's
  nomination_decided queue>]`` and a forged ``nomination_decided`` body is dead-lettered by review; when
  an operator replays ``dlq.review`` (the documented recovery), the forged outcome lands in intake's
  queue as if review had published it. The same happens without an operator whenever a vote carrying
  the header fails transiently (a database hiccup): review's own retry publishes the copy.
"""
import json

import pytest

from shared.platform.deadletters import peek, replay
from tests.harness import wait_until
from tests.rabbit_users import declare_queue, publish

INTAKE_DECIDED = "evt-review-nomination_decided--intake.on_nomination_decided"
FORGED_OUTCOME = {"nomination_id": "n-victim", "stage": "ministry", "outcome": "approved",
                  "contact_email": "attacker@example.com"}


@pytest.mark.parametrize("header", ["CC", "BCC"])
def test_a_call_a_unit_clerk_routes_to_review_through_a_cc_header_is_not_executed_there(broker, review, header):
    """The broker cannot be made to check ``CC``/``BCC`` against topic permissions, so the message does
    reach ``rpc-review``; review answers it for what it is, a call to ``intake.award_catalogue``, which it
    does not have (``MethodNotFound``), and runs nothing."""
    import uuid

    import amqp

    assert broker.refuses("tdkt-unit", publish("nameko-rpc", "review.statistics"))  # as test_rabbitmq_permissions
    reply_key = str(uuid.uuid4())
    reply_queue = f"rpc.reply-standalone_rpc_proxy-{uuid.uuid4()}"
    replies = []

    def call(channel):
        channel.queue_declare(reply_queue, auto_delete=True)
        channel.queue_bind(reply_queue, "nameko-rpc", reply_key)
        channel.basic_publish(amqp.Message(b'{"args": [], "kwargs": {}}', content_type="application/json",
                                           reply_to=reply_key, correlation_id="c-1",
                                           application_headers={header: ["review.statistics"]}),
                              "nameko-rpc", "intake.award_catalogue")

        def answered():
            message = channel.basic_get(reply_queue, no_ack=True)
            if message is not None:
                replies.append(json.loads(message.body))
            return replies

        wait_until(answered, what="review's answer")

    assert broker.allows("tdkt-unit", call)
    assert replies[0]["result"] is None and replies[0]["error"]["exc_type"] == "MethodNotFound"


def test_replaying_a_council_members_junk_vote_delivers_nothing_to_another_services_queue(broker, review,
                                                                                            rabbit_config):
    assert broker.allows("tdkt-intake", declare_queue(INTAKE_DECIDED, "review.events", "nomination_decided"))
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast", json.dumps(FORGED_OUTCOME).encode(),
                                                 application_headers={"CC": [INTAKE_DECIDED]}))
    assert wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), what="the junk vote dead-lettered")
    assert broker.take("tdkt-intake", INTAKE_DECIDED) is None  # nothing reached intake so far
    assert replay(broker.uri("tdkt-operator"), "review") >= 1  # the operator's routine recovery
    forged = arrival(broker, INTAKE_DECIDED)
    assert forged is None, json.loads(forged.body)


def arrival(broker, queue, seconds=3.0):
    """The first message to reach ``queue`` (taken as intake) within ``seconds``, or None."""
    try:
        return wait_until(lambda: broker.take("tdkt-intake", queue), timeout=seconds)
    except AssertionError:
        return None


def test_a_vote_retried_after_a_transient_failure_is_copied_nowhere_else(broker, review, rabbit_config,
                                                                          monkeypatch):
    from services.review import sittings

    def database_hiccup(*args, **kwargs):
        raise RuntimeError("the database went away")  # any transient failure: the vote is retried

    monkeypatch.setattr(sittings, "cast_vote", database_hiccup)
    assert broker.allows("tdkt-intake", declare_queue(INTAKE_DECIDED, "review.events", "nomination_decided"))
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast",
                                                 b'{"ballot_token": "t", "choices": {}}',
                                                 application_headers={"CC": [INTAKE_DECIDED]}))
    copied = arrival(broker, INTAKE_DECIDED, 5)
    assert copied is None, copied.body


def test_a_council_member_cannot_decide_a_nomination_through_a_replayed_dead_letter(broker, intake, review,
                                                                                      rabbit_config):
    nomination_id = intake.submit()["nomination_id"]  # council members read ids like it on their agenda
    forged = {"nomination_id": nomination_id, "stage": "ministry", "outcome": "rejected"}
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast", json.dumps(forged).encode(),
                                                 application_headers={"CC": [INTAKE_DECIDED]}))
    assert wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), what="the junk vote dead-lettered")
    replay(broker.uri("tdkt-operator"), "review")

    def status():
        return intake.call("vp", "get_nomination", nomination_id)["status"]

    try:
        wait_until(lambda: status() != "submitted", timeout=5, interval=0.5)
    except AssertionError:
        pass
    stored = intake.call("vp", "get_nomination", nomination_id)
    assert (stored["status"], stored["stage"]) == ("submitted", "unit"), stored["history"][-1]
