"""Mail adapters: Jinja2 templates to a MIME message (standard ``email``, or ``wire``'s bytes for the usual
mail), and an SMTP sender.

Long because the two ways a mail is written (the ``email`` package's tree and ``wire.py``'s bytes) check
their addresses and choose between them in one place, beside the sender that sorts what the server
answers into temporary and permanent failures."""
from __future__ import annotations

import functools
import re
import smtplib
import socket
import ssl
from email.charset import Charset
from email.errors import MessageError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32, compat32
from email.utils import formataddr, formatdate
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from nameko.extensions import DependencyProvider

from services.notify.domain import MailRequest, message_id, safe_header
from services.notify.kinds import vietnam_day, vietnam_time
from services.notify.wire import wire_bytes
from shared.contract.awards import AWARD_NAMES

TEMPLATES = Path(__file__).parent / "templates"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
UTF8 = Charset("utf-8")  # header_encode: a base64 encoded word


class Renderer:
    """Renders a mail request to (subject, text, html), Vietnamese first with an English part."""

    def __init__(self, templates: Path = TEMPLATES):
        self.env = Environment(loader=FileSystemLoader(str(templates)), undefined=StrictUndefined,
                               autoescape=select_autoescape(["html.j2"]), keep_trailing_newline=True,
                               auto_reload=False)  # the templates ship with the code
        self.env.filters.update(vn_time=vietnam_time, vn_day=vietnam_day)  # "17:00 ngày 05/12/2025", "05/12/2025"

    def render(self, request: MailRequest) -> tuple[str, str, str]:
        context = {"award_name": AWARD_NAMES.get(request.context.get("award_code"), ""), "unit_name": None,
                   **request.context}
        rendered = self.env.get_template(f"{request.kind}.subject.j2").render(context)
        subject = " ".join(CONTROL.sub(" ", rendered).split())  # one line, whatever the data held
        context["subject"] = subject
        text = self.env.get_template(f"{request.kind}.txt.j2").render(context)
        html = self.env.get_template(f"{request.kind}.html.j2").render(context)
        return safe_header(subject), text, html


class _Compat32OneLine(Compat32):
    """compat32, writing a header whose value is printable ASCII and fits its line as it is.

    compat32 folds every header through an ``email.header.Header`` (three quarters of the time a
    mail takes to write), which gives such a value back unchanged; any other value (non-ASCII, a
    ``Header``, longer than a line, a control character) is folded by compat32 itself. The bytes
    written are the same (tests/unit/test_notify_mail.py compares them)."""

    def _fold(self, name, value, sanitize):
        if (isinstance(value, str) and value.isascii() and value.isprintable()
                and (not self.max_line_length or len(name) + len(value) + 2 < self.max_line_length)):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


ONE_LINE = _Compat32OneLine()
ONE_LINE_CRLF = ONE_LINE.clone(linesep="\r\n")  # as smtplib's generator writes the headers


def build_message(mail, sender: str, domain: str) -> Message:
    """A multipart/alternative UTF-8 message; header values with line breaks are refused.

    Built with the ``email`` package's compat32 classes, which write a message about four times
    faster than ``EmailMessage`` (measured by the year-end benchmark, where building the mail was the
    largest part of sending it); non-ASCII headers are RFC 2047 encoded words either way. An address
    that is not ASCII (an internationalised domain) needs SMTPUTF8, which only ``EmailMessage`` writes.
    """
    recipient, name = _addressee(mail)
    if _smtputf8(recipient, sender):
        message = EmailMessage()
        message["To"] = Address(display_name=name, addr_spec=recipient)
        message["Subject"] = safe_header(mail.subject)
        message.set_content(mail.text, subtype="plain", charset="utf-8")
        message.add_alternative(mail.html, subtype="html", charset="utf-8")
    else:
        message = MIMEMultipart("alternative", policy=ONE_LINE)
        message["To"] = _to(name, recipient)
        message["Subject"] = Header(safe_header(mail.subject), "utf-8", header_name="Subject")
        message.attach(MIMEText(mail.text, "plain", "utf-8", policy=ONE_LINE))
        message.attach(MIMEText(mail.html, "html", "utf-8", policy=ONE_LINE))
    if getattr(mail, "attachment", None):
        message = _with_attachment(message, mail)
    message["From"] = safe_header(sender)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(mail.key, domain)
    message["Auto-Submitted"] = "auto-generated"
    return message


def wire_message(mail, sender: str, domain: str) -> bytes | None:
    """What :func:`build_message` writes for ``mail``, as bytes made without the ``email`` package's
    tree (``wire.wire_bytes``), or None when it needs that tree (an attachment, or SMTPUTF8)."""
    recipient, name = _addressee(mail)
    if getattr(mail, "attachment", None) or _smtputf8(recipient, sender):
        return None
    return wire_bytes(mail, sender, domain, _to(name, recipient), ONE_LINE_CRLF)


def _smtputf8(recipient: str, sender: str) -> bool:
    """Whether an address is not ASCII (an internationalised domain): only ``EmailMessage`` writes that."""
    return not (recipient.isascii() and sender.isascii())


