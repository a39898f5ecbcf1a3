"""Finding 3: a message whose headers nearly fill a frame cannot be copied with tdkt's headers added; it is
then rejected to the broker's dead-lettering *with the sender's own headers*, which ``tdkt dlq replay``
trusts to choose where to send it.

RabbitMQ's ``frame_max`` (131072) bounds a content header frame. A council member's junk vote whose
headers take ~130.9 KB is accepted and delivered; review then copies it to ``dlq.review`` with
``x-tdkt-reason`` and ``x-tdkt-queue`` added: the copy's header frame is too large (FRAME_ERROR), so
``dead_letter`` falls back to ``reject(requeue=False)``, and the broker dead-letters the original, whose
``x-tdkt-queue`` the sender wrote. ``tdkt dlq list`` shows that forged queue and ``tdkt dlq replay``
publishes the body there on the default exchange: any queue of any service (here intake's
``nomination_decided`` queue receives a forged outcome as if review had published it). The reason is lost
too ("rejected (rejected)").

The same copy failure on the *retry* path (a vote that failed for another reason, e.g. a database
outage) requeues the message without counting the attempt: it is redelivered at once, for ever, never
reaching ``MAX_ATTEMPTS``: a hot loop that never dead-letters.
"""
import json

import pytest

from shared.platform.deadletters import peek, replay
from tests.attack.test_cc_headers import FORGED_OUTCOME, INTAKE_DECIDED, arrival
from tests.harness import wait_until
from tests.rabbit_users import declare_queue, publish


@pytest.fixture
def service_env(service_env, monkeypatch):
    """Retries in milliseconds: a vote that keeps failing reaches its last attempt within the test."""
    monkeypatch.setenv("TDKT_RETRY_SECONDS", "0.05")
    return {**service_env, "TDKT_RETRY_SECONDS": "0.05"}

PAD = "x" * 130_900  # the vote's header table fits a frame; with tdkt's two headers added, it does not
FORGED_PAD = "x" * 130_800  # idem with a forged x-tdkt-queue, which the replay strips: the replay fits


def test_a_junk_vote_with_headers_near_the_frame_limit_is_dead_lettered_with_its_reason(broker, review,
                                                                                         rabbit_config):
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast", b"{}", message_id="junk",
                                                 application_headers={"pad": PAD}))
    letters = wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), timeout=20, what="the junk vote")
    assert "invalid" in letters[0]["reason"], letters[0]["reason"]


def test_replay_sends_a_dead_letter_only_back_to_the_queue_it_died_in(broker, review, rabbit_config):
    assert broker.allows("tdkt-intake", declare_queue(INTAKE_DECIDED, "review.events", "nomination_decided"))
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast", json.dumps(FORGED_OUTCOME).encode(),
                                                 application_headers={"pad": FORGED_PAD,
                                                                      "x-tdkt-queue": INTAKE_DECIDED}))
    letters = wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), timeout=20, what="the junk vote")
    shown = letters[0]["queue"]  # what `tdkt dlq list review` tells the operator
    replay(broker.uri("tdkt-operator"), "review")
    forged = arrival(broker, INTAKE_DECIDED)
    assert (shown, forged) == ("evt-council-vote_cast--review.on_vote_cast", None), \
        (shown, forged and json.loads(forged.body))


def test_a_vote_whose_retry_cannot_be_published_is_handled_at_most_max_attempts_times(broker, review,
                                                                                    monkeypatch):
    from services.review import sittings
    from shared.platform.messaging import MAX_ATTEMPTS

    calls = []

    def database_outage(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(sittings, "cast_vote", database_outage)
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast", b'{"ballot_token": "t", "choices": {}}',
                                                 application_headers={"pad": PAD}))
    letters = wait_until(lambda: peek(review.rabbit_config["AMQP_URI"], "review"), timeout=30,
                         what="the vote dead-lettered after its last attempt")
    assert len(calls) == MAX_ATTEMPTS and f"failed {MAX_ATTEMPTS} times" in letters[0]["reason"], letters


def test_one_dead_letter_with_headers_near_the_frame_limit_does_not_block_tdkt_dlq_replay(broker, review,
                                                                                          rabbit_config):
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast", b"{}", message_id="junk",
                                                 application_headers={"pad": PAD}),
                         publish("council.events", "vote_cast", b"[]", message_id="ordinary-junk"))
    wait_until(lambda: len(peek(rabbit_config["AMQP_URI"], "review")) == 2, timeout=20, what="both dead letters")
    assert replay(broker.uri("tdkt-operator"), "review", limit=2) == 2
