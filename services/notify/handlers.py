"""Notify use cases: queue the mails an event causes (in the inbox transaction), and send them."""
from __future__ import annotations

import logging
from datetime import timedelta

from services.notify import domain
from services.notify.mail import PermanentFailure, TemporaryFailure
from services.notify.models import Mail, Mails
from shared.errors import ValidationError

log = logging.getLogger(__name__)

MAIL_RELAY = "mail"
LEASE = timedelta(minutes=5)  # a sender that dies mid-send gives its mails back after this


def queue_mails(requests: list[domain.MailRequest], uow, renderer, now) -> int:
    """Record each logical email once, in the same transaction as the inbox row of its event."""
    queued = 0
    with uow:
        if not uow.claim_message():
            return 0
        mails = Mails(uow.session)
        for request in requests:
            try:
                subject, text, html = renderer.render(request)
            except domain.UnsafeHeader as exc:  # no redelivery can fix the event's data
                raise ValidationError({"_event": [f"cannot render {request.kind}: {exc}"]}) from None
            queued += mails.add_once(Mail(
                key=request.key, event_id=request.event_id, kind=request.kind,
                recipient=request.recipient.email, recipient_name=request.recipient.name,
                subject=subject, text=text, html=html, status=domain.PENDING, attempts=0,
                next_attempt_at=now, last_error=None, created_at=now, sent_at=None))
        uow.wake_after_commit(MAIL_RELAY)
        uow.commit()
    return queued


def send_due(sessions, sender, now_fn, batch: int = 50) -> int:
    """Send the mails that are due over one SMTP connection; return how many were settled."""
    with sessions() as session, session.begin():
        due = Mails(session).claim_due(now_fn(), LEASE, batch)
    if not due:
        return 0
    try:
        smtp = sender.open()
    except (TemporaryFailure, PermanentFailure) as exc:
        log.warning("mail: SMTP server unavailable (%s); %d mails wait", exc, len(due))
        _settle(sessions, [(mail, exc) for mail in due], now_fn)
        return 0
    outcomes = []
    try:
        for mail in due:
            try:
                sender.send(smtp, mail)
                outcomes.append((mail, None))
            except (TemporaryFailure, PermanentFailure) as exc:
                outcomes.append((mail, exc))
            # settle as we go: a crash now resends at most the mail in flight
            _settle(sessions, outcomes[-1:], now_fn)
    finally:
        try:
            smtp.quit()
        except Exception:  # the connection may already be gone; the mails are settled
            pass
    return len(outcomes)


def _settle(sessions, outcomes, now_fn) -> None:
    now = now_fn()
    with sessions() as session, session.begin():
        mails = Mails(session)
        for mail, failure in outcomes:
            attempts = mail.attempts + 1
            if failure is None:
                mails.update(mail.key, status=domain.SENT, attempts=attempts, sent_at=now, last_error=None)
                log.info("mail: sent %s %s", mail.kind, mail.key[:12])
            elif isinstance(failure, PermanentFailure):
                mails.update(mail.key, status=domain.FAILED, attempts=attempts, last_error=str(failure)[:500])
                log.warning("mail: %s %s failed permanently: %s", mail.kind, mail.key[:12], failure)
            else:
                status, next_at = domain.after_temporary_failure(attempts, now)
                mails.update(mail.key, status=status, attempts=attempts, next_attempt_at=next_at,
                             last_error=str(failure)[:500])
                log.info("mail: %s %s deferred: %s", mail.kind, mail.key[:12], failure)
