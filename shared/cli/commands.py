"""The ``tdkt`` command: every subcommand registered on the group, here and only here (the entry point
of ``pyproject.toml``). Subcommand modules import :mod:`shared.cli.app`, never this module."""
from shared.cli import dev, documents, mail, ops, review, status, unit
from shared.cli.app import main

review.sitting.add_command(documents.sitting_documents)

for module in (unit, review, mail, ops, status, dev):
    for command in module.COMMANDS:
        main.add_command(command)
