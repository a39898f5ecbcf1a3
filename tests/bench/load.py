"""Concurrent RPC callers, each with its own Nameko proxy (its own connection and reply queue)."""
from __future__ import annotations

import contextlib
import time

import eventlet
from nameko.standalone.rpc import ClusterRpcProxy


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def call_all(amqp_uri: str, service: str, method: str, bodies: list, callers: int, token: str) -> dict:
    """Call ``service.method(body)`` once per body from ``callers`` concurrent callers; the proxies are
    opened before the clock starts. Returns calls/s and latencies in milliseconds."""
    latencies, pending = [], iter(bodies)

    def caller(proxy):
        target = getattr(getattr(proxy, service), method)
        for body in pending:  # shared by the callers: each takes the next body
            started = time.perf_counter()
            target(body)
            latencies.append(time.perf_counter() - started)

    with contextlib.ExitStack() as stack:
        proxies = [stack.enter_context(ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=120,
                                                       context_data={"auth_token": token}))
                   for _ in range(callers)]
        pool = eventlet.GreenPool(callers)
        started = time.perf_counter()
        for proxy in proxies:
            pool.spawn(caller, proxy)
        pool.waitall()
        seconds = time.perf_counter() - started
    if len(latencies) != len(bodies):
        raise RuntimeError(f"{service}.{method}: {len(bodies) - len(latencies)} calls failed")
    return {"calls": len(bodies), "callers": callers, "seconds": round(seconds, 3),
            "per_second": round(len(bodies) / seconds, 1),
            "p50_ms": round(1000 * percentile(latencies, 0.50), 2),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 2)}
