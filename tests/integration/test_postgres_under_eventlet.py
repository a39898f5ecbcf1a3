"""The PostgreSQL driver yields under eventlet: queries of one service overlap instead of queueing."""
import time

import pytest
import sqlalchemy as sa
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from psycopg2 import extensions

from services.intake.service import MIGRATIONS
from shared.platform.store import Store


class Napper:
    name = "napper"
    uow = Store("intake", MIGRATIONS)

    @rpc
    def nap(self):
        with self.uow:
            return self.uow.session.execute(sa.text("SELECT pg_sleep(0.2)::text")).scalar() is not None


def ten_naps(proxy) -> float:
    started = time.monotonic()
    calls = [proxy.napper.nap.call_async() for _ in range(10)]
    assert all(call.result() for call in calls)
    return time.monotonic() - started


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_ten_concurrent_pg_sleeps_of_one_service_finish_in_well_under_a_second(
        container_factory, rabbit_config, service_env):
    container = container_factory(Napper, {**rabbit_config, "max_workers": 10})
    container.start()
    with ClusterRpcProxy(rabbit_config, timeout=15) as proxy:
        assert proxy.napper.nap()  # warm the pool and the reply queue
        green = ten_naps(proxy)
        callback = extensions.get_wait_callback()
        extensions.set_wait_callback(None)  # the control: a driver that blocks the hub
        try:
            blocking = ten_naps(proxy)
        finally:
            extensions.set_wait_callback(callback)
    assert green < 0.8, f"10 x pg_sleep(0.2) took {green:.2f}s"
    assert blocking > 1.8, f"without the wait callback they took only {blocking:.2f}s"
