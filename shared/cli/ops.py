"""``tdkt dlq list|replay``: the operator's view of dead letters."""
import click

from shared.cli import reports
from shared.cli.app import _settings

def _service(ctx, param, value):
    if not value.isidentifier():
        raise click.BadParameter("a service name such as intake, review or notify")
    return value


@click.group()
def dlq():
    """Dead letters: events a service could not handle."""


@dlq.command("list")
@click.argument("service", callback=_service)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
def dlq_list(service, limit):
    """Show SERVICE's dead letters (secrets in their bodies masked); they stay in the queue."""
    from shared.platform.deadletters import peek

    letters = _dead_letters(peek, service, limit)
    columns = ("message_id", "queue", "routing_key", "attempts", "reason", "body")
    for line in reports.table(columns, [[letter[c] for c in columns] for letter in letters], numeric=(3,)):
        click.echo(line)
    click.echo(f"{len(letters)} dead letter(s) in dlq.{service}")


@dlq.command("replay")
@click.argument("service", callback=_service)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
def dlq_replay(service, limit):
    """Send SERVICE's dead letters back to the queues they came from (after the cause is fixed)."""
    from shared.platform.deadletters import replay

    click.echo(f"{_dead_letters(replay, service, limit)} message(s) replayed from dlq.{service}")


def _dead_letters(action, service, limit):
    """``action(amqp_uri, service, limit)``, with an expected failure told in one line (exit 1)."""
    from shared.platform.deadletters import explain

    amqp_uri = _settings().amqp_uri
    try:
        return action(amqp_uri, service, limit)
    except Exception as exc:
        message = explain(exc, amqp_uri, service)
        if message is None:
            raise
        raise click.ClickException(message) from None


COMMANDS = (dlq,)
