"""No message stops a service: a real review container on a real broker, fed what outsiders can send.

Each poison message ends answered (RPC), dead-lettered with its reason (events) or dropped and logged
(an RPC request without a reply address), and the container goes on to count the next valid vote.
"""
import gzip
import json
import logging
import uuid

import pytest
from kombu import Connection, Exchange, Producer
from nameko.extensions import DependencyProvider
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter

from services.review.service import ReviewService
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.platform.deadletters import peek
from shared.contract.errors import NotFound, ValidationError
from shared.platform.messaging import REASON
from tests.harness import wait_until
from tests.integration.review_support import TOMORROW, Review, directory, submitted

VOTE_QUEUE = "evt-council-vote_cast--review.on_vote_cast"


def alive(container) -> bool:
    return not container._died.ready() and not container._being_killed


def dead_letters(rabbit_config):
    return peek(rabbit_config["AMQP_URI"], "review", 1000)


def participants(review, sitting_id):
    review.call("close_sitting", sitting_id)
    return review.call("sitting_result", sitting_id)


def open_sitting(review):
    review.submit(submitted("n-1", "LDTT"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    return sitting_id, wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))


def publish_raw(rabbit_config, body, routing_key=VOTE_QUEUE, exchange="", **properties):
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        Producer(connection.default_channel).publish(body, exchange=exchange, routing_key=routing_key,
                                                     **properties)


def test_the_standalone_dispatchers_junk_vote_leaves_review_running_and_is_rejected(review, rabbit_config):
    dispatch = event_dispatcher({"AMQP_URI": rabbit_config["AMQP_URI"]})
    with entrypoint_waiter(review.container, "on_vote_cast", timeout=15):
        dispatch("council", "vote_cast", {"ballot_token": "x", "choices": {}})
    assert alive(review.container)
    rejected = wait_until(lambda: review.events("vote_rejected"), what="the junk vote to be rejected")
    assert len(rejected) == 1
    with pytest.raises(NotFound):  # review still answers
        review.call("sitting_result", "no-such-sitting")


def test_a_valid_vote_from_the_standalone_dispatcher_without_a_message_id_counts_once(review, rabbit_config):
    sitting_id, ballots = open_sitting(review)
    dispatch = event_dispatcher({"AMQP_URI": rabbit_config["AMQP_URI"]})
    token = ballots["m-vp-1"]["ballot_token"]
    for _ in range(2):  # the same delivery twice: one effect
        with entrypoint_waiter(review.container, "on_vote_cast", timeout=15):
            dispatch("council", "vote_cast", {"ballot_token": token, "choices": {"n-1": "approve"}})
    with entrypoint_waiter(review.container, "on_vote_cast", timeout=15):  # a different body is a new vote
        dispatch("council", "vote_cast", {"ballot_token": ballots["m-vp-2"]["ballot_token"],
                                          "choices": {"n-1": "reject"}})
    assert review.events("vote_rejected") == []  # the copy was the same message, not a second vote
    result = participants(review, sitting_id)
    assert result["participants"] == 2
    assert (result["items"][0]["approve"], result["items"][0]["reject"]) == (1, 1)


POISON = [  # (body, properties, words of the reason)
    (b"{\"ballot_token\": \"x\"}", {"content_type": "application/json", "content_encoding": "gzip"}, "not accepted"),
    (b"\x00\xff\xfe", {"content_type": "application/json", "content_encoding": "binary"}, "decoded"),
    (gzip.compress(b"{}"), {"content_type": "application/json", "content_encoding": "x-unknown"}, "not accepted"),
    (b"{}", {"content_type": "application/json", "headers": {"compression": "application/x-nope"}},
     "compressed bodies are not accepted"),
    (b"\x80\x04K\x01.", {"content_type": "application/x-python-serialize", "content_encoding": "binary"},
     "decoded"),
    (b"[1, 2, 3]", {"content_type": "application/json", "content_encoding": "utf-8"}, "must be an object"),
    (b"\"text\"", {"content_type": "application/json", "content_encoding": "utf-8"}, "must be an object"),
    (b"not json at all", {"content_type": "application/json", "content_encoding": "utf-8"}, "decoded"),
    (b"{}", {"content_type": "text/plain", "content_encoding": "utf-8"}, "decoded"),
    (b"{}", {"content_type": "application/json", "content_encoding": "utf-8",
             "headers": {"x-tdkt-attempts": "many", "nameko.call_id_stack": 5}}, "invalid"),
    (b"{}", {"content_type": "application/json", "content_encoding": "utf-8",
             "headers": {"nameko.call_id_stack": [1, 2], "nameko.auth_token": {"a": 1}}}, "invalid"),
    (b"x" * (9 * 1024 * 1024), {"content_type": "application/json", "content_encoding": "utf-8"}, "larger"),
]


