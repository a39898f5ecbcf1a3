"""Alembic environment of the durable echo: the services' shared runner."""
from alembic import context

from shared.platform.db import run_migrations_online

run_migrations_online(context)
