"""Attack on notify's claim with its first mail in one statement (``UnitOfWork.claim_message_adding``,
``insert_new_then_insert_new``) as ``queue_mails`` uses it, on SQLite and PostgreSQL: each mail queued
once under duplicates (in turn and at once), rollbacks and keys already taken; the rows the same as
the old claim-then-insert wrote (attachments, NULLs, timestamps); nothing left by a rendering error;
the relay woken whenever a mail was queued."""
import eventlet
import pytest
import sqlalchemy as sa

from services.notify import domain, handlers
from services.notify.models import mails
from services.notify.service import MIGRATIONS as NOTIFY_MIGRATIONS
from shared.contract.errors import ValidationError
from shared.platform import store
from shared.platform.outbox import utcnow
from tests.integration.delivery import Tables, as_stored, wait_for_a_lock_wait

PDF = b"%PDF-1.4\x00\xff\x01binary"


@pytest.fixture
def notify(db_urls):
    tables = Tables(db_urls["notify"], NOTIFY_MIGRATIONS)
    yield tables
    tables.dispose()


class Stub:
    """A renderer (rendering is not under test): refuses the recipients in ``bad`` as the real one
    refuses an empty subject."""

    def __init__(self, bad=()):
        self.bad = set(bad)

    def render(self, request):
        if request.recipient.email in self.bad:
            raise domain.UnsafeHeader("a required header value is empty")
        return f"Biên bản {request.recipient.email}", "text ả", "<p>html</p>"


def requests_of(event_id, count=3, kind="minutes"):
    made = []
    for n in range(count):
        made.append(domain.MailRequest(
            event_id, kind, domain.Recipient(f"m{n}@example.vn", None if n % 2 else f"Thành viên {n}"), {},
            ("bien-ban.pdf", "application/pdf", PDF) if n == 0 else None))
    return made


def queue(notify, message_id, requests, renderer=None, consumer="on_sitting_documents_ready", now=None):
    woken = []
    uow = notify.uow(consumer=consumer, message_id=message_id, on_commit=lambda names: woken.append(set(names)))
    queued = handlers.queue_mails(requests, uow, renderer or Stub(), now or utcnow())
    uow.close()
    return queued, woken


def old_queue_mails(requests, uow, renderer, now):
    """queue_mails before the change: the claim, then each mail rendered and inserted."""
    with uow:
        if not uow.claim_message():
            return 0
        queued = handlers._queue(requests, uow, renderer, now)
        uow.commit()
    return queued


def raw(notify) -> dict:
    return {(row["recipient"], row["kind"]): dict(row, key=None, event_id=None) for row in as_stored(notify.engine, mails)}


def counts(notify):
    return notify.count("inbox"), notify.count("mails")


def test_the_rows_are_the_rows_the_old_claim_then_insert_wrote(notify):
    now = utcnow()
    assert queue(notify, "m-new", requests_of("m-new"), now=now) == (3, [{"mail"}])
    new = raw(notify)
    with notify.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM mails"))
    uow = notify.uow(consumer="on_sitting_documents_ready", message_id="m-old")
    assert old_queue_mails(requests_of("m-old"), uow, Stub(), now) == 3
    uow.close()
    assert raw(notify) == new
    with notify.sessions() as session:
        row = session.execute(sa.select(mails).where(mails.c.attachment.is_not(None))).mappings().one()
    assert (row["attachment"], row["attachment_name"], row["recipient"]) == (PDF, "bien-ban.pdf", "m0@example.vn")


def test_a_duplicate_in_turn_queues_nothing_and_wakes_nothing(notify):
    assert queue(notify, "m1", requests_of("m1")) == (3, [{"mail"}])
    assert queue(notify, "m1", requests_of("m1")) == (0, [])
    assert counts(notify) == (1, 3)


@pytest.mark.parametrize("count", [1, 3])
def test_a_first_mail_whose_key_exists_is_not_queued_again_and_the_rest_are(notify, count):
    """The same logical mails from another delivery of the same event id under another consumer."""
    assert queue(notify, "other", requests_of("e", 1), consumer="elsewhere") == (1, [{"mail"}])
    assert queue(notify, "m1", requests_of("e", count)) == (count - 1, [{"mail"}])
    assert counts(notify) == (2, count)


def test_an_event_with_no_mail_is_claimed_once(notify):
    assert queue(notify, "m1", []) == (0, [set()])
    assert queue(notify, "m1", []) == (0, [])
    assert counts(notify) == (1, 0)


@pytest.mark.parametrize("bad", [0, 2])
def test_a_rendering_error_leaves_nothing_and_is_a_validation_error(notify, bad):
    with pytest.raises(ValidationError):
        queue(notify, "m1", requests_of("m1"), Stub(bad={f"m{bad}@example.vn"}))
    assert counts(notify) == (0, 0)
    assert queue(notify, "m1", requests_of("m1")) == (3, [{"mail"}])  # a fixed redelivery has the effect


def test_a_failure_after_the_first_mail_rolls_back_the_claim_with_it(notify, monkeypatch):
    calls = []

    def insert_new_rows(session, table, rows):  # the other mails, inserted together at commit
        calls.append([row["key"] for row in rows])
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(store, "insert_new_rows", insert_new_rows)
        with pytest.raises(RuntimeError):
            queue(notify, "m1", requests_of("m1"))
    assert len(calls) == 1 and len(calls[0]) == 2 and counts(notify) == (0, 0)
    assert queue(notify, "m1", requests_of("m1")) == (3, [{"mail"}])


def test_a_duplicate_of_a_handled_event_is_acked_even_if_it_no_longer_renders(notify):
    assert queue(notify, "m1", requests_of("m1")) == (3, [{"mail"}])
    assert queue(notify, "m1", requests_of("m1"), Stub(bad={"m0@example.vn"})) == (0, [])


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_concurrent_duplicate_of_several_mails_queues_each_once(notify, db_backend, first_commits):
    if db_backend != "postgresql":
        pytest.skip("SQLite lets one writer at a time")
    first = notify.uow(consumer="on_sitting_documents_ready", message_id="m1")
    assert first.claim_message_adding(mails, handlers._made(requests_of("m1")[:1], Stub(), utcnow())[0].row()) == 1
    waiting = eventlet.spawn(queue, notify, "m1", requests_of("m1"))
    wait_for_a_lock_wait(notify.engine, waiting, "the duplicate waiting")
    assert not waiting.dead
    (first.session.commit if first_commits else first.session.rollback)()
    first.close()
    assert waiting.wait() == ((0, []) if first_commits else (3, [{"mail"}]))
    assert counts(notify) == ((1, 1) if first_commits else (1, 3))