def test_poison_events_are_dead_lettered_with_their_reason_and_the_next_vote_counts(review, rabbit_config):
    sitting_id, ballots = open_sitting(review)
    for n, (body, properties, _) in enumerate(POISON):
        publish_raw(rabbit_config, body, message_id=f"poison-{n}", **properties)
    letters = wait_until(lambda: len(dead_letters(rabbit_config)) == len(POISON) and dead_letters(rabbit_config),
                         timeout=30, what="every poison message in dlq.review")
    assert alive(review.container)
    by_id = {letter["message_id"]: letter for letter in letters}
    for n, (_, _, words) in enumerate(POISON):
        letter = by_id[f"poison-{n}"]
        assert words in letter["reason"], (n, letter)
        assert letter["queue"] == VOTE_QUEUE
    review.vote(ballots["m-vp-1"]["ballot_token"], {"n-1": "approve"})
    assert participants(review, sitting_id)["participants"] == 1


def test_a_dead_lettered_poison_message_is_shown_with_its_reason_by_tdkt_dlq_list(review, rabbit_config,
                                                                                  monkeypatch):
    from click.testing import CliRunner

    from shared.cli.commands import main

    publish_raw(rabbit_config, b"\x00\xff", content_type="application/json", content_encoding="gzip",
                message_id="poison-cli")
    wait_until(lambda: dead_letters(rabbit_config), what="a dead letter")
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    output = CliRunner().invoke(main, ["dlq", "list", "review"]).output
    assert "poison-cli" in output and "content_encoding 'gzip' is not accepted" in output
    assert "1 dead letter(s)" in output


def test_malformed_rpc_requests_are_answered_or_dropped_and_review_keeps_answering(review, rabbit_config,
                                                                                   caplog):
    caplog.set_level(logging.WARNING)
    exchange = Exchange("nameko-rpc", type="topic", durable=True)
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.default_channel
        reply_queue = str(uuid.uuid4())  # as Nameko's clients name theirs
        channel.queue_declare(reply_queue, exclusive=True)
        channel.queue_bind(reply_queue, "nameko-rpc", reply_queue)
        producer = Producer(channel)
        requests = [  # (body, properties): each must get exactly one error reply
            (b"[1]", {"content_type": "application/json"}),
            (b"{\"args\": 5, \"kwargs\": []}", {"content_type": "application/json"}),
            (b"\xff", {"content_type": "application/json", "content_encoding": "gzip"}),
            (b"{}", {"content_type": "application/x-unknown"}),
            (b"{\"args\": [], \"kwargs\": {}}", {"content_type": "application/json",
                                                "headers": {"nameko.call_id_stack": 7}}),
        ]
        for n, (body, properties) in enumerate(requests):
            producer.publish(body, exchange=exchange, routing_key="review.sitting_result",
                             reply_to=reply_queue, correlation_id=f"c-{n}", **properties)
        producer.publish(b"{\"args\": [], \"kwargs\": {}}", exchange=exchange, routing_key="review.statistics",
                         content_type="application/json")  # no reply_to: dropped and logged
        for n, (body, properties) in enumerate([(b"{\"args\": [], \"kwargs\": {}}", {"content_encoding": "utf-8"}),
                                                (b"\xff", {"content_encoding": "x-unknown"})]):
            producer.publish(body, exchange=exchange, routing_key="review.statistics", reply_to=reply_queue,
                             correlation_id=f"dead-{n}", content_type="application/json",
                             headers={"x-death": [{"queue": "rpc-review", "count": 1}]}, **properties)
        replies = []

        def answered():
            while (message := channel.basic_get(reply_queue, no_ack=True)) is not None:
                replies.append((message.properties["correlation_id"], json.loads(message.body)))
            return len(replies) == len(requests)

        wait_until(answered, timeout=20, what="an error reply to every malformed request")
        # re-published by a dead-letter queue, well-formed or not: dropped, never answered
        wait_until(lambda: caplog.text.count("dead-lettered on its way") == 2, what="both dead-lettered requests dropped")
        assert channel.queue_declare(reply_queue, passive=True).message_count == 0
    assert sorted(c for c, _ in replies) == [f"c-{n}" for n in range(len(requests))]
    assert all(reply["error"] is not None for _, reply in replies)
    assert alive(review.container)
    wait_until(lambda: "dropped" in caplog.text, what="the unanswerable request to be logged")
    with pytest.raises(ValidationError):
        review.call("statistics", "not a year")


