"""Mail delivery against real SMTP servers (aiosmtpd): retries, permanent failures, hangs, UTF-8.

Long because each way a server can misbehave (slow, slow line by line, hanging, refusing) is a case of
its own against the one sending loop, and the claim's renewal is checked beside them."""
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.notify import domain, handlers
from services.notify.mail import Renderer, SmtpSender
from services.notify.models import AutocommitStatements, Mails, mails
from services.notify.service import MIGRATIONS
from shared.platform.config import load_settings
from shared.platform.outbox import utcnow
from tests.harness import wait_until
from tests.integration.delivery import Tables

EVENT = {"nomination_id": "n-mail", "unit_id": "vp", "award_code": "CSTDCS", "award_year": 2025,
         "nominee": {"kind": "individual", "name": "Phạm Thị Thu Hương", "email": None, "gender": "female"},
         "contact_email": "vanphong@example.vn", "submitted_at": "2025-11-20T08:00:00+07:00"}


@pytest.fixture
def mail_db(db_urls):
    tables = Tables(db_urls["notify"], MIGRATIONS)
    yield tables
    tables.dispose()


def queue(mail_db, *contacts):
    for number, contact in enumerate(contacts):
        requests = domain.acknowledgement({**EVENT, "contact_email": contact}, f"event-{number}")
        handlers.queue_mails(requests, mail_db.uow(message_id=f"event-{number}"), Renderer(), utcnow())


def sender_for(sink, timeout="5"):
    return SmtpSender(load_settings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
                                     "SMTP_TIMEOUT": timeout}))


def statuses(mail_db):
    with mail_db.engine.connect() as connection:
        return {row.recipient: (row.status, row.attempts) for row in connection.execute(sa.select(mails))}


def deliver(mail_db, sender, until, timeout=20):
    """Run the mail relay's step until ``until(statuses)`` holds."""
    def settled():
        handlers.send_due(AutocommitStatements(mail_db.engine), sender, utcnow, retry_seconds=0.05)
        return until(statuses(mail_db))

    wait_until(settled, timeout=timeout, interval=0.05, what="mail to settle")


def test_a_vietnamese_subject_and_body_arrive_intact(mail_db, smtp):
    sink = smtp()
    queue(mail_db, "vanphong@example.vn")
    deliver(mail_db, sender_for(sink), lambda s: s["vanphong@example.vn"][0] == "sent")
    [mail] = sink.messages()
    assert mail["Subject"] == "[TĐKT] Đã nhận hồ sơ đề nghị Chiến sĩ thi đua cơ sở – Phạm Thị Thu Hương"
    assert "Phạm Thị Thu Hương" in mail.get_body(("plain",)).get_content()
    assert "Phạm Thị Thu Hương" in mail.get_body(("html",)).get_content()
    assert mail["Message-ID"] == domain.message_id(domain.mail_key("event-0", "vanphong@example.vn",
                                                                   "acknowledgement"), "localhost.localdomain")


def test_a_server_answering_451_twice_then_250_gets_the_mail_exactly_once(mail_db, smtp):
    sink = smtp("--script", "451,451,250")
    queue(mail_db, "vanphong@example.vn")
    deliver(mail_db, sender_for(sink), lambda s: s["vanphong@example.vn"][0] == "sent")
    assert statuses(mail_db) == {"vanphong@example.vn": ("sent", 3)}
    assert len(sink.messages()) == 1


def test_a_550_is_recorded_and_never_retried(mail_db, smtp):
    sink = smtp("--script", "550")
    queue(mail_db, "vanphong@example.vn")
    deliver(mail_db, sender_for(sink), lambda s: s["vanphong@example.vn"][0] == "failed")
    assert handlers.send_due(AutocommitStatements(mail_db.engine), sender_for(sink), utcnow, 0.05) == 0
    assert statuses(mail_db) == {"vanphong@example.vn": ("failed", 1)}
    assert sink.messages() == []
    [entry] = handlers.mail_log("failed", 10, mail_db.uow())
    assert entry["last_error"].startswith("550") and "html" not in entry


