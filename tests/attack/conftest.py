"""Fixtures of the attack tests: the integration tests' in-process containers and broker users."""
import pytest

from tests.integration.conftest import intake, review  # noqa: F401  (fixtures)


@pytest.fixture
def db_backend():
    """The findings here are about the bus, not the database: SQLite only (no second run on PostgreSQL)."""
    return "sqlite"
