"""The rule sets a service applies: the defaults of ``shared.rulesets`` with the operator's overrides.

``TDKT_RULES_FILE`` may name a YAML or JSON file of overrides (see ``rulesets.apply_overrides``), e.g.::

    nd152-2025:
      quorum: "3/4"
      awards:
        CSTDCS: {threshold: "4/5", quota: {share: "15/100", base: LDTT}}

Every service that applies rules loads the same file, so intake and review agree.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from nameko.extensions import DependencyProvider

from shared import rulesets
from shared.config import ConfigError, load_settings


class Rules:
    def __init__(self, rule_sets):
        self.rule_sets = tuple(rule_sets)

    def in_force(self, on: date) -> rulesets.RuleSet:
        return rulesets.in_force(on, self.rule_sets)

    def by_id(self, rule_set_id: str) -> rulesets.RuleSet:
        return rulesets.by_id(rule_set_id, self.rule_sets)


def load_rules(path: Path | None) -> Rules:
    if path is None:
        return Rules(rulesets.DEFAULT_RULE_SETS)
    try:
        overrides = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(overrides, dict):
            raise ValueError("the file must hold a mapping of rule set ids")
        return Rules(rulesets.apply_overrides(rulesets.DEFAULT_RULE_SETS, overrides))
    except (OSError, yaml.YAMLError, ValueError, TypeError, KeyError, ZeroDivisionError) as exc:
        raise ConfigError(f"TDKT_RULES_FILE {path}: {exc}") from None


class RuleBook(DependencyProvider):
    """Injects :class:`Rules`, loaded once when the service starts."""

    def setup(self):
        self.rules = load_rules(load_settings().rules_file)

    def get_dependency(self, worker_ctx):
        return self.rules
