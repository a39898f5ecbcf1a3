"""Nameko entrypoints of review: load the payload, call one handler, return its result."""
import os
from datetime import timedelta
from pathlib import Path

from shared.platform.rpc import rpc

from services.review import closing, comment, handlers, register, sittings
from services.review.calendar import DEFAULT_HOLIDAYS_2025_2026
from services.review.public import PublicCommentPage
from services.review.web import BallotPage
from services.review.documents import jobs as documents
from services.review.documents.render import Converter
from shared import contract
from shared.contract import schemas
from shared.platform.auth import OperatorOnly
from shared.contract.errors import EXPECTED
from shared.platform.messaging import inbox_event_handler
from shared.platform.logs import JsonLogging
from shared.platform.observability import Observability
from shared.platform.outbox import utcnow
from shared.platform.rules import RuleBook, load_rules
from shared.platform.settings import Configuration
from shared.platform.store import Relay, Store, UnitOfWork
from shared.platform.tick import tick

MIGRATIONS = Path(__file__).parent / "migrations"


def documents_relay(store):
    """Renders closed sittings' documents in batches, off the workers (docxtpl and LibreOffice in child
    processes); a sitting that closes alone waits ``TDKT_DOCUMENTS_GATHER_SECONDS`` for others, and due
    documents wait up to ``TDKT_DOCUMENTS_QUIET_WAIT_SECONDS`` while the machine's CPUs are contended."""
    rules = load_rules(store.settings.rules_file)
    new_uow = lambda: UnitOfWork(store.sessions(), documents.RELAY, None, {}, store._wake)  # noqa: E731
    converter = Converter(os.environ.get("TDKT_SOFFICE") or "soffice")  # LibreOffice's command (read once)
    gather = timedelta(seconds=store.settings.documents_gather_seconds)
    quiet_wait = timedelta(seconds=store.settings.documents_quiet_wait_seconds)
    return Relay(documents.RELAY, documents.make_step(store.sessions, new_uow, rules, converter, gather=gather,
                                                      quiet_wait=quiet_wait),
                 idle_interval=5.0, batch=documents.BATCH)


