"""Intake as a running Nameko container on a real broker and database (SQLite and PostgreSQL)."""
import json

import pytest
import sqlalchemy as sa

from shared.contract.errors import Conflict, Forbidden, Ineligible, Unauthorized, ValidationError
from tests.harness import wait_until
from tests.integration.conftest import EXAMPLE


def test_a_submission_is_stored_and_announced_once(intake):
    receipt = intake.submit()
    again = intake.submit()

    assert again == {**receipt, "duplicate": True}
    [message] = wait_until(intake.tap.get_all, what="nomination_submitted")
    event = json.loads(message.body)
    assert event["nomination_id"] == receipt["nomination_id"]
    assert event["nominee"]["name"] == "Nguyễn Thị Hoa" and event["unit_id"] == "vp"
    assert event["rule_set"] == "nd152-2025"
    assert intake.tables.count("nominations") == 1
    wait_until(lambda: intake.tables.count("outbox") == 0, what="the outbox to empty")
    assert intake.tap.get_all() == []  # the duplicate announced nothing

    stored = intake.call("vp", "get_nomination", receipt["nomination_id"])
    assert (stored["status"], stored["stage"]) == ("submitted", "unit")


def test_the_same_key_with_another_body_is_a_conflict_and_stores_nothing(intake):
    intake.submit()
    with pytest.raises(Conflict):
        intake.submit(achievements="Khác")
    assert intake.tables.count("nominations") == 1


def test_a_malformed_nomination_gets_every_error_and_stores_nothing(intake):
    with pytest.raises(ValidationError) as error:
        intake.submit(award_code="XYZ", contact_email="not-an-email", surprise=True)
    assert set(error.value.detail) == {"award_code", "contact_email", "surprise"}
    assert (intake.tables.count("nominations"), intake.tables.count("outbox")) == (0, 0)


def test_an_oversize_nomination_is_refused(intake):
    with pytest.raises(ValidationError) as error:
        intake.submit(achievements="x" * (300 * 1024))
    assert "KiB" in error.value.detail["_schema"][0]


def test_an_ineligible_nomination_gets_every_unmet_rule_and_stores_nothing(intake):
    history = [{"year": 2025, "rating": "HTNV", "titles": [], "initiatives": [], "disciplined": False}]
    with pytest.raises(Ineligible) as error:
        intake.submit(award_code="CSTDCS", history=history, under_review=True, documents=[])
    codes = [item["code"] for item in error.value.detail]
    assert codes[:3] == ["on_hold_under_review", "rating_below_good", "excellence_or_initiative_required"]
    assert codes.count("missing_document") == 3
    assert all(item["message"] and item["message_en"] for item in error.value.detail)
    assert (intake.tables.count("nominations"), intake.tables.count("outbox")) == (0, 0)


def test_callers_without_a_valid_token_or_of_another_unit_are_refused(intake):
    for token in (None, "forged-token"):
        with pytest.raises(Unauthorized):
            intake.call(token, "submit_nomination", EXAMPLE)
    receipt = intake.submit()
    with pytest.raises(Forbidden):
        intake.call("tccb", "get_nomination", receipt["nomination_id"])
    with pytest.raises(Forbidden):
        intake.call("tccb", "withdraw_nomination", receipt["nomination_id"], "không phải của đơn vị")
    assert intake.call("tccb", "list_nominations", {})["total"] == 0


def test_every_security_rejection_is_audited_without_the_token(intake):
    receipt = intake.submit()
    for caller in ("forged-token-value", None):
        with pytest.raises(Unauthorized):
            intake.call(caller, "list_nominations", {})
    with pytest.raises(Forbidden):
        intake.call("tccb", "get_nomination", receipt["nomination_id"])
    def audited():  # written as the worker ends, just after the caller has its answer
        with intake.tables.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT kind, detail FROM audit ORDER BY id")).all()
        return len(rows) == 3 and rows

    rows = wait_until(audited, what="three audit rows")
    assert [kind for kind, _ in rows] == ["unauthorized", "unauthorized", "forbidden"]
    assert "intake.get_nomination" in rows[2][1]
    assert all("forged-token-value" not in detail and intake.tokens["tccb"] not in detail for _, detail in rows)


def test_a_forged_request_without_a_reply_queue_is_dropped_and_intake_keeps_serving(intake):
    from kombu import Connection, Exchange

    with Connection(intake.rabbit_config["AMQP_URI"]) as connection:
        producer = connection.Producer()
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        for properties in ({}, {"reply_to": "review.get_case", "correlation_id": "x"}):
            producer.publish({"args": [], "kwargs": {}}, exchange=exchange, routing_key="intake.list_nominations",
                             serializer="json", **properties)
    assert intake.submit()["status"] == "submitted"  # the service is still up
    with Connection(intake.rabbit_config["AMQP_URI"]) as connection:
        wait_until(lambda: connection.default_channel.queue_declare("rpc-intake", passive=True).message_count == 0,
                   what="the forged requests to be taken off the queue")
