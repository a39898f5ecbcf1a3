"""The bytes notify sends for the usual mail (services/notify/wire.py) are the bytes ``smtplib`` sends
for ``build_message``'s message with the same boundary and date, whatever the subject, name and
bodies hold; and the subject's encoded words split as the ``email`` package splits them."""
import email
import email.policy
import itertools
import smtplib
from email.charset import Charset
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify import domain
from services.notify.mail import ONE_LINE_CRLF, PermanentFailure, SmtpSender, _to, build_message, wire_message
from services.notify.wire import UTF8_LINES, boundary_of, wire_bytes
from shared.platform.config import load_settings

SENDER, DOMAIN, DATE = "tdkt@bo.example.vn", "bo.example.vn", "Mon, 07 Dec 2026 09:29:51 -0000"
SUBJECT = "[TĐKT] Kết quả xét hồ sơ đề nghị Chiến sĩ thi đua cơ sở – Nguyễn Thị Hoa, Phòng Tổ chức cán bộ"


def mail(**overrides):
    fields = dict(key=domain.mail_key("evt-1", "vanphong@example.vn", "decided"), subject=SUBJECT,
                  recipient="vanphong@example.vn", recipient_name="Văn phòng Bộ",
                  text="Kính gửi đơn vị,\nHồ sơ đã được xét.\n" * 20, html="<p>Kính gửi đơn vị</p>\n" * 20)
    return SimpleNamespace(**{**fields, **overrides})


class Capture(smtplib.SMTP):
    """``smtplib.SMTP`` with no server: ``send_message`` flattens as it does, then hands the bytes here."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def ehlo_or_helo_if_needed(self):
        pass

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        self.sent.append((from_addr, to_addrs, msg, tuple(mail_options)))
        return {}


def as_smtplib_sends(message) -> bytes:
    smtp = Capture()
    smtp.send_message(message, from_addr=SENDER, to_addrs=["x@example.vn"])
    ((_, _, data, options),) = smtp.sent
    assert options == ()  # no SMTPUTF8: the usual mail
    return data


def reference(m) -> bytes:
    message = build_message(m, SENDER, DOMAIN)
    message.set_boundary(boundary_of(m.key))
    message.replace_header("Date", DATE)
    return as_smtplib_sends(message)


def written(m) -> bytes:
    return wire_bytes(m, SENDER, DOMAIN, _to(m.recipient_name or "", m.recipient), ONE_LINE_CRLF, date=DATE)


@pytest.mark.parametrize("overrides", [
    {},
    {"subject": "Short ASCII subject", "recipient_name": "Nguyen Van A, Phong To chuc"},
    {"subject": SUBJECT * 3, "recipient_name": "Nguyễn Thị Hoa " * 12},
    {"subject": "Kết quả – mostly plain ASCII words, so quoted-printable is shorter", "recipient_name": ""},
    {"recipient": "a" * 60 + "@" + "b" * 40 + ".example.vn", "recipient_name": None},
    {"subject": "  two  spaces  and (comments) <x@y>; a=b  ", "recipient_name": "  spaced   out  "},
    {"subject": "Huân chương 🎖 Lao động hạng Ba 𝔸𝔹ℂ", "text": "🎖\r\nlone CR\rend", "html": ""},
    {"text": "", "html": "x"},
    {"text": "x" * 57, "html": "y" * 58},
], ids=["decided", "ascii", "long-vietnamese", "quoted-printable", "long-address", "spaces", "astral", "empty",
        "base64-edges"])
def test_the_bytes_are_those_smtplib_sends_for_the_built_message(overrides):
    m = mail(**overrides)
    assert written(m) == reference(m)


@settings(max_examples=150, deadline=None)
@given(subject=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=300)
       .filter(str.strip),
       name=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=120),
       text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=400),
       html=st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_whatever_the_subject_name_and_bodies_hold_the_bytes_agree(subject, name, text, html):
    m = mail(subject=subject, recipient_name=name, text=text, html=html)
    assert written(m) == reference(m)


@settings(max_examples=300, deadline=None)
@given(value=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
       first=st.integers(-20, 120), rest=st.integers(-20, 120))
def test_the_subject_splits_into_the_encoded_words_the_email_package_makes(value, first, rest):
    def lengths():
        return itertools.chain([first], itertools.repeat(rest))

    assert UTF8_LINES.header_encode_lines(value, lengths()) == Charset("utf-8").header_encode_lines(value, lengths())


def test_the_message_reads_back_with_its_subject_parts_and_identity():
    message = email.message_from_bytes(written(mail()), policy=email.policy.default)

    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] == domain.message_id(mail().key, DOMAIN)
    assert message["To"].addresses[0].display_name == "Văn phòng Bộ"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert parts == {"text/plain": mail().text, "text/html": mail().html}


def test_a_mail_sends_the_same_boundary_again_and_another_mail_another():
    assert boundary_of(mail().key) == boundary_of(mail().key) != boundary_of(mail(key="f" * 64).key)


def test_an_attachment_or_a_non_ascii_address_is_left_to_the_email_package():
    assert wire_message(mail(attachment=b"%PDF", attachment_type="application/pdf", attachment_name="a.pdf"),
                        SENDER, DOMAIN) is None
    assert wire_message(mail(recipient="hoa@bộ.vn"), SENDER, DOMAIN) is None


class Smtp:
    def __init__(self):
        self.sendmail_calls, self.send_message_calls = [], []

    def sendmail(self, from_addr, to_addrs, msg):
        self.sendmail_calls.append((from_addr, to_addrs, msg))
        return {}

    def send_message(self, message, from_addr=None, to_addrs=None):
        self.send_message_calls.append((message, from_addr, to_addrs))
        return {}


def test_the_sender_sends_the_written_bytes_and_the_rest_as_messages():
    sender, smtp = SmtpSender(load_settings({"MAIL_FROM": SENDER})), Smtp()

    sender.send(smtp, mail())
    sender.send(smtp, mail(recipient="hoa@bộ.vn"))

    ((from_addr, to_addrs, data),) = smtp.sendmail_calls
    assert (from_addr, to_addrs) == (SENDER, ["vanphong@example.vn"])
    assert email.message_from_bytes(data)["Message-ID"] == domain.message_id(mail().key, DOMAIN)
    ((message, _, to_addrs),) = smtp.send_message_calls
    assert to_addrs == ["hoa@bộ.vn"]


@pytest.mark.parametrize("overrides", [{"subject": "Hi\r\nBcc: x@evil.example"}, {"recipient_name": "A\nB"},
                                       {"recipient": "not an address"}, {"text": "lone \udc80 surrogate"}])
def test_what_cannot_be_written_fails_permanently_without_sending(overrides):
    sender, smtp = SmtpSender(load_settings({"MAIL_FROM": SENDER})), Smtp()

    with pytest.raises(PermanentFailure):
        sender.send(smtp, mail(**overrides))
    assert smtp.sendmail_calls == smtp.send_message_calls == []


@settings(max_examples=300, deadline=None)
@given(value=st.binary(max_size=80))
def test_base64_is_chosen_where_the_email_package_chooses_it(value):
    from email import base64mime

    from services.notify.wire import _base64_is_shorter

    assert _base64_is_shorter(value) == (Charset("utf-8")._get_encoder(value) is base64mime)
