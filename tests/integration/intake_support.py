"""Intake's handlers called directly, as the tests on ``intake_db`` (conftest) call them: a nomination
of the example dossier under a submission key, and its submission with a unit's token."""
import copy

from services.intake import handlers
from services.intake.service import _load_nomination
from shared.platform.outbox import utcnow
from shared.platform.rules import load_rules
from tests.integration.conftest import EXAMPLE

RULES = load_rules(None)


def body(key="k-1", **changes):
    """The example dossier under ``key`` with ``changes``, loaded as the entrypoint loads it."""
    return _load_nomination({**copy.deepcopy(EXAMPLE), "submission_key": key, **changes})


def submit(tables, token, nomination):
    return handlers.submit_nomination(nomination, token, tables.uow(), RULES, utcnow())
