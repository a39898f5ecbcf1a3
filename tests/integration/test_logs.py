"""One nomination followed across two running services by the Nameko call id in their JSON log lines.

Intake and review run as real containers on a real broker, each with ``JsonLogging`` attached (in
subclasses, as the services' own files are wired elsewhere). Their ``setup`` puts the JSON formatter on
the root logger's handlers, pytest's capture handler among them, so ``caplog.text`` holds the very lines
a service writes to stderr.
"""
import json
import logging

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.intake import handlers
from services.intake.service import MIGRATIONS, IntakeService
from services.review.service import ReviewService
from shared.platform.logs import JsonFormatter, JsonLogging
from shared.platform.outbox import utcnow
from tests.harness import wait_until
from tests.integration.conftest import EXAMPLE
from tests.integration.delivery import Tables
from tests.integration.review_support import Review, directory
from tests.integration.test_review_ballots import open_sitting
from tests.unit.test_logs import restored_logging  # noqa: F401 (a fixture: no JSON leaks into other tests)


class LoggedIntake(IntakeService):
    logs = JsonLogging()


class LoggedReview(ReviewService):
    logs = JsonLogging()


def json_lines(caplog):
    """Every captured line, parsed: each one must be a JSON object."""
    return [json.loads(line) for line in caplog.text.splitlines()]


def handled(lines, service, method):
    return [line for line in lines if line["message"] == f"handled {service}.{method}: ok"]


@pytest.fixture
def review(restored_logging, container_factory, rabbit_config, service_env):  # noqa: F811
    container = container_factory(LoggedReview, rabbit_config)
    container.start()
    review = Review(container, rabbit_config)
    yield review
    review.close()


@pytest.fixture
def submit(review, container_factory, rabbit_config, db_urls):
    """Submits a nomination as unit ``vp`` through a running intake; returns its receipt."""
    tables = Tables(db_urls["intake"], MIGRATIONS)
    token = handlers.issue_unit_token("vp", tables.uow(), utcnow())
    container_factory(LoggedIntake, rabbit_config).start()

    def submit(nomination):
        with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=15) as proxy:
            return proxy.intake.submit_nomination(nomination)

    yield submit
    tables.dispose()


def test_reviews_line_for_a_submitted_nomination_carries_the_call_id_of_intakes_submission(
        review, submit, caplog):
    caplog.set_level(logging.INFO)
    receipt = submit(EXAMPLE)
    # intake's own line comes as its worker ends, after its answer: it may follow review's
    wait_until(lambda: handled(json_lines(caplog), "review", "on_nomination_submitted")
               and handled(json_lines(caplog), "intake", "submit_nomination"),
               what="both services' lines for the nomination")

    lines = json_lines(caplog)
    [submitted] = handled(lines, "intake", "submit_nomination")
    [recorded] = handled(lines, "review", "on_nomination_submitted")
    assert submitted["service"] == "intake" and submitted["call_id"].startswith("intake.submit_nomination.")
    assert recorded["service"] == "review" and recorded["call_id"].startswith("review.on_nomination_submitted.")
    # the chain: this test's RPC client -> intake's submission -> (outbox, broker) -> review's handler
    assert recorded["call_id_stack"] == [*submitted["call_id_stack"], recorded["call_id"]]
    assert submitted["call_id_stack"][-1] == submitted["call_id"]
    assert submitted["call_id_stack"][0].startswith("standalone_rpc_proxy.")
    case = review.call("get_case", receipt["nomination_id"])  # the case review recorded in that worker
    assert case["nomination_id"] == receipt["nomination_id"]
    for line in lines:  # a worker's lines carry its call id; the outbox relay's carry none
        if line["call_id"] is not None:
            assert line["call_id_stack"][-1] == line["call_id"]


def test_the_json_lines_of_a_secret_ballot_hold_no_token_and_no_members_choice(review, caplog):
    caplog.set_level(logging.DEBUG)
    review.call("load_directory", directory())
    sitting_id, ballots = open_sitting(review, nominations=[("n-s", "LDTT", "female")])
    choices = {member: ("approve" if member in ("m-vp-1", "m-vp-4") else "reject") for member in ballots}
    for member, ballot in ballots.items():
        review.vote(ballot["ballot_token"], {"n-s": choices[member]})
    assert review.call("sitting_result", sitting_id)["items"][0]["approve"] == 2
    wait_until(lambda: len(handled(json_lines(caplog), "review", "on_vote_cast")) == len(ballots),
               what="a line for every vote")

    lines = caplog.text.splitlines()
    assert all(ballot["ballot_token"] not in line for ballot in ballots.values() for line in lines)
    for line in lines:
        assert not (any(m in line for m in ballots) and any(w in line for w in ("approve", "reject"))), line
    votes = handled([json.loads(line) for line in lines], "review", "on_vote_cast")
    assert len({vote["call_id"] for vote in votes}) == len(ballots)


def test_a_record_logged_with_a_token_in_extra_reaches_every_handler_redacted(review, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("tests.logs").info("mail queued", extra={"ballot_token": "abc.def", "kind": "invitation"})

    [line] = [line for line in json_lines(caplog) if line["message"] == "mail queued"]
    assert (line["ballot_token"], line["kind"]) == ("***", "invitation")  # "service" outside a worker is
    # only meaningful with one service per process, which a test process is not
    [record] = [r for r in caplog.records if r.getMessage() == "mail queued"]
    assert record.ballot_token == "***" and JsonFormatter().format(record).count("***") == 1
