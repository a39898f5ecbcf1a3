"""The register read at each submission that claims titles (issue #20): the holder's entries and the
register's first year in one statement, from an index, on both backends."""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from services.intake.register_store import Entry, Register, register_entries
from services.intake.service import MIGRATIONS
from tests.integration.delivery import Tables


@pytest.fixture
def intake_db(db_urls):
    tables = Tables(db_urls["intake"], MIGRATIONS)
    yield tables
    tables.dispose()


def entry(holder, code, year, state="awarded"):
    return {"id": f"{holder}-{code}-{year}", "holder_key": holder, "unit_id": "vp", "nominee_kind": "individual",
            "nominee_name": "Phạm Thu Hương", "employee_id": None, "award_code": code, "award_year": year,
            "decision_number": f"{year}/QĐ", "decision_date": date(year, 12, 20), "signer": None, "money": 0,
            "state": state, "source": "import", "nomination_id": None, "contact_email": None, "nominee_email": None,
            "recorded_at": datetime(2025, 1, 1, tzinfo=timezone.utc), "recorded_by": "test", "revocation": None}


def read(tables, holder):
    with tables.sessions() as session:
        register = Register(session)
        return register.entries_and_first_year(holder), (register.entries_of(holder), register.first_year())


def test_the_holders_entries_and_the_first_year_come_in_one_statement_as_the_two_reads_gave_them(intake_db):
    assert read(intake_db, "vp/e-1") == (([], None), ([], None))  # an empty register
    with intake_db.sessions() as session, session.begin():
        session.execute(sa.insert(register_entries), [entry("vp/e-2", "LDTT", 2019), entry("vp/e-1", "LDTT", 2023),
                                                      entry("vp/e-1", "CSTDCS", 2024, state="revoked")])
    one, two = read(intake_db, "vp/e-3")  # entries of others only
    assert one == two == ([], 2019)
    (entries, first), (entries_apart, first_apart) = read(intake_db, "vp/e-1")
    key = lambda e: (e.award_code, e.award_year)  # noqa: E731
    assert sorted(entries, key=key) == sorted(entries_apart, key=key) == [Entry("CSTDCS", 2024, "revoked"),
                                                                          Entry("LDTT", 2023, "awarded")]
    assert first == first_apart == 2019


def test_the_first_year_is_read_from_an_index(intake_db):
    with intake_db.engine.connect() as connection:
        indexes = sa.inspect(connection).get_indexes("register_entries")
    assert ["award_year"] in [index["column_names"] for index in indexes]
