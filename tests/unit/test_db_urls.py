"""A database URL as a managed PostgreSQL hands it out (no driver named) reaches psycopg2, the driver
the services ship, wherever it is read: the configuration and the engine."""
import pytest

from shared.platform.config import load_settings, with_driver
from shared.platform.db import make_engine


@pytest.mark.parametrize("given", ["postgresql://tdkt:s3cret@db.example.org:5432/intake",
                                   "postgres://tdkt:s3cret@db.example.org:5432/intake",
                                   "POSTGRES://tdkt:s3cret@db.example.org:5432/intake"])
def test_a_postgresql_url_without_a_driver_is_read_as_psycopg2(given):
    expected = "postgresql+psycopg2://tdkt:s3cret@db.example.org:5432/intake"

    assert with_driver(given) == expected
    assert load_settings({"INTAKE_DB_URL": given}).db_url("intake") == expected


@pytest.mark.parametrize("kept", ["postgresql+psycopg2://u:p@h/db", "sqlite:///var/intake.db", "sqlite://",
                                  "not a url", "mysql://root@localhost/tdkt"])
def test_urls_naming_a_driver_or_another_database_are_left_as_they_are(kept):
    assert with_driver(kept) == kept


def test_the_engine_of_a_bare_postgresql_url_uses_psycopg2_without_connecting():
    engine = make_engine("postgresql://tdkt:s3cret@127.0.0.1:1/intake", pool_size=1)
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg2")
    finally:
        engine.dispose()
