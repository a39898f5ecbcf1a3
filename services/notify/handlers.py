"""Notify use cases: queue the mails an event causes (in the inbox transaction), and send them.

Long because sending holds the guarantees in one place: a claim with its lease renewed while a mail is on
the wire, the outcome recorded once, temporary and permanent failures told apart."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError

from services.notify import domain
from services.notify.mail import ConnectionLost, PermanentFailure, TemporaryFailure
from services.notify.models import Ballots, Mail, Mails, Units, mails as mails_table
from shared.contract.errors import ValidationError
from shared.platform.db import as_utc

log = logging.getLogger(__name__)

MAIL_RELAY = "mail"
BATCH = 10  # mails claimed at a time; each is settled as soon as it is tried
# SMTP replies one mail may wait for, each up to SMTP_TIMEOUT: connect and greeting, EHLO, STARTTLS,
# the TLS handshake, EHLO again, AUTH (up to three), MAIL, RCPT, DATA, the end of the data
REPLIES_PER_MAIL = 13
STEP = 500  # at most this many mails per relay step, over one SMTP connection


def queue_mails(requests: list[domain.MailRequest], uow, renderer, now) -> int:
    """Record each logical email once, in the same transaction as the inbox row of its event: the claim
    in one statement with the look-up of the units' names the mails need, or else with the first mail."""
    requests = list(requests)
    with uow:
        names = Units.names_query(requests)
        if names is not None:
            named = uow.claim_message_reading(*names)
            if named is None:
                return 0
            Units.give_names(requests, named)
            queued = _queue(requests, uow, renderer, now, named=True)
        else:
            made = _rendered_or_handled(requests, uow, renderer, now)
            queued = None if made is None else _claim_and_store(made, uow)
            if queued is None:  # a duplicate
                return 0
        uow.commit()
    return queued


def _claim_and_store(made: list[Mail], uow) -> int | None:
    """The claim with the first mail's insert in one statement, then the other mails; None when the
    message had its effect already."""
    if not made:
        return 0 if uow.claim_message() else None
    first = uow.claim_message_adding(mails_table, made[0].row())
    return None if first is None else first + _store(made[1:], uow)


def _rendered_or_handled(requests, uow, renderer, now) -> list[Mail] | None:
    """The mails, rendered before the claim (a duplicate wastes only that); when they do not render,
    the claim decides as before: None for a duplicate of a handled event (what its mails render to now,
    after a template changed say, does not matter), else the error, which undoes the claim."""
    try:
        return _made(requests, renderer, now)
    except Exception:
        if not uow.claim_message():
            return None
        raise


def _queue(requests, uow, renderer, now, named: bool = False) -> int:
    requests = list(requests)
    if not named:
        Units(uow.session).name_requests(requests)
    return _store(_made(requests, renderer, now), uow)


def _made(requests, renderer, now) -> list[Mail]:
    made = []
    for request in requests:
        try:
            subject, text, html = renderer.render(request)
        except domain.UnsafeHeader as exc:  # no redelivery can fix the event's data
            raise ValidationError({"_event": [f"cannot render {request.kind}: {exc}"]}) from None
        made.append(Mail(
            key=request.key, event_id=request.event_id, kind=request.kind,
            recipient=request.recipient.email, recipient_name=request.recipient.name,
            subject=subject, text=text, html=html, status=domain.PENDING, attempts=0,
            next_attempt_at=now, last_error=None, created_at=now, sent_at=None,
            **_attachment(request.attachment)))
    return made


def _store(made: list[Mail], uow) -> int:
    """Queue ``made`` as the transaction commits, in one statement with the other mails of its batch; a
    mail whose key is there already is skipped then (counted here all the same)."""
    for mail in made:
        uow.insert_at_commit(mails_table, mail.row())
    uow.wake_after_commit(MAIL_RELAY)
    return len(made)


def _attachment(attachment) -> dict:
    if attachment is None:
        return {}
    name, content_type, data = attachment
    return {"attachment_name": name, "attachment_type": content_type, "attachment": data}


def invite(ballot: dict, requests, uow, renderer, now) -> None:
    """``review.ballot_issued``: the invitation, and a record to remind the member later."""
    with uow:
        if not uow.claim_message():
            return
        Ballots(uow.session).add_once(ballot["sitting_id"], ballot["member"]["id"], uow.message_id,
                                      datetime.fromisoformat(ballot["deadline"]), ballot)
        _queue(requests, uow, renderer, now)
        uow.commit()


def note_ballot(sitting_id: str, member_id: str | None, uow, now, requests=(), renderer=None,
                **values) -> None:
    """``vote_counted`` (that member) or ``sitting_closed`` (everyone): no more reminders; and the mails it
    causes in the same transaction (the member's receipt; at a close, each unit's one outcome mail).
    ``requests`` may be a function of the sitting's kept ballot (:func:`queue_for_sitting`)."""
    with uow:
        if not uow.claim_message():
            return
        ballots = Ballots(uow.session)
        ballots.mark(sitting_id, member_id, uow.message_id, now, **values)
        if callable(requests):
            requests = requests(ballots.issued(sitting_id))
        if requests:
            _queue(requests, uow, renderer, now)
        uow.commit()


