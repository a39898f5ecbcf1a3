"""tdkt's RabbitMQ users (``deploy/rabbitmq/definitions.json``) hold only what their role needs.

Every denial is the broker's own ACCESS_REFUSED (403), shown next to the same action allowed to the user
whose job it is, so no test passes because an action is impossible for everyone. The last test runs
the three services as ``nameko run`` processes, each under its own user.

Long because each user's refusals stand next to the allowed action they are measured against.
"""
import json
import logging
import os
import subprocess
import sys
import uuid

import amqp
import pytest
import requests
import yaml
from amqp.exceptions import AccessRefused
from nameko.exceptions import UnknownService

from services.intake import handlers as intake_handlers
from services.intake.service import MIGRATIONS as INTAKE_MIGRATIONS
from shared.platform.client import rpc_proxy
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.platform.deadletters import peek, replay
from shared.contract.errors import NotFound
from shared.platform.outbox import utcnow
from tests.harness import ROOT, System, expected_queues, free_port, wait_until
from tests.integration.delivery import Tables
from tests.rabbit_users import (LOADER_PATH, bind, consume, declare_exchange, declare_queue, delete_exchange,
                                get, publish)

SUBMITTED_TO_REVIEW = "evt-intake-nomination_submitted--review.on_nomination_submitted"
VOTES_TO_REVIEW = "evt-council-vote_cast--review.on_vote_cast"
NOMINATION = json.loads((ROOT / "deploy/examples/nomination.json").read_text(encoding="utf-8"))


def run_loader(*args):
    return subprocess.run([sys.executable, str(LOADER_PATH), *args], capture_output=True, text=True, timeout=30)


def test_the_loader_is_idempotent_and_says_what_it_loaded(rabbit_config, api):
    vhost = rabbit_config["vhost"]
    for _ in range(2):
        loaded = run_loader("--vhost", vhost, "--api", api)
        assert loaded.returncode == 0, loaded.stderr
    assert f"vhost: {vhost}" in loaded.stdout and "tdkt-operator" in loaded.stdout
    base = api.rstrip("/") + f"/api/vhosts/{vhost}"
    users = {entry["user"] for entry in requests.get(f"{base}/permissions", timeout=10).json()}
    topics = requests.get(f"{base}/topic-permissions", timeout=10).json()
    assert users >= {"tdkt-intake", "tdkt-review", "tdkt-notify", "tdkt-unit", "tdkt-operator", "tdkt-council"}
    assert len(topics) == 11


def test_the_loader_exits_1_with_a_clear_message_when_the_api_is_unreachable():
    loaded = run_loader("--api", f"http://guest:guest@127.0.0.1:{free_port()}")
    assert loaded.returncode == 1
    assert "cannot reach the RabbitMQ management API" in loaded.stderr


def test_a_unit_clerk_cannot_consume_reviews_queues(broker):
    for queue, exchange, key in (("rpc-review", "nameko-rpc", "review.*"),
                                 (SUBMITTED_TO_REVIEW, "intake.events", "nomination_submitted")):
        assert broker.allows("tdkt-review", declare_queue(queue, exchange, key), consume(queue))
        assert broker.refuses("tdkt-unit", consume(queue))
        assert broker.refuses("tdkt-unit", get(queue))


def test_a_unit_clerk_cannot_publish_reviews_events(broker):
    assert broker.allows("tdkt-review", publish("review.events", "nomination_decided"))
    assert broker.refuses("tdkt-unit", publish("review.events", "nomination_decided"))


def test_a_unit_clerk_may_call_intake_but_not_review(broker):
    assert broker.allows("tdkt-unit", publish("nameko-rpc", "intake.submit_nomination"))
    assert broker.allows("tdkt-operator", publish("nameko-rpc", "review.convene_sitting"))
    assert broker.refuses("tdkt-unit", publish("nameko-rpc", "review.convene_sitting"))


def test_a_unit_clerks_nameko_client_is_refused_before_review_hears_of_the_call(broker):
    with rpc_proxy(broker.uri("tdkt-operator"), timeout=10) as proxy:
        with pytest.raises(UnknownService):  # the broker took the call; no review is running to answer it
            proxy.review.convene_sitting("hd-vp", {"working_days": 5})
    with rpc_proxy(broker.uri("tdkt-unit"), timeout=10) as proxy:
        with pytest.raises(UnknownService):
            proxy.intake.award_catalogue()
        with pytest.raises(AccessRefused, match="access to topic 'review.convene_sitting'"):
            proxy.review.convene_sitting("hd-vp", {"working_days": 5})


def test_no_client_can_declare_or_delete_a_shared_exchange_but_each_may_look_one_up(broker):
    assert broker.allows("tdkt-intake", delete_exchange("intake.events"), declare_exchange("intake.events"))
    for user in ("tdkt-unit", "tdkt-operator", "tdkt-council"):
        for exchange in ("nameko-rpc", "council.events", "intake.events", "review.events"):
            assert broker.allows(user, lambda channel: channel.exchange_declare(exchange, "topic", passive=True))
            assert broker.refuses(user, declare_exchange(exchange))
            assert broker.refuses(user, delete_exchange(exchange))
        assert broker.refuses(user, declare_exchange("unit.events"))
        assert broker.refuses(user, delete_exchange("tdkt.dead-letter"))


