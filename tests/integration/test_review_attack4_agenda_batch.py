"""Attack on 9a65b3e (one ``nominations_on_agenda`` a sitting): intake's ``follow_agenda`` called directly
on SQLite and PostgreSQL, against the other steps of a nomination's life, a failing database, a row
held by a crossing amendment, and hostile bodies.

Long because each finding of the attack is a scenario built step by step, on both backends."""
import copy
import uuid

import pytest
import sqlalchemy as sa

from services.intake import domain, handlers
from services.intake.models import Nominations, initiative_uses
from services.intake.service import _load_nomination
from shared import contract
from shared.contract import schemas
from shared.contract.errors import Conflict, ValidationError
from shared.platform.outbox import utcnow
from tests.integration.conftest import EXAMPLE
from tests.integration.delivery import end_after_the_other_waits, statements_of
from tests.integration.intake_support import RULES, body, submit

BOTH = pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
POSTGRESQL = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


def person(employee_id, **nominee):
    return {**copy.deepcopy(EXAMPLE["nominee"]), "employee_id": employee_id, "full_name": f"Người {employee_id}",
            **nominee}


def with_initiatives(*ids, year=2025):
    """A history whose award year is rated HTTNV (so CSTDCS needs an initiative) with ``ids``."""
    return [{"year": year, "rating": "HTTNV", "titles": [], "disciplined": False,
             "initiatives": [{"id": i, "title": f"Sáng kiến {i}", "scope": "co_so"} for i in ids]}]


CERTIFIED = [*EXAMPLE["documents"], {"kind": "xac_nhan_sang_kien", "filename": "sk.pdf", "sha256": "7" * 64,
                                     "size": 1024}]


def agenda(sitting_id, *items, stage="unit"):
    """``items``: (nomination_id, award_code, revision)."""
    return {"sitting_id": sitting_id, "council_id": "hd-vp", "stage": stage, "items": [
        {"nomination_id": n, "unit_id": "vp", "award_code": code, "award_year": 2025, "revision": revision}
        for n, code, revision in items]}


def follow_agenda(tables, event, message_id=None):
    """As intake's entrypoint: the event through its schema, then the handler, as one delivery."""
    loaded = schemas.load(schemas.NominationsOnAgenda, event, schemas.MAX_BALLOT_BYTES)
    handlers.follow_agenda(loaded, tables.uow("on_nominations_on_agenda", message_id or str(uuid.uuid4())), RULES,
                           utcnow())


def follow(tables, event_type, event, message_id=None):
    handlers.follow_review(event_type, event, tables.uow(f"on_{event_type}", message_id or str(uuid.uuid4())),
                           utcnow(), RULES)


def stored(tables, nomination_id) -> domain.Nomination:
    with tables.sessions() as session:
        return Nominations(session).get(nomination_id)


def amend(tables, token, nomination_id, changes):
    return handlers.amend_nomination(nomination_id, changes, token, tables.uow(), RULES, _load_nomination, utcnow())


def held_initiatives(tables) -> dict:
    with tables.engine.connect() as connection:
        return {row.initiative_id: row.nomination_id for row in connection.execute(sa.select(initiative_uses))}


@pytest.fixture
def token(intake_db):
    return handlers.issue_unit_token("vp", intake_db.uow(), utcnow())


# --- interleavings -------------------------------------------------------------------------------------------

@BOTH
def test_an_agenda_event_overtaken_by_a_return_of_the_same_revision_leaves_the_nomination_returned(intake_db, token):
    """Sitting s-1 took revision 1 but closed without quorum: the case waits again, and the operator
    returns it (``review.return_nomination`` takes a waiting case). Review: ``returned``, waiting for
    the unit's amendment. The agenda event of s-1 failed its first delivery (one bad moment of the
    database for a whole sitting's batch) and comes back from the retry queue after the return: it is
    old news. Intake must stay ``returned`` and take the amendment review waits for; otherwise intake
    says ``in_review`` and refuses every amendment while review waits for one, for ever."""
    nomination_id = submit(intake_db, token, body("k-1", award_code="CSTDCS"))["nomination_id"]
    follow(intake_db, contract.NOMINATION_RETURNED, {
        "nomination_id": nomination_id, "unit_id": "vp", "stage": "unit", "reasons": ["bổ sung"],
        "award_code": "CSTDCS", "award_year": 2025, "revision": 1})
    follow_agenda(intake_db, agenda("s-1", (nomination_id, "CSTDCS", 1)))  # late: before the return in review

    after = stored(intake_db, nomination_id)
    assert after.status == "returned", [(e.get("event"), e.get("status")) for e in after.history]
    amend(intake_db, token, nomination_id, {"achievements": "Đã bổ sung."})  # what review waits for


