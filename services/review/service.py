"""Nameko entrypoints of review: load the payload, call one handler, return its result."""
from pathlib import Path

from nameko.rpc import rpc

from services.review import handlers
from shared import contract, schemas
from shared.auth import OperatorOnly
from shared.errors import EXPECTED
from shared.messaging import inbox_event_handler
from shared.outbox import utcnow
from shared.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"


class ReviewService:
    name = contract.REVIEW
    uow = Store(contract.REVIEW, MIGRATIONS)
    require_operator = OperatorOnly()

    @inbox_event_handler(contract.INTAKE, contract.NOMINATION_SUBMITTED)
    def on_nomination_submitted(self, payload):
        event = schemas.load(schemas.NominationSubmitted(), payload)
        handlers.record_submission(event, self.uow, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def get_case(self, nomination_id):
        self.require_operator()
        return handlers.get_case(str(nomination_id), self.uow)
