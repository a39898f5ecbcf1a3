"""The ``tdkt decision`` and ``tdkt register`` commands (operator): the head's decisions, the award
register's import, look-ups, totals and revocations, over RPC to intake, which owns the register.

``tdkt register import FILE.csv`` reads every line first: a line that does not parse is reported with
its number and nothing of the file is sent. CSV exports use :func:`shared.cli.reports.to_csv` (a
byte-order mark, formula-like cells neutralised).
"""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import click

from shared.cli import reports
from shared.cli.review import review_caller

ROW_FIELDS = ("unit_id", "nominee_kind", "employee_id", "nominee_name", "award_code", "award_year",
              "decision_number", "decision_date", "signer", "money", "email")
SHOW_FIELDS = ("entry_id", "unit_id", "nominee_kind", "employee_id", "nominee_name", "award_code", "award_year",
               "decision_number", "decision_date", "signer", "money", "state", "source", "nomination_id",
               "revocation_ground", "revocation_number", "revocation_date", "money_to_recover", "recorded_by")


def intake_operator(command):
    """Adds ``--token`` and ``--timeout``; the command gets ``intake(method, *args)``."""
    @click.option("--token", help="The operator token (default: TDKT_ADMIN_TOKEN).")
    @click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(min=0.1))
    def wrapper(token, timeout, **arguments):
        return command(intake=review_caller(token, "en", timeout, service="intake"), **arguments)

    wrapper.__doc__, wrapper.__name__ = command.__doc__, command.__name__
    return wrapper


def read_csv(path: str) -> list[tuple[int, dict]]:
    """``(line number, row)`` of a UTF-8 CSV (a byte-order mark allowed), empty cells left out."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return [(reader.line_num, {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()})
                for row in reader]


def register_row(cells: dict) -> dict:
    """A CSV line as ``intake.import_register`` takes a row; ``ValueError`` names what does not parse."""
    unknown = set(cells) - set(ROW_FIELDS)
    if unknown:
        raise ValueError(f"unknown columns {sorted(unknown)}")
    row = dict(cells)
    for number in ("award_year", "money"):
        if number in row:
            if not row[number].isdigit():
                raise ValueError(f"{number} {row[number]!r} is not a whole number")
            row[number] = int(row[number])
    if "decision_date" in row:
        date.fromisoformat(row["decision_date"])  # ValueError names the bad date
    return row


def check_rows(rows: list[tuple[int, dict]]) -> tuple[list[dict], list[str]]:
    """Every row parsed and validated with the contract's schema, and each bad line's message."""
    from shared.contract import schemas
    from shared.contract.errors import ValidationError

    good, problems = [], []
    for line, cells in rows:
        try:
            row = register_row(cells)
            schemas.load(schemas.RegisterRow, dict(row))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
        except ValidationError as exc:
            problems.append(f"line {line}: " + "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                                          for k, v in exc.detail.items()))
        else:
            good.append(row)
    return good, problems


@click.group()
def decision():
    """The head's decisions on approved nominations (quyết định khen thưởng)."""


@decision.command("record")
@click.option("--number", required=True, help="The decision's number, e.g. 123/QĐ-BTNMT.")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Its date (YYYY-MM-DD).")
@click.option("--signer", required=True, help="Who signed it.")
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False),
              help="A CSV with a nomination_id column (the decision's attached list).")
@click.argument("nomination_ids", nargs=-1)
@intake_operator
def decision_record(number, day, signer, csv_file, nomination_ids, intake):
    """Turn approved nominations into awards, entered in the register with their money."""
    ids = list(nomination_ids)
    if csv_file:
        ids += [row["nomination_id"] for _, row in read_csv(csv_file) if row.get("nomination_id")]
    if not ids:
        raise click.UsageError("name the nominations: IDs or --csv FILE")
    result = intake("record_decision", {"number": number, "date": day.date().isoformat(), "signer": signer,
                                        "nomination_ids": ids})
    for entry in result["entries"]:
        click.echo(f"{entry['nomination_id']}\t{entry['entry_id']}\t{entry['award_code']}\t"
                   f"{entry['nominee_name']}\t{entry['money']}")
    click.echo(f"Decision {result['number']} of {result['date']}: {len(result['entries'])} awards recorded", err=True)


@decision.command("pending")
@intake_operator
def decision_pending(intake):
    """Approved and proposed nominations waiting for a decision."""
    for item in intake("pending_decisions"):
        click.echo(f"{item['nomination_id']}\t{item['unit_id']}\t{item['award_code']}\t{item['award_year']}\t"
                   f"{item['status']}\t{item['nominee_name']}")


