"""``tdkt report forms`` (the yearly statistics forms of Thông tư 02/2023/TT-BNV, from
``review.statistics_forms``) and ``tdkt objection`` (public comment: objections received on paper, their
handling, the list). Registered by :mod:`shared.cli.commands`.

A form is printed as a table, written as CSV (one file per form, through the one CSV writer:
byte-order mark, formula-looking text neutralised) or as one XLSX workbook with a sheet per form laid
out like the form (title, period, header row, the rows, the note on what is left out). ``--explain``
lists the nominations behind every non-zero number.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from shared.cli import reports
from shared.cli.review import operator


def form_rows(form: dict) -> tuple[list, list]:
    headers = ["Mã / Code", "Chỉ tiêu / Row", *(column["label"] for column in form["columns"])]
    return headers, [[row["code"], row["label"], *row["values"]] for row in form["rows"]]


def explain_lines(form: dict) -> list[str]:
    """Each non-zero cell and the nominations behind it: ``0603.N BK_BO × individual = 2: n-1, n-2``."""
    lines = []
    for row in form["rows"]:
        for column, value, sources in zip(form["columns"], row["values"], row["sources"]):
            if value:
                lines.append(f"{form['form']} {row['code']} × {column['code']} = {value}: {', '.join(sources)}")
    return lines


def workbook(data: dict):
    """An openpyxl workbook: a sheet per form, laid out like the form."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for form in data["forms"]:
        sheet = book.create_sheet(form["form"].replace(".", "_"))
        sheet.append([form["title"]])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([f"Kỳ báo cáo / Reporting year {data['year']}: {form['period'][0]} – {form['period'][1]}"])
        sheet.append([])
        headers, rows = form_rows(form)
        sheet.append([reports.spreadsheet_text(h) for h in headers])
        for cell in sheet[4]:
            cell.font, cell.alignment = Font(bold=True), Alignment(wrap_text=True, vertical="top")
        for row in rows:  # numbers stay numbers; texts can never start a formula
            sheet.append([reports.spreadsheet_text(cell) for cell in row])
        sheet.append([])
        sheet.append([reports.spreadsheet_text(f"Không thống kê được / Left out: {form['left_out']}")])
        sheet.column_dimensions["B"].width = 40
    notes = book.create_sheet("left_out")
    notes.append(["Biểu / Form", "Lý do / Why"])
    for item in data["left_out"]:
        notes.append([item["form"], reports.spreadsheet_text(item["why"])])
    return book


@click.command("forms")
@click.option("--year", type=click.IntRange(1945, 9999), required=True,
              help="The reporting year N: 1 December N-1 to 30 November N.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one CSV per form into this directory.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the forms as one XLSX workbook.")
@click.option("--json", "as_json", is_flag=True, help="Print the data as JSON.")
@click.option("--explain", is_flag=True, help="List the nominations behind each number.")
@operator
def report_forms(year, csv_dir, xlsx_path, as_json, explain, review, lang):
    """The yearly statistics forms (Thông tư 02/2023/TT-BNV) the data can fill: 0602.N and 0603.N."""
    data = review("statistics_forms", year)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
        for form in data["forms"]:
            path = csv_dir / f"{form['form'].replace('.', '_')}_{year}.csv"
            path.write_text(reports.to_csv(*form_rows(form)), encoding="utf-8", newline="")
            click.echo(str(path))
    if xlsx_path is not None:
        workbook(data).save(xlsx_path)
        click.echo(str(xlsx_path))
    if csv_dir is None and xlsx_path is None:
        for form in data["forms"]:
            click.echo(f"{form['title']} ({form['period'][0]} – {form['period'][1]})")
            click.echo("\n".join(reports.table(*form_rows(form), numeric=range(2, 2 + len(form["columns"])))))
            click.echo(f"  * {form['left_out']}\n")
        for item in data["left_out"]:
            click.echo(f"{item['form']}: {item['why']}")
    if explain:
        for form in data["forms"]:
            click.echo("\n".join(explain_lines(form)))


@click.group()
def objection():
    """Public comment: objections to nominations under comment (NĐ 98 Art. 46)."""


@objection.command("record")
@click.argument("nomination_id")
@click.option("--name", required=True, help="Who objects.")
@click.option("--contact", required=True, help="How to reach them (never published).")
@click.option("--text", required=True, help="The objection.")
@click.option("--received-at", help="When it arrived (ISO 8601 with a zone); default: now.")
@operator
def objection_record(nomination_id, name, contact, text, received_at, review, lang):
    """Record an objection received on paper for NOMINATION_ID."""
    answer = review("record_objection", {"nomination_id": nomination_id, "name": name, "contact": contact,
                                         "text": text, "received_at": received_at})
    click.echo(answer["objection_id"])


@objection.command("handle")
@click.argument("objection_id")
@click.argument("outcome", type=click.Choice(["resolved", "upheld"]))
@click.option("--note", required=True, help="How it was handled (upheld: the reason sent to the unit).")
@operator
def objection_handle(objection_id, outcome, note, review, lang):
    """Record how OBJECTION_ID was handled: resolved (the nomination goes on) or upheld (returned)."""
    answer = review("handle_objection", objection_id, outcome, note)
    click.echo(f"{answer['objection_id']} {answer['status']}: {answer['nomination_id']} {answer['case_state']}")


@objection.command("list")
@click.argument("nomination_id", required=False)
@operator
def objection_list(nomination_id, review, lang):
    """The objections to NOMINATION_ID, or every open one."""
    found = review("list_objections", nomination_id)
    rows = [[o["objection_id"], o.get("nomination_id", nomination_id), o["received_at"], o["channel"], o["status"],
             o["name"], " ".join(o["text"].split())[:60]] for o in found]
    click.echo("\n".join(reports.table(["id", "nomination", "received", "channel", "status", "name", "text"], rows)))


COMMANDS = (objection,)
