"""Attack 7, unit level: notify's mail written as bytes (services/notify/wire.py, ``SmtpSender.send``) and
the payload texts normalised once by the outermost ``Schema.load`` (shared/contract/schemas/base.py).

Long because each claim is attacked from several sides: the bytes against the ``email`` package's for
exotic Unicode and very long fields, header injection through every field, what a server refuses at
MAIL, RCPT and DATA (smtplib itself, its socket replaced), the sender's own address; and the schemas'
normalisation after an error, nested every way, across green threads that switch mid-load.

What it found, fixed since (the tests below now pin the fix):
* ``test_a_non_ascii_sender_*``: MAIL_FROM may be non-ASCII (config accepts ``tđkt@bộ.vn``); the old
  ``send_message`` failed temporarily without SMTPUTF8; ``sendmail`` of the written bytes raised
  ``UnicodeEncodeError`` out of ``SmtpSender.send`` (such a sender now takes the ``email`` package's
  ``EmailMessage`` path, and an unforeseen error of a send is a temporary failure).
* ``test_an_address_with_nothing_after_the_at_*``: ``a@`` raised IndexError out of the parser (not new;
  any error of the parser now means "not an address").
* ``test_validate_normalises_*``: ``Schema.validate`` no longer normalised (no caller today; it does).
"""
import random
import smtplib
import unicodedata
from types import SimpleNamespace

import eventlet
import eventlet.event
import pytest
from marshmallow import ValidationError as SchemaError, fields, validates_schema

from services.notify import domain
from services.notify.mail import PermanentFailure, SmtpSender, TemporaryFailure, build_message, wire_message
from services.notify.wire import boundary_of
from shared.contract.schemas import base
from shared.contract.schemas.base import Schema, load, normalised
from shared.contract.errors import ValidationError
from shared.platform.config import load_settings
from tests.unit.test_notify_wire import DOMAIN, SENDER, mail, reference, written

# --- the bytes -------------------------------------------------------------------------------------------

EXOTIC = ["a", "b", " ", "  ", "\t", "\x85", "\u2028", "\u2029", "\ufeff", "\u200f", "\u202e", "é", "e\u0301",
          "𝔸", "🎖", "ệ", "=", "?", "_", '"', "\\", "(", ")", "<", ">", ",", ";", ":", "@", ".", "\x80", "\x9f",
          "=?utf-8?b?QQ==?=", "--=_tdkt_", "\u0300", "\u00a0", "\u3000", "x" * 30, "Bcc: evil@example.com"]


def test_exotic_subjects_and_names_give_the_bytes_the_email_package_gives():
    """NEL, U+2028/9, BOM, RTL marks, C1 controls (which safe_header lets through), combining marks,
    astral characters, encoded-word look-alikes: the same bytes, or the same refusal, both ways."""
    rng = random.Random(7)

    def text(most):
        return "".join(rng.choice(EXOTIC) for _ in range(rng.randint(0, most)))

    for _ in range(1500):
        m = mail(subject="s" + text(rng.choice([5, 40, 200])), recipient_name=text(rng.choice([5, 40, 120])),
                 text=text(30), html=text(30))
        try:
            ours = written(m)
        except (ValueError, domain.UnsafeHeader):
            with pytest.raises(ValueError):
                reference(m)
            continue
        assert ours == reference(m), (m.subject, m.recipient_name)


@pytest.mark.parametrize("overrides", [
    {"subject": "Khen thưởng " * 300},
    {"subject": "x" * 3000},
    {"subject": "🎖" * 700},
    {"subject": "a" * 74 + "é" + "b" * 200},
    {"recipient_name": "Nguyễn Thị Hoa Phòng Tổ chức cán bộ " * 6},
    {"recipient_name": "A" * 200},
    {"recipient_name": 'Van "phong", (Bo) <noi vu>; \\x'},
    {"recipient_name": "tab\tin\tname"},
    {"recipient": "x" * 64 + "@" + ("y" * 60 + ".") * 3 + "vn"},
    {"recipient": '"a b"@example.vn', "recipient_name": None},
    {"text": "", "html": ""},
    {"text": ".\n..\n.leading dot\n", "html": "."},
    {"text": f"--{boundary_of(mail().key)}\n--{boundary_of(mail().key)}--\n", "html": "--=_tdkt_0000000000000000"},
], ids=["long-vn-subject", "long-ascii-subject", "astral-subject", "qp-edge", "long-vn-name", "long-ascii-name",
        "specials-name", "tab-name", "long-address", "quoted-local-part", "empty-bodies", "dots", "boundary-lines"])
