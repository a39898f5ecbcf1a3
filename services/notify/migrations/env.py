"""Alembic environment: the shared runner (``shared.platform.db.run_migrations_online``)."""
from alembic import context

from shared.platform.db import run_migrations_online

run_migrations_online(context)
