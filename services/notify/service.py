"""Nameko entrypoints of notify: load the event, call one handler."""
from datetime import timedelta
from functools import partial
from pathlib import Path

from shared.platform.rpc import rpc

from services.notify import domain, handlers, kinds, register_kinds
from services.notify.mail import SmtpSender, Templates
from services.notify.models import AutocommitStatements
from shared import contract
from shared.contract import schemas
from shared.platform.auth import OperatorOnly
from shared.contract.errors import EXPECTED
from shared.platform.messaging import inbox_event_handler
from shared.platform.logs import JsonLogging
from shared.platform.observability import Observability
from shared.platform.outbox import utcnow
from shared.platform.settings import Configuration
from shared.platform.tick import tick
from shared.platform.store import Relay, Store

MIGRATIONS = Path(__file__).parent / "migrations"


def mail_relay(store):
    """The background senders that work notify's mail table (taken off the message handlers):
    ``SMTP_CONNECTIONS`` of them, each claiming its own batches over its own SMTP connection."""
    sender = SmtpSender(store.settings)

    def step():
        return handlers.send_due(AutocommitStatements(store.engine), sender, utcnow,
                                 store.settings.mail_retry_seconds, on_backlog=relay.wake)

    relay = Relay(handlers.MAIL_RELAY, step, runners=store.settings.smtp_connections, batch=handlers.STEP)
    return relay


class NotifyService:
    name = contract.NOTIFY
    uow = Store(contract.NOTIFY, MIGRATIONS, relays={handlers.MAIL_RELAY: mail_relay})
    renderer = Templates()
    config = Configuration()
    require_operator = OperatorOnly()
    observability = Observability()  # /healthz, /readyz, /metrics on TDKT_HTTP_PORT
    logs = JsonLogging()  # JSON log lines with the Nameko call id (TDKT_LOG_FORMAT=json|text)

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_SUBMITTED, batch=True)
    def on_nomination_submitted(self, payload):
        event = schemas.load(schemas.NominationSubmitted, payload)
        handlers.queue_mails(domain.acknowledgement(event, self.uow.message_id), self.uow, self.renderer,
                             utcnow())

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_AWARDED, batch=True)
    def on_nomination_awarded(self, payload):
        event = schemas.load(schemas.NominationAwarded, payload)
        handlers.queue_mails(register_kinds.awarded(event, self.uow.message_id), self.uow, self.renderer, utcnow())

    @inbox_event_handler(contract.INTAKE, contract.REGISTER_ENTRY_REVOKED)
    def on_register_entry_revoked(self, payload):
        event = schemas.load(schemas.RegisterEntryRevoked, payload)
        handlers.queue_mails(register_kinds.revoked(event, self.uow.message_id), self.uow, self.renderer, utcnow())

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_NOT_AWARDED, batch=True)
    def on_nomination_not_awarded(self, payload):
        event = schemas.load(schemas.NominationNotAwarded, payload)
        handlers.queue_mails(register_kinds.not_awarded(event, self.uow.message_id), self.uow, self.renderer,
                             utcnow())

    @inbox_event_handler(contract.REVIEW, contract.DIRECTORY_LOADED)
    def on_directory_loaded(self, payload):
        event = schemas.load(schemas.DirectoryLoaded, payload, schemas.MAX_BALLOT_BYTES)
        handlers.keep_unit_names(event["units"], self.uow)

    @inbox_event_handler(contract.REVIEW, contract.BALLOT_ISSUED)
    def on_ballot_issued(self, payload):
        ballot = schemas.load(schemas.BallotIssued, payload, schemas.MAX_BALLOT_BYTES)
        handlers.invite(ballot, kinds.invitation(ballot, self.uow.message_id), self.uow, self.renderer, utcnow())

    @inbox_event_handler(contract.REVIEW, contract.VOTE_COUNTED)
    def on_vote_counted(self, payload):
        vote = schemas.load(schemas.VoteCounted, payload)
        handlers.note_ballot(vote["sitting_id"], vote["member_id"], self.uow, utcnow(),
                             partial(kinds.receipt, vote, self.uow.message_id), self.renderer, voted=True)

    @inbox_event_handler(contract.REVIEW, contract.SITTING_CLOSED)
    def on_sitting_closed(self, payload):
        closed = schemas.load(schemas.SittingClosed, payload, schemas.MAX_SITTING_BYTES)
        mails = partial(kinds.sitting_outcomes, closed, self.uow.message_id)
        if closed.get("convened_at"):  # the event names the sitting's day itself: no kept ballot to read
            mails = mails({"convened_at": closed["convened_at"]})
        handlers.note_ballot(closed["sitting_id"], None, self.uow, utcnow(), mails, self.renderer, closed=True)

    @inbox_event_handler(contract.REVIEW, contract.RECEIPTS_PUBLISHED)
    def on_receipts_published(self, payload):
        published = schemas.load(schemas.ReceiptsPublished, payload)
        handlers.queue_for_sitting(published["sitting_id"], partial(kinds.receipts, published, self.uow.message_id),
                                   self.uow, self.renderer, utcnow())

    @inbox_event_handler(contract.REVIEW, contract.NOMINATION_ADVANCED, batch=True)
    def on_nomination_advanced(self, payload):
        self._outcome(contract.NOMINATION_ADVANCED, payload)

    @inbox_event_handler(contract.REVIEW, contract.NOMINATION_DECIDED, batch=True)
    def on_nomination_decided(self, payload):
        self._outcome(contract.NOMINATION_DECIDED, payload)

    @inbox_event_handler(contract.REVIEW, contract.NOMINATION_RETURNED)
    def on_nomination_returned(self, payload):
        self._outcome(contract.NOMINATION_RETURNED, payload)

    @inbox_event_handler(contract.REVIEW, contract.SITTING_DOCUMENTS_READY)
    def on_sitting_documents_ready(self, payload):
        ready = schemas.load(schemas.SittingDocumentsReady, payload, schemas.MAX_DOCUMENTS_EVENT_BYTES)
        handlers.queue_mails(kinds.minutes(ready, self.uow.message_id), self.uow, self.renderer, utcnow())

    @tick()
    def send_reminders(self):
        before = timedelta(hours=self.config.reminder_hours)
        handlers.remind(self.uow, self.renderer, kinds.reminder, before, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def mail_log(self, query=None):
        self.require_operator()
        query = schemas.load(schemas.MailLogQuery, query or {})
        return handlers.mail_log(query["status"], query["limit"], self.uow)

    def _outcome(self, event_type, payload):
        event = schemas.load(schemas.ReviewOutcome, payload)
        mails = partial(kinds.outcome, event_type, event, self.uow.message_id)
        if event.get("convened_at"):  # the sitting named by the day it was convened, as its invitations say
            handlers.queue_mails(mails({"convened_at": event["convened_at"]}), self.uow, self.renderer, utcnow())
        elif event.get("sitting_id"):  # from an older review: that day from a ballot notify keeps
            handlers.queue_for_sitting(event["sitting_id"], mails, self.uow, self.renderer, utcnow())
        else:
            handlers.queue_mails(mails(), self.uow, self.renderer, utcnow())