@decision.command("not-awarded")
@click.option("--reason", required=True)
@click.option("--number", help="The central level's answer, if numbered.")
@click.argument("nomination_ids", nargs=-1, required=True)
@intake_operator
def decision_not_awarded(reason, number, nomination_ids, intake):
    """Close proposals the central level did not award, or approvals the head will not decide."""
    closed = intake("close_not_awarded", {"nomination_ids": list(nomination_ids), "reason": reason, "number": number})
    click.echo(f"{len(closed['closed'])} nominations closed as not awarded")


@click.group()
def register():
    """The award register (Law 06/2022 Art. 89(2)(e)): import, show, totals, revoke."""


@register.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@intake_operator
def register_import(file, intake):
    """Past awards from a CSV, one award a line (columns: unit_id, nominee_kind, employee_id, nominee_name,
    award_code, award_year, decision_number, decision_date, signer, money, email); all lines or none."""
    rows, problems = check_rows(read_csv(file))
    if problems:
        raise click.ClickException(f"{Path(file).name}: nothing imported:\n" + "\n".join(f"   - {p}" for p in problems))
    if not rows:
        raise click.ClickException(f"{Path(file).name}: no rows")
    result = intake("import_register", rows)
    click.echo(f"{result['added']} entries added, {result['skipped']} already in the register")


@register.command("show")
@click.option("--unit", "unit_id", required=True)
@click.option("--person", "employee_id", help="An employee id.")
@click.option("--year", type=int)
@click.option("--csv", "as_csv", is_flag=True, help="CSV (UTF-8 with BOM) instead of a table.")
@intake_operator
def register_show(unit_id, employee_id, year, as_csv, intake):
    """The register's entries of a unit (a person, a year)."""
    entries = intake("register_show", {"unit_id": unit_id, "employee_id": employee_id, "award_year": year})
    rows = [[flat(entry).get(name) for name in SHOW_FIELDS] for entry in entries]
    if as_csv:
        click.echo(reports.to_csv(SHOW_FIELDS, rows), nl=False)
        return
    shown = ("entry_id", "employee_id", "nominee_name", "award_code", "award_year", "decision_number", "money", "state")
    for line in reports.table(shown, [[flat(e).get(n) for n in shown] for e in entries], numeric=(6,)):
        click.echo(line)


@register.command("totals")
@click.option("--year", type=int)
@intake_operator
def register_totals(year, intake):
    """Awards and money by award (and what revocations leave to recover)."""
    for line in totals_lines(intake("register_totals", year)):
        click.echo(line)


@register.command("revoke")
@click.argument("entry_id")
@click.option("--ground", required=True, type=click.Choice(["a", "b", "c", "d"]), help="Law Art. 93(2) a-d.")
@click.option("--decision", "number", required=True, help="The cancelling decision's number.")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--reason", required=True)
@intake_operator
def register_revoke(entry_id, ground, number, day, reason, intake):
    """Revoke an award: the entry stays, revoked, with the money to recover."""
    result = intake("revoke_register_entry", {"entry_id": entry_id, "ground": ground, "decision_number": number,
                                              "date": day.date().isoformat(), "reason": reason})
    click.echo(f"Entry {entry_id} revoked; money to recover: {result['revocation']['money_to_recover']} VND")
    for item in result["affected"]:
        click.echo(f"returned to its unit: {item['nomination_id']}")


def flat(entry: dict) -> dict:
    revocation = entry.get("revocation") or {}
    return {**entry, "decision_number": entry["decision"]["number"], "decision_date": entry["decision"]["date"],
            "signer": entry["decision"].get("signer"), "revocation_ground": revocation.get("ground"),
            "revocation_number": revocation.get("number"), "revocation_date": revocation.get("date"),
            "money_to_recover": revocation.get("money_to_recover")}


def totals_lines(totals: dict) -> list[str]:
    rows = [[t["award_code"], t["state"], t["count"], f"{t['money']:,}"] for t in totals["by_award"]]
    lines = [f"Award register{' ' + str(totals['award_year']) if totals['award_year'] else ''} "
             f"(first year {totals['first_year'] or '-'})"]
    lines += reports.table(("award", "state", "entries", "money VND"), rows, numeric=(2, 3))
    lines.append(f"Awarded: {totals['awarded']} entries, {totals['money']:,} VND; revoked: {totals['revoked']}, "
                 f"{totals['money_to_recover']:,} VND to recover")
    return lines


COMMANDS = (decision, register)
