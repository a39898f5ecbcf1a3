"""A database failing under any handler of the three services logs no statement parameters, no token
and nothing that links a member to a ballot's choices (issue #22, finding 3).

Real containers on a real broker, each over its real database; the failure is raised by the driver
(its ``OperationalError``) under SQLAlchemy, exactly where a lost connection or a full disk would be,
so the logged errors are the ones SQLAlchemy builds from the statement and its parameters.
"""
import logging
import re
import uuid

import pytest
from nameko.exceptions import RemoteError
from nameko.rpc import Rpc
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import event

from services.intake import handlers as intake_handlers
from services.intake.service import MIGRATIONS as INTAKE_MIGRATIONS, IntakeService
from services.notify.service import NotifyService
from services.review.service import ReviewService
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.platform.messaging import EventPublisher, InboxEventHandler
from shared.platform.outbox import utcnow
from shared.platform.store import Store
from tests.integration.test_register import PAST_CSTDCS
from tests.integration.test_register_events import AWARDED, REVOKED
from tests.harness import wait_until
from tests.integration.conftest import EXAMPLE
from tests.integration.delivery import Tables, Tap
from tests.integration.review_support import TOMORROW, Review, directory, submitted

SERVICES = (IntakeService, ReviewService, NotifyService)
FAILED = re.compile(r"error handling worker <WorkerContext \[(\w+)\.(\w+)\]")
SQL = re.compile(r"\[SQL: (.*?)\]", re.S)


class Outage:
    """Makes a container's database fail: each statement ``which(statement)`` accepts raises the
    driver's own ``OperationalError``, which SQLAlchemy wraps with the statement (and, unless hidden,
    its parameters) as it would a real failure."""

    def __init__(self, container):
        self.engine = next(d for d in container.dependencies if isinstance(d, Store)).engine
        self.which = None
        for name in ("do_execute", "do_executemany", "do_execute_no_params"):
            event.listen(self.engine, name, self._maybe_fail)

    def _maybe_fail(self, cursor, statement, *rest):
        if self.which is not None and self.which(statement):
            raise self.engine.dialect.dbapi.OperationalError("simulated database failure")


def entrypoints(service_class) -> set[tuple[str, str]]:
    """Every RPC method and event handler of a service (not its timers)."""
    return {(service_class.name, name) for name, method in vars(service_class).items()
            if any(isinstance(ext, (Rpc, InboxEventHandler)) for ext in getattr(method, "nameko_entrypoints", ()))}


REGISTER_CALLS = (
    ("record_decision", [{"number": "1/QĐ-VP", "date": "2025-12-20", "signer": "Thủ trưởng", "nomination_ids": ["n-1"]}]),
    ("close_not_awarded", [{"nomination_ids": ["n-1"], "reason": "Không được khen"}]), ("pending_decisions", []),
    ("import_register", [[PAST_CSTDCS]]), ("register_show", [{"unit_id": "vp"}]), ("register_totals", [2025]),
    ("revoke_register_entry", [{"entry_id": "e-1", "ground": "a", "decision_number": "5/QĐ-VP", "date": "2026-12-01",
                                "reason": "Khai man"}]))


def failed(caplog) -> set[tuple[str, str]]:
    return {match.groups() for record in caplog.records if (match := FAILED.search(record.getMessage()))}


def rpc(rabbit_config, service, method, *args, token=LOCAL_ADMIN_TOKEN):
    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=15) as proxy:
        try:
            getattr(getattr(proxy, service), method)(*args)
        except RemoteError:
            pass  # the database failed: the error is what this test reads the logs for


@pytest.fixture
def three(container_factory, rabbit_config, service_env, db_urls, monkeypatch):
    monkeypatch.setenv("TDKT_RETRY_SECONDS", "0.01")  # five attempts, then the dead-letter queue, quickly
    tables = Tables(db_urls["intake"], INTAKE_MIGRATIONS)
    unit_token = intake_handlers.issue_unit_token("vp", tables.uow(), utcnow())
    tables.dispose()
    containers = {cls.name: container_factory(cls, rabbit_config) for cls in SERVICES}
    containers["review"].start()
    review = Review(containers["review"], rabbit_config)
    review.call("load_directory", directory())
    yield containers, review, unit_token
    review.close()