class ReviewService:
    name = contract.REVIEW
    uow = Store(contract.REVIEW, MIGRATIONS, relays={documents.RELAY: documents_relay})
    rules = RuleBook()
    config = Configuration()
    require_operator = OperatorOnly()
    observability = Observability()  # /healthz, /readyz, /metrics on TDKT_HTTP_PORT
    ballot_page = BallotPage()  # /ballot/TOKEN beside them (served by observability)
    public_comment = PublicCommentPage()  # /public/comment beside them (served by observability)
    logs = JsonLogging()  # JSON log lines with the Nameko call id (TDKT_LOG_FORMAT=json|text)

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_SUBMITTED, batch=True)
    def on_nomination_submitted(self, payload):
        handlers.record_submission(schemas.load(schemas.NominationSubmitted, payload), self.uow, utcnow())

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_AMENDED)
    def on_nomination_amended(self, payload):
        handlers.record_amendment(schemas.load(schemas.NominationAmended, payload), self.uow)

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_WITHDRAWN)
    def on_nomination_withdrawn(self, payload):
        handlers.record_withdrawal(schemas.load(schemas.NominationWithdrawn, payload), self.uow)

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_AWARDED, batch=True)
    def on_nomination_awarded(self, payload):
        register.record_award(schemas.load(schemas.NominationAwarded, payload), self.uow)

    @inbox_event_handler(contract.INTAKE, contract.REGISTER_ENTRY_REVOKED)
    def on_register_entry_revoked(self, payload):
        register.return_after_revocation(schemas.load(schemas.RegisterEntryRevoked, payload), self.uow)

    @inbox_event_handler(contract.COUNCIL, contract.VOTE_CAST)
    def on_vote_cast(self, payload):
        vote = schemas.load(schemas.VoteCast, payload, schemas.MAX_BALLOT_BYTES)
        sittings.cast_vote(vote, self.uow, self.config.secret_key, self.rules, utcnow(),
                           sealed_only=self.config.profile == "production")

    @tick()
    def close_sittings_past_deadline(self):
        closing.close_due(self.uow, self.rules, utcnow(), self.config.secret_key)

    @tick()
    def open_and_release_comment_periods(self):
        comment.run_tick(self.uow, self.rules, self.config.holidays or DEFAULT_HOLIDAYS_2025_2026, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def load_directory(self, directory):
        self.require_operator()
        return handlers.load_directory(schemas.load(schemas.Directory, directory, 4 * 1024 * 1024), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def convene_sitting(self, council_id, deadline):
        self.require_operator()
        holidays = self.config.holidays or DEFAULT_HOLIDAYS_2025_2026
        return sittings.convene_sitting(str(council_id), deadline, self.uow, self.config.secret_key,
                                        holidays, utcnow(), self.config.public_url, self.rules)

    @rpc(expected_exceptions=EXPECTED)
    def close_sitting(self, sitting_id):
        self.require_operator()
        return closing.close_sitting(str(sitting_id), self.uow, self.rules, utcnow(), self.config.secret_key)

    @rpc(expected_exceptions=EXPECTED)
    def sitting_result(self, sitting_id):
        self.require_operator()
        return closing.sitting_result(str(sitting_id), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def resolve_tie(self, sitting_id, award_code, nomination_ids):
        self.require_operator()
        tie = schemas.load(schemas.TieDecision, {"award_code": award_code, "nomination_ids": nomination_ids})
        return closing.resolve_tie(str(sitting_id), tie["award_code"], tie["nomination_ids"], self.uow,
                                   self.rules, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def return_nomination(self, nomination_id, reasons):
        self.require_operator()
        reasons = schemas.load(schemas.ReturnReasons, {"reasons": reasons})["reasons"]
        return handlers.return_nomination(str(nomination_id), reasons, self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def set_quota(self, council_id, award_code, award_year, places):
        self.require_operator()
        quota = schemas.load(schemas.QuotaSetting, {"council_id": council_id, "award_code": award_code,
                                                      "award_year": award_year, "places": places})
        return handlers.set_quota(quota, self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def statistics(self, award_year):
        self.require_operator()
        year = schemas.load(schemas.AwardYear, {"award_year": award_year})["award_year"]
        return handlers.statistics(year, self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def get_case(self, nomination_id):
        self.require_operator()
        return handlers.get_case(str(nomination_id), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def record_objection(self, objection):
        """An objection received on paper (or by mail) during a nomination's public comment period."""
        self.require_operator()
        return comment.file_objection(schemas.load(schemas.Objection, objection), "paper", self.uow, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def handle_objection(self, objection_id, outcome, handling):
        self.require_operator()
        done = schemas.load(schemas.ObjectionHandling, {"objection_id": objection_id, "outcome": outcome,
                                                        "handling": handling})
        return comment.handle_objection(done["objection_id"], done["outcome"], done["handling"], self.uow,
                                        handlers.send_back, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def list_objections(self, nomination_id=None):
        self.require_operator()
        return handlers.list_objections(None if nomination_id is None else str(nomination_id), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def comment_summary(self, nomination_id):
        self.require_operator()
        return handlers.comment_summary(str(nomination_id), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def statistics_forms(self, year):
        self.require_operator()
        year = schemas.load(schemas.AwardYear, {"award_year": year})["award_year"]
        return handlers.statistics_forms(year, self.uow, self.rules)

    @rpc(expected_exceptions=EXPECTED)
    def sitting_documents(self, sitting_id):
        self.require_operator()
        return documents.list_documents(str(sitting_id), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def sitting_document(self, sitting_id, kind, fmt):
        self.require_operator()
        return documents.get_document(str(sitting_id), str(kind), str(fmt), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def render_sitting_documents(self, sitting_id):
        self.require_operator()
        return documents.render_again(str(sitting_id), self.uow)
