"""``tdkt unit token`` and ``tdkt submit``: a unit's credential and its nominations."""
from __future__ import annotations

import click

from shared.cli.app import _settings


@click.group()
def unit():
    """Units and their credentials."""


@unit.command("token")
@click.argument("unit_id")
@click.option("--revoke-others", is_flag=True, help="Revoke the unit's earlier tokens.")
@click.option("--token", help="The operator token (default: TDKT_ADMIN_TOKEN).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="en", show_default=True)
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1))
def unit_token(unit_id, revoke_others, token, lang, timeout):
    """Print a new token for UNIT_ID, alone on standard output (issued by intake; only its digest is
    stored there). Needs the operator token (TDKT_ADMIN_TOKEN)."""
    from shared.cli.review import review_caller
    from shared.contract.schemas import ID

    try:
        ID(unit_id)
    except Exception:
        raise click.BadParameter("must be 1-64 letters, digits or _.:-", param_hint="UNIT_ID") from None
    click.echo(review_caller(token, lang, timeout, service="intake")("issue_unit_token", unit_id, revoke_others))


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--token", envvar="TDKT_UNIT_TOKEN", required=True,
              help="The unit's token (or set TDKT_UNIT_TOKEN).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the report.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds to wait for each answer.")
def submit(file, token, lang, timeout):
    """Submit the nomination or the batch in FILE (.json: an object or a list; .csv: one per row).

    Prints one line per nomination in file order (each refused one followed by all its faults) and a
    summary last; exits with status 1 unless every nomination was accepted. A malformed file submits
    nothing."""
    from shared.cli import clerk

    try:
        nominations = clerk.read_nominations(file)
    except clerk.BatchFileError as exc:
        raise click.ClickException(clerk.describe_file_error(exc, lang)) from None
    amqp_uri = _settings().amqp_uri
    report, accepted = [], 0
    try:
        for number, outcome in _submissions(nominations, amqp_uri, token, timeout, lang):
            if "nomination_id" in outcome:
                accepted += 1
                report.append(clerk.describe_receipt(number, outcome, lang))
            else:
                report.extend(clerk.describe_error(number, outcome["code"], outcome["detail"], lang))
    finally:  # what was submitted is reported, even when the batch stops halfway
        for line in report:
            click.echo(line)
    click.echo(clerk.summary(accepted, len(nominations), lang))
    if accepted < len(nominations):
        click.get_current_context().exit(1)


def _submissions(nominations, amqp_uri, token, timeout, lang):
    """``(number, receipt or {"code", "detail"})`` for each nomination, in order, as each is answered."""
    import logging

    from amqp.exceptions import AMQPError
    from kombu.exceptions import OperationalError
    from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
    from shared.platform.client import rpc_proxy

    from shared.cli import clerk
    from shared.platform.config import redact
    from shared.contract.errors import TdktError

    labels, stderr = clerk.LABELS[lang], click.get_text_stream("stderr")
    amqp_log = logging.getLogger("amqp")
    level = amqp_log.level
    amqp_log.setLevel(logging.ERROR)  # its warnings while closing after an unroutable call are noise here
    try:
        with rpc_proxy(amqp_uri, {"auth_token": token}, timeout=timeout) as proxy, \
                click.progressbar(nominations, label=labels["progress"], file=stderr,
                                  hidden=len(nominations) < 2) as bar:
            for number, nomination in enumerate(bar, 1):
                try:
                    yield number, proxy.intake.submit_nomination(nomination)
                except TdktError as exc:
                    yield number, {"code": exc.code, "detail": exc.detail}
                except RpcTimeout:
                    yield number, {"code": "timeout", "detail": timeout}
                except RemoteError as exc:
                    yield number, {"code": "remote_error", "detail": f"{exc.exc_type}: {exc.value}"}
    except UnknownService:
        raise click.ClickException(labels["no_service"]) from None
    except (OSError, AMQPError, OperationalError) as exc:
        raise click.ClickException(labels["broker"].format(uri=redact(amqp_uri), reason=exc)) from None
    finally:
        amqp_log.setLevel(level)


COMMANDS = (unit, submit)
