"""The ``tdkt`` command: every subcommand registered on the group, here and only here (the entry point
of ``pyproject.toml``). Subcommand modules import :mod:`shared.cli.app`, never this module."""
from shared.cli import dev, documents, forms, mail, ops, register, review, status, unit
from shared.cli.app import main

review.sitting.add_command(documents.sitting_documents)

for module in (unit, review, register, forms, mail, ops, status, dev):
    for command in module.COMMANDS:
        main.add_command(command)
review.report.add_command(forms.report_forms)
