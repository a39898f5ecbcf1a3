"""Found while attacking c96fd86, older than it and not fixed: an amendment that crossed the agenda and
reaches review only after the case was returned is taken by review, though intake undid it.

A council held revision 1 (``nominations_on_agenda``); the unit amended to revision 2 before intake heard
of the agenda (a crossing amendment, which review answers with ``amendment_refused`` while a council
holds the case); the sitting did not decide it (no quorum: back to waiting) and the operator returned it.
Intake handles the agenda first and goes back to revision 1, then the return of revision 1: ``returned``
1. Review handles amendment 2 (late on its own queue) after the return: a returned case takes an
amendment, so it waits with revision 2, which intake no longer has; the unit's next amendment is again
revision 2 at intake, old news to review. The README's "a return of revision N that crossed amendment N+1
is only noted in intake" covers intake hearing of the return before the agenda, not after. The same
happens after a revocation's return of such a case (see test_attack9_revocation_revisions.py).
"""
import pytest
import sqlalchemy as sa

from services.intake import handlers as intake
from services.intake.models import nominations
from services.intake.service import _load_nomination
from services.review import handlers as review
from services.review.models import cases
from shared.contract import schemas
from shared.platform.outbox import utcnow
from tests.integration.intake_support import RULES
from tests.integration.test_attack9_revocation_revisions import act, outbox, services, to_intake, to_review  # noqa: F401


@pytest.mark.xfail(strict=True, reason="known gap, older than c96fd86: a returned case takes a crossing amendment")
def test_an_amendment_that_crossed_the_agenda_and_comes_after_the_return_leaves_both_on_one_revision(services):
    intakes, reviews = services
    nomination_id = act(intakes, ["submit"])
    [submission] = outbox(intakes, ["nomination_submitted"])
    to_review(reviews, submission)
    with reviews.engine.begin() as connection:  # a council held it, and sent it back to wait (no quorum)
        connection.execute(sa.update(cases).values(state="waiting", considered=True))
    token = intake.issue_unit_token("vp", intakes.uow(), utcnow())
    intake.amend_nomination(nomination_id, {"achievements": "Sửa"}, token, intakes.uow(), RULES, _load_nomination,
                            utcnow())
    review.return_nomination(nomination_id, ["Thiếu bản thành tích"], reviews.uow())
    payload = submission["payload"]
    agenda = {"sitting_id": "s-1", "council_id": "c-1", "stage": "unit", "items": [
        {"nomination_id": nomination_id, "unit_id": "vp", "award_code": payload["award_code"],
         "award_year": payload["award_year"], "revision": 1}]}
    intake.follow_agenda(schemas.load(schemas.NominationsOnAgenda, agenda), intakes.uow("on_agenda", "a-1"), RULES,
                         utcnow())
    for row in outbox(reviews, ["nomination_returned"]):
        to_intake(intakes, row)
    to_review(reviews, outbox(intakes, ["nomination_amended"])[0])
    with intakes.engine.connect() as connection:
        ours = tuple(connection.execute(sa.select(nominations.c.status, nominations.c.revision)).one())
    with reviews.engine.connect() as connection:
        theirs = tuple(connection.execute(sa.select(cases.c.state, cases.c.revision)).one())
    assert (ours, theirs) in ((("returned", 1), ("returned", 1)), (("submitted", 2), ("waiting", 2)))
