"""``tdkt``: the command line for unit clerks, council members and operators."""
from __future__ import annotations

import sys
import warnings

import click

from shared.config import ConfigError, load_settings


@click.group()
def main():
    """Thi đua, khen thưởng: nominations, council sittings and notifications."""
    # eventlet announces its own deprecation on import; a clerk's terminal is no place for it
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


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
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--token", envvar="TDKT_UNIT_TOKEN", required=True,
              help="The unit's token (or set TDKT_UNIT_TOKEN).")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for each answer.")
def submit(file, token, timeout):
    """Submit the nomination (JSON object) or nominations (JSON list) in FILE."""
    import json

    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.errors import TdktError

    try:
        data = json.load(file)
    except ValueError as exc:
        raise click.ClickException(f"{file.name} is not valid JSON: {exc}") from None
    nominations = data if isinstance(data, list) else [data]
    failed = 0
    config = {"AMQP_URI": _settings().amqp_uri}
    with ClusterRpcProxy(config, context_data={"auth_token": token}, timeout=timeout) as proxy:
        for number, nomination in enumerate(nominations, 1):
            try:
                result = proxy.intake.submit_nomination(nomination)
            except TdktError as exc:
                failed += 1
                click.echo(f"{number}: {exc.code}: {json.dumps(exc.detail, ensure_ascii=False)}", err=True)
            else:
                click.echo(f"{number}: {json.dumps(result, ensure_ascii=False)}")
    if failed:
        raise click.ClickException(f"{failed} of {len(nominations)} nominations were not accepted")


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
