"""Attack on c96fd86 that held: a revocation's return kept before its submission, with two review
instances at once (PostgreSQL, the nomination's advisory lock; interleavings forced without sleeps), a
transaction that rolls back mid-way, and the submission handler's batches (one transaction for several
submissions, one of them with a kept return, a duplicate inside the batch, a batch that fails and whose
deliveries are handled again alone). Kept as regression tests: each ends with one case, returned, one
``nomination_returned``, and no early event left over. And the return that waits for its amendment
(the revocation re-checked revision 2, the case holds 1) handled at the same moment as that amendment."""
import pytest
import sqlalchemy as sa

from services.review import early, handlers
from services.review.models import cases
from services.review.repository import Reviews
from services.review.service import MIGRATIONS
from shared.contract import schemas
from shared.platform import messaging
from shared.platform.outbox import utcnow
from tests.integration.conftest import migrated
from tests.integration.delivery import end_after_the_other_waits
from tests.integration.review_support import submitted
from tests.integration.test_attack8_revocation_before_submission import deliver, returns_announced, revoked


@pytest.fixture
def review_db(db_urls):
    yield from migrated(db_urls["review"], MIGRATIONS)


def states(tables):
    with tables.engine.connect() as connection:
        return dict(connection.execute(sa.select(cases.c.nomination_id, cases.c.state)).all())


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("held_first", ["revocation", "submission"])
@pytest.mark.parametrize("commit", [True, False], ids=["commits", "rolls-back"])
def test_a_revocation_and_the_submission_it_lists_at_the_same_moment(review_db, held_first, commit):
    """The transaction held open took the nomination's lock; the other waits for it, then sees its
    effect (or, when it rolled back, nothing of it: that delivery comes again and is handled then)."""
    with review_db.sessions() as held:
        if held_first == "revocation":
            repo = Reviews(held)
            repo.lock_nomination("n-live")
            early.keep_return(repo, "n-live", 1, [
                {"code": "register_entry_revoked", "message": "CSTDCS", "revision": 1, "reasons": ["CSTDCS"]}])
            other = lambda: deliver(review_db, "nomination_submitted", submitted("n-live", "CSTD_BO"))  # noqa: E731
        else:
            early.admit(Reviews(held), schemas.load(schemas.NominationSubmitted, submitted("n-live", "CSTD_BO")),
                        utcnow())
            other = lambda: deliver(review_db, "register_entry_revoked", revoked(1))  # noqa: E731
        end_after_the_other_waits(review_db.engine, held, other, commit=commit, must_wait=True)
    if not commit:  # the held delivery is redelivered
        if held_first == "revocation":
            deliver(review_db, "register_entry_revoked", revoked(1))
        else:
            deliver(review_db, "nomination_submitted", submitted("n-live", "CSTD_BO"))
    assert states(review_db) == {"n-live": "returned"}
    assert len(returns_announced(review_db)) == 1 and review_db.count("early_events") == 0


def batch_of(tables, payloads):
    uow = tables.uow("on_nomination_submitted")
    uow.batched = True
    batch = messaging.Batch([messaging.BatchItem(payload, message_id, []) for message_id, payload in payloads])
    batch.uow, batch.call_id = uow, "call-1"
    return batch, uow


def test_a_batch_of_submissions_one_with_a_kept_return_and_a_duplicate(review_db):
    deliver(review_db, "register_entry_revoked", revoked(1, nomination_id="n-b"))
    subs = {n: submitted(n, "CSTD_BO") for n in ("n-a", "n-b", "n-c")}
    batch, uow = batch_of(review_db, [("m-a", subs["n-a"]), ("m-b", subs["n-b"]), ("m-c", subs["n-c"]),
                                      ("m-b", subs["n-b"])])
    batch.run(lambda p: handlers.record_submission(schemas.load(schemas.NominationSubmitted, p), uow, utcnow()))
    assert states(review_db) == {"n-a": "waiting", "n-b": "returned", "n-c": "waiting"}
    assert [p["nomination_id"] for p in returns_announced(review_db)] == ["n-b"]
    assert review_db.count("early_events") == 0


def test_a_batch_that_fails_after_taking_a_kept_return_leaves_it_kept(review_db):
    deliver(review_db, "register_entry_revoked", revoked(1, nomination_id="n-b"))
    subs = [("m-a", submitted("n-a", "CSTD_BO")), ("m-b", submitted("n-b", "CSTD_BO")), ("m-x", {"malformed": 1})]
    batch, uow = batch_of(review_db, subs)
    with pytest.raises(Exception):
        batch.run(lambda p: handlers.record_submission(schemas.load(schemas.NominationSubmitted, p), uow, utcnow()))
    assert (review_db.count("early_events"), review_db.count("cases"), returns_announced(review_db)) == (1, 0, [])
    for message_id, payload in subs[:2]:  # each delivery of the failed batch, alone
        handlers.record_submission(schemas.load(schemas.NominationSubmitted, payload),
                                   review_db.uow("on_nomination_submitted", message_id), utcnow())
    assert states(review_db) == {"n-a": "waiting", "n-b": "returned"}
    assert [p["nomination_id"] for p in returns_announced(review_db)] == ["n-b"]


class Held:
    """A handler's unit of work whose transaction stays open after the handler returns (its commit and
    the rollback at the end of its block put off), holding its locks, until :meth:`commit`."""

    def __init__(self, tables, consumer):
        self.uow = tables.uow(consumer, f"{consumer}-held")
        self.uow.commit = lambda: None
        self.uow.session.rollback = lambda: None

    def commit(self):
        del self.uow.session.rollback
        self.uow._commit_now()
        self.uow.session.close()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("held_first", ["revocation", "amendment"])
def test_a_revocation_of_revision_2_and_amendment_2_at_the_same_moment(review_db, held_first):
    """The case waits with revision 1; one instance handles the revocation (intake re-checked revision 2),
    the other amendment 2, at once: either way the case ends returned with revision 2, and the return is
    announced once, of revision 2."""
    from services.review import register
    from tests.integration.test_attack8_revocation_before_submission import amended

    deliver(review_db, "nomination_submitted", submitted("n-live", "CSTD_BO"))
    held = Held(review_db, f"on_{held_first}")
    if held_first == "revocation":
        register.return_after_revocation(schemas.load(schemas.RegisterEntryRevoked, revoked(2)), held.uow)
        other = lambda: deliver(review_db, "nomination_amended", amended(2, "Tên mới"))  # noqa: E731
    else:
        handlers.record_amendment(schemas.load(schemas.NominationAmended, amended(2, "Tên mới")), held.uow)
        other = lambda: deliver(review_db, "register_entry_revoked", revoked(2))  # noqa: E731
    end_after_the_other_waits(review_db.engine, held, other, must_wait=True)
    with review_db.engine.connect() as connection:
        case = connection.execute(sa.select(cases.c.state, cases.c.revision)).one()
    assert tuple(case) == ("returned", 2)
    assert [p["revision"] for p in returns_announced(review_db)] == [2]
