"""``tdkt status``: which services consume, what waits in their queues, what was dead-lettered."""
import click

from shared.cli import reports
from shared.cli.app import _settings

SERVICES = ("intake", "review", "notify")


def status_rows(amqp_uri: str, timeout: float = 5.0) -> list[list]:
    """One row per service: up or down, messages waiting (and retrying), dead letters."""
    from shared.platform.healthcheck import consumed_queues, queue_states, service_class

    rows = []
    for service in SERVICES:
        queues = consumed_queues(service_class(service))
        retries = [f"{q}.retry" for q in queues if q.startswith("evt-")]
        states = queue_states(amqp_uri, [*queues, *retries, f"dlq.{service}"], timeout)
        up = all(states[q] and states[q][1] > 0 for q in queues)
        waiting = sum(states[q][0] for q in queues if states[q])
        retrying = sum(states[q][0] for q in retries if states[q])
        dead = states[f"dlq.{service}"][0] if states[f"dlq.{service}"] else 0
        consumers = min((states[q][1] for q in queues if states[q]), default=0)
        rows.append([service, "up" if up else "DOWN", consumers, waiting, retrying, dead])
    return rows


@click.command()
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.1))
def status(timeout):
    """Services up (every queue consumed), queue depths, retries waiting and dead letters."""
    settings = _settings()
    try:
        rows = status_rows(settings.amqp_uri, timeout)
    except Exception as exc:  # the broker is out of reach: say so plainly
        raise click.ClickException(f"cannot reach RabbitMQ: {exc}") from None
    headers = ("service", "state", "consumers", "waiting", "retrying", "dead letters")
    for line in reports.table(headers, rows, numeric=(2, 3, 4, 5)):
        click.echo(line)
    if any(row[1] != "up" for row in rows):
        raise SystemExit(1)


COMMANDS = (status,)
