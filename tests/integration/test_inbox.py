"""The inbox: an event delivered twice has one effect (review and notify, SQLite and PostgreSQL)."""
import pytest
from nameko.testing.services import entrypoint_waiter

from services.notify.service import MIGRATIONS as NOTIFY_MIGRATIONS, NotifyService
from services.review.service import MIGRATIONS as REVIEW_MIGRATIONS, ReviewService
from shared.platform.messaging import EventPublisher
from tests.integration.delivery import Tables

EVENT = {
    "nomination_id": "n-inbox-1", "unit_id": "vp", "award_code": "CSTDCS", "award_year": 2025,
    "nominee": {"kind": "individual", "name": "Trần Văn Bình", "email": "binh@example.vn", "gender": "male"},
    "contact_email": "vanphong@example.vn", "submitted_at": "2025-11-20T08:00:00+07:00",
}


def deliver(container, method, amqp_uri, payload, message_id):
    """Publish one intake event, as intake's relay does, and wait until ``method`` handled it."""
    with entrypoint_waiter(container, method, timeout=15):
        EventPublisher(amqp_uri, "intake")("nomination_submitted", payload, message_id, {})


@pytest.mark.parametrize("service, migrations, method, table", [
    (ReviewService, REVIEW_MIGRATIONS, "on_nomination_submitted", "cases"),
    (NotifyService, NOTIFY_MIGRATIONS, "on_nomination_submitted", "mails"),
])
def test_an_event_delivered_twice_has_one_effect(service, migrations, method, table, container_factory,
                                                 rabbit_config, service_env, db_urls):
    container = container_factory(service, rabbit_config)
    container.start()
    for _ in range(2):
        deliver(container, method, rabbit_config["AMQP_URI"], EVENT, "event-1")
    tables = Tables(db_urls[service.name], migrations)
    try:
        assert tables.count(table) == 1
        assert tables.count("inbox") == 1
        deliver(container, method, rabbit_config["AMQP_URI"], {**EVENT, "nomination_id": "n-inbox-2"},
                "event-2")
        assert tables.count(table) == 2  # a new message is not mistaken for a duplicate
    finally:
        tables.dispose()


def test_a_malformed_event_is_rejected_and_changes_nothing(container_factory, rabbit_config, service_env,
                                                           db_urls):
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    deliver(container, "on_nomination_submitted", rabbit_config["AMQP_URI"],
            {**EVENT, "award_code": "NOT_AN_AWARD", "extra": 1}, "event-bad")
    tables = Tables(db_urls["review"], REVIEW_MIGRATIONS)
    try:
        assert (tables.count("cases"), tables.count("inbox")) == (0, 0)
    finally:
        tables.dispose()


def test_a_malformed_event_is_dead_lettered_to_the_service_queue(container_factory, rabbit_config, service_env,
                                                                 get_message_from_queue):
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    deliver(container, "on_nomination_submitted", rabbit_config["AMQP_URI"], {"nomination_id": 42}, "event-dead")
    message = get_message_from_queue("dlq.review")
    assert message.properties["message_id"] == "event-dead"
    assert message.payload == {"nomination_id": 42}