@BOTH
def test_a_second_delivery_of_the_agenda_after_the_outcome_changes_nothing(intake_db, token):
    """Guard: the same message again (an unacknowledged delivery redelivered) after the sitting's decision."""
    nomination_id = submit(intake_db, token, body("k-1", award_code="CSTDCS"))["nomination_id"]
    event = agenda("s-1", (nomination_id, "CSTDCS", 1))
    follow_agenda(intake_db, event, "agenda-1")
    follow(intake_db, contract.NOMINATION_DECIDED, {
        "nomination_id": nomination_id, "outcome": "rejected", "stage": "unit", "reasons": [], "sitting_id": "s-1",
        "award_code": "CSTDCS", "award_year": 2025, "revision": 1})
    before = stored(intake_db, nomination_id)
    follow_agenda(intake_db, event, "agenda-1")
    follow_agenda(intake_db, event, "agenda-1-copy")  # another copy with another id: old news too
    after = stored(intake_db, nomination_id)
    assert (after.status, after.history) == ("rejected", before.history)


@BOTH
def test_two_agendas_naming_overlapping_nominations_each_note_their_sitting_once(intake_db, token):
    """Guard: a unit sitting's agenda and, once advanced, the ministry's, for overlapping nominations."""
    first = submit(intake_db, token, body("k-1", award_code="CSTDCS"))["nomination_id"]
    second = submit(intake_db, token, body("k-2", nominee=person("VP-0043")))["nomination_id"]
    follow_agenda(intake_db, agenda("s-1", (first, "CSTDCS", 1), (second, "LDTT", 1)))
    follow(intake_db, contract.NOMINATION_ADVANCED, {
        "nomination_id": first, "outcome": "proposed", "stage": "ministry", "reasons": [], "sitting_id": "s-1",
        "award_code": "CSTDCS", "award_year": 2025, "revision": 1})
    follow_agenda(intake_db, agenda("s-2", (first, "CSTDCS", 1), stage="ministry"))
    one, two = stored(intake_db, first), stored(intake_db, second)
    assert (one.status, one.stage, two.status, two.stage) == ("in_review", "ministry", "in_review", "unit")
    assert [e["sitting_id"] for e in one.history if e.get("event") == "nomination_on_agenda"] == ["s-1", "s-2"]


# --- one transaction ---------------------------------------------------------------------------------------

def _fail_on_update_of(engine, nomination_id):
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(sa.text(
                f"CREATE TRIGGER refuse_one BEFORE UPDATE ON nominations WHEN old.id = '{nomination_id}' "
                "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"))
        else:
            connection.execute(sa.text(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF old.id = '{nomination_id}' THEN RAISE EXCEPTION 'the disk is full'; END IF; RETURN new; END $$"))
            connection.execute(sa.text("CREATE TRIGGER refuse_one BEFORE UPDATE ON nominations "
                                       "FOR EACH ROW EXECUTE FUNCTION refuse_one()"))


def _stop_failing(engine):
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER refuse_one" if engine.dialect.name == "sqlite"
                                   else "DROP TRIGGER refuse_one ON nominations"))


