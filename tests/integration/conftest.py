"""A running intake container with two units' tokens, shared by the intake integration tests; notify's
database and a real SMTP server, shared by notify's."""
import json
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.intake import handlers
from services.intake.service import MIGRATIONS, IntakeService
from services.review.service import ReviewService
from shared.platform.outbox import utcnow
from tests.integration.delivery import Tables, Tap
from tests.integration.review_support import Review, directory

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json")
                     .read_text(encoding="utf-8"))


class Intake:
    def __init__(self, rabbit_config, tables, tokens, tap):
        self.rabbit_config, self.tables, self.tokens, self.tap = rabbit_config, tables, tokens, tap

    def call(self, unit, method, *args):
        """Call ``intake.method`` as ``unit`` (a unit id, or a raw token when not one of ours)."""
        token = self.tokens.get(unit, unit)
        with ClusterRpcProxy(self.rabbit_config, context_data={"auth_token": token}, timeout=15) as proxy:
            return getattr(proxy.intake, method)(*args)

    def submit(self, unit="vp", **changes):
        return self.call(unit, "submit_nomination", {**EXAMPLE, **changes})


@pytest.fixture
def intake(container_factory, rabbit_config, service_env, db_urls):
    tables = Tables(db_urls["intake"], MIGRATIONS)
    tokens = {unit: handlers.issue_unit_token(unit, tables.uow(), utcnow()) for unit in ("vp", "tccb")}
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    container = container_factory(IntakeService, rabbit_config)
    container.start()
    client = Intake(rabbit_config, tables, tokens, tap)
    client.container = container
    yield client
    tap.close()
    tables.dispose()


def migrated(url: str, migrations):
    """A service's database, migrated, for the length of a fixture."""
    tables = Tables(url, migrations)
    yield tables
    tables.dispose()


@pytest.fixture
def intake_db(db_urls):
    """Intake's database, migrated, without a running service (handlers called directly)."""
    yield from migrated(db_urls["intake"], MIGRATIONS)


@pytest.fixture
def notify_db(db_urls):
    """Notify's database, migrated, without a running service (handlers called directly)."""
    from services.notify.service import MIGRATIONS as NOTIFY_MIGRATIONS

    yield from migrated(db_urls["notify"], NOTIFY_MIGRATIONS)


@pytest.fixture
def smtp(tmp_path):
    """``smtp(*script_args)``: a real SMTP server (the development sink, or tests/smtp_script.py with
    ``script_args``) on a free port, stopped after the test."""
    from tests.harness import MailSink, free_port

    servers = []

    def start(*script_args):
        sink = MailSink(tmp_path / f"mail-{len(servers)}", free_port(), *script_args)
        sink.start()
        servers.append(sink)
        return sink

    yield start
    for sink in servers:
        sink.stop()


@pytest.fixture
def review(container_factory, rabbit_config, service_env):
    """A running review container with a unit council of 7 and a ministry council of 15."""
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    review = Review(container, rabbit_config)
    review.call("load_directory", directory())
    yield review
    review.close()
