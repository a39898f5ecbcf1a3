"""The register read at each submission that claims titles (issue #20): the holder's entries and the
register's first year in one statement, from an index, on both backends, and on PostgreSQL the same
through the functions a submission's insert reads them by."""
from datetime import date, datetime, timezone

import sqlalchemy as sa

from services.intake.register_store import Entry, Register, register_entries


def entry(holder, code, year, state="awarded"):
    return {"id": f"{holder}-{code}-{year}", "holder_key": holder, "unit_id": "vp", "nominee_kind": "individual",
            "nominee_name": "Phạm Thu Hương", "employee_id": None, "award_code": code, "award_year": year,
            "decision_number": f"{year}/QĐ", "decision_date": date(year, 12, 20), "signer": None, "money": 0,
            "state": state, "source": "import", "nomination_id": None, "contact_email": None, "nominee_email": None,
            "recorded_at": datetime(2025, 1, 1, tzinfo=timezone.utc), "recorded_by": "test", "revocation": None}


def read(tables, holder):
    """The one-statement read (and, on PostgreSQL, the same through intake_0008's function, as a
    submission's insert reads it), and the entries and first year read apart."""
    with tables.sessions() as session:
        def entries(*how, **after):
            return Register.entries_read(session.execute(*Register.reading(holder, *how, **after)).mappings().all())

        one = entries(True)
        if session.get_bind().dialect.name == "postgresql":
            assert entries(True, after_a_wait=True) == one and entries(after_a_wait=True)[0] == entries()[0]
        return one, (entries()[0], Register(session).first_year())


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