@BOTH
def test_a_database_failure_on_the_last_row_of_the_batch_leaves_nothing_half_applied_and_the_retry_applies_all(
        intake_db, token):
    """Guard: the save of the last row fails after a crossing amendment's claims were re-taken: the whole
    batch rolls back (nominations, initiative claims, inbox row), and the same message again applies it."""
    crossed = submit(intake_db, token, body("k-1", award_code="CSTDCS", history=with_initiatives("SK-1"), documents=CERTIFIED))[
        "nomination_id"]
    amend(intake_db, token, crossed, {"award_code": "CSTDCS", "history": with_initiatives("SK-2")})  # crossing
    plain = submit(intake_db, token, body("k-2", nominee=person("VP-0043")))["nomination_id"]
    last = max(crossed, plain)
    event = agenda("s-1", (crossed, "CSTDCS", 1), (plain, "LDTT", 1))
    before = {n: stored(intake_db, n) for n in (crossed, plain)}
    claims = held_initiatives(intake_db)
    assert claims == {"SK-2": crossed}

    _fail_on_update_of(intake_db.engine, last)
    with pytest.raises(sa.exc.DBAPIError):
        follow_agenda(intake_db, event, "agenda-1")
    assert {n: stored(intake_db, n) for n in (crossed, plain)} == before
    assert held_initiatives(intake_db) == claims
    assert intake_db.count("inbox") == 0

    _stop_failing(intake_db.engine)
    follow_agenda(intake_db, event, "agenda-1")  # the retry
    one, two = stored(intake_db, crossed), stored(intake_db, plain)
    assert (one.revision, one.status, two.status) == (1, "in_review", "in_review")
    assert held_initiatives(intake_db) == {"SK-1": crossed}


@POSTGRESQL
def test_an_agenda_waiting_on_a_crossing_amendments_row_lock_undoes_it_once_it_commits(intake_db, token):
    """Guard: the amendment holds its row (uncommitted) while the batch takes the rows in id order: the
    batch waits, then reads the amended row (revision 2) and restores the revision on the agenda, its
    initiative claims with it; the rows before and after it in id order are followed too."""
    ids = [submit(intake_db, token, body(f"k-{i}", nominee=person(f"VP-{i:04d}"), award_code="CSTDCS",
                                         history=with_initiatives(f"SK-{i}A"), documents=CERTIFIED))["nomination_id"] for i in range(5)]
    ordered = sorted(ids)
    crossed = ordered[2]  # rows on both sides of it
    session = intake_db.sessions()
    nomination = Nominations(session).get(crossed, for_update=True)
    domain.amend(nomination, _load_nomination({**nomination.body, "history": with_initiatives(f"SK-{ids.index(crossed)}B")}),
                 utcnow())
    Nominations(session).save(nomination)
    person_key = domain.person_key("vp", nomination.nominee)
    session.execute(sa.delete(initiative_uses).where(initiative_uses.c.nomination_id == crossed))
    session.execute(sa.insert(initiative_uses).values(person_key=person_key, initiative_id=f"SK-{ids.index(crossed)}B",
                                                      nomination_id=crossed))
    event = agenda("s-1", *((n, "CSTDCS", 1) for n in ids))
    end_after_the_other_waits(intake_db.engine, session, lambda: follow_agenda(intake_db, event), must_wait=True)
    session.close()
    after = {n: stored(intake_db, n) for n in ids}
    assert all(n.status == "in_review" and n.revision == 1 for n in after.values()), {
        n: (v.status, v.revision) for n, v in after.items()}
    assert held_initiatives(intake_db) == {f"SK-{i}A": n for i, n in enumerate(ids)}