def test_a_unit_clerks_client_cannot_cut_off_rpc_for_every_unit(broker):
    """Once, every unit's shared user could delete ``nameko-rpc`` (configure allows delete), taking
    ``rpc-intake``'s binding with it: intake ran on, unreachable, for good."""
    assert broker.allows("tdkt-intake", declare_queue("rpc-intake", "nameko-rpc", "intake.*"))
    assert broker.refuses("tdkt-unit", delete_exchange("nameko-rpc"))
    assert broker.allows("tdkt-unit", publish("nameko-rpc", "intake.award_catalogue"))
    assert wait_until(lambda: broker.take("tdkt-intake", "rpc-intake"), what="the call to reach intake's queue")


def test_a_council_member_may_cast_a_vote_and_publish_nothing_else(broker):
    assert broker.allows("tdkt-review", declare_queue(VOTES_TO_REVIEW, "council.events", "vote_cast"))
    assert broker.allows("tdkt-council", publish("council.events", "vote_cast", b'{"ballot_token": "t"}'))
    vote = wait_until(lambda: broker.take("tdkt-review", VOTES_TO_REVIEW), what="the vote to reach review")
    assert vote.body == b'{"ballot_token": "t"}'
    for routing_key in ("vote_rejected", "vote_cast.extra", "nomination_decided", "#"):
        assert broker.refuses("tdkt-council", publish("council.events", routing_key))
    assert broker.refuses("tdkt-council", publish("review.events", "vote_rejected"))


def test_a_council_member_cannot_read_any_queue(broker):
    assert broker.allows("tdkt-review", declare_queue(VOTES_TO_REVIEW, "council.events", "vote_cast"),
                         declare_queue("rpc-review", "nameko-rpc", "review.*"), consume(VOTES_TO_REVIEW))
    assert broker.allows("tdkt-operator", declare_queue("dlq.review", "tdkt.dead-letter", "review"),
                         consume("dlq.review"))
    for queue in (VOTES_TO_REVIEW, "rpc-review", "dlq.review"):
        assert broker.refuses("tdkt-council", consume(queue))
        assert broker.refuses("tdkt-council", get(queue))
    assert broker.refuses("tdkt-council", declare_queue("council-tap"))


def test_notify_cannot_publish_intakes_or_reviews_events(broker):
    assert broker.allows("tdkt-intake", publish("intake.events", "nomination_submitted"))
    assert broker.allows("tdkt-review", publish("review.events", "nomination_decided"))
    assert broker.refuses("tdkt-notify", publish("intake.events", "nomination_submitted"))
    assert broker.refuses("tdkt-notify", publish("review.events", "nomination_decided"))


def test_intake_cannot_consume_notifys_queues(broker):
    queues = expected_queues("notify")
    assert broker.allows("tdkt-notify", *map(declare_queue, queues), *map(consume, queues))
    for queue in queues:
        assert broker.refuses("tdkt-intake", consume(queue))


def test_a_service_binds_only_the_events_it_handles(broker):
    assert broker.allows("tdkt-intake", declare_queue(
        "evt-review-nomination_decided--intake.on_nomination_decided", "review.events", "nomination_decided"))
    assert broker.refuses("tdkt-intake", declare_queue(  # ballot_issued carries the members' ballot tokens
        "evt-review-ballot_issued--intake.on_ballot_issued", "review.events", "ballot_issued"))
    assert broker.refuses("tdkt-intake", bind(
        "evt-review-nomination_decided--intake.on_nomination_decided", "review.events", "#"))


def test_a_service_serves_only_its_own_rpc_calls(broker):
    assert broker.allows("tdkt-intake", declare_queue("rpc-intake", "nameko-rpc", "intake.*"))
    assert broker.refuses("tdkt-intake", bind("rpc-intake", "nameko-rpc", "review.*"))
    assert broker.refuses("tdkt-intake", bind("rpc-intake", "nameko-rpc", "#"))


def test_a_service_replies_only_to_reply_queues_so_a_forged_reply_to_cannot_make_it_call_another(broker):
    assert broker.allows("tdkt-intake", publish("nameko-rpc", str(uuid.uuid4())))
    assert broker.refuses("tdkt-intake", publish("nameko-rpc", "review.get_case"))


def test_the_operator_lists_and_replays_dead_letters_but_cannot_publish_reviews_events(broker):
    assert broker.allows("tdkt-review", declare_queue("dlq.review", "tdkt.dead-letter", "review"),
                         declare_queue(SUBMITTED_TO_REVIEW, "intake.events", "nomination_submitted", "review"))
    assert broker.allows("tdkt-intake", publish("intake.events", "nomination_submitted", message_id="m-1"))
    wait_until(lambda: broker.take("tdkt-review", SUBMITTED_TO_REVIEW, reject=True), what="the event")
    operator = broker.uri("tdkt-operator")

    letters = wait_until(lambda: peek(operator, "review"), what="a dead letter in dlq.review")
    assert [(letter["message_id"], letter["queue"]) for letter in letters] == [("m-1", SUBMITTED_TO_REVIEW)]
    assert replay(operator, "review") == 1
    assert wait_until(lambda: broker.take("tdkt-review", SUBMITTED_TO_REVIEW), what="the replayed event")
    assert broker.refuses("tdkt-operator", publish("review.events", "nomination_decided"))
    assert broker.refuses("tdkt-review", get("dlq.review"))


