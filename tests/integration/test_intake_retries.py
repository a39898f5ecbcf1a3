"""A clerk's retry that overlaps the first submission, on the real handlers (SQLite and PostgreSQL).

The retry reads the submission key before the first call has committed, and the first call commits
before the retry writes: the retry must still answer the first receipt, whether or not the nomination
relies on an initiative (issue #21, finding 8).
"""
import copy

import eventlet
import eventlet.event
import pytest
import sqlalchemy as sa

from services.intake import handlers
from services.intake.models import Nominations
from services.intake.service import MIGRATIONS, _load_nomination
from shared.platform.outbox import utcnow
from shared.platform.rules import load_rules
from shared.platform.store import UnitOfWork
from tests.harness import wait_until
from tests.integration.conftest import EXAMPLE
from tests.integration.delivery import Tables

INITIATIVE = {"id": "SK-7", "title": "Số hoá hồ sơ", "scope": "co_so"}
CERTIFICATE = {"kind": "xac_nhan_sang_kien", "filename": "sk.pdf", "sha256": "a" * 64, "size": 1000}


@pytest.fixture
def tables(db_urls):
    """Two connections to intake's database, as two intake workers (or instances) have."""
    pair = Tables(db_urls["intake"], MIGRATIONS), Tables(db_urls["intake"], MIGRATIONS)
    yield pair
    for tables in pair:
        tables.dispose()


def cstdcs_with_initiative():
    body = copy.deepcopy(EXAMPLE)
    body.update(award_code="CSTDCS", documents=[*body["documents"], CERTIFICATE],
                history=[{"year": 2025, "rating": "HTTNV", "titles": [], "initiatives": [INITIATIVE],
                          "disciplined": False}])
    return body


def overlapping_submissions(tables, monkeypatch, body):
    """The retry is about to insert under its key when the first call commits; the retry goes on."""
    retrying, committing = tables
    rules, token = load_rules(None), handlers.issue_unit_token("vp", retrying.uow(), utcnow())
    body = _load_nomination(body)
    add, first = Nominations.add_reading, {}

    def let_the_first_commit_then_add(self, nomination, *args, **kwargs):
        if not first:
            first["receipt"] = "running"
            first["receipt"] = handlers.submit_nomination(body, token, committing.uow(), rules, utcnow())
        return add(self, nomination, *args, **kwargs)

    monkeypatch.setattr(Nominations, "add_reading", let_the_first_commit_then_add)
    retry = handlers.submit_nomination(body, token, retrying.uow(), rules, utcnow())
    return first["receipt"], retry


@pytest.mark.parametrize("body", [EXAMPLE, cstdcs_with_initiative()], ids=["plain", "with_initiative"])
def test_a_retry_overlapping_the_first_submission_answers_its_receipt_as_a_duplicate(tables, monkeypatch, body):
    first, retry = overlapping_submissions(tables, monkeypatch, body)
    assert first["duplicate"] is False
    assert retry == {**first, "duplicate": True}
    assert tables[0].count("nominations") == 1 and tables[0].count("outbox") == 1


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("body", [EXAMPLE, cstdcs_with_initiative()], ids=["plain", "with_initiative"])
def test_a_retry_waiting_on_the_first_submissions_commit_answers_its_receipt(tables, monkeypatch, body):
    """Truly concurrent on PostgreSQL: the first call has written everything and is about to commit when
    the retry runs; the retry waits on the first call's row lock, then answers the first receipt."""
    first_tables, retry_tables = tables
    rules, token = load_rules(None), handlers.issue_unit_token("vp", first_tables.uow(), utcnow())
    body = _load_nomination(body)
    release, commit = eventlet.event.Event(), UnitOfWork.commit
    paused = []

    def commit_when_released(self):
        if not paused:
            paused.append(self)
            release.wait()
        return commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", commit_when_released)
    first = eventlet.spawn(handlers.submit_nomination, body, token, first_tables.uow(), rules, utcnow())
    wait_until(lambda: paused, what="the first call to reach its commit")
    retry = eventlet.spawn(handlers.submit_nomination, body, token, retry_tables.uow(), rules, utcnow())
    wait_until(lambda: _waiting_on_a_lock(first_tables), what="the retry to wait on the first call's lock")
    release.send()
    receipt = first.wait()
    assert retry.wait() == {**receipt, "duplicate": True}
    assert first_tables.count("nominations") == 1


def _waiting_on_a_lock(tables):
    with tables.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar() > 0