@POSTGRESQL
def test_the_batch_and_a_head_decision_on_overlapping_nominations_do_not_deadlock(intake_db, token):
    """Guard: ``record_decision`` locks its nominations one by one in sorted order; the batch holds the
    lowest of them and waits for the decision's last; the decision finishes, then the batch."""
    from datetime import date

    from services.intake import decisions

    ids = sorted(submit(intake_db, token, body(f"k-{i}", nominee=person(f"VP-{i:04d}")))["nomination_id"]
                 for i in range(4))
    decided = ids[1:]
    for n in decided:
        follow(intake_db, contract.NOMINATION_DECIDED, {
            "nomination_id": n, "outcome": "approved", "stage": "unit", "reasons": [], "sitting_id": "s-0",
            "award_code": "LDTT", "award_year": 2025, "revision": 1})
    session = intake_db.sessions()
    Nominations(session).get(ids[-1], for_update=True)  # the decision's last row, held
    outcome = {}

    def decide():
        outcome["decision"] = decisions.record_decision(
            {"nomination_ids": decided, "number": "12/QĐ", "date": date(2026, 1, 5), "signer": "Giám đốc"},
            "op", intake_db.uow(), RULES, utcnow())

    import eventlet
    from tests.harness import wait_until
    from tests.integration.delivery import wait_for_a_lock_wait

    decider = eventlet.spawn(decide)
    wait_for_a_lock_wait(intake_db.engine, decider)
    batch = eventlet.spawn(follow_agenda, intake_db, agenda("s-1", *((n, "LDTT", 1) for n in ids)))
    wait_until(lambda: batch.dead or _lock_waits(intake_db.engine) >= 2, what="the batch to wait too")
    session.commit()
    session.close()
    decider.wait()
    batch.wait()
    assert stored(intake_db, ids[0]).status == "in_review"
    assert all(stored(intake_db, n).status == "awarded" for n in decided)


def _lock_waits(engine) -> int:
    from tests.integration.delivery import LOCK_WAITS

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        return watcher.execute(LOCK_WAITS).scalar()


# --- statements ----------------------------------------------------------------------------------------------

@BOTH
def test_an_agenda_of_many_nominations_costs_a_fixed_number_of_statements(intake_db, token):
    """Guard: the claim with the locking read (one statement on PostgreSQL, two on SQLite) and one
    executemany, whatever the number of nominations without a crossing amendment."""
    ids = [submit(intake_db, token, body(f"k-{i}", nominee=person(f"VP-{i:04d}")))["nomination_id"]
           for i in range(30)]
    event = agenda("s-1", *((n, "LDTT", 1) for n in ids), *((f"n-ghost-{i}", "LDTT", 1) for i in range(30)))
    sent = statements_of(intake_db.engine, lambda: follow_agenda(intake_db, event))
    expected = 2 if intake_db.engine.dialect.name == "postgresql" else 3
    assert len(sent) == expected, [s.split("\n")[0][:80] for s in sent]
    assert all(stored(intake_db, n).status == "in_review" for n in ids)


# --- hostile bodies ------------------------------------------------------------------------------------------

@BOTH
def test_an_agenda_at_the_limit_of_items_is_followed_and_one_more_is_refused(intake_db, token):
    """Guard: MAX_AGENDA items (the longest ids) in one IN list on both backends; MAX_AGENDA + 1 refused."""
    real = submit(intake_db, token, body("k-1"))["nomination_id"]
    ghosts = [(f"{i:064d}", "LDTT", 1) for i in range(schemas.MAX_AGENDA - 1)]
    event = agenda("s" * 64, (real, "LDTT", 1), *ghosts)
    follow_agenda(intake_db, event)
    assert stored(intake_db, real).status == "in_review"
    event["items"].append({**event["items"][1], "nomination_id": "x" * 64})
    with pytest.raises(ValidationError):
        follow_agenda(intake_db, event)


@BOTH
@pytest.mark.parametrize("change", [
    lambda item: item.update(revision="1"),
    lambda item: item.update(revision=True),
    lambda item: item.update(revision=0),
    lambda item: item.update(award_year=None),
    lambda item: item.update(unit_id=None),
    lambda item: item.update(nomination_id=7),
    lambda item: item.update(extra="x"),
], ids=["revision-text", "revision-bool", "revision-0", "year-null", "unit-null", "id-number", "unknown-field"])
def test_a_hostile_item_refuses_the_whole_event(intake_db, token, change):
    """Guard: one bad item and nothing of the event is taken."""
    nomination_id = submit(intake_db, token, body("k-1"))["nomination_id"]
    event = agenda("s-1", (nomination_id, "LDTT", 1), ("n-other", "LDTT", 1))
    change(event["items"][1])
    with pytest.raises(ValidationError):
        follow_agenda(intake_db, event)
    assert stored(intake_db, nomination_id).status == "submitted"


