"""Issue #20's leaner paths keep their guarantees (an outside review's findings, each of which failed before
its fix): a mail sent on a fresh claim survives two failed renewals like one on a full lease; a date at
the calendar's edge in an event does not cost a sitting its outcome mails; a batch of documents fits in
its lease, a sitting made alone after a failed batch keeps its claim until stored, and a render asked for
while a batch runs is not swallowed by that batch."""
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.notify import domain, handlers, kinds
from services.notify.mail import Renderer
from services.notify.models import AutocommitStatements, Mails
from services.notify.service import MIGRATIONS as NOTIFY_MIGRATIONS
from services.review.documents import jobs
from shared.platform.config import load_settings
from shared.platform.outbox import utcnow
from tests.integration.delivery import Tables
from tests.integration.test_document_jobs import (  # noqa: F401 - fixtures
    Converter, close_more_sittings, jobs_by_sitting, review_db, step)

EVENT = {"nomination_id": "n-mail", "unit_id": "vp", "award_code": "CSTDCS", "award_year": 2025,
         "nominee": {"kind": "individual", "name": "Phạm Thị Thu Hương", "email": None, "gender": "female"},
         "contact_email": "vanphong@example.vn", "submitted_at": "2025-11-20T08:00:00+07:00"}


# --- 6: convened_at straight from the event -------------------------------------------------------------
CLOSED_EVENT = {"sitting_id": "s-1", "council_id": "hd-vp", "stage": "unit", "quorum_met": True,
                "closed_at": "2025-12-03T09:30:00+00:00", "participants": 3, "units": ["vp"],
                "council_name": "Hội đồng", "results": [{"nomination_id": "n-1", "unit_id": "vp", "outcome": "approved",
                                                         "contact_email": "vp@example.vn", "award_code": "LDTT"}]}


@pytest.mark.parametrize("convened_at", ["9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+01:00", "not a date",
                                         "2025-13-45T00:00:00", "x" * 40, "<b>03/12</b>"])
def test_a_convened_at_that_is_not_a_usable_time_names_the_sitting_by_its_close_and_costs_no_mail(convened_at):
    """``convened_at`` is a free String(max 40) in SittingClosed / ReviewOutcome. A time at the calendar's
    edge made ``astimezone`` raise OverflowError, so the whole sitting_closed (every unit's outcome mail,
    and the close of the ballots) was retried and dead-lettered; anything unusable now falls back to the
    day of the close, and nothing of the text reaches the mail."""
    [request] = kinds.sitting_outcomes(CLOSED_EVENT, "ev-1", {"convened_at": convened_at})
    assert request.context["sitting_date"] == "03/12/2025"  # 09:30 UTC on 3 December: the day in Vietnam
    decided = {"nomination_id": "n-1", "stage": "unit", "outcome": "approved", "nominee_email": "a@example.vn",
               "decided_at": "2025-12-03T09:30:00+00:00", "convened_at": convened_at}
    [mail] = kinds.outcome("nomination_decided", decided, "ev-2", {"convened_at": convened_at})
    assert mail.context["sitting_date"] == "03/12/2025"


