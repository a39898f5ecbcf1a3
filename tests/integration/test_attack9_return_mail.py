"""Attack on c96fd86 (and the register's return path before it): the mail of a revocation's return.

Review's other returns name the nominee and the unit for notify (``handlers.send_back``: ``nominee_name``,
``unit_name``); a revocation's did not, so its mail (one to the unit, one to the person, the only word
the unit gets that its dossier is back with it) was titled by the nomination's 32-hex id and called the
person "the nominee", in the usual order and when the return was kept before the submission alike.
"""
import pytest
import sqlalchemy as sa

from services.notify import kinds
from services.review.models import units
from services.review.service import MIGRATIONS
from shared.contract import schemas
from tests.integration.conftest import migrated
from tests.integration.test_attack8_revocation_before_submission import SUBMITTED, deliver, returns_announced, revoked


@pytest.fixture
def review_db(db_urls):
    yield from migrated(db_urls["review"], MIGRATIONS)


@pytest.mark.parametrize("revocation_first", [False, True], ids=["usual-order", "kept-before-the-submission"])
def test_a_revocations_return_names_the_nominee_and_the_unit_for_its_mail(review_db, revocation_first):
    with review_db.engine.begin() as connection:
        connection.execute(sa.insert(units).values(id="vp", name="Văn phòng Bộ", email=None, parent=None))
    events = [("register_entry_revoked", revoked(1)), SUBMITTED]
    for event_type, payload in (events if revocation_first else events[::-1]):
        deliver(review_db, event_type, payload)
    [announced] = returns_announced(review_db)
    assert (announced.get("nominee_name"), announced.get("unit_name")) == ("Người n-live", "Văn phòng Bộ")
    event = schemas.load(schemas.ReviewOutcome, announced)
    [to_unit, to_person] = kinds.outcome("nomination_returned", event, "e-1")
    assert to_unit.context["nominee_name"] == "Người n-live" and to_unit.context["unit_name"] == "Văn phòng Bộ"