def queue_for_sitting(sitting_id: str, requests_for, uow, renderer, now) -> int:
    """The mails of an event that names its sitting by id only (``receipts_published``):
    ``requests_for(ballot)`` is given a ballot notify keeps of that sitting (its council's name, its
    date), or None when none arrived."""
    with uow:
        if not uow.claim_message():
            return 0
        queued = _queue(requests_for(Ballots(uow.session).issued(sitting_id)), uow, renderer, now)
        uow.commit()
    return queued


def remind(uow, renderer, reminders_for, before: timedelta, now) -> int:
    """The reminder timer: one reminder to each member who has not voted as the deadline nears."""
    with uow:
        ballots = Ballots(uow.session)
        due = ballots.due_for_reminder(now, before)
        for ballot in due:
            _queue(reminders_for(ballot["payload"], ballot["event_id"]), uow, renderer, now)
            ballots.mark_reminded(ballot["sitting_id"], ballot["member_id"])
        uow.commit()
    return len(due)


def mail_log(status, limit, uow) -> list[dict]:
    with uow:
        rows = Mails(uow.session).log(status, limit)
    return [{**row, "key": row["key"][:16], "created_at": row["created_at"].isoformat(),
             "sent_at": row["sent_at"] and row["sent_at"].isoformat()} for row in rows]


def send_due(db, sender, now_fn, retry_seconds: float, batch: int = BATCH, most: int = STEP,
             on_backlog=None) -> int:
    """Send the mails that are due (up to ``most``), reusing one SMTP connection; return how many were
    sent or failed for good. A claim that finds fewer than ``batch`` took all that was due, and ends the
    step (later mails wake the relay); one that finds a full batch calls ``on_backlog`` (the relay
    sets another sender going).

    Each mail is settled as soon as it is tried, so a crash resends at most the mail in flight (with the
    same Message-ID); a broken connection (a timeout, a hang-up) is replaced for the next mail. Claims
    and settlements are single statements through ``db`` (``models.AutocommitStatements``).
    """
    lease = mail_lease(sender.settings.smtp_timeout)
    smtp, done, tried = None, 0, 0
    holding = Holding(db, now_fn, lease)
    try:
        while tried < most:
            with db() as connection:
                due = Mails(connection).claim_due(now_fn(), lease, batch)
            if not due:
                break
            if len(due) == batch and on_backlog is not None:
                on_backlog()
            tried += len(due)
            for position, mail in enumerate(due):
                if not fresh(mail, now_fn(), lease):  # the claim covers one mail's worst case from now on
                    if not renew_claim(db, mail, now_fn() + lease):
                        log.info("mail: %s %s was claimed by another sender meanwhile", mail.kind, mail.key[:12])
                        continue
                unavailable = None
                with holding(mail):  # however long the server takes, the mail stays ours
                    if smtp is None:
                        try:
                            smtp = sender.open()
                        except (TemporaryFailure, PermanentFailure) as exc:
                            unavailable = exc
                    if unavailable is None:
                        try:
                            sender.send(smtp, mail)
                            failure = None
                        except (TemporaryFailure, PermanentFailure) as exc:
                            failure = exc
                if unavailable is not None:
                    log.warning("mail: SMTP server unavailable (%s); %d mails wait", unavailable, len(due) - position)
                    _settle(db, [(m, TemporaryFailure(str(unavailable))) for m in due[position:]], now_fn,
                            retry_seconds)
                    return done
                _settle(db, [(mail, failure)], now_fn, retry_seconds)
                done += failure is None or isinstance(failure, PermanentFailure)
                if isinstance(failure, ConnectionLost):
                    smtp = None
            if len(due) < batch:  # everything due was in this claim
                break
    finally:
        holding.close()
        db.close()
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:  # the connection may already be gone; the mails are settled
                pass
    return done


def mail_lease(smtp_timeout: float) -> timedelta:
    """How long a sender's claim on a mail lasts unless renewed: one mail's usual worst case, in which
    every reply of a new connection takes almost ``SMTP_TIMEOUT``. The claim is renewed before each mail
    of a batch that finds less than two thirds of it left (:func:`fresh`; so the batch's size plays no
    part) and, by :class:`Holding`, each time two thirds of it are left while the mail is on the wire
    (a quarter of it after a renewal that failed): the timeout applies to each line read, so a server
    slow line by line (an EHLO reply is ten lines or more) can take longer than any count of replies."""
    return timedelta(seconds=(REPLIES_PER_MAIL + 1) * smtp_timeout)


def fresh(mail: Mail, now: datetime, lease: timedelta) -> bool:
    """Whether this sender's claim on ``mail`` still has two thirds of a lease to run: enough to start the
    mail without renewing it first, since :class:`Holding` renews it as soon as it comes down to that
    (the first mails of a batch, on a server that answers in time, save a statement each)."""
    return as_utc(mail.next_attempt_at) - now >= lease * 2 / 3


