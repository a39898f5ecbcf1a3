"""The rule sets a running service applies: ``TDKT_RULES_FILE`` read once at start (YAML or JSON), applied
to the defaults of :mod:`shared.law.rulesets`, and injected into the workers by :class:`RuleBook`."""
from __future__ import annotations

from pathlib import Path

import yaml
from nameko.extensions import DependencyProvider

from shared.law.rulebook import Rules, with_overrides
from shared.platform.config import ConfigError, load_settings


def load_rules(path: Path | None) -> Rules:
    """The rules with the overrides of the file at ``path`` (none: the defaults); a bad file raises
    ``ConfigError`` naming the file and what is wrong."""
    if path is None:
        return with_overrides(None)
    try:
        return with_overrides(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    except (OSError, yaml.YAMLError, ValueError, TypeError, KeyError, ZeroDivisionError) as exc:
        raise ConfigError(f"TDKT_RULES_FILE {path}: {exc}") from None


class RuleBook(DependencyProvider):
    """Injects :class:`Rules`, loaded once when the service starts."""

    def setup(self):
        self.rules = load_rules(load_settings().rules_file)

    def get_dependency(self, worker_ctx):
        return self.rules