def test_extreme_fields_give_the_bytes_the_email_package_gives(overrides):
    m = mail(**overrides)
    assert written(m) == reference(m)


def test_bodies_that_look_like_boundaries_or_dots_read_back_intact():
    import email
    import email.policy

    fake = f"--{boundary_of(mail().key)}"
    m = mail(text=f"{fake}\n.\n{fake}--\n", html=f".{fake}\n")
    message = email.message_from_bytes(written(m), policy=email.policy.default)
    parts = [part.get_content() for part in message.iter_parts()]
    assert parts == [m.text, m.html]


class Wire(smtplib.SMTP):
    """smtplib with its socket replaced: the commands it writes are kept, each answered from ``replies``
    (a verb's reply, 250 if not given); the server may offer SMTPUTF8."""

    def __init__(self, replies=None, smtputf8=False):
        super().__init__()
        self.replies, self.written, self.last = dict(replies or {}), [], None
        self.does_esmtp, self.ehlo_resp = True, b"ok"
        self.esmtp_features = {"8bitmime": "", **({"smtputf8": ""} if smtputf8 else {})}

    def send(self, s):
        if isinstance(s, str):
            s = s.encode(self.command_encoding)
        self.written.append(s)
        self.last = s.split(b" ", 1)[0].split(b":", 1)[0].strip().upper()

    def getreply(self):
        if self.last == b"DATA":
            code = self.replies.get("DATA", 354)
            self.last = b"END" if code == 354 else None
            return code, b"go on" if code == 354 else b"no"
        if self.last == b"END" or self.last is None or not self.last.isalpha():
            return self.replies.get("END", 250), b"done"
        return self.replies.get(self.last.decode(), 250), b"reply"

    def commands(self):
        return [line for line in self.written if line[:4].isalpha() and line.endswith(b"\r\n") and len(line) < 600]


def sender(mail_from=SENDER):
    return SmtpSender(load_settings({"MAIL_FROM": mail_from}))


@pytest.mark.parametrize("verb,code,failure", [
    ("MAIL", 550, PermanentFailure), ("MAIL", 451, TemporaryFailure), ("RCPT", 550, PermanentFailure),
    ("RCPT", 452, TemporaryFailure), ("DATA", 554, PermanentFailure), ("DATA", 421, TemporaryFailure),
    ("END", 552, PermanentFailure), ("END", 451, TemporaryFailure)])
def test_a_refusal_at_each_step_is_the_failure_it_was(verb, code, failure):
    with pytest.raises(failure, match=str(code)):
        sender().send(Wire({verb: code}), mail())


def test_the_written_bytes_go_through_dot_stuffing_once():
    wire = Wire()
    sender().send(wire, mail(text=".\n" * 3))
    data = next(chunk for chunk in wire.written if chunk.startswith(b"Content-Type: multipart"))
    assert data.endswith(b"\r\n.\r\n") and b"\r\n.." not in data  # base64 lines never start with a dot


def send_outcome(smtp_sender, wire, m) -> str:
    try:
        smtp_sender.send(wire, m)
    except TemporaryFailure:
        return "temporary"
    except PermanentFailure:
        return "permanent"
    return "sent"


