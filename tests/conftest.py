"""The test harness: real RabbitMQ (a vhost per test, from Nameko's plugin), a real PostgreSQL database
per run beside SQLite, a real SMTP server, and the three services as processes for e2e tests.

Everything runs under eventlet, as the services do (Nameko's plugin no longer patches for us).
"""
import os

os.environ.setdefault("EVENTLET_TESTS", "1")  # only silences eventlet's import-time banner
# the services' timers look every half second, not every 5 s: a test waiting for a deadline, a comment
# period or a reminder waits for the tick (read when a service module is imported, after this)
os.environ.setdefault("TDKT_TICK_SECONDS", "0.5")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.harness import MailSink, System, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TDKT_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
SERVICES = ("intake", "review", "notify")


@pytest.fixture(scope="session")
def pg_database():
    """A PostgreSQL database created for this run and dropped after it."""
    name = f"tdkt_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # outlives restarts
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(PG_ADMIN_URL).set(database=name)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request):
    return request.param


@pytest.fixture
def db_urls(db_backend, tmp_path, request):
    """One database URL per service on the chosen backend, empty for this test."""
    if db_backend == "sqlite":
        return {service: f"sqlite:///{tmp_path / f'{service}.db'}" for service in SERVICES}
    database = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(database)
    with engine.begin() as connection:
        for service in SERVICES:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}_{service}"'))
    engine.dispose()
    return {service: database.update_query_dict({"options": f"-csearch_path={schema}_{service}"})
            .render_as_string(hide_password=False) for service in SERVICES}


@pytest.fixture
def service_env(db_urls, monkeypatch, tmp_path):
    """The contract's environment for services started in this process (containers)."""
    env = {f"{service.upper()}_DB_URL": url for service, url in db_urls.items()}
    env.update({"TDKT_VAR_DIR": str(tmp_path / "var"), "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(free_port()), "SMTP_TIMEOUT": "5",
                "TDKT_DOCUMENTS_GATHER_SECONDS": "0",  # a test's one sitting is rendered at once,
                "TDKT_DOCUMENTS_QUIET_WAIT_SECONDS": "10"})  # or 10 s later where the tests keep the CPUs busy
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def mail_sink(tmp_path, monkeypatch):
    """A real SMTP server (aiosmtpd, in its own process) keeping each mail as a file."""
    sink = MailSink(tmp_path / "mail", free_port())
    sink.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(sink.port))
    yield sink
    sink.stop()


@pytest.fixture
def system(rabbit_config, service_env, mail_sink, tmp_path):
    """The three services as separate ``nameko run`` processes on this test's vhost."""
    env = {**os.environ, **service_env, "SMTP_PORT": str(mail_sink.port),
           "AMQP_URI": rabbit_config["AMQP_URI"], "EVENTLET_TESTS": "1",
           "PYTHONPATH": str(ROOT)}
    system = System(env, tmp_path / "logs")
    system.start(SERVICES)
    yield system
    system.stop()


@pytest.fixture
def api(request):
    """The RabbitMQ management API of Nameko's test plugin."""
    return request.config.getoption("RABBIT_API_URI")


@pytest.fixture
def broker(rabbit_config, api):
    """This test's vhost with tdkt's broker users loaded (``deploy/rabbitmq/definitions.json``)."""
    from tests.rabbit_users import Broker

    return Broker(rabbit_config, api)
