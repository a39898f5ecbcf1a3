"""SIGKILL notify while it holds unsent mail; after a restart every mail arrives exactly once."""
import os
import signal

import pytest
import sqlalchemy as sa

from shared.platform.messaging import EventPublisher
from tests.harness import MailSink, System, free_port, wait_until

pytestmark = pytest.mark.e2e


def submitted(number):
    return {"nomination_id": f"n-{number}", "unit_id": "vp", "award_code": "LDTT", "award_year": 2025,
            "nominee": {"kind": "individual", "name": f"Nguyễn Văn {number}", "email": None, "gender": "male"},
            "contact_email": f"unit{number}@example.vn", "submitted_at": "2025-11-20T08:00:00+07:00"}


def test_mail_held_by_a_killed_notify_arrives_once_after_restart(rabbit_config, service_env, tmp_path):
    port = free_port()  # nothing listens here yet: every send fails and the mail waits
    env = {**os.environ, **service_env, "SMTP_PORT": str(port), "SMTP_TIMEOUT": "2",
           "TDKT_MAIL_RETRY_SECONDS": "0.2", "AMQP_URI": rabbit_config["AMQP_URI"], "EVENTLET_TESTS": "1"}
    system = System(env, tmp_path / "logs")
    system.start(["notify"])
    engine = sa.create_engine(service_env["NOTIFY_DB_URL"])
    try:
        publish = EventPublisher(rabbit_config["AMQP_URI"], "intake")
        for number in range(5):
            publish("nomination_submitted", submitted(number), f"event-{number}", {})

        def tried_and_waiting():
            with engine.connect() as connection:
                rows = connection.execute(sa.text("SELECT status, attempts FROM mails")).all()
            return len(rows) == 5 and all(s == "pending" and a >= 1 for s, a in rows)

        wait_until(tried_and_waiting, timeout=30, what="five mails tried and waiting")
        system.kill("notify", signal.SIGKILL)

        sink = MailSink(tmp_path / "mail", port)
        sink.start()
        try:
            system.start(["notify"])
            mails = sink.wait_for(5, timeout=60)
            with engine.connect() as connection:
                wait_until(lambda: connection.execute(sa.text(
                    "SELECT count(*) FROM mails WHERE status = 'sent'")).scalar() == 5, what="all sent")
            mails = sink.messages()
            assert sorted(m["To"] for m in mails) == [f"unit{n}@example.vn" for n in range(5)]
            assert len({m["Message-ID"] for m in mails}) == 5
        finally:
            sink.stop()
    finally:
        system.stop()
        engine.dispose()
