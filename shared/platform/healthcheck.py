"""Whether a service is consuming: its containers' health check in Compose, and half of its ``/readyz``.

    python -m shared.platform.healthcheck SERVICE [--timeout SECONDS]

Exits 0 when every queue the service's entrypoints consume from (its RPC queue and one queue per event
handler, read off the service class as Nameko names them) exists on the broker at ``AMQP_URI`` with at
least one consumer and every exchange those queues are bound to exists; 1 when a queue is absent or has
no consumer, an exchange is absent (its bindings went with it), or the broker is out of reach; 2 on
bad usage or configuration. It looks with passive ``queue.declare``, so it creates nothing and needs no
permission beyond the service's own user.

It sees the service, not the process: with several replicas one consuming replica makes all of them
healthy. A replica whose process ends is restarted because its container exits.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import sys

from amqp.exceptions import NotFound
from kombu import Connection
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from shared.platform.config import ConfigError, load_settings, redact

SERVICE_CLASSES = {"intake": "IntakeService", "review": "ReviewService", "notify": "NotifyService"}
HEALTHY, UNHEALTHY, USAGE = 0, 1, 2


def service_class(service: str):
    """The Nameko service class that ``nameko run`` starts for ``service``."""
    module = importlib.import_module(f"services.{service}.service")
    return getattr(module, SERVICE_CLASSES[service])


def _bindings(cls):
    """``(queue, exchange)`` of each entrypoint of ``cls`` that consumes, named as Nameko names them."""
    for method_name, method in inspect.getmembers(cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler):
                yield (f"evt-{entrypoint.source_service}-{entrypoint.event_type}--{cls.name}.{method_name}",
                       f"{entrypoint.source_service}.events")
            elif isinstance(entrypoint, Rpc):
                yield f"rpc-{cls.name}", "nameko-rpc"


def consumed_queues(cls) -> list[str]:
    """The queues a running instance of ``cls`` consumes from."""
    return sorted({queue for queue, _ in _bindings(cls)})


def consumed_exchanges(cls) -> list[str]:
    """The exchanges the queues of ``cls`` are bound to: a deleted one takes the bindings with it."""
    return sorted({exchange for _, exchange in _bindings(cls)})


def missing_exchanges(amqp_uri: str, exchanges: list[str], timeout: float) -> list[str]:
    """The exchanges of ``exchanges`` that do not exist (looked up passively). Raises on a broker out of
    reach."""
    missing = []
    with Connection(amqp_uri, connect_timeout=timeout,
                    transport_options={"read_timeout": timeout, "write_timeout": timeout}) as connection:
        connection.ensure_connection(max_retries=1)
        for exchange in exchanges:
            channel = connection.channel()  # a 404 closes the channel, so one per exchange
            try:
                channel.exchange_declare(exchange, "topic", passive=True)
            except NotFound:
                missing.append(exchange)
            finally:
                if channel.is_open:
                    channel.close()
    return missing


def exchange_problems(missing: list[str]) -> list[str]:
    return [f"exchange {exchange}: absent (the service re-creates it and its bindings)" for exchange in missing]


def consumer_counts(amqp_uri: str, queues: list[str], timeout: float) -> dict[str, int | None]:
    """Each queue's consumer count, or None for a queue that does not exist. Raises on a broker out
    of reach."""
    return {queue: state and state[1] for queue, state in queue_states(amqp_uri, queues, timeout).items()}


def queue_states(amqp_uri: str, queues: list[str], timeout: float) -> dict[str, tuple[int, int] | None]:
    """Each queue's (messages waiting, consumers), or None for a queue that does not exist."""
    states = {}
    with Connection(amqp_uri, connect_timeout=timeout,
                    transport_options={"read_timeout": timeout, "write_timeout": timeout}) as connection:
        connection.ensure_connection(max_retries=1)
        for queue in queues:
            channel = connection.channel()  # a 404 closes the channel, so one per queue
            try:
                declared = channel.queue_declare(queue, passive=True)
                states[queue] = (declared.message_count, declared.consumer_count)
            except NotFound:
                states[queue] = None
            finally:
                if channel.is_open:
                    channel.close()
    return states


def verdict(counts: dict[str, int | None]) -> tuple[bool, list[str]]:
    """Healthy when every queue exists with a consumer; one line per queue that is not."""
    problems = [f"{queue}: absent" if count is None else f"{queue}: no consumer"
                for queue, count in sorted(counts.items()) if not count]
    return not problems, problems


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError(f"must be a number of seconds from 0 to 300, got {text!r}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shared.platform.healthcheck",
                                     description="Exit 0 when SERVICE consumes every queue it should.")
    parser.add_argument("service", choices=sorted(SERVICE_CLASSES), metavar="SERVICE",
                        help=f"one of {', '.join(sorted(SERVICE_CLASSES))}")
    parser.add_argument("--timeout", type=positive_seconds, default=5.0,
                        help="seconds to wait for the broker (default 5)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, environ: dict | None = None) -> int:
    args = parse_args(argv)
    try:
        amqp_uri = load_settings(environ).amqp_uri
    except ConfigError as exc:
        print(f"{args.service}: configuration error: {exc}", file=sys.stderr)
        return USAGE
    cls = service_class(args.service)
    queues = consumed_queues(cls)
    try:
        counts = consumer_counts(amqp_uri, queues, args.timeout)
        missing = missing_exchanges(amqp_uri, consumed_exchanges(cls), args.timeout)
    except Exception as exc:  # any failure to reach the broker means the same: not healthy
        print(f"{args.service}: unhealthy: cannot reach RabbitMQ at {redact(amqp_uri)} ({exc})")
        return UNHEALTHY
    healthy, problems = verdict(counts)
    problems += exchange_problems(missing)
    healthy = healthy and not missing
    if healthy:
        print(f"{args.service}: healthy, {len(queues)} queue(s) consumed")
        return HEALTHY
    print(f"{args.service}: unhealthy: {'; '.join(problems)}")
    return UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