# --- 2: fresh() halves the margin of a claim against a failed renewal ------------------------------------
class SlowSender:
    """A server that takes ``durations[n]`` seconds for the n-th mail; at the end of the second mail it
    looks, as another notify instance would, for a mail due to send."""

    def __init__(self, engine, durations, lease):
        self.settings = load_settings({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "1", "SMTP_TIMEOUT": "0.1"})
        self.engine, self.durations, self.lease = engine, list(durations), lease
        self.sent, self.stolen = [], None

    def open(self):
        return object()

    def send(self, smtp, mail):
        time.sleep(self.durations[len(self.sent)])
        self.sent.append(mail.recipient)
        if len(self.sent) == 2:  # still on the wire: another sender's claim now
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                self.stolen = [m.recipient for m in Mails(connection).claim_due(utcnow(), self.lease, 10)]


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_two_failed_renewals_on_a_fresh_claim_let_another_sender_take_a_mail_still_on_the_wire(db_urls,
                                                                                               monkeypatch):
    """Before issue #20 a mail started on a full lease (renewed first): two failed renewals (a
    PostgreSQL restart) still left a third of it. A "fresh" mail starts with just over two thirds, so the
    same two failures lose the claim while the mail is being sent: another sender sends it again."""
    tables = Tables(db_urls["notify"], NOTIFY_MIGRATIONS)
    try:
        for n, contact in enumerate(["a@example.vn", "b@example.vn"]):
            requests = domain.acknowledgement({**EVENT, "contact_email": contact}, f"event-{n}")
            handlers.queue_mails(requests, tables.uow(message_id=f"event-{n}"), Renderer(), utcnow())
        lease = handlers.mail_lease(0.1)  # 1.4 s; a third is 0.467 s
        failures = iter([True, True])
        real = Mails.renew

        def renew(self, mail, until):
            renewer = threading.current_thread().name.startswith("mail-claim")  # holding()'s, not the pre-send one
            if mail.recipient == "b@example.vn" and renewer and next(failures, False):
                raise sa.exc.OperationalError("UPDATE mails", {}, Exception("terminating connection"))
            return real(self, mail, until)

        monkeypatch.setattr(Mails, "renew", renew)
        # the first mail takes 0.35 s (the second is still "fresh"); the second 1.2 s, less than a lease
        sender = SlowSender(tables.engine, [0.35, 1.2], lease)
        handlers.send_due(AutocommitStatements(tables.engine), sender, utcnow, 0.05)
        assert sender.stolen == [], "another sender claimed a mail this one was still sending"
    finally:
        tables.dispose()


# --- 5: documents -------------------------------------------------------------------------------------------
def test_a_batchs_worst_case_fits_in_the_lease():
    """jobs.LEASE says 'longer than LibreOffice's timeout: a live renderer never loses its job'. A batch now
    fills the DOCX (FILL_TIMEOUT) and then converts (SOFFICE_TIMEOUT) under one claim: 300 + 600 s = the
    whole 15 min lease, before reading facts and storing 8 sittings."""
    from services.review.documents import render
    assert render.FILL_TIMEOUT + render.SOFFICE_TIMEOUT < jobs.LEASE.total_seconds()


def test_a_sitting_rendered_alone_after_a_failed_batch_keeps_its_claim_until_it_is_stored(review_db, monkeypatch):
    """jobs._render_each renews a sitting's lease (_hold) just before its own conversion, but stores
    nothing until every sitting of the fallback is converted: the first one's lease lapses while the
    others convert (each up to 15 min), and another instance claims and renders it again."""
    close_more_sittings(review_db, 2)  # s-1, s-2, s-3
    clock = {"offset": timedelta(0)}
    real_now = jobs.utcnow
    monkeypatch.setattr(jobs, "utcnow", lambda: real_now() + clock["offset"])
    stolen = []

    class SlowConverter(Converter):
        def to_pdf(self, documents):
            if len(documents) > 3:  # the batch: fails (as with one bad sitting)
                self.batches.append(sorted(documents))
                raise jobs.RenderError("LibreOffice exited 1")
            result = super().to_pdf(documents)
            clock["offset"] += timedelta(minutes=10)  # each sitting alone takes 10 minutes of LibreOffice
            return result

    converter = SlowConverter()
    real_store = jobs._store

    def store(uow, facts, files, lease):
        if not stolen:  # just before this instance stores anything: what would another instance claim?
            stolen.extend(jobs._claim(review_db.sessions, jobs.BATCH)[0])
        return real_store(uow, facts, files, lease)

    monkeypatch.setattr(jobs, "_store", store)
    step(review_db, converter)
    assert stolen == [], f"jobs {stolen} claimed again while this instance still held their rendered files"


def test_render_again_during_a_batch_is_not_swallowed_by_the_batchs_store(review_db):
    """render_again replaces the job (pending, due now) while a batch that read the old facts is converting;
    that batch's _store then marks the new request done: the documents asked for are never made."""
    class Interrupted(Converter):
        def to_pdf(self, documents):
            if not self.batches:
                jobs.render_again("s-1", review_db.uow())
            return super().to_pdf(documents)

    step(review_db, Interrupted())
    assert jobs_by_sitting(review_db)["s-1"]["status"] == "pending", "the render asked for meanwhile was lost"
