"""Review of the hot statements built once with bound parameters: a mail's settlement sets what it is
given and filters by the claim's lease (bound as ``claimed_until``), on SQLite and PostgreSQL."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.notify.models import Mail, Mails, mails
from services.notify.service import MIGRATIONS
from shared.platform.db import insert_new
from shared.platform.outbox import utcnow
from tests.integration.delivery import Tables


@pytest.fixture
def notify(db_urls):
    tables = Tables(db_urls["notify"], MIGRATIONS)
    yield tables
    tables.dispose()


def queued(notify, key, lease_until):
    now = utcnow()
    mail = Mail(key=key, event_id="e", kind="k", recipient="r@example.org", recipient_name=None, subject="s",
                text="t", html="h", status="pending", attempts=0, next_attempt_at=lease_until, last_error=None,
                created_at=now, sent_at=None)
    with notify.sessions() as session, session.begin():
        insert_new(session, mails, **mail.row())
    return mail


def row(notify, key):
    with notify.engine.connect() as connection:
        return connection.execute(sa.select(mails).where(mails.c.key == key)).mappings().one()


def test_a_deferral_sets_next_attempt_at_and_matches_on_the_claims_lease(notify):
    lease = utcnow() + timedelta(minutes=5)
    mail, other = queued(notify, "a", lease), queued(notify, "b", lease)
    later = lease + timedelta(hours=1)
    with notify.engine.begin() as connection:
        assert Mails(connection).settle(mail, status="pending", attempts=1, next_attempt_at=later, last_error="busy")
        assert not Mails(connection).settle(mail, status="sent", attempts=2)  # its lease is no longer ``lease``
    got = row(notify, "a")
    assert (got["status"], got["attempts"], got["last_error"]) == ("pending", 1, "busy")
    assert abs(got["next_attempt_at"].replace(tzinfo=None) - later.replace(tzinfo=None)) < timedelta(seconds=1)
    assert row(notify, "b")["attempts"] == 0  # the other mail is untouched


def test_a_misspelled_column_is_refused_as_before(notify):
    """``sa.update(...).values(**values)`` refused a key that names no column (``Unconsumed column
    names``); the prebuilt statement takes its SET clause from whatever parameters match a column, so
    ``settle`` checks the names itself rather than drop a misspelled one and say it recorded the outcome."""
    mail = queued(notify, "c", utcnow())
    with notify.engine.begin() as connection:
        with pytest.raises(TypeError, match="sent_att"):
            Mails(connection).settle(mail, status="sent", attempts=1, sent_att=utcnow())
    assert row(notify, "c")["status"] == "pending"
