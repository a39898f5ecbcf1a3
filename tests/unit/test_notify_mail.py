"""Notify's mail identity, retry rules, rendering, MIME building and SMTP failure classes (no server).

Long because it holds one test per mail rule (identity, retries, rendering, MIME, SMTP failures) over
one set of fixtures.
"""
import email
import email.policy
import smtplib
import socket
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from types import SimpleNamespace

import pytest

from services.notify import domain
from services.notify.mail import PermanentFailure, Renderer, SmtpSender, TemporaryFailure, build_message
from shared.contract.awards import AWARD_NAMES
from shared.platform.config import load_settings

NOW = datetime(2025, 3, 1, 8, 30, tzinfo=timezone.utc)
SUBJECT = "[TĐKT] Đã nhận hồ sơ đề nghị Lao động tiên tiến – Nguyễn Thị Hoa, Phòng Tổ chức cán bộ"


def event(nominee_name="Nguyễn Thị Hoa"):
    return {"nomination_id": "n-42", "unit_id": "vp", "award_code": "LDTT", "award_year": 2025,
            "nominee": {"kind": "individual", "name": nominee_name, "email": None, "gender": "female"},
            "contact_email": "vanphong@example.vn", "submitted_at": "2025-03-01T08:30:00+00:00"}


def mail(**overrides):
    fields = dict(key=domain.mail_key("evt-1", "vanphong@example.vn", "acknowledgement"), subject=SUBJECT,
                  recipient="vanphong@example.vn", recipient_name="Văn phòng Bộ",
                  text="Kính gửi đơn vị vp,\n", html="<p>Kính gửi đơn vị <b>vp</b></p>\n")
    return SimpleNamespace(**{**fields, **overrides})


def reparsed(message):
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def test_the_same_event_recipient_and_kind_give_the_same_mail_key():
    assert domain.mail_key("evt-1", "VanPhong@Example.VN ", "acknowledgement") \
        == domain.mail_key("evt-1", "vanphong@example.vn", "acknowledgement")


@pytest.mark.parametrize("other", [("evt-2", "vp@example.vn", "acknowledgement"),
                                   ("evt-1", "bo@example.vn", "acknowledgement"),
                                   ("evt-1", "vp@example.vn", "decision")])
def test_a_different_event_recipient_or_kind_gives_a_different_mail_key(other):
    assert domain.mail_key(*other) != domain.mail_key("evt-1", "vp@example.vn", "acknowledgement")


def test_a_mail_request_key_is_its_mail_key():
    assert domain.acknowledgement(event(), "evt-1")[0].key == mail().key


def test_the_message_id_derives_from_the_key_and_the_domain():
    key = domain.mail_key("evt-1", "vp@example.vn", "acknowledgement")

    assert domain.message_id(key, "tdkt.example.vn") == f"<{key[:40]}@tdkt.example.vn>"
    assert domain.message_id(key, "tdkt.example.vn") != domain.message_id(key[::-1], "tdkt.example.vn")


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\0b", "Subject\r\nBcc: x@evil.example"])
def test_a_header_value_with_a_line_break_or_nul_is_unsafe(value):
    with pytest.raises(domain.UnsafeHeader):
        domain.safe_header(value, required=False)


def test_an_empty_header_value_is_unsafe_only_when_required():
    with pytest.raises(domain.UnsafeHeader):
        domain.safe_header("  ")
    assert domain.safe_header("", required=False) == ""
    assert domain.safe_header("Nguyễn Thị Hoa") == "Nguyễn Thị Hoa"