def test_a_non_ascii_sender_without_smtputf8_fails_temporarily_as_before():
    """Found by attack 7, fixed. MAIL_FROM is accepted non-ASCII by the configuration (an internationalised domain).
    ``send_message`` (the path before) saw it and, the server lacking SMTPUTF8, failed with
    SMTPNotSupportedError (a TemporaryFailure: retried, then failed for good). The written bytes go
    through ``sendmail`` instead, whose ASCII command encoding raises UnicodeEncodeError out of
    ``SmtpSender.send``: the relay's step fails, the mail stays claimed and is tried the same way each
    time its lease lapses, never settled."""
    old = Wire()
    with pytest.raises(smtplib.SMTPNotSupportedError):  # the path before: a TemporaryFailure in send()
        old.send_message(build_message(mail(), "tđkt@bộ.vn", "bộ.vn"), from_addr="tđkt@bộ.vn",
                         to_addrs=[mail().recipient])
    assert send_outcome(sender("tđkt@bộ.vn"), Wire(), mail()) == "temporary"


def test_a_non_ascii_sender_with_smtputf8_is_sent_or_fails_as_a_failure():
    """Found by attack 7, fixed (broken before too, differently): with a server offering SMTPUTF8 the path before raised
    TypeError (``send_message`` clones compat32's ONE_LINE policy with ``utf8=True``); now
    UnicodeEncodeError. Either way an exception that is neither Temporary- nor PermanentFailure."""
    assert send_outcome(sender("tđkt@bộ.vn"), Wire(smtputf8=True), mail()) in ("sent", "temporary", "permanent")


# --- what must not be sent ---------------------------------------------------------------------------------

BREAKS = ["\r", "\n", "\r\n", "\0", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x7f", "\x01"]


@pytest.mark.parametrize("field", ["subject", "recipient_name", "recipient"])
@pytest.mark.parametrize("brk", BREAKS, ids=[c.encode().hex() for c in BREAKS])
def test_a_line_break_or_control_character_in_any_field_fails_permanently_unsent(field, brk):
    value = {"subject": "Hi", "recipient_name": "Van phong", "recipient": "a@example.vn"}[field]
    injected = f"{value}{brk}Bcc: evil@example.com" if field != "recipient" else f"a@example.vn{brk}"
    wire = Wire()
    with pytest.raises(PermanentFailure):
        sender().send(wire, mail(**{field: injected}))
    assert wire.written == []


@pytest.mark.parametrize("brk", BREAKS[:3])
def test_a_line_break_in_the_senders_address_fails_permanently_unsent(brk):
    """The configuration refuses white space in MAIL_FROM; the sender refuses it again on its own."""
    smtp_sender = SmtpSender(SimpleNamespace(mail_from=f"tdkt@bo.example.vn{brk}Bcc: evil@example.com"))
    wire = Wire()
    with pytest.raises(PermanentFailure):
        smtp_sender.send(wire, mail())
    assert wire.written == []


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"], ids=["NEL", "LS", "PS"])
@pytest.mark.parametrize("field", ["subject", "recipient_name"])
def test_unicode_line_separators_never_start_a_header_of_their_own(separator, field):
    import email

    m = mail(**{field: f"Kết quả{separator}Bcc: evil@example.com{separator}X-Evil: 1"})
    data = written(m)
    head = data.split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0] for line in head.split(b"\r\n") if line and line[:1] not in b" \t"]
    assert names == [b"Content-Type", b"MIME-Version", b"To", b"Subject", b"From", b"Date", b"Message-ID",
                     b"Auto-Submitted"]
    assert email.message_from_bytes(data)["Bcc"] is None


@pytest.mark.parametrize("field", ["subject", "recipient_name", "text", "html"])
def test_a_lone_surrogate_in_any_field_of_the_usual_mail_fails_permanently_unsent(field):
    wire = Wire()
    with pytest.raises(PermanentFailure):
        sender().send(wire, mail(**{field: "lone \udc80 surrogate"}))
    assert wire.written == []


def test_an_address_with_nothing_after_the_at_fails_permanently_unsent():
    """Found by attack 7, fixed (older than the change, kept by it): ``Address(addr_spec="a@")`` raises
    IndexError in the ``email`` package's parser, which neither ``_address_problem`` nor ``send`` caught."""
    wire = Wire()
    with pytest.raises(PermanentFailure):
        sender().send(wire, mail(recipient="a@"))
    assert wire.written == []


