"""The transactional outbox, on SQLite and PostgreSQL, against a real RabbitMQ."""
import json
import signal
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from services.intake.service import MIGRATIONS
from shared.platform.confirms import BatchPublisher
from shared.platform.messaging import EventPublisher, event_exchange
from shared.platform.outbox import publish_pending
from shared.platform.store import OUTBOX
from tests.integration.delivery import Tables, Tap


@pytest.fixture
def tables(intake_db):
    return intake_db


@pytest.fixture
def tap(rabbit_config):
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_submitted")
    yield tap
    tap.close()


@pytest.fixture(params=["batch", "one by one"])
def relay_once(db_urls, rabbit_config, request):
    """One pass of the relay, on its own engine as in a service (where it is another green thread):
    with the services' publisher (a batch, its confirms awaited together) and with a plain callable."""
    relay_tables = Tables(db_urls["intake"], MIGRATIONS)
    if request.param == "batch":
        publisher = BatchPublisher(rabbit_config["AMQP_URI"], event_exchange("intake"))
    else:
        publisher = EventPublisher(rabbit_config["AMQP_URI"], "intake")
    yield lambda: publish_pending(relay_tables.sessions, OUTBOX, publisher)
    getattr(publisher, "close", lambda: None)()
    relay_tables.dispose()


def test_an_event_is_published_only_after_its_transaction_commits(tables, tap, relay_once):
    woken = []
    with tables.uow(on_commit=woken.extend) as uow:
        event_id = uow.publish("nomination_submitted", {"nomination_id": "n1", "tên": "Hoà"})
        assert relay_once() == 0 and tap.get_all() == []  # not committed: nothing to see
        uow.commit()
    assert woken == ["outbox"]

    assert relay_once() == 1
    [message] = tap.get_all()
    assert message.properties["message_id"] == event_id
    assert json.loads(message.body) == {"nomination_id": "n1", "tên": "Hoà"}
    assert message.properties["delivery_mode"] == 2  # persistent
    assert tables.count("outbox") == 0


def test_a_rolled_back_transaction_publishes_nothing(tables, tap, relay_once):
    with pytest.raises(RuntimeError):
        with tables.uow() as uow:
            uow.publish("nomination_submitted", {"nomination_id": "n2"})
            raise RuntimeError("the change failed")
    assert tables.count("outbox") == 0
    assert relay_once() == 0
    assert tap.get_all() == []


def test_an_event_committed_just_before_a_sigkill_is_published_after_restart(db_urls, tables, tap,
                                                                               relay_once):
    script = textwrap.dedent(f"""
        import os, signal
        from shared.platform.store import standalone_uow
        from services.intake.service import MIGRATIONS
        from shared.platform.config import load_settings
        uow = standalone_uow("intake", MIGRATIONS, load_settings({{"INTAKE_DB_URL": {db_urls["intake"]!r}}}))
        uow.publish("nomination_submitted", {{"nomination_id": "n3"}})
        uow.commit()
        os.kill(os.getpid(), signal.SIGKILL)  # dies between commit and publish
    """)
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert process.returncode == -signal.SIGKILL, process.stderr
    assert tables.count("outbox") == 1

    assert relay_once() == 1  # the relay of the restarted service
    assert [json.loads(m.body) for m in tap.get_all()] == [{"nomination_id": "n3"}]


def test_an_unroutable_event_waits_in_the_outbox_without_holding_back_others(tables, rabbit_config,
                                                                            relay_once):
    tap = Tap(rabbit_config["AMQP_URI"], "intake", "nomination_withdrawn")
    try:
        with tables.uow() as uow:
            uow.publish("nomination_amended", {"nomination_id": "n4"})  # no queue is bound to it
            uow.publish("nomination_withdrawn", {"nomination_id": "n4"})
            uow.commit()
        assert relay_once() == 2  # both handled: one published, one put off
        assert len(tap.get_all()) == 1
        with tables.engine.connect() as connection:
            [(event_type, attempts)] = connection.execute(sa.select(OUTBOX.c.event_type, OUTBOX.c.attempts))
        assert (event_type, attempts) == ("nomination_amended", 1)
    finally:
        tap.close()