def test_a_failing_database_under_every_handler_logs_no_parameters_tokens_or_choices(three, rabbit_config, caplog):
    caplog.set_level(logging.DEBUG)
    containers, review, unit_token = three
    amqp = rabbit_config["AMQP_URI"]
    vote_counted = Tap(amqp, "review", "vote_counted")
    documents_ready = Tap(amqp, "review", "sitting_documents_ready")

    # Real events first, from a review that works: a sitting of two items, one going on to the ministry.
    review.submit(submitted("n-1", "LDTT"))
    review.submit(submitted("n-2", "CSTD_BO"))
    review.submit(submitted("n-3", "LDTT"))
    review.call("return_nomination", "n-3", ["Thiếu biên bản"])
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    ballots = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    members = sorted(ballots)
    for member in members[:5]:
        review.vote(ballots[member]["ballot_token"], {"n-1": "approve", "n-2": "approve"})

    # A vote that cannot be written (its sealed box beside its receipt: the marks are counted when voting
    # ends): an all-approve ballot and an all-reject one must log the same.
    outage = {name: Outage(containers[name]) if name == "review" else None for name in containers}
    outage["review"].which = lambda statement: statement.lstrip().upper().startswith("INSERT INTO RECEIPTS")
    statements = {}
    for member, choice in ((members[5], "approve"), (members[6], "reject")):
        start = len(caplog.records)
        review.vote(ballots[member]["ballot_token"], {"n-1": choice, "n-2": choice})
        wait_until(lambda: any("dead-lettered" in r.getMessage() for r in caplog.records[start:]),
                   what=f"the {choice} ballot to fail five times")
        statements[choice] = {SQL.search(r.getMessage() + str(r.exc_info)).group(1) for r in caplog.records[start:]
                              if SQL.search(r.getMessage() + str(r.exc_info))}
    assert statements["approve"] and statements["approve"] == statements["reject"]
    assert all("receipts" in statement for statement in statements["approve"])

    outage["review"].which = None  # the database is back: the two members vote again, the sitting closes
    review.vote(ballots[members[5]]["ballot_token"], {"n-1": "approve", "n-2": "approve"})
    review.vote(ballots[members[6]]["ballot_token"], {"n-1": "reject", "n-2": "approve"})  # n-2 needs 7 of 7
    published = {event: wait_until(lambda: review.events(event), what=event)[0] for event in (
        "ballot_issued", "sitting_closed", "nomination_decided", "nomination_advanced", "nomination_returned",
        "receipts_published")}
    published["vote_counted"] = wait_until(vote_counted.get_all, what="vote_counted")[0].payload
    vote_counted.close()
    published["sitting_documents_ready"] = wait_until(documents_ready.get_all, timeout=60,
                                                      what="sitting_documents_ready")[0].payload
    documents_ready.close()

    # Then every database fails, under every handler of every service.
    for name in ("intake", "notify"):
        containers[name].start()
        outage[name] = Outage(containers[name])
    for each in outage.values():
        each.which = lambda statement: True
    intake_events, review_events = EventPublisher(amqp, "intake"), EventPublisher(amqp, "review")
    council = EventPublisher(amqp, "council")
    intake_events("nomination_submitted", submitted("n-4", "LDTT"), str(uuid.uuid4()), {})
    intake_events("nomination_amended", {**submitted("n-1", "LDTT"), "resubmitted": True}, str(uuid.uuid4()), {})
    intake_events("nomination_withdrawn", {"nomination_id": "n-1", "unit_id": "vp", "reason": "rút"},
                  str(uuid.uuid4()), {})
    for event_type, payload in published.items():
        review_events(event_type, payload, str(uuid.uuid4()), {})
    held = {"nomination_id": "n-1", "unit_id": "vp", "award_code": "LDTT", "award_year": 2025, "stage": "unit"}
    review_events("nomination_on_agenda", {**held, "sitting_id": sitting_id, "council_id": "hd-vp", "revision": 1},
                  str(uuid.uuid4()), {})
    review_events("nominations_on_agenda", {"sitting_id": sitting_id, "council_id": "hd-vp", "stage": "unit", "items": [
        {key: held[key] for key in ("nomination_id", "unit_id", "award_code", "award_year")} | {"revision": 1}]},
        str(uuid.uuid4()), {})
    review_events("amendment_refused", {**held, "revision": 2, "considered_revision": 1, "state": "on_agenda",
                                        "sitting_id": sitting_id, "reasons": ["đang xét"]}, str(uuid.uuid4()), {})
    intake_events("nomination_awarded", AWARDED, str(uuid.uuid4()), {})
    intake_events("register_entry_revoked", REVOKED, str(uuid.uuid4()), {})
    intake_events("nomination_not_awarded", {"nomination_id": "n-1", "unit_id": "vp", "reason": "Không quyết định",
                                             "contact_email": "vanphong@example.vn"}, str(uuid.uuid4()), {})
    review_events("directory_loaded", {"units": [{"id": "vp", "name": "Văn phòng Bộ"}]}, str(uuid.uuid4()), {})
    review_events("public_comment_opened", {**held, "revision": 1, "comment_until": "2025-12-15T16:59:59+00:00"},
                  str(uuid.uuid4()), {})
    token = ballots[members[0]]["ballot_token"]
    council("vote_cast", {"ballot_token": token, "choices": {"n-1": "approve", "n-2": "reject"}}, str(uuid.uuid4()), {})
    for method, args in (("submit_nomination", [EXAMPLE]), ("get_nomination", ["n-1"]), ("list_nominations", [{}]),
                         ("amend_nomination", ["n-1", {"achievements": "Hoàn thành xuất sắc"}]),
                         ("withdraw_nomination", ["n-1", "rút"]), ("award_catalogue", [])):
        rpc(rabbit_config, "intake", method, *args, token=unit_token)
    rpc(rabbit_config, "intake", "issue_unit_token", "vp")
    for method, args in REGISTER_CALLS:
        rpc(rabbit_config, "intake", method, *args)
    for method, args in (("load_directory", [directory()]), ("convene_sitting", ["hd-vp", TOMORROW]),
                         ("close_sitting", [sitting_id]), ("sitting_result", [sitting_id]),
                         ("resolve_tie", [sitting_id, "LDTT", ["n-1"]]), ("return_nomination", ["n-1", ["Sai"]]),
                         ("set_quota", ["hd-vp", "LDTT", 2025, 2]), ("statistics", [2025]), ("get_case", ["n-1"]),
                         ("record_objection", [{"nomination_id": "n-1", "name": "A", "contact": "a", "text": "b"}]),
                         ("handle_objection", ["o-1", "resolved", "ok"]), ("list_objections", ["n-1"]),
                         ("comment_summary", ["n-1"]), ("statistics_forms", [2025]),
                         ("sitting_documents", [sitting_id]), ("sitting_document", [sitting_id, "minutes", "pdf"]),
                         ("render_sitting_documents", [sitting_id])):
        rpc(rabbit_config, "review", method, *args)
    rpc(rabbit_config, "notify", "mail_log", {})

    expected = set().union(*(entrypoints(cls) for cls in SERVICES)) - {("intake", "award_catalogue")}
    wait_until(lambda: failed(caplog) >= expected, timeout=60,
               what=f"a database error under every handler: {sorted(expected - failed(caplog))} missing")

    text = caplog.text
    assert "[SQL: " in text  # the failed statements were logged ...
    assert "[parameters:" not in text and "parameters hidden" in text  # ... without their parameters
    assert unit_token not in text
    assert not [ballot for ballot in ballots.values() if ballot["ballot_token"] in text]
    for line in text.splitlines():  # nothing links a member to a choice
        assert not (any(member in line for member in members) and re.search(r"'(approve|reject|abstain)'", line)), line