@pytest.mark.parametrize("recipient", [".a@x.vn", "a..b@x.vn", "a@@x.vn", "<a@x.vn>", "a@x.vn, b@y.vn",
                                       "a@x.vn;b", "@x.vn", "a", "a@x .vn", "=?utf-8?q?a?=@x.vn"])
def test_what_is_not_an_address_fails_permanently_unsent_every_time(recipient):
    wire = Wire()
    for _ in range(2):  # the second time from _address_problem's cache
        with pytest.raises(PermanentFailure):
            sender().send(wire, mail(recipient=recipient))
    assert wire.written == []


def test_the_address_cache_forgets_nothing_it_must_refuse():
    from services.notify import mail as mail_module

    for number in range(5000):  # more than the cache holds
        assert mail_module._address_problem(f"u{number}@example.vn") is None
    assert mail_module._address_problem("a..b@x.vn") is not None
    with pytest.raises(PermanentFailure):
        sender().send(Wire(), mail(recipient="a..b@x.vn"))
    assert wire_message(mail(), SENDER, DOMAIN) is not None


# --- normalised once ----------------------------------------------------------------------------------------

def padded(value: str) -> str:
    """The same text as a reader sees it, decomposed (NFD) and with white space around it."""
    return f" \t{unicodedata.normalize('NFD', value)}\u3000 "


class Leaf(Schema):
    name = fields.String(required=True)
    tags = fields.List(fields.String(), load_default=list)


class Middle(Schema):
    leaf = fields.Nested(Leaf, required=True)
    leaves = fields.List(fields.Nested(Leaf), load_default=list)
    labels = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    raw = fields.Raw(load_default=None)


class Outer(Schema):
    title = fields.String(required=True)
    middle = fields.Nested(Middle, required=True)
    many = fields.Nested(Middle, many=True, load_default=list)


def payload(word="Nguyễn Thị Hoà"):
    leaf = {"name": padded(word), "tags": [padded(word), padded("ệ")]}
    middle = {"leaf": leaf, "leaves": [leaf, leaf], "labels": {"k": padded(word)},
              "raw": {"deep": [padded(word), {"x": padded(word)}]}}
    return {"title": padded(word), "middle": middle, "many": [middle]}


def texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def assert_all_normalised(loaded, word="Nguyễn Thị Hoà"):
    found = list(texts(loaded))
    assert len(found) > 20
    assert all(text in (unicodedata.normalize("NFC", word), "ệ") for text in found), found


def test_every_text_at_every_depth_is_normalised_as_before():
    assert_all_normalised(load(Outer, payload()))
    assert load(Outer, payload()) == load(Outer, normalised(payload()))


def test_a_real_nomination_with_decomposed_padded_texts_loads_as_its_composed_form():
    import json
    from pathlib import Path

    from shared.contract.schemas import NominationSchema
    from shared.contract.schemas.council import VoteCast

    example = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json").read_text("utf-8"))

    def pad_all(value):
        if isinstance(value, str):
            return padded(value)
        if isinstance(value, dict):
            return {key: pad_all(item) for key, item in value.items()}
        if isinstance(value, list):
            return [pad_all(item) for item in value]
        return value
    assert load(NominationSchema, pad_all(example)) == load(NominationSchema, example)
    vote = {"ballot_token": padded("tok"), "choices": {"n-1": padded("đồng ý")}}
    assert load(VoteCast, vote)["choices"] == {"n-1": "đồng ý"}


class Exploding(Schema):
    name = fields.String(required=True)

    @validates_schema
    def explode(self, data, **kwargs):
        if data["name"] == "boom":
            raise RuntimeError("a validator's own error")
        if data["name"] == "invalid":
            raise SchemaError({"name": ["no"]})


class HoldsExploding(Schema):
    inner = fields.Nested(Exploding, required=True)


