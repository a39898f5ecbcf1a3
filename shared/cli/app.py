"""``tdkt``: the top-level command group and what every subcommand shares (settings). The subcommands
are registered on it in one place, :mod:`shared.cli.commands`; this module imports none of them."""
from __future__ import annotations

import warnings

import click

from shared.platform.config import ConfigError, load_settings


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
