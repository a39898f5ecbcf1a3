"""The ``tdkt`` commands of operators (directory, sittings, returns, statistics) and council members (vote).

Operator commands call the ``review`` service over RPC with the operator token: ``--token``, or else
``TDKT_ADMIN_TOKEN`` as the settings read it. A member's vote is not a call but the event
``council.vote_cast`` carrying the ballot token; its outcome (accepted, or ``review.vote_rejected``) is
not awaited. Any failure is one clear message and a non-zero exit. :mod:`shared.cli.commands` registers
them on ``tdkt``.
"""
from __future__ import annotations

import contextlib
import json
import logging
import uuid
from datetime import datetime
from pathlib import Path

import click

from shared.cli import reports
from shared.cli.app import _settings
from shared.cli.reports import ChoiceError, label, parse_choices

LANG = click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
                    help="Language of the output.")


def operator(command):
    """Adds ``--token``, ``--lang`` and ``--timeout``; the command gets ``review`` and ``lang`` instead."""
    @click.option("--token", help="The operator token (default: TDKT_ADMIN_TOKEN).")
    @LANG
    @click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
                  help="Seconds to wait for the answer.")
    def wrapper(token, lang, timeout, **arguments):
        return command(review=review_caller(token, lang, timeout), lang=lang, **arguments)

    wrapper.__doc__, wrapper.__name__ = command.__doc__, command.__name__
    return wrapper


def review_caller(token, lang, timeout, service="review"):
    """``review(method, *args)``: the answer of ``<service>.<method>(*args)`` called with ``token`` (or the
    settings' operator token); every failure raises one ``ClickException``."""
    def review(method, *args):
        from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
        from shared.platform.client import rpc_proxy

        from shared.contract.errors import TdktError  # registers the wire errors, so they arrive as themselves

        settings = _settings()
        context = {"auth_token": token or settings.admin_token}
        try:
            with _broker_errors(settings.amqp_uri, lang), \
                    rpc_proxy(settings.amqp_uri, context, timeout=timeout) as proxy:
                return getattr(getattr(proxy, service), method)(*args)
        except TdktError as exc:
            message = reports.describe_error(exc.code, exc.detail, lang)
        except RpcTimeout:
            message = label(lang, "timeout", seconds=timeout)
        except UnknownService:
            message = label(lang, "no_service")
        except RemoteError as exc:
            message = label(lang, "remote_error", detail=f"{exc.exc_type}: {exc.value}")
        raise click.ClickException(message)
    return review


@contextlib.contextmanager
def _broker_errors(amqp_uri, lang):
    """Turns a broker that cannot be reached into one message, and keeps amqp's noise off the screen."""
    from amqp.exceptions import AMQPError
    from kombu.exceptions import OperationalError

    from shared.platform.config import redact

    amqp_log = logging.getLogger("amqp")
    level = amqp_log.level
    amqp_log.setLevel(logging.ERROR)
    try:
        yield
    except (OSError, AMQPError, OperationalError) as exc:
        raise click.ClickException(label(lang, "broker", uri=redact(amqp_uri), reason=exc)) from None
    finally:
        amqp_log.setLevel(level)


@click.group()
def directory():
    """The ministry's units, councils and council members."""