@pytest.mark.parametrize("error", ["boom", "invalid"])
def test_a_load_that_raises_midway_leaves_the_next_load_normalising(error):
    with pytest.raises((RuntimeError, ValidationError)):
        load(HoldsExploding, {"inner": {"name": error}})
    assert base._NESTED.get() is False
    assert load(HoldsExploding, {"inner": {"name": padded("Hoà")}}) == {"inner": {"name": "Hoà"}}
    assert Exploding().load({"name": padded("Hoà")}) == {"name": "Hoà"}  # a nested schema loaded alone


def test_a_schema_loaded_alone_after_being_nested_still_normalises():
    load(Outer, payload())
    assert Leaf().load({"name": padded("Hoà")}) == {"name": "Hoà", "tags": []}


def test_validate_normalises_as_the_load_does():
    """Found by attack 7, fixed (low; no caller today): ``Schema.validate`` runs marshmallow's ``_do_load`` without this
    ``load``, so since the pre_load went it validates the texts as they came: a name of 200 characters
    padded with spaces, which loads, does not validate."""
    from shared.contract.schemas.base import NAME

    class Named(Schema):
        name = fields.String(required=True, validate=NAME)

    data = {"name": " " + "a" * 200 + " "}
    assert Named().load(data) == {"name": "a" * 200}
    assert Named().validate(data) == {}


class Parking(Schema):
    """A nested schema whose validator parks its green thread (``gate``) once it is inside the load."""

    name = fields.String(required=True)
    inside = None
    gate = None

    @validates_schema
    def park(self, data, **kwargs):
        if data["name"] == "park":
            Parking.inside.send(True)
            Parking.gate.wait()
        else:
            eventlet.sleep(0)


class HoldsParking(Schema):
    inner = fields.Nested(Parking, required=True)
    title = fields.String(required=True)


def test_a_green_thread_parked_inside_a_nested_load_leaks_nothing_into_another():
    Parking.inside, Parking.gate = eventlet.event.Event(), eventlet.event.Event()
    parked = eventlet.spawn(load, HoldsParking, {"inner": {"name": "park"}, "title": padded("Hoà")})
    Parking.inside.wait()  # the first thread is inside the nested load now

    others = [eventlet.spawn(load, HoldsParking, {"inner": {"name": padded("Lê")}, "title": padded("Hoà")})
              for _ in range(5)]
    nested_alone = eventlet.spawn(Parking().load, {"name": padded("Lê")})
    assert [other.wait() for other in others] == [{"inner": {"name": "Lê"}, "title": "Hoà"}] * 5
    assert nested_alone.wait() == {"name": "Lê"}
    assert base._NESTED.get() is False
    Parking.gate.send(True)
    assert parked.wait() == {"inner": {"name": "park"}, "title": "Hoà"}
    assert load(HoldsParking, {"inner": {"name": padded("Lê")}, "title": padded("Hoà")})["inner"]["name"] == "Lê"


def test_a_green_thread_killed_inside_a_nested_load_leaves_no_marker():
    Parking.inside, Parking.gate = eventlet.event.Event(), eventlet.event.Event()
    parked = eventlet.spawn(load, HoldsParking, {"inner": {"name": "park"}, "title": "x"})
    Parking.inside.wait()
    parked.kill()
    assert base._NESTED.get() is False
    assert eventlet.spawn(Parking().load, {"name": padded("Lê")}).wait() == {"name": "Lê"}


def test_a_native_thread_loads_with_its_own_marker():
    import threading

    from eventlet import patcher

    real_threading = patcher.original("threading")
    Parking.inside, Parking.gate = eventlet.event.Event(), eventlet.event.Event()
    parked = eventlet.spawn(load, HoldsParking, {"inner": {"name": "park"}, "title": "x"})
    Parking.inside.wait()
    results = []
    thread = real_threading.Thread(target=lambda: results.append(Parking().load({"name": padded("Lê")})))
    thread.start()
    thread.join(10)
    assert results == [{"name": "Lê"}]
    Parking.gate.send(True)
    parked.wait()
    assert threading  # (the green threading module is the one the service uses)