class Holding:
    """The renewals of one sender's claims, for a step: ``with holding(mail):`` while ``mail`` is on the
    wire, one green thread (started at the first mail, ended by :meth:`close`) renews the claim on it
    whenever two thirds of ``lease`` are all that is left (first when the claim comes down to that, then
    a third of ``lease`` after each renewal), so no other sender takes a mail this one is still sending
    (only a sender that stopped lets its claims lapse). A renewal that fails is tried again a quarter of
    ``lease`` later: two may fail in a row (a database restart) and the third still comes with a sixth
    of the claim left, whether the mail started on a full lease or on a :func:`fresh` one; one whose
    reply was lost may have renewed it all the same (``Mail.maybe_claims``). The block's end waits for a
    renewal under way: ``mail`` then holds the claim the outcome is recorded against. One thread for
    the step, not one a mail: starting and joining a green thread cost a mail 0.08 ms."""

    def __init__(self, db, now_fn, lease: timedelta):
        self.db, self.now_fn, self.lease = db, now_fn, lease
        self._lock = threading.Lock()  # held by a renewal, and by the sender as a mail begins and ends
        self._changed = threading.Event()
        self._mail, self._due, self._closed, self._thread = None, None, False, None

    @contextlib.contextmanager
    def __call__(self, mail: Mail):
        with self._lock:
            self._mail = mail
            self._due = time.monotonic() + max(
                0.0, (as_utc(mail.next_attempt_at) - self.now_fn() - self.lease * 2 / 3).total_seconds())
        self._changed.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._renew, name="mail-claim-renewer", daemon=True)
            self._thread.start()
        try:
            yield
        finally:
            with self._lock:  # a renewal under way ends first
                self._mail = None

    def close(self) -> None:
        self._closed = True
        self._changed.set()
        if self._thread is not None:
            self._thread.join()

    def _renew(self) -> None:
        while not self._closed:
            self._changed.clear()
            with self._lock:
                mail, due = self._mail, self._due
            if mail is None:
                self._changed.wait()
                continue
            if self._changed.wait(max(0.0, due - time.monotonic())):
                continue  # another mail began, or this one ended: look again
            with self._lock:
                if self._mail is not mail:
                    continue
                try:
                    if not renew_claim(self.db, mail, self.now_fn() + self.lease):
                        self._mail = None  # lapsed and claimed by another sender: settling will say so
                    self._due = time.monotonic() + self.lease.total_seconds() / 3  # two thirds left again
                except Exception as exc:  # the database is away (or worse): try again in a quarter
                    self._due = time.monotonic() + self.lease.total_seconds() / 4
                    log.warning("mail: cannot renew the claim on %s %s (%s)", mail.kind, mail.key[:12],
                                exc.__class__.__name__)


def renew_claim(db, mail: Mail, until) -> bool:
    """``Mails.renew`` on a connection of ``db``. When it fails, its UPDATE may have committed all the
    same (the connection dropped before the reply): ``until`` is noted as a claim ``mail`` may hold, so
    the next renewal and the settling match it (else the mail, once sent, stays pending and goes out
    again)."""
    try:
        with db() as connection:
            return Mails(connection).renew(mail, until)
    except Exception:
        mail.maybe_claims = (*mail.maybe_claims, until)
        raise


def _settle(db, outcomes, now_fn, retry_seconds, patience: float = 300.0) -> None:
    """Record what happened to mails already tried. A mail that went out must not go out again, so
    while the database is away (a restart) this keeps trying rather than leave it to its lease."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return _record(db, outcomes, now_fn(), retry_seconds)
        except DBAPIError as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("mail: cannot record the outcome of %d mail(s) yet (%s); retrying", len(outcomes),
                        exc.__class__.__name__)
            time.sleep(0.5)


def _record(db, outcomes, now, retry_seconds) -> None:
    with db() as connection:  # autocommit: each update stands alone, a mail's outcome is its own
        mails = Mails(connection)
        for mail, failure in outcomes:
            attempts = mail.attempts + 1
            if failure is None:
                recorded = mails.settle(mail, status=domain.SENT, attempts=attempts, sent_at=now, last_error=None)
                log.info("mail: sent %s %s", mail.kind, mail.key[:12])
            elif isinstance(failure, PermanentFailure):
                recorded = mails.settle(mail, status=domain.FAILED, attempts=attempts, last_error=str(failure)[:500])
                log.warning("mail: %s %s failed permanently: %s", mail.kind, mail.key[:12], failure)
            else:
                status, next_at = domain.after_temporary_failure(attempts, now, retry_seconds)
                recorded = mails.settle(mail, status=status, attempts=attempts, next_attempt_at=next_at,
                                        last_error=str(failure)[:500])
                log.info("mail: %s %s deferred: %s", mail.kind, mail.key[:12], failure)
            if not recorded:
                log.warning("mail: %s %s was claimed by another sender after this one's lease ran out; "
                            "its outcome is theirs to record", mail.kind, mail.key[:12])


def keep_unit_names(named: list[dict], uow) -> None:
    """``review.directory_loaded``: the units' names, for the mails that follow."""
    with uow:
        if not uow.claim_message():
            return
        Units(uow.session).keep_names(named)
        uow.commit()