def test_a_refused_recipient_is_a_permanent_failure_that_stops_no_other_mail(mail_db, smtp):
    sink = smtp("--refuse", "khongton@example.vn")
    queue(mail_db, "khongton@example.vn", "vanphong@example.vn")
    deliver(mail_db, sender_for(sink), lambda s: len(s) == 2 and {v[0] for v in s.values()} == {"sent", "failed"})
    assert statuses(mail_db)["khongton@example.vn"] == ("failed", 1)
    assert [m["To"] for m in sink.messages()] == ["vanphong@example.vn"]


def test_a_hanging_server_does_not_hold_other_mail_past_the_timeout(mail_db, smtp):
    sink = smtp("--script", "hang,250", "--hang", "20")
    queue(mail_db, "first@example.vn", "second@example.vn")
    started = time.monotonic()
    deliver(mail_db, sender_for(sink, timeout="1"), lambda s: s.get("second@example.vn", ("",))[0] == "sent")
    assert time.monotonic() - started < 10  # the hang lasts 20 s; the timeout is 1 s
    deliver(mail_db, sender_for(sink, timeout="1"), lambda s: s["first@example.vn"][0] == "sent")
    assert sorted(m["To"] for m in sink.messages()) == ["first@example.vn", "second@example.vn"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with openssl for this module."""
    import subprocess

    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


def tls_sender(sink, certificate, password):
    return SmtpSender(load_settings({
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_TIMEOUT": "5", "SMTP_STARTTLS": "true",
        "SMTP_CA_FILE": str(certificate[0]), "SMTP_USER": "tdkt", "SMTP_PASSWORD": password}))


def test_starttls_and_login_deliver_when_configured_and_a_wrong_password_keeps_the_mail(mail_db, smtp,
                                                                                       certificate):
    cert, key = certificate
    sink = smtp("--auth", "tdkt:mat-khau-dung", "--tls-cert", str(cert), "--tls-key", str(key))
    queue(mail_db, "vanphong@example.vn")
    handlers.send_due(AutocommitStatements(mail_db.engine), tls_sender(sink, certificate, "sai-mat-khau"), utcnow,
                      0.05)
    assert statuses(mail_db)["vanphong@example.vn"][0] == "pending"  # an operator can fix the password
    deliver(mail_db, tls_sender(sink, certificate, "mat-khau-dung"),
            lambda s: s["vanphong@example.vn"][0] == "sent")
    assert len(sink.messages()) == 1


def test_starttls_refuses_a_server_whose_certificate_is_not_trusted(mail_db, smtp, certificate):
    cert, key = certificate
    sink = smtp("--tls-cert", str(cert), "--tls-key", str(key))
    queue(mail_db, "vanphong@example.vn")
    untrusting = SmtpSender(load_settings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
                                           "SMTP_STARTTLS": "true"}))
    handlers.send_due(AutocommitStatements(mail_db.engine), untrusting, utcnow, 0.05)
    assert statuses(mail_db)["vanphong@example.vn"] == ("pending", 1) and sink.messages() == []


def test_senders_working_side_by_side_send_each_mail_once(mail_db, smtp):
    import eventlet

    sink = smtp()
    contacts = [f"donvi{n}@example.vn" for n in range(40)]
    queue(mail_db, *contacts)
    sender = sender_for(sink)
    senders = [eventlet.spawn(handlers.send_due, AutocommitStatements(mail_db.engine), sender, utcnow, 0.05, 3)
               for _ in range(4)]
    sent = sum(thread.wait() for thread in senders)
    deliver(mail_db, sender, lambda s: all(status == "sent" for status, _ in s.values()))
    messages = sink.wait_for(40)
    assert len(messages) == 40 and len({m["Message-ID"] for m in messages}) == 40
    assert statuses(mail_db) == {contact: ("sent", 1) for contact in contacts}
    assert sent > 0


def test_a_sender_whose_lease_ran_out_does_not_overwrite_the_sender_that_claimed_the_mail_next(mail_db):
    queue(mail_db, "vanphong@example.vn")
    with mail_db.engine.connect() as connection:
        mails = Mails(connection)
        (late,) = mails.claim_due(utcnow(), timedelta(0), 10)  # its lease ends at once
        (current,) = mails.claim_due(utcnow() + timedelta(seconds=1), timedelta(minutes=5), 10)
        assert not mails.settle(late, status="pending", attempts=1)
        assert mails.settle(current, status="sent", attempts=1)
        connection.commit()
    assert statuses(mail_db) == {"vanphong@example.vn": ("sent", 1)}


def send_with_two_connections(mail_db, sender):
    """Two relays, as two of SMTP_CONNECTIONS, each stepping until no mail is pending (within 60 s)."""
    import eventlet

    def relay():
        while any(status == "pending" for status, _ in statuses(mail_db).values()):
            if not handlers.send_due(AutocommitStatements(mail_db.engine), sender, utcnow, 0.05):
                eventlet.sleep(0.1)

    with eventlet.Timeout(60):
        for thread in [eventlet.spawn(relay) for _ in range(2)]:
            thread.wait()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)  # timing, not SQL: one backend
def test_a_slow_server_gets_each_mail_once_from_two_connections(mail_db, smtp):
    """Each reply takes 0.6 s and the timeout is 1 s: one mail takes four replies (MAIL, RCPT, DATA,
    the end of data), 2.4 s, so a batch leased for (batch + 1) timeouts ran out while its sender still
    worked through it and the other connection sent its mails again (issue #22, finding 5)."""
    sink = smtp("--delay", "0.6")
    contacts = [f"donvi{n}@example.vn" for n in range(6)]
    queue(mail_db, *contacts)
    send_with_two_connections(mail_db, sender_for(sink, timeout="1"))
    assert statuses(mail_db) == {contact: ("sent", 1) for contact in contacts}
    messages = sink.messages()
    assert sorted(m["To"] for m in messages) == sorted(contacts)  # exactly one delivery per mail
    assert len({m["Message-ID"] for m in messages}) == len(contacts)


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)  # timing, not SQL: one backend
def test_a_server_slow_line_by_line_gets_each_mail_once_however_long_its_greeting_takes(mail_db, smtp):
    """Each reply line takes 0.15 s and the timeout is 0.5 s, so no read times out; but the EHLO reply
    has 66 lines (a real server's is 10 or more, twice with STARTTLS), so opening the connection takes
    about 10 s, longer than a lease of 14 timeouts (7 s) counted in replies. The other connection then
    claimed the mail its sender was still opening a connection for, and both sent it."""
    sink = smtp("--delay", "0.15", "--ehlo-lines", "60")
    contacts = [f"donvi{n}@example.vn" for n in range(3)]
    queue(mail_db, *contacts)
    send_with_two_connections(mail_db, sender_for(sink, timeout="0.5"))
    messages = sink.messages()
    assert sorted(m["To"] for m in messages) == sorted(contacts)  # exactly one delivery per mail
    assert statuses(mail_db) == {contact: ("sent", 1) for contact in contacts}


def test_a_fresh_claim_sends_without_renewing_first_and_an_aging_one_is_renewed_before_each_mail(mail_db, smtp,
                                                                                               monkeypatch):
    """Issue #20: the first mails of a batch go out on the claim itself (two thirds of a lease left);
    once the claim has aged past a third of its lease, each mail renews it before it starts."""
    sink = smtp()
    renewals = []
    real_renew = Mails.renew
    monkeypatch.setattr(Mails, "renew", lambda self, mail, until: renewals.append(mail.recipient)
                        or real_renew(self, mail, until))
    queue(mail_db, "a@example.vn", "b@example.vn", "c@example.vn")
    sender = sender_for(sink)
    assert handlers.send_due(AutocommitStatements(mail_db.engine), sender, utcnow, 0.05) == 3
    assert renewals == [] and len(sink.wait_for(3)) == 3

    for contact in ("d@example.vn", "e@example.vn"):  # new events; the clock then runs half a lease per look
        handlers.queue_mails(domain.acknowledgement({**EVENT, "contact_email": contact}, contact),
                             mail_db.uow(message_id=contact), Renderer(), utcnow())
    lease = handlers.mail_lease(sender.settings.smtp_timeout)
    clock = iter(utcnow() + lease * n / 2 for n in range(1000))
    assert handlers.send_due(AutocommitStatements(mail_db.engine), sender, lambda: next(clock), 0.05) == 2
    assert set(renewals) == {"d@example.vn", "e@example.vn"}  # before each (and, the clock racing, while on the wire)
    assert statuses(mail_db) == {f"{c}@example.vn": ("sent", 1) for c in "abcde"}
    assert len(sink.wait_for(5)) == 5
