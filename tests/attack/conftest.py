"""Fixtures of the attack tests: the integration tests' in-process containers and broker users."""
import pytest

from tests.integration.conftest import intake, review  # noqa: F401  (fixtures)
from tests.rabbit_users import Broker


@pytest.fixture
def api(request):
    return request.config.getoption("RABBIT_API_URI")


@pytest.fixture
def broker(rabbit_config, api):
    return Broker(rabbit_config, api)


@pytest.fixture
def db_backend():
    """The findings here are about the bus, not the database: SQLite only (no second run on PostgreSQL)."""
    return "sqlite"
