"""Nameko entrypoints of notify: load the event, call one handler."""
from pathlib import Path


from services.notify import domain, handlers
from services.notify.mail import SmtpSender, Templates
from shared import contract, schemas
from shared.messaging import inbox_event_handler
from shared.outbox import utcnow
from shared.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def mail_relay(store):
    """The background step that works notify's mail table (taken off the message handlers)."""
    sender = SmtpSender(store.settings)
    return lambda: handlers.send_due(store.sessions, sender, utcnow)


class NotifyService:
    name = contract.NOTIFY
    uow = Store(contract.NOTIFY, MIGRATIONS, relays={handlers.MAIL_RELAY: mail_relay})
    renderer = Templates()

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_SUBMITTED)
    def on_nomination_submitted(self, payload):
        event = schemas.load(schemas.NominationSubmitted(), payload)
        requests = domain.acknowledgement(event, self.uow.message_id)
        handlers.queue_mails(requests, self.uow, self.renderer, utcnow())
