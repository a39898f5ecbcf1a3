"""Intake as a running Nameko container on a real broker and database (SQLite and PostgreSQL)."""
import json
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.intake import handlers
from services.intake.service import MIGRATIONS, IntakeService
from shared.errors import Conflict, Forbidden, Unauthorized, ValidationError
from shared.outbox import utcnow
from tests.harness import wait_until
from tests.integration.delivery import Tables, Tap

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json")
                     .read_text(encoding="utf-8"))


@pytest.fixture
def intake(container_factory, rabbit_config, service_env, db_urls):
    tables = Tables(db_urls["intake"], MIGRATIONS)
    tokens = {unit: handlers.issue_unit_token(unit, tables.uow(), utcnow()) for unit in ("vp", "tccb")}
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    container = container_factory(IntakeService, rabbit_config)
    container.start()
    yield tables, tokens, tap
    tap.close()
    tables.dispose()


def call(rabbit_config, token, method, *args):
    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=15) as proxy:
        return getattr(proxy.intake, method)(*args)


def test_a_submission_is_stored_and_announced_once(intake, rabbit_config):
    tables, tokens, tap = intake
    receipt = call(rabbit_config, tokens["vp"], "submit_nomination", EXAMPLE)
    again = call(rabbit_config, tokens["vp"], "submit_nomination", EXAMPLE)

    assert again == {**receipt, "duplicate": True}
    [message] = wait_until(tap.get_all, what="nomination_submitted")
    event = json.loads(message.body)
    assert event["nomination_id"] == receipt["nomination_id"]
    assert event["nominee"]["name"] == "Nguyễn Thị Hoa" and event["unit_id"] == "vp"
    assert tables.count("nominations") == 1
    wait_until(lambda: tables.count("outbox") == 0, what="the outbox to empty")
    assert tap.get_all() == []  # the duplicate announced nothing

    stored = call(rabbit_config, tokens["vp"], "get_nomination", receipt["nomination_id"])
    assert (stored["status"], stored["stage"]) == ("submitted", "unit")


def test_the_same_key_with_another_body_is_a_conflict_and_stores_nothing(intake, rabbit_config):
    tables, tokens, _ = intake
    call(rabbit_config, tokens["vp"], "submit_nomination", EXAMPLE)
    with pytest.raises(Conflict):
        call(rabbit_config, tokens["vp"], "submit_nomination", {**EXAMPLE, "achievements": "Khác"})
    assert tables.count("nominations") == 1


def test_a_malformed_nomination_gets_every_error_and_stores_nothing(intake, rabbit_config):
    tables, tokens, _ = intake
    bad = {**EXAMPLE, "award_code": "XYZ", "contact_email": "not-an-email", "surprise": True}
    with pytest.raises(ValidationError) as error:
        call(rabbit_config, tokens["vp"], "submit_nomination", bad)
    assert set(error.value.detail) == {"award_code", "contact_email", "surprise"}
    assert (tables.count("nominations"), tables.count("outbox")) == (0, 0)


def test_callers_without_a_valid_token_or_of_another_unit_are_refused(intake, rabbit_config):
    _, tokens, _ = intake
    for token in (None, "forged-token"):
        with pytest.raises(Unauthorized):
            call(rabbit_config, token, "submit_nomination", EXAMPLE)
    receipt = call(rabbit_config, tokens["vp"], "submit_nomination", EXAMPLE)
    with pytest.raises(Forbidden):
        call(rabbit_config, tokens["tccb"], "get_nomination", receipt["nomination_id"])
