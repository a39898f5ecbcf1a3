"""``tdkt demo``: a year-end batch from a dozen units through both councils, against a running system."""
import time
from collections import Counter
from pathlib import Path

import click
import yaml

from shared.cli import register as register_cli, reports
from shared.cli.app import _settings
from shared.cli.review import review_caller

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "directory.sample.yml"


@click.command()
@click.option("--directory", "directory_file", type=click.Path(exists=True, dir_okay=False), default=str(SAMPLE),
              show_default=True, help="The directory to load (units, councils, members).")
@click.option("--units", default=12, show_default=True, type=click.IntRange(1, 100), help="How many units take part.")
@click.option("--per-unit", default=8, show_default=True, type=click.IntRange(1, 200),
              help="Nominations each unit submits.")
@click.option("--no-vote", is_flag=True, help="Stop after convening the unit sittings: they stay open, and each "
              "member's invitation (var/mail/) links to a ballot page to vote on by hand.")
def demo(directory_file, units, per_unit, no_vote):
    """Load the directory, submit a year-end batch, hold the sittings, vote, and show the outcomes."""
    from shared.devtools.demo import BallotBox, nominations_for
    from shared.platform.client import rpc_proxy

    settings = _settings()
    operator = review_caller(None, "en", 60)
    tokens = review_caller(None, "en", 60, service="intake")
    directory = yaml.safe_load(Path(directory_file).read_text(encoding="utf-8"))
    operator("load_directory", directory)
    councils = {c["unit"]: c for c in directory["councils"] if c["level"] == "unit"}
    taking_part = [u for u in directory["units"] if u["id"] in councils][:units]
    ministry = next(c for c in directory["councils"] if c["level"] == "ministry")
    box = BallotBox(settings.amqp_uri)
    try:
        submitted = []
        with click.progressbar(taking_part, label="Submitting nominations", file=None) as bar:
            for unit in bar:
                token = tokens("issue_unit_token", unit["id"])
                with rpc_proxy(settings.amqp_uri, {"auth_token": token}, timeout=60) as proxy:
                    submitted += [proxy.intake.submit_nomination(n)["nomination_id"]
                                  for n in nominations_for(unit, per_unit)]
        _wait(lambda: all(_known(operator, n) for n in submitted[-len(taking_part):]), "review to record them")
        if no_vote:
            _convene_only(operator, [councils[u["id"]] for u in taking_part])
            return
        sittings = _hold(operator, box, [councils[u["id"]] for u in taking_part], "Unit councils voting")
        _wait(lambda: all(_closed(operator, s) for s in sittings), "the unit sittings to close")
        ministry_sittings = _hold(operator, box, [ministry], "Ministry council voting")
        _wait(lambda: all(_closed(operator, s) for s in ministry_sittings), "the ministry sitting to close")
    finally:
        box.close()
    stats = operator("statistics", 2025)
    for line in reports.statistics_lines(stats, "vi"):
        click.echo(line)
    _decide(operator, tokens, submitted, {u["id"] for u in directory["units"] if not u.get("parent")})
    for line in register_cli.totals_lines(tokens("register_totals", 2025)):
        click.echo(line)
    mail = review_caller(None, "en", 60, service="notify")
    _wait(lambda: not mail("mail_log", {"status": "pending", "limit": 1}), "the outcome mail to go out", 120)
    sent = Counter(entry["kind"] for entry in mail("mail_log", {"status": "sent", "limit": 1000}))
    click.echo("Mail sent: " + ", ".join(f"{kind} {count}" for kind, count in sorted(sent.items())))
    click.echo("Sittings: unit " + ", ".join(sittings) + "; ministry " + ", ".join(ministry_sittings))
    if sittings:
        click.echo(f"Their documents: tdkt sitting documents {sittings[0]} -o out/")


def _decide(operator, intake, submitted, ministries):
    """The heads decide: each unit head signs one decision for the unit-level awards approved by its
    council, the Minister one for the ministry-level awards (Law Art. 80 and following)."""
    approved = [case for case in map(lambda n: _known(operator, n), submitted)
                if case and case["outcome"] in ("approved", "proposed") and not case.get("decision")]
    wanted = {case["nomination_id"] for case in approved}
    _wait(lambda: wanted <= {p["nomination_id"] for p in intake("pending_decisions")}, "intake to follow the outcomes")
    groups = {}
    for case in approved:
        head = case["unit_id"] if case["stage"] == "unit" else next(iter(sorted(ministries)), "bo")
        groups.setdefault(head, []).append(case["nomination_id"])
    awarded = 0
    for number, (head, ids) in enumerate(sorted(groups.items()), start=1):
        signer = "Bộ trưởng" if head in ministries else f"Thủ trưởng đơn vị {head}"
        result = intake("record_decision", {"number": f"{number}/QĐ-{head.upper()}", "date": "2025-12-20",
                                            "signer": signer, "nomination_ids": ids})
        awarded += len(result["entries"])
        click.echo(f"Decision {result['number']} ({signer}): {len(result['entries'])} awards")
    click.echo(f"Decisions recorded: {awarded} awards for {len(approved)} approved nominations")


def _hold(operator, box, councils, label):
    """Convene each council and cast every member's vote; the ids of the sittings held."""
    held, members = [], sum(len(c["members"]) for c in councils)
    with click.progressbar(length=members, label=label) as bar:
        for council in councils:
            try:
                sitting = operator("convene_sitting", council["id"], {"working_days": 5})
            except click.ClickException as exc:
                if "no nomination is waiting" not in str(exc):
                    raise
                bar.update(len(council["members"]))
                continue
            held.append(sitting["sitting_id"])
            box.vote_all(sitting["sitting_id"], sitting["members"], progress=bar.update)
    return held


def _convene_only(operator, councils):
    """Convene each council and leave its sitting open for the members to vote on the ballot page."""
    for council in councils:
        sitting = operator("convene_sitting", council["id"], {"working_days": 5})
        click.echo(f"{council['name']}: sitting {sitting['sitting_id']} open until {sitting['deadline']}, "
                   f"{len(sitting['agenda'])} nominations, {sitting['members']} members")
    click.echo("Each member's invitation is in var/mail/ (make run): open its link to vote on the ballot page.")


def _known(operator, nomination_id):
    try:
        return operator("get_case", nomination_id)
    except click.ClickException:
        return None


def _closed(operator, sitting_id):
    try:
        return operator("sitting_result", sitting_id)["status"] == "closed"
    except click.ClickException:
        return False


def _wait(condition, what, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise click.ClickException(f"timed out waiting for {what}")
        time.sleep(0.3)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1025, show_default=True, type=int)
@click.option("--dir", "directory", default="var/mail", show_default=True, type=click.Path())
def mailsink(host, port, directory):
    """Development SMTP server that writes each mail it receives to DIR as an .eml file."""
    from shared.devtools.mailsink import serve

    serve(host, port, directory)


COMMANDS = (demo, mailsink)
