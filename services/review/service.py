"""Nameko entrypoints of review: load the payload, call one handler, return its result."""
import os
from pathlib import Path

from shared.platform.rpc import rpc
from nameko.timer import timer

from services.review import closing, handlers, sittings
from services.review.calendar import DEFAULT_HOLIDAYS_2025_2026
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

MIGRATIONS = Path(__file__).parent / "migrations"
DEADLINE_TICK = 5.0  # seconds between checks for sittings past their deadline


def documents_relay(store):
    """Renders closed sittings' documents one at a time, off the workers (LibreOffice in a subprocess)."""
    rules = load_rules(store.settings.rules_file)
    new_uow = lambda: UnitOfWork(store.sessions(), documents.RELAY, None, {}, store._wake)  # noqa: E731
    converter = Converter(os.environ.get("TDKT_SOFFICE") or "soffice")  # LibreOffice's command (read once)
    return Relay(documents.RELAY, documents.make_step(store.sessions, new_uow, rules, converter), idle_interval=5.0)


class ReviewService:
    name = contract.REVIEW
    uow = Store(contract.REVIEW, MIGRATIONS, relays={documents.RELAY: documents_relay})
    rules = RuleBook()
    config = Configuration()
    require_operator = OperatorOnly()
    observability = Observability()  # /healthz, /readyz, /metrics on TDKT_HTTP_PORT
    logs = JsonLogging()  # JSON log lines with the Nameko call id (TDKT_LOG_FORMAT=json|text)

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_SUBMITTED)
    def on_nomination_submitted(self, payload):
        handlers.record_submission(schemas.load(schemas.NominationSubmitted, payload), self.uow, utcnow())

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_AMENDED)
    def on_nomination_amended(self, payload):
        handlers.record_amendment(schemas.load(schemas.NominationAmended, payload), self.uow)

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_WITHDRAWN)
    def on_nomination_withdrawn(self, payload):
        handlers.record_withdrawal(schemas.load(schemas.NominationWithdrawn, payload), self.uow)

    @inbox_event_handler(contract.COUNCIL, contract.VOTE_CAST)
    def on_vote_cast(self, payload):
        vote = schemas.load(schemas.VoteCast, payload, schemas.MAX_BALLOT_BYTES)
        sittings.cast_vote(vote, self.uow, self.config.secret_key, self.rules, utcnow())

    @timer(interval=DEADLINE_TICK)
    def close_sittings_past_deadline(self):
        closing.close_due(self.uow, self.rules, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def load_directory(self, directory):
        self.require_operator()
        return handlers.load_directory(schemas.load(schemas.Directory, directory, 4 * 1024 * 1024), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def convene_sitting(self, council_id, deadline):
        self.require_operator()
        holidays = self.config.holidays or DEFAULT_HOLIDAYS_2025_2026
        return sittings.convene_sitting(str(council_id), deadline, self.uow, self.config.secret_key,
                                        holidays, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def close_sitting(self, sitting_id):
        self.require_operator()
        return closing.close_sitting(str(sitting_id), self.uow, self.rules, utcnow())

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
