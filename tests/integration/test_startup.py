"""Services start from the environment alone, apply their migrations, and refuse malformed config."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.platform.db import make_engine, migrate
from tests.harness import NAMEKO_CONFIG, ROOT, SERVICE_CLASSES

NAMEKO = str(Path(sys.executable).parent / "nameko")


@pytest.mark.parametrize("variable, value", [
    ("SMTP_PORT", "abc"),
    ("REVIEW_DB_URL", "mysql://root@localhost/tdkt"),
    ("SMTP_STARTTLS", "maybe"),
    ("TDKT_HTTP_PORT", "http"),
    ("TDKT_TICK_SECONDS", "often"),
])
def test_a_malformed_config_value_stops_the_service_at_start_naming_the_variable(variable, value, tmp_path):
    env = {**os.environ, "TDKT_VAR_DIR": str(tmp_path), "EVENTLET_TESTS": "1",
           "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/", variable: value}
    process = subprocess.run([NAMEKO, "run", "--config", str(NAMEKO_CONFIG), "services.review.service:ReviewService"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert process.returncode != 0
    last_line = process.stderr.strip().splitlines()[-1]
    assert variable in last_line and "ConfigError" in last_line


@pytest.mark.parametrize("service", sorted(SERVICE_CLASSES))
def test_migrations_create_every_table_and_can_run_again(service, db_urls):
    engine = make_engine(db_urls[service], pool_size=1)
    migrations = ROOT / "services" / service / "migrations"
    try:
        migrate(engine, migrations)
        migrate(engine, migrations)  # a second instance starting finds nothing to do
        tables = set(sa.inspect(engine).get_table_names())
        assert {"outbox", "inbox", "alembic_version"} <= tables
        models = __import__(f"services.{service}.models", fromlist=["metadata"])
        assert set(models.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_services_keep_a_fifteen_second_heartbeat_with_the_broker(container_factory, rabbit_config,
                                                                  rabbit_manager, service_env):
    from services.review.service import ReviewService
    from tests.harness import wait_until

    container_factory(ReviewService, rabbit_config).start()

    def heartbeats():
        connections = rabbit_manager._get("connections")  # negotiated "timeout" is the heartbeat
        return [c["timeout"] for c in connections if c.get("vhost") == rabbit_config["vhost"]]

    assert 15 in wait_until(heartbeats, timeout=30, what="the consumer's connection")


def test_sigterm_stops_a_service_gracefully_and_promptly(service_env, rabbit_config, tmp_path):
    import signal
    import time

    from tests.harness import System

    system = System({**os.environ, **service_env, "AMQP_URI": rabbit_config["AMQP_URI"], "EVENTLET_TESTS": "1"},
                    tmp_path / "logs")
    system.start(["intake"])
    process = system.processes["intake"]
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert time.monotonic() - started < 15


def test_a_started_service_keeps_the_broker_password_off_its_command_line(service_env, rabbit_config, tmp_path):
    from urllib.parse import urlsplit

    from tests.harness import System

    uri = rabbit_config["AMQP_URI"]
    system = System({**os.environ, **service_env, "AMQP_URI": uri, "EVENTLET_TESTS": "1"}, tmp_path / "logs")
    system.start(["intake"])  # ready: it reached the broker with the URI of its environment
    try:
        arguments = Path(f"/proc/{system.processes['intake'].pid}/cmdline").read_bytes().split(b"\0")
    finally:
        system.stop()
    password = urlsplit(uri).password.encode()
    assert password and not [argument for argument in arguments if password in argument], arguments