@pytest.fixture
def services_under_their_own_users(broker, service_env, mail_sink, tmp_path):
    """intake, review and notify as ``nameko run`` processes, each connected as ``tdkt-<service>``."""
    env = {**os.environ, **service_env, "SMTP_PORT": str(mail_sink.port), "EVENTLET_TESTS": "1",
           "PYTHONPATH": str(ROOT)}
    systems = {service: System({**env, "AMQP_URI": broker.uri(f"tdkt-{service}")}, tmp_path / "logs")
               for service in ("intake", "review", "notify")}
    try:
        for service, system in systems.items():
            system.start_service(service)
        for service, system in systems.items():
            system.wait_ready(service)
        yield systems
    finally:
        for system in systems.values():
            system.stop()


def unit_token(intake_db_url, unit_id):
    tables = Tables(intake_db_url, INTAKE_MIGRATIONS)
    try:
        return intake_handlers.issue_unit_token(unit_id, tables.uow(), utcnow())
    finally:
        tables.dispose()


def review_case(proxy, nomination_id):
    try:
        return proxy.review.get_case(nomination_id)
    except NotFound:
        return None


@pytest.mark.e2e
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_services_work_under_their_own_users_for_a_unit_clerk_and_the_operator(
        services_under_their_own_users, broker, db_urls, mail_sink):
    unit = {"AMQP_URI": broker.uri("tdkt-unit")}
    with rpc_proxy(unit["AMQP_URI"], {"auth_token": unit_token(db_urls["intake"], "vp")},
                         timeout=30) as proxy:
        receipt = proxy.intake.submit_nomination(NOMINATION)
    [mail] = mail_sink.wait_for(1)
    assert mail["To"] == "vanphong@example.vn"
    assert receipt["nomination_id"] in mail.get_body(("plain",)).get_content()

    directory = json.loads(json.dumps(yaml.safe_load((ROOT / "deploy/directory.sample.yml").read_text(
        encoding="utf-8")), default=str))
    operator = {"AMQP_URI": broker.uri("tdkt-operator")}
    with rpc_proxy(operator["AMQP_URI"], {"auth_token": LOCAL_ADMIN_TOKEN}, timeout=30) as proxy:
        assert proxy.review.load_directory(directory)["units"] == len(directory["units"])
        case = wait_until(lambda: review_case(proxy, receipt["nomination_id"]), what="review to record it")
        assert (case["stage"], case["state"]) == ("unit", "waiting")
        assert [entry["kind"] for entry in proxy.notify.mail_log({})] == ["acknowledgement"]


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_unit_cannot_turn_its_reply_queue_into_a_call_to_review_by_dead_lettering(review, broker, caplog):
    """tdkt-unit may publish only intake.* calls, but a queue it may declare (a reply queue's name) with
    ``x-dead-letter-exchange: nameko-rpc`` and a dead-letter routing key of its choosing re-publishes
    what reaches it under that key: into rpc-review as ``review.close_sitting``, and every reply, which
    comes back to that queue, again, for ever. A request that was dead-lettered on its way is no call."""
    caplog.set_level(logging.WARNING)
    key = str(uuid.uuid4())
    spy = amqp.Connection(f"{broker.host}:{broker.port}", virtual_host=broker.vhost)  # the test's own view
    spy.connect()
    channel = spy.channel()
    channel.queue_declare("spy", durable=False, auto_delete=False)
    channel.queue_bind("spy", "nameko-rpc", key)  # a copy of every reply to the unit's queue

    def rerouting_queue(ch):
        name = f"rpc.reply-standalone_rpc_proxy-{key}"
        ch.queue_declare(name, durable=False, auto_delete=False, arguments={
            "x-dead-letter-exchange": "nameko-rpc", "x-dead-letter-routing-key": "review.close_sitting",
            "x-message-ttl": 0})
        ch.queue_bind(name, "nameko-rpc", key)

    broker.allows("tdkt-unit", rerouting_queue)
    request = json.dumps({"args": ["s-1"], "kwargs": {}}).encode()
    broker.allows("tdkt-unit", publish("nameko-rpc", "intake.get_nomination", request, reply_to=key,
                                       correlation_id="c-1", application_headers={"CC": [key]}))
    try:
        wait_until(lambda: "dead-lettered on its way" in caplog.text, timeout=15, what="the request dropped")
        copies = []
        while (message := channel.basic_get("spy", no_ack=True)) is not None:
            copies.append(json.loads(message.body))
        assert copies == [{"args": ["s-1"], "kwargs": {}}]  # the request's own copy; review never answered
    finally:
        spy.close()
