"""``tdkt``: the command line for unit clerks, council members and operators."""
from __future__ import annotations

import sys

import click

from shared.config import ConfigError, load_settings


@click.group()
def main():
    """Thi đua, khen thưởng: nominations, council sittings and notifications."""


def _settings():
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


@main.group()
def unit():
    """Units and their credentials."""


@unit.command("token")
@click.argument("unit_id")
@click.option("--revoke-others", is_flag=True, help="Revoke the unit's earlier tokens.")
def unit_token(unit_id, revoke_others):
    """Print a new token for UNIT_ID, alone on standard output."""
    from services.intake import handlers
    from services.intake.service import MIGRATIONS
    from shared.outbox import utcnow
    from shared.schemas import ID
    from shared.store import standalone_uow

    try:
        ID(unit_id)
    except Exception:
        raise click.BadParameter("must be 1-64 letters, digits or _.:-", param_hint="UNIT_ID") from None
    uow = standalone_uow("intake", MIGRATIONS, _settings())
    try:
        token = handlers.issue_unit_token(unit_id, uow, utcnow(), revoke_others)
    finally:
        uow.close()
    click.echo(token)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1025, show_default=True, type=int)
@click.option("--dir", "directory", default="var/mail", show_default=True, type=click.Path())
def mailsink(host, port, directory):
    """Development SMTP server that writes each mail it receives to DIR as an .eml file."""
    from shared.mailsink import serve

    serve(host, port, directory)


if __name__ == "__main__":
    sys.exit(main())
