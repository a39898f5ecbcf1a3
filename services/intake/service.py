"""Nameko entrypoints of intake: load the payload, call one handler, return its result."""
from pathlib import Path

from nameko.contextdata import AuthToken
from nameko.rpc import rpc

from services.intake import handlers
from shared import schemas
from shared.contract import INTAKE
from shared.errors import EXPECTED
from shared.outbox import utcnow
from shared.store import Store


MIGRATIONS = Path(__file__).parent / "migrations"


class IntakeService:
    name = INTAKE
    uow = Store(INTAKE, MIGRATIONS)
    auth_token = AuthToken()  # Nameko context data "auth_token"

    @rpc(expected_exceptions=EXPECTED)
    def submit_nomination(self, nomination):
        body = schemas.load(schemas.NominationSchema(), nomination)
        return handlers.submit_nomination(body, self.auth_token, self.uow, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def get_nomination(self, nomination_id):
        return handlers.get_nomination(str(nomination_id), self.auth_token, self.uow)

