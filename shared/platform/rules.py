"""The rule sets a running service applies: ``TDKT_RULES_FILE`` read once at start (YAML or JSON), applied
to the defaults of :mod:`shared.law.rulesets`, and injected into the workers by :class:`RuleBook`."""
from __future__ import annotations

from pathlib import Path

import yaml
from nameko.extensions import DependencyProvider

from shared.law.rulebook import Rules, with_overrides
from shared.platform.config import ConfigError, load_settings


def load_rules(path: Path | None) -> Rules:
    """The rules with the overrides of the file at ``path`` (none, or a file with nothing in it: the
    defaults); a bad file raises ``ConfigError`` naming the file and what is wrong."""
    if path is None:
        return with_overrides(None)
    try:
        overrides = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UniqueKeys)
        if overrides is not None and not isinstance(overrides, dict):
            raise ValueError(f"the file must hold a mapping of rule set ids, got {overrides!r}")
        return with_overrides(overrides)
    except (OSError, yaml.YAMLError, ValueError, TypeError, KeyError, ZeroDivisionError) as exc:
        raise ConfigError(f"TDKT_RULES_FILE {path}: {exc}") from None


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader refusing a key written twice in one mapping, which it would otherwise read
    as the last one alone (``nd152-2025:`` twice drops the first block without a word)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ValueError(f"{key} is written twice in one mapping (line {key_node.start_mark.line + 1})")
            if isinstance(key, (str, int, float, bool)) or key is None:
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


class RuleBook(DependencyProvider):
    """Injects :class:`Rules`, loaded once when the service starts."""

    def setup(self):
        self.rules = load_rules(load_settings().rules_file)

    def get_dependency(self, worker_ctx):
        return self.rules