@BOTH
def test_an_agenda_stage_the_schema_takes_fits_the_nominations_stage_column(intake_db, token):
    """base.py: "what passes here fits its column". ``NominationsOnAgenda.stage`` takes 32 characters;
    ``nominations.stage`` is ``VARCHAR(16)``. On PostgreSQL the batch fails with a DataError (retried
    MAX_ATTEMPTS times, then dead-lettered as "failed", for the whole sitting), on SQLite the 20
    characters are stored as the nomination's stage. It should be refused at the edge (ValidationError:
    dead-lettered at once, as invalid)."""
    nomination_id = submit(intake_db, token, body("k-1"))["nomination_id"]
    event = agenda("s-1", (nomination_id, "LDTT", 1), stage="x" * 20)
    try:
        follow_agenda(intake_db, event)
    except ValidationError:
        return  # refused at the edge: what should happen
    assert len(stored(intake_db, nomination_id).stage) <= 16


@BOTH
def test_an_item_naming_another_units_nomination_does_not_change_it(intake_db, token):
    """The item says ``unit_id`` "vp"; the nomination intake holds under that id is tccb's. Intake follows
    it anyway (the unit id of an item is never compared), closing amendments of a nomination no council
    of vp took. Expected: an item whose unit differs from the stored nomination's is passed over."""
    other = handlers.issue_unit_token("tccb", intake_db.uow(), utcnow())
    theirs = submit(intake_db, other, body("k-1", contact_email="tccb@example.vn"))["nomination_id"]
    follow_agenda(intake_db, agenda("s-1", (theirs, "LDTT", 1)))
    assert stored(intake_db, theirs).status == "submitted"


# --- initiatives ---------------------------------------------------------------------------------------------

@BOTH
def test_crossing_amendments_of_one_person_that_swapped_an_initiative_each_get_their_voted_initiative_back(
        intake_db, token):
    """Two nominations of one person, each amended across the agenda: A (rev 1 on SK-1) moved to SK-2,
    after B (rev 1 on SK-2) had moved to SK-3. The council took both first revisions: A on SK-1, B on
    SK-2, no conflict between them. The batch follows the items in the event's order; with B before A,
    B's re-claim finds SK-2 still held by A (not yet released), claims nothing, and A then releases SK-2:
    B's voted dossier relies on SK-2, which nobody holds (another nomination of the person may take it:
    one achievement, two awards). In one transaction the batch can release every crossing item's
    claims before taking any."""
    a = submit(intake_db, token, body("k-a", award_code="CSTDCS", history=with_initiatives("SK-1", "SK-2", "SK-3"),
                                      achievements="A", documents=CERTIFIED))["nomination_id"]
    assert held_initiatives(intake_db) == {"SK-1": a}
    b = submit(intake_db, token, body("k-b", award_code="CSTDCS", history=with_initiatives("SK-2"),
                                      achievements="B", documents=CERTIFIED))["nomination_id"]
    assert held_initiatives(intake_db) == {"SK-1": a, "SK-2": b}
    with pytest.raises(Exception):  # SK-2 backs B's voted dossier: no other nomination of the person may take it
        submit(intake_db, token, body("k-c", award_code="CSTDCS", history=with_initiatives("SK-2"), achievements="C",
                                      documents=CERTIFIED))
    amend(intake_db, token, b, {"history": with_initiatives("SK-3")})
    amend(intake_db, token, a, {"history": with_initiatives("SK-2")})
    assert held_initiatives(intake_db) == {"SK-2": a, "SK-3": b}
    follow_agenda(intake_db, agenda("s-1", (b, "CSTDCS", 1), (a, "CSTDCS", 1)))
    assert (stored(intake_db, a).revision, stored(intake_db, b).revision) == (1, 1)
    assert held_initiatives(intake_db) == {"SK-1": a, "SK-2": b}
    with pytest.raises(Exception):  # SK-2 backs B's voted dossier: no other nomination of the person may take it
        submit(intake_db, token, body("k-c", award_code="CSTDCS", history=with_initiatives("SK-2"), achievements="C",
                                      documents=CERTIFIED))
