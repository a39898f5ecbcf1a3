"""``tdkt sitting documents``: a closed sitting's minutes, proposal letter and draft decision as files.

Calls ``review.sitting_documents`` (waiting while the service still renders them) and then
``review.sitting_document`` for each kind and format, and writes each under the name the service gives,
inside ``-o DIR`` only. Registered on the ``sitting`` group by :mod:`shared.cli.commands`.
"""
from __future__ import annotations

from pathlib import Path

import click

from shared.cli.reports import label
from shared.cli.review import operator


@click.command("documents")
@click.argument("sitting_id")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["minutes", "proposal", "decision"]),
              help="Only this document (repeat for several; default: every one the sitting has).")
@click.option("--pdf", "only_pdf", is_flag=True, help="Only the PDF.")
@click.option("--docx", "only_docx", is_flag=True, help="Only the DOCX.")
@click.option("-o", "--output", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Directory to write the files to.")
@click.option("--again", is_flag=True, help="Make them again first (a template or a money value changed).")
@click.option("--wait", default=300.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for documents still being rendered.")
@operator
def sitting_documents(sitting_id, kinds, only_pdf, only_docx, directory, again, wait, review, lang):
    """Write the minutes, proposal letter and draft decision of the closed SITTING_ID as DOCX and PDF."""
    import base64
    import time

    formats = [fmt for fmt, only in (("docx", only_docx), ("pdf", only_pdf)) if only]
    deadline = time.monotonic() + wait
    if again:
        review("render_sitting_documents", sitting_id)
    while True:
        listing = review("sitting_documents", sitting_id)
        if all(entry["formats"] for entry in listing):
            break
        if time.monotonic() > deadline:
            raise click.ClickException(label(lang, "doc_wait", sitting_id=sitting_id, seconds=wait))
        time.sleep(1.0)  # LibreOffice renders in the service; ask again
    available = {entry["kind"]: entry["formats"] for entry in listing}
    for kind in kinds:
        if kind not in available:
            raise click.ClickException(label(lang, "doc_none", sitting_id=sitting_id, kind=kind))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for kind in kinds or available:
        for fmt in formats or available[kind]:
            document = review("sitting_document", sitting_id, kind, fmt)
            path = out / Path(document["filename"]).name  # never a path the answer chose
            path.write_bytes(base64.b64decode(document["content_base64"]))
            click.echo(label(lang, "doc_written", path=path))