def _addressee(mail) -> tuple[str, str]:
    """The recipient's address and name, each one line; raises ValueError for what is not an address."""
    recipient = safe_header(mail.recipient)
    name = safe_header(mail.recipient_name or "", required=False)
    if (problem := _address_problem(recipient)) is not None:
        raise ValueError(problem)
    return recipient, name


@functools.lru_cache(maxsize=4096)
def _address_problem(recipient: str) -> str | None:
    """Why ``recipient`` is not an address (the ``email`` package's parser), or None; a unit's contact
    gets a mail for each of its nominations, so each address is parsed once."""
    try:
        Address(addr_spec=recipient)
    except Exception as exc:  # noqa: BLE001 - ValueError mostly; the parser raises IndexError for "a@"
        return f"{type(exc).__name__}: {exc}"
    return None


def _with_attachment(body: Message, mail) -> Message:
    """multipart/mixed: the text and HTML alternatives, then the file (a sitting's minutes as PDF)."""
    maintype, _, subtype = (mail.attachment_type or "application/octet-stream").partition("/")
    policy = ONE_LINE if body.policy is ONE_LINE else compat32  # the EmailMessage of an SMTPUTF8 address: as before
    part = MIMEApplication(mail.attachment, _subtype=subtype or "octet-stream", policy=policy) \
        if maintype == "application" else MIMEApplication(mail.attachment, policy=policy)
    part.add_header("Content-Disposition", "attachment", filename=safe_header(mail.attachment_name or "file"))
    mixed = MIMEMultipart("mixed", policy=policy)
    for header in ("To", "Subject"):
        mixed[header] = body[header]
        del body[header]
    mixed.attach(body)
    mixed.attach(part)
    return mixed


def _to(name: str, recipient: str) -> str:
    """The To header: an ASCII name quoted as needed; any other as RFC 2047 encoded words of whole
    words (each ≤ 75 characters, the spaces inside them, so a reader joins them back exactly)."""
    if name.isascii():
        return formataddr((name, recipient))
    encoded, chunk = [], ""
    for word in re.findall(r"\S+\s*|\s+", name):
        if chunk and len(UTF8.header_encode(chunk + word)) > 75:
            encoded.append(UTF8.header_encode(chunk))
            chunk = ""
        chunk += word
    encoded.append(UTF8.header_encode(chunk))
    return " ".join(encoded) + f" <{recipient}>"


class TemporaryFailure(Exception):
    """Worth trying again later (4xx reply, connection refused, timeout)."""


class ConnectionLost(TemporaryFailure):
    """The connection broke mid-conversation (timeout, hang-up); open a new one for the next mail."""


class PermanentFailure(Exception):
    """Not worth trying again (5xx reply, malformed address)."""


class SmtpSender:
    """Sends messages over one SMTP connection at a time, reused across a batch."""

    def __init__(self, settings):
        self.settings = settings
        self.domain = settings.mail_from.rsplit("@", 1)[-1]

    def open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        except smtplib.SMTPResponseException as exc:
            raise _failure(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot connect to {s.smtp_host}:{s.smtp_port}: {exc}") from None
        try:
            if s.smtp_starttls:  # the server's certificate is verified, against SMTP_CA_FILE if given
                smtp.starttls(context=ssl.create_default_context(cafile=s.smtp_ca_file))
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            return smtp
        except smtplib.SMTPResponseException as exc:
            smtp.close()
            raise _failure(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise TemporaryFailure(f"STARTTLS or login with {s.smtp_host} failed: {exc}") from None

    def send(self, smtp: smtplib.SMTP, mail) -> None:
        sender = self.settings.mail_from
        try:
            data = wire_message(mail, sender, self.domain)
            message = build_message(mail, sender, self.domain) if data is None else None
        except (ValueError, MessageError) as exc:  # UnsafeHeader, an address the email package cannot parse
            raise PermanentFailure(f"cannot build the message: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - unforeseen: retried later with the others, never a crash
            raise TemporaryFailure(f"cannot build the message: {exc!r}") from None
        try:
            if data is None:
                refused = smtp.send_message(message, from_addr=sender, to_addrs=[mail.recipient])
            else:
                refused = smtp.sendmail(sender, [mail.recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _failure(code, text) from None
        except smtplib.SMTPResponseException as exc:
            raise _failure(exc.smtp_code, exc.smtp_error) from None
        except (OSError, socket.timeout, smtplib.SMTPServerDisconnected) as exc:
            smtp.close()
            raise ConnectionLost(f"connection lost: {exc!r}") from None
        except smtplib.SMTPException as exc:
            raise TemporaryFailure(f"SMTP error: {exc}") from None
        except MessageError as exc:  # a header the email package cannot write: no retry will help
            raise PermanentFailure(f"cannot write the message: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - unforeseen (an address smtplib cannot encode, say): the
            smtp.close()  # conversation's state is unknown, so a new connection for the next mail
            raise ConnectionLost(f"cannot send: {exc!r}") from None
        if refused:
            code, text = next(iter(refused.values()))
            raise _failure(code, text)


def _failure(code: int, text) -> Exception:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    kind = PermanentFailure if 500 <= code < 600 else TemporaryFailure
    return kind(f"{code} {text}")


class Templates(DependencyProvider):
    """Injects the :class:`Renderer`, built once when the service starts."""

    def setup(self):
        self.renderer = Renderer()

    def get_dependency(self, worker_ctx):
        return self.renderer
