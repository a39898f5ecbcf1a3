"""``tdkt mail log``: notify's delivery log, for the operator."""
import click

from shared.cli import reports
from shared.cli.review import LANG, review_caller

COLUMNS = ("created_at", "kind", "recipient", "status", "attempts", "sent_at", "last_error")


@click.group()
def mail():
    """Mail sent by notify."""


@mail.command("log")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]), help="Only mails in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of a table.")
@click.option("--token", help="The operator token (default: TDKT_ADMIN_TOKEN).")
@LANG
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1))
def mail_log(status, limit, as_csv, token, lang, timeout):
    """The newest mails with their delivery state (never their bodies)."""
    entries = review_caller(token, lang, timeout, service="notify")("mail_log", {"status": status, "limit": limit})
    rows = [[entry[column] if entry[column] is not None else "" for column in COLUMNS] for entry in entries]
    if as_csv:
        click.echo(reports.to_csv(COLUMNS, rows), nl=False)
    else:
        for line in reports.table(COLUMNS, rows, numeric=(4,)):
            click.echo(line)


COMMANDS = (mail,)
