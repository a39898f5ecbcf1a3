"""``Initiatives.take``: a nomination claims the initiatives it relies on all or none, in one statement
when they are free (SQLite and PostgreSQL); one achievement backs one award (NĐ 98 Art. 4)."""
import pytest
import sqlalchemy as sa

from services.intake.models import InitiativeTaken, Initiatives, initiative_uses
from tests.integration.delivery import end_after_the_other_waits, statements_of


def held(session) -> set:
    return set(session.execute(sa.select(initiative_uses.c.initiative_id, initiative_uses.c.nomination_id)).all())


def test_free_initiatives_are_claimed_in_one_statement_and_a_repeated_id_once(intake_db):
    with intake_db.sessions() as session:
        sent = statements_of(intake_db.engine,
                             lambda: Initiatives(session).take("vp:VP-1", ["SK-1", "SK-2", "SK-1"], "n-1"))
        assert len(sent) == 1 and "SAVEPOINT" not in sent[0]
        assert held(session) == {("SK-1", "n-1"), ("SK-2", "n-1")}


def test_one_initiative_held_elsewhere_claims_none_and_names_only_it(intake_db):
    with intake_db.sessions() as session:
        ledger = Initiatives(session)
        ledger.take("vp:VP-1", ["SK-2"], "n-1")
        with pytest.raises(InitiativeTaken) as taken:
            ledger.take("vp:VP-1", ["SK-1", "SK-2", "SK-3"], "n-2")
        assert str(taken.value) == "SK-2"
        assert held(session) == {("SK-2", "n-1")}  # SK-1 and SK-3 given back: all or none
        ledger.take("tccb:VP-1", ["SK-2"], "n-3")  # another person's initiative of the same id
        assert ("SK-2", "n-3") in held(session)


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("first_commits", [True, False], ids=["first_commits", "first_rolls_back"])
def test_a_concurrent_claim_waits_for_the_first_and_then_loses_or_claims(intake_db, first_commits):
    first = intake_db.sessions()
    Initiatives(first).take("vp:VP-1", ["SK-1"], "n-1")

    def second():
        with intake_db.sessions() as session, session.begin():
            try:
                Initiatives(session).take("vp:VP-1", ["SK-1", "SK-2"], "n-2")
            except InitiativeTaken as taken:
                return str(taken)
            return "claimed"

    outcome = end_after_the_other_waits(intake_db.engine, first, second, commit=first_commits, must_wait=True)
    first.close()
    with intake_db.sessions() as session:
        if first_commits:
            assert outcome == "SK-1" and held(session) == {("SK-1", "n-1")}
        else:
            assert outcome == "claimed" and held(session) == {("SK-1", "n-2"), ("SK-2", "n-2")}
