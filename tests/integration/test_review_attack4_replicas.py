"""Attack on 9a65b3e through the broker: the same ``nominations_on_agenda`` message delivered twice at once
to two intake replicas, and an older review's per-nomination events still in the queue after the upgrade."""
import uuid

import pytest

from services.intake import handlers
from services.intake.service import IntakeService
from shared.platform.messaging import EventPublisher
from tests.harness import wait_until
from tests.integration.conftest import EXAMPLE
from tests.integration.test_one_truth import deliver


def _other(key, employee_id):
    return {"submission_key": key, "nominee": {**EXAMPLE["nominee"], "employee_id": employee_id,
                                               "full_name": f"Người {employee_id}"}}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_two_replicas_taking_the_same_agenda_message_at_once_follow_it_once(intake, container_factory, rabbit_config,
                                                                           monkeypatch):
    """Guard: a second intake container on the same queues; the message published twice with one id:
    each replica may take one copy, the inbox lets one have the effect, nothing is noted twice."""
    second = container_factory(IntakeService, rabbit_config)
    second.start()
    calls = []
    real = handlers.follow_agenda
    monkeypatch.setattr(handlers, "follow_agenda", lambda *args: (real(*args), calls.append(1)))
    ids = [intake.submit(**_other(f"k-{i}", f"VP-{i:04d}"))["nomination_id"] for i in range(20)]
    event = {"sitting_id": "s-1", "council_id": "hd-vp", "stage": "unit", "items": [
        {"nomination_id": n, "unit_id": "vp", "award_code": "LDTT", "award_year": 2025, "revision": 1} for n in ids]}
    publish = EventPublisher(rabbit_config["AMQP_URI"], "review")
    message_id = str(uuid.uuid4())
    publish("nominations_on_agenda", event, message_id, {})
    publish("nominations_on_agenda", event, message_id, {})
    wait_until(lambda: len(calls) == 2, what="both copies handled")
    for n in ids:
        stored = intake.call("vp", "get_nomination", n)
        assert stored["status"] == "in_review"
        assert [e.get("event") for e in stored["history"]].count("nomination_on_agenda") == 1
    assert intake.tables.count("inbox WHERE consumer = 'on_nominations_on_agenda'") == 1


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_an_older_reviews_per_nomination_event_still_closes_amendments_beside_the_new_batch(intake):
    """Guard (rolling upgrade): ``nomination_on_agenda`` left on the queue by the old review, then the new
    review's ``nominations_on_agenda`` of the next sitting: both followed, each sitting noted once."""
    amqp = intake.rabbit_config["AMQP_URI"]
    old = intake.submit(award_code="CSTDCS")["nomination_id"]
    new = intake.submit(**_other("k-new", "VP-0043"))["nomination_id"]
    deliver(intake.container, "review", "nomination_on_agenda", {
        "nomination_id": old, "unit_id": "vp", "sitting_id": "s-old", "council_id": "hd-vp", "stage": "unit",
        "award_code": "CSTDCS", "award_year": 2025, "revision": 1}, amqp_uri=amqp)
    deliver(intake.container, "review", "nominations_on_agenda", {
        "sitting_id": "s-new", "council_id": "hd-vp", "stage": "unit", "items": [
            {"nomination_id": new, "unit_id": "vp", "award_code": "LDTT", "award_year": 2025, "revision": 1}]},
        amqp_uri=amqp)
    for nomination_id, sitting in ((old, "s-old"), (new, "s-new")):
        stored = intake.call("vp", "get_nomination", nomination_id)
        assert stored["status"] == "in_review"
        assert [e["sitting_id"] for e in stored["history"] if e.get("event") == "nomination_on_agenda"] == [sitting]