class Exploding(DependencyProvider):
    """A dependency that fails while a worker is set up, as a bug or an outage might."""

    armed = False

    def get_dependency(self, worker_ctx):
        if Exploding.armed and worker_ctx.entrypoint.method_name == "on_vote_cast":
            raise RuntimeError("boom while setting up the worker")
        return None


class FragileReview(ReviewService):
    exploding = Exploding()


def test_a_worker_that_dies_outside_its_method_does_not_stop_the_service(container_factory, rabbit_config,
                                                                          service_env, monkeypatch):
    monkeypatch.setenv("TDKT_RETRY_SECONDS", "0.05")
    container = container_factory(FragileReview, rabbit_config)
    container.start()
    review = Review(container, rabbit_config)
    try:
        review.call("load_directory", directory())
        sitting_id, ballots = open_sitting(review)
        Exploding.armed = True
        review.council("vote_cast", {"ballot_token": ballots["m-vp-1"]["ballot_token"],
                                     "choices": {"n-1": "approve"}}, str(uuid.uuid4()), {})
        letters = wait_until(lambda: dead_letters(rabbit_config), timeout=30, what="retried, then dead-lettered")
        assert "failed 5 times" in letters[0]["reason"] and "boom" in letters[0]["reason"], letters
        assert alive(container)
        Exploding.armed = False
        review.vote(ballots["m-vp-2"]["ballot_token"], {"n-1": "approve"})
        assert participants(review, sitting_id)["participants"] == 1
    finally:
        Exploding.armed = False
        review.close()


def test_an_rpc_worker_that_dies_outside_its_method_is_answered(container_factory, rabbit_config, service_env):
    class Broken(DependencyProvider):
        def get_dependency(self, worker_ctx):
            if worker_ctx.entrypoint.method_name == "statistics":
                raise RuntimeError("boom")

    class BrokenReview(ReviewService):
        broken = Broken()

    container = container_factory(BrokenReview, rabbit_config)
    container.start()
    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": LOCAL_ADMIN_TOKEN}, timeout=15) as proxy:
        with pytest.raises(Exception, match="boom"):
            proxy.review.statistics(2025)
        assert alive(container)
        with pytest.raises(NotFound):  # the next request is answered as usual
            proxy.review.sitting_result("nope")


def test_dead_letters_keep_their_reason_header(review, rabbit_config):
    publish_raw(rabbit_config, b"[]", content_type="application/json", message_id="why")
    wait_until(lambda: dead_letters(rabbit_config), what="a dead letter")
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        message = connection.default_channel.basic_get("dlq.review", no_ack=False)
        assert "must be an object" in message.headers[REASON]
        connection.default_channel.basic_reject(message.delivery_tag, requeue=True)
