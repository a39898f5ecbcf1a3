"""Nameko entrypoints of intake: load the payload, call one handler, return its result."""
from pathlib import Path

from nameko.contextdata import AuthToken
from shared.platform.rpc import rpc

from services.intake import decisions, handlers, queries, register_ops
from shared import contract
from shared.contract import schemas
from shared.contract.errors import EXPECTED
from shared.platform.auth import OperatorOnly
from shared.platform.messaging import inbox_event_handler
from shared.platform.logs import JsonLogging
from shared.platform.observability import Observability
from shared.platform.outbox import utcnow
from shared.platform.rules import RuleBook
from shared.platform.settings import Configuration
from shared.platform.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def _load_nomination(data):
    return schemas.load(schemas.NominationSchema, data)


class IntakeService:
    name = contract.INTAKE
    uow = Store(contract.INTAKE, MIGRATIONS)
    rules = RuleBook()
    config = Configuration()
    auth_token = AuthToken()  # Nameko context data "auth_token"
    require_operator = OperatorOnly()
    observability = Observability()  # /healthz, /readyz, /metrics on TDKT_HTTP_PORT
    logs = JsonLogging()  # JSON log lines with the Nameko call id (TDKT_LOG_FORMAT=json|text)

    @rpc(expected_exceptions=EXPECTED)
    def submit_nomination(self, nomination):
        body = _load_nomination(nomination)
        return handlers.submit_nomination(body, self.auth_token, self.uow, self.rules, utcnow(),
                                          self.config.register_check)

    @rpc(expected_exceptions=EXPECTED)
    def get_nomination(self, nomination_id):
        return queries.get_nomination(str(nomination_id), self.auth_token, self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def list_nominations(self, filters=None):
        query = schemas.load(schemas.ListFilters, filters or {})
        return queries.list_nominations(query, self.auth_token, self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def amend_nomination(self, nomination_id, changes):
        changes = schemas.load(schemas.NominationChanges, changes)
        return handlers.amend_nomination(str(nomination_id), changes, self.auth_token, self.uow, self.rules,
                                         _load_nomination, utcnow(), self.config.register_check)

    @rpc(expected_exceptions=EXPECTED)
    def withdraw_nomination(self, nomination_id, reason=""):
        reason = schemas.load(schemas.WithdrawReason, {"reason": reason})["reason"]
        return handlers.withdraw_nomination(str(nomination_id), reason, self.auth_token, self.uow, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def award_catalogue(self, on_date=None):
        return queries.award_catalogue(on_date, self.rules, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def issue_unit_token(self, unit_id, revoke_others=False):
        self.require_operator()
        request = schemas.load(schemas.UnitTokenRequest, {"unit_id": unit_id, "revoke_others": revoke_others})
        return handlers.issue_unit_token(request["unit_id"], self.uow, utcnow(), request["revoke_others"])

    # --- the award register (operator): decisions, imports, look-ups, revocation ----------------------

    @rpc(expected_exceptions=EXPECTED)
    def record_decision(self, decision):
        operator = self.require_operator()
        decision = schemas.load(schemas.DecisionRecord, decision)
        return decisions.record_decision(decision, operator, self.uow, self.rules, utcnow(), self.config.register_check)

    @rpc(expected_exceptions=EXPECTED)
    def close_not_awarded(self, request):
        operator = self.require_operator()
        return decisions.close_not_awarded(schemas.load(schemas.NotAwarded, request), operator, self.uow, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def pending_decisions(self):
        self.require_operator()
        return decisions.pending_decisions(self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def import_register(self, rows):
        operator = self.require_operator()
        rows = schemas.load(schemas.RegisterImport, {"rows": rows}, schemas.MAX_REGISTER_BYTES)["rows"]
        return register_ops.import_register(rows, operator, self.uow, self.rules, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def register_show(self, query):
        self.require_operator()
        return register_ops.show(schemas.load(schemas.RegisterQuery, query), self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def register_totals(self, award_year=None):
        self.require_operator()
        year = schemas.load(schemas.RegisterYear, {"award_year": award_year})["award_year"]
        return register_ops.totals(year, self.uow)

    @rpc(expected_exceptions=EXPECTED)
    def revoke_register_entry(self, revocation):
        operator = self.require_operator()
        revocation = schemas.load(schemas.Revocation, revocation)
        return register_ops.revoke(revocation, operator, self.uow, self.rules, utcnow(), self.config.register_check)

    @inbox_event_handler(contract.REVIEW, contract.NOMINATION_ADVANCED, batch=True)
    def on_nomination_advanced(self, payload):
        self._follow(contract.NOMINATION_ADVANCED, payload)

    @inbox_event_handler(contract.REVIEW, contract.NOMINATION_DECIDED, batch=True)
    def on_nomination_decided(self, payload):
        self._follow(contract.NOMINATION_DECIDED, payload)

    @inbox_event_handler(contract.REVIEW, contract.NOMINATION_RETURNED)
    def on_nomination_returned(self, payload):
        self._follow(contract.NOMINATION_RETURNED, payload)

    @inbox_event_handler(contract.REVIEW, contract.NOMINATIONS_ON_AGENDA)
    def on_nominations_on_agenda(self, payload):
        event = schemas.load(schemas.NominationsOnAgenda, payload, schemas.MAX_BALLOT_BYTES)
        handlers.follow_agenda(event, self.uow, self.rules, utcnow())

    # one nomination's agenda event, as a review before nominations_on_agenda sent them (an upgrade
    # may find some on the queue)
    @inbox_event_handler(contract.REVIEW, contract.NOMINATION_ON_AGENDA)
    def on_nomination_on_agenda(self, payload):
        event = schemas.load(schemas.NominationOnAgenda, payload)
        handlers.follow_agenda(handlers.as_agenda(event), self.uow, self.rules, utcnow())

    @inbox_event_handler(contract.REVIEW, contract.AMENDMENT_REFUSED)
    def on_amendment_refused(self, payload):
        event = schemas.load(schemas.AmendmentRefused, payload)
        handlers.follow_considered(contract.AMENDMENT_REFUSED, event, self.uow, self.rules, utcnow())

    @inbox_event_handler(contract.REVIEW, contract.PUBLIC_COMMENT_OPENED)
    def on_public_comment_opened(self, payload):
        event = schemas.load(schemas.PublicCommentOpened, payload)
        handlers.follow_considered(contract.PUBLIC_COMMENT_OPENED, event, self.uow, self.rules, utcnow())

    def _follow(self, event_type, payload):
        event = schemas.load(schemas.ReviewOutcome, payload)
        handlers.follow_review(event_type, event, self.uow, utcnow(), self.rules)