@directory.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@operator
def directory_load(file, review, lang):
    """Load (upsert) the units, councils and members of the YAML FILE."""
    import yaml

    try:
        document = yaml.safe_load(Path(file).read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise click.ClickException(label(lang, "not_utf8", path=file)) from None
    except yaml.YAMLError as exc:
        raise click.ClickException(label(lang, "bad_yaml", path=file, detail=exc)) from None
    if not isinstance(document, dict):
        raise click.ClickException(label(lang, "not_directory", path=file))
    # YAML reads unquoted dates as dates; as JSON they travel as the text they were written as
    counts = review("load_directory", json.loads(json.dumps(document, default=str)))
    click.echo(label(lang, "loaded", **counts))


@click.group()
def sitting():
    """Council sittings: convene, close, read the result, break a tie at a quota."""


@sitting.command("convene")
@click.argument("council_id")
@click.option("--deadline", help="Voting deadline, ISO 8601 (e.g. 2025-11-30T17:00:00+07:00).")
@click.option("--working-days", type=click.IntRange(1, 60), help="Or: the deadline in working days.")
@operator
def sitting_convene(council_id, deadline, working_days, review, lang):
    """Convene COUNCIL_ID on every nomination waiting for it and send each member a ballot."""
    if (deadline is None) == (working_days is None):
        raise click.UsageError(label(lang, "one_deadline"))
    if deadline is not None:
        try:
            aware = datetime.fromisoformat(deadline).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            raise click.BadParameter(label(lang, "bad_deadline", value=deadline),
                                     param_hint="--deadline") from None
    convened = review("convene_sitting", council_id,
                      deadline if working_days is None else {"working_days": working_days})
    click.echo(label(lang, "convened", sitting_id=convened["sitting_id"]))
    click.echo(label(lang, "agenda", n=len(convened.get("agenda", []))))
    click.echo(label(lang, "members", n=convened.get("members")))
    click.echo(label(lang, "deadline", deadline=convened.get("deadline", deadline)))


@sitting.command("close")
@click.argument("sitting_id")
@operator
def sitting_close(sitting_id, review, lang):
    """Close SITTING_ID before its deadline and print its result."""
    result = review("close_sitting", sitting_id)
    click.echo(label(lang, "closed", sitting_id=sitting_id))
    if isinstance(result, dict) and "items" in result:
        click.echo("\n".join(["", *reports.sitting_lines(result, lang)]))


@sitting.command("result")
@click.argument("sitting_id")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (field names and codes of the contract).")
@operator
def sitting_result(sitting_id, as_csv, review, lang):
    """The tally and outcome of each nomination of the closed SITTING_ID."""
    result = review("sitting_result", sitting_id)
    if as_csv:
        click.echo(reports.sitting_csv(result), nl=False)
    else:
        click.echo("\n".join(reports.sitting_lines(result, lang)))


@sitting.command("tie")
@click.argument("sitting_id")
@click.argument("award_code")
@click.argument("nomination_ids", nargs=-1, required=True, metavar="NOMINATION_ID...")
@operator
def sitting_tie(sitting_id, award_code, nomination_ids, review, lang):
    """Record the chair's choice of NOMINATION_IDs among those tied at AWARD_CODE's quota."""
    review("resolve_tie", sitting_id, award_code, list(nomination_ids))
    click.echo(label(lang, "tie", sitting_id=sitting_id, award=award_code, ids=", ".join(nomination_ids)))


@click.group()
def nomination():
    """Nominations under review."""


@nomination.command("return")
@click.argument("nomination_id")
@click.option("--reason", "reasons", multiple=True, required=True, help="Why (repeat for several).")
@operator
def nomination_return(nomination_id, reasons, review, lang):
    """Return NOMINATION_ID to its unit for amendment, with the reasons."""
    review("return_nomination", nomination_id, list(reasons))
    click.echo(label(lang, "returned", id=nomination_id))


@click.group(invoke_without_command=True)
@click.option("--year", type=click.IntRange(1945, 9999), help="The award year.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (field names and codes of the contract).")
@operator
def report(year, as_csv, review, lang):
    """Decided nominations of a year by award, unit, gender and direct workers (or: ``report forms``)."""
    context = click.get_current_context()
    if context.invoked_subcommand is None:  # ``report forms`` prints its own
        stats = review("statistics", year or context.fail("Missing option '--year'."))
        click.echo(reports.statistics_csv(stats) if as_csv else "\n".join(reports.statistics_lines(stats, lang)),
                   nl=not as_csv)


@click.command()
@click.option("--token", envvar="TDKT_BALLOT_TOKEN", required=True,
              help="The ballot token of the invitation email (or set TDKT_BALLOT_TOKEN).")
@click.option("--key", "public_key", envvar="TDKT_BALLOT_KEY",
              help="The sitting's public key of the invitation email (or set TDKT_BALLOT_KEY): the choices "
                   "are sealed to it before they leave this machine.")
@click.option("--unsealed", is_flag=True,
              help="Send the choices in clear instead (accepted only outside the production profile).")
@click.option("--written-opinion", is_flag=True, help="The written opinion of an absent member.")
@LANG
@click.argument("words", nargs=-1, metavar="approve ID... [reject ID...] [abstain ID...]")
def vote(token, public_key, unsealed, written_opinion, lang, words):
    """Cast a ballot: each of approve, reject and abstain applies to the nomination ids after it."""
    from shared.contract import COUNCIL, VOTE_CAST
    from shared.contract.ballots import BadPublicKey, receipt_code, sealed_vote
    from shared.platform.client import event_publisher
    from shared.platform.outbox import Undeliverable

    try:
        choices = parse_choices(words)
    except ChoiceError as exc:
        raise click.UsageError(label(lang, exc.problem, word=exc.word)) from None
    if (public_key is None) != unsealed:
        raise click.UsageError(label(lang, "key_or_unsealed"))
    if unsealed:
        payload = {"ballot_token": token, "choices": choices}
        if written_opinion:
            payload["written_opinion"] = True
    else:
        try:
            payload = sealed_vote(token, public_key, choices, written_opinion)
        except BadPublicKey:
            raise click.BadParameter(label(lang, "bad_key"), param_hint="--key") from None
    amqp_uri = _settings().amqp_uri
    try:
        with _broker_errors(amqp_uri, lang):
            event_publisher(amqp_uri, COUNCIL)(VOTE_CAST, payload, str(uuid.uuid4()), {})
    except Undeliverable:
        raise click.ClickException(label(lang, "undeliverable")) from None
    click.echo(label(lang, "vote_sent", n=len(choices)))
    if "sealed" in payload:
        click.echo(label(lang, "receipt", code=receipt_code(payload["sealed"])))


COMMANDS = (directory, sitting, nomination, report, vote)
