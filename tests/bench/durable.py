"""The ceiling of a durable call: a Nameko RPC that validates nothing, inserts one row and one outbox
row in one PostgreSQL transaction, commits, and has the same relay as the services publish one
persistent, confirmed event (``bench_durable_echo.echoed``).

It runs as a ``nameko run`` process on the same broker and PostgreSQL as intake, with the same
``Store`` (engine, pool, outbox, relay); its database URL comes from ``BENCH_DURABLE_ECHO_DB_URL``.
Whatever a submission costs beyond this is intake's own work: validation, the unit's token, the
idempotency key, eligibility.
"""
import os
import uuid
from pathlib import Path

import sqlalchemy as sa
from nameko.rpc import rpc

from shared.platform.outbox import utcnow
from shared.platform.store import Store

NAME = "bench_durable_echo"
URL_VARIABLE = "BENCH_DURABLE_ECHO_DB_URL"
ECHOES = sa.Table("echoes", sa.MetaData(), sa.Column("id", sa.String(32), primary_key=True),
                  sa.Column("body", sa.JSON), sa.Column("created_at", sa.DateTime(timezone=True)))


class EchoStore(Store):
    def database_url(self) -> str:
        return os.environ[URL_VARIABLE]


class DurableEchoService:
    name = NAME
    uow = EchoStore(NAME, Path(__file__).parent / "durable_echo")

    @rpc
    def submit_nomination(self, nomination):
        echo_id = uuid.uuid4().hex
        self.uow.session.execute(sa.insert(ECHOES).values(id=echo_id, body=nomination, created_at=utcnow()))
        self.uow.publish("echoed", {"id": echo_id})
        self.uow.commit()
        return {"nomination_id": echo_id, "status": "submitted", "duplicate": False,
                "submission_key": nomination.get("submission_key")}