def test_the_retry_delay_doubles_and_is_capped_at_an_hour():
    delays = [domain.retry_delay(attempts) for attempts in range(1, 12)]

    assert delays[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert delays == sorted(delays)
    assert max(delays) == timedelta(hours=1) == domain.retry_delay(100)


def test_a_temporary_failure_is_retried_later_until_max_attempts_then_fails():
    assert domain.after_temporary_failure(1, NOW) == (domain.PENDING, NOW + timedelta(seconds=30))
    assert domain.after_temporary_failure(domain.MAX_ATTEMPTS - 1, NOW)[0] == domain.PENDING
    assert domain.after_temporary_failure(domain.MAX_ATTEMPTS, NOW) == (domain.FAILED, NOW)


def test_the_acknowledgement_goes_to_the_unit_contact_in_vietnamese():
    subject, text, html = Renderer().render(domain.acknowledgement(event(), "evt-1")[0])

    assert subject == f"[TĐKT] Đã nhận hồ sơ đề nghị {AWARD_NAMES['LDTT']} – Nguyễn Thị Hoa"
    for body in (text, html):
        assert AWARD_NAMES["LDTT"] in body and "Nguyễn Thị Hoa" in body and "n-42" in body


def test_the_html_body_escapes_the_nominee_name_and_the_text_body_keeps_it():
    subject, text, html = Renderer().render(domain.acknowledgement(event("<script>x()</script>"), "evt-1")[0])

    assert "<script>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "<script>x()</script>" in text and "<script>x()</script>" in subject


def test_a_nominee_name_with_a_line_break_gives_a_single_line_subject():
    subject, _, _ = Renderer().render(domain.acknowledgement(event("Nguyễn\r\nBcc: x@evil.example"), "evt-1")[0])

    assert "\r" not in subject and "\n" not in subject


def test_a_nominee_name_with_a_nul_still_renders_an_acknowledgement():
    subject, _, _ = Renderer().render(domain.acknowledgement(event("Nguyễn\0Hoa"), "evt-1")[0])

    assert "\0" not in subject


def test_the_built_message_keeps_the_vietnamese_subject_and_both_utf8_parts():
    message = reparsed(build_message(mail(), "tdkt@example.vn", "example.vn"))

    assert message["Subject"] == SUBJECT
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part for part in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert all(part.get_content_charset() == "utf-8" for part in parts.values())
    assert parts["text/plain"].get_content() == "Kính gửi đơn vị vp,\n"
    assert parts["text/html"].get_content() == "<p>Kính gửi đơn vị <b>vp</b></p>\n"


@pytest.mark.parametrize("overrides", [
    {},
    {"recipient_name": "Nguyen Van A, Phong To chuc", "subject": "Short ASCII subject"},
    {"recipient_name": "Nguyễn Thị Hoa " * 12, "subject": SUBJECT * 3},
    {"recipient_name": "", "recipient": "a" * 60 + "@" + "b" * 40 + ".example.vn"},
    {"recipient_name": "  spaced   out  name  ", "subject": "  two  spaces  and (comments) <x@y>; a=b  "},
    {"attachment": b"%PDF-1.7 minutes", "attachment_type": "application/pdf",
     "attachment_name": "bien-ban-" + "0" * 32 + ".pdf"},
    {"attachment": b"x" * 3000, "attachment_type": "text/csv", "attachment_name": "Biên bản họp.csv"},
], ids=["acknowledgement", "ascii", "long-vietnamese", "long-address", "spaces", "pdf", "non-ascii-file"])
def test_the_message_is_written_byte_for_byte_as_compat32_writes_it(overrides):
    """The one-line shortcut (``mail.ONE_LINE``) writes what compat32 itself writes, headers and parts."""
    import io
    from email.generator import BytesGenerator

    message = build_message(mail(**overrides), "tdkt@example.vn", "example.vn")
    written = {}
    for name, policy in (("one line", None), ("compat32", email.policy.compat32)):
        out = io.BytesIO()
        BytesGenerator(out, policy=policy).flatten(message, linesep="\r\n")
        written[name] = out.getvalue()
    assert written["one line"] == written["compat32"]
    assert message.policy.__class__.__name__ == "_Compat32OneLine"  # the shortcut was used


def test_the_built_message_id_is_derived_from_the_mail_key():
    message = reparsed(build_message(mail(), "tdkt@example.vn", "example.vn"))

    assert message["Message-ID"] == domain.message_id(mail().key, "example.vn")
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_vietnamese_display_name_is_encoded_in_the_to_header():
    message = build_message(mail(), "tdkt@example.vn", "example.vn")

    assert message.as_bytes().split(b"\n\n", 1)[0].isascii()  # RFC 2047 words, no raw UTF-8
    (address,) = reparsed(message)["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Văn phòng Bộ", "vanphong@example.vn")


def test_an_address_with_a_vietnamese_domain_is_written_for_smtputf8():
    message = build_message(mail(recipient="hoa@bộ.vn"), "tdkt@example.vn", "example.vn")

    (address,) = reparsed(message)["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Văn phòng Bộ", "hoa@bộ.vn")
    assert reparsed(message).get_body(("plain",)).get_content() == "Kính gửi đơn vị vp,\n"


def test_a_long_vietnamese_name_is_folded_into_encoded_words_within_the_line_limit():
    name = "Phòng Tổ chức cán bộ và Thi đua khen thưởng, Văn phòng Bộ Tài nguyên và Môi trường"
    message = build_message(mail(recipient_name=name), "tdkt@example.vn", "example.vn")

    head = message.as_bytes().split(b"\n\n", 1)[0]
    assert max(len(line) for line in head.splitlines()) <= 78 and head.isascii()
    # read as RFC 2047 says (the space between two encoded words is dropped; Python's modern address
    # parser keeps it, which would double the spaces this keeps inside the words)
    to = email.message_from_bytes(message.as_bytes())["To"]
    assert str(make_header(decode_header(to))) == f"{name} <vanphong@example.vn>"


def test_an_ascii_name_with_a_comma_stays_one_address():
    (address,) = reparsed(build_message(mail(recipient_name="Office, HR"), "tdkt@example.vn", "example.vn"))["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Office, HR", "vanphong@example.vn")


@pytest.mark.parametrize("name", ["Văn\vphòng", "Office\x1cHR", "A\x7fB"])
def test_a_name_with_a_control_character_fails_permanently_without_sending(sender, name):
    smtp = FakeSmtp()

    with pytest.raises(PermanentFailure):
        sender.send(smtp, mail(recipient_name=name))
    assert smtp.sent == []


def test_a_subject_with_a_line_break_is_refused_when_building():
    with pytest.raises(domain.UnsafeHeader):
        build_message(mail(subject="Hi\r\nBcc: x@evil.example"), "tdkt@example.vn", "example.vn")


class FakeSmtp:
    """Stands in for an open ``smtplib.SMTP``: records what it is given, or raises ``error``."""

    def __init__(self, error=None, refused=None):
        self.error, self.refused, self.sent = error, refused or {}, []

    closed = False

    def send_message(self, message, from_addr=None, to_addrs=None):
        if self.error is not None:
            raise self.error
        self.sent.append((message, from_addr, to_addrs))
        return self.refused

    def sendmail(self, from_addr, to_addrs, msg):  # the usual mail, written as bytes (notify/wire.py)
        return self.send_message(email.message_from_bytes(msg), from_addr, to_addrs)

    def close(self):
        self.closed = True


@pytest.fixture
def sender():
    return SmtpSender(load_settings({"MAIL_FROM": "tdkt@bo.example.vn"}))


def test_a_sent_mail_goes_from_the_configured_sender_to_its_recipient(sender):
    smtp = FakeSmtp()

    sender.send(smtp, mail())

    ((message, from_addr, to_addrs),) = smtp.sent
    assert (from_addr, to_addrs) == ("tdkt@bo.example.vn", ["vanphong@example.vn"])
    assert message["Message-ID"] == domain.message_id(mail().key, "bo.example.vn")


@pytest.mark.parametrize("error, failure", [
    (smtplib.SMTPResponseException(451, b"try later"), TemporaryFailure),
    (smtplib.SMTPResponseException(550, b"no such user"), PermanentFailure),
    (smtplib.SMTPSenderRefused(553, b"sender rejected", "tdkt@bo.example.vn"), PermanentFailure),
    (smtplib.SMTPRecipientsRefused({"x@y.vn": (550, b"no")}), PermanentFailure),
    (smtplib.SMTPRecipientsRefused({"x@y.vn": (452, b"mailbox full")}), TemporaryFailure),
    (smtplib.SMTPServerDisconnected("gone"), TemporaryFailure),
    (socket.timeout("timed out"), TemporaryFailure),
    (ConnectionResetError("reset"), TemporaryFailure),
])
def test_an_smtp_error_is_classified_as_temporary_or_permanent(sender, error, failure):
    with pytest.raises(failure):
        sender.send(FakeSmtp(error=error), mail())


@pytest.mark.parametrize("code, failure", [(450, TemporaryFailure), (550, PermanentFailure)])
def test_a_recipient_refused_in_the_reply_is_classified_by_its_code(sender, code, failure):
    with pytest.raises(failure, match=str(code)):
        sender.send(FakeSmtp(refused={"vanphong@example.vn": (code, b"refused")}), mail())


@pytest.mark.parametrize("recipient", ["a\nb@x.vn", "not an address"])
def test_a_mail_whose_message_cannot_be_built_fails_permanently_without_sending(sender, recipient):
    smtp = FakeSmtp()

    with pytest.raises(PermanentFailure):
        sender.send(smtp, mail(recipient=recipient))
    assert smtp.sent == []


def test_the_outcome_of_a_sent_mail_is_recorded_even_if_the_database_is_briefly_away(monkeypatch):
    from sqlalchemy.exc import OperationalError

    from services.notify import handlers

    calls = []

    def record(sessions, outcomes, now, retry_seconds):
        calls.append(outcomes)
        if len(calls) < 3:
            raise OperationalError("UPDATE mails", {}, Exception("the server closed the connection"))

    monkeypatch.setattr(handlers, "_record", record)
    monkeypatch.setattr(handlers.time, "sleep", lambda seconds: None)
    handlers._settle(None, [("mail", None)], lambda: None, 1.0)
    assert len(calls) == 3  # not given up, so the mail is not left to be sent again


@pytest.mark.parametrize("limit", [None, 0, 78, 20])
def test_the_one_line_shortcut_agrees_with_compat32_whatever_the_line_limit(limit):
    from services.notify.mail import ONE_LINE

    for value in ("short", "x" * 100, "words " * 20, "  two  spaces  ", "tab\there", "Việt"):
        assert ONE_LINE.clone(max_line_length=limit).fold_binary("Subject", value) == \
            email.policy.compat32.clone(max_line_length=limit).fold_binary("Subject", value)


def test_one_renewer_holds_each_mail_of_a_step_in_turn_and_none_after_its_block(monkeypatch):
    """``handlers.Holding``: a claim down to two thirds of its lease is renewed at once, against the mail
    on the wire; a mail whose block ended is not renewed again; one green thread serves the step."""
    import contextlib
    import threading

    from services.notify import handlers
    from services.notify.models import Mails

    renewed, seen = [], threading.Event()

    def renew(self, mail, until):
        renewed.append(mail.key)
        mail.next_attempt_at = until
        seen.set()
        return True

    monkeypatch.setattr(Mails, "renew", renew)
    lease = timedelta(hours=1)  # a renewal is due when 40 minutes are left, then every 20
    clock = {"now": NOW}
    holding = handlers.Holding(lambda: contextlib.nullcontext(None), lambda: clock["now"], lease)
    threads = set()
    for key in ("a", "b"):
        seen.clear()
        mail = SimpleNamespace(key=key, kind="k", next_attempt_at=NOW + lease * 2 / 3)
        with holding(mail):
            assert seen.wait(10)
            threads.add(holding._thread)
        assert renewed[-1] == key and mail.next_attempt_at == NOW + lease
    holding.close()
    assert renewed == ["a", "b"] and len(threads) == 1 and not holding._thread.is_alive()
