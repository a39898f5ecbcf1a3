"""The rule sets a service applies: the defaults of ``shared.law.rulesets`` with the operator's overrides.

``TDKT_RULES_FILE`` may name a YAML or JSON file of overrides (see ``overrides.apply_overrides``), e.g.::

    nd152-2025:
      quorum: "3/4"
      awards:
        CSTDCS: {threshold: "4/5", quota: {share: "15/100", base: LDTT}}

Every service that applies rules loads the same file, so intake and review agree.
"""
from __future__ import annotations

from datetime import date

from shared.law import rulesets
from shared.law.overrides import apply_overrides


class Rules:
    def __init__(self, rule_sets):
        self.rule_sets = tuple(rule_sets)

    def in_force(self, on: date) -> rulesets.RuleSet:
        return rulesets.in_force(on, self.rule_sets)

    def by_id(self, rule_set_id: str) -> rulesets.RuleSet:
        return rulesets.by_id(rule_set_id, self.rule_sets)


def with_overrides(overrides) -> Rules:
    """The default rule sets with ``overrides`` (a mapping of rule set ids, as read from the rules
    file) applied; raises ``ValueError`` (or ``TypeError``, ``KeyError``) naming what is wrong."""
    if not overrides:
        return Rules(rulesets.DEFAULT_RULE_SETS)
    if not isinstance(overrides, dict):
        raise ValueError("the file must hold a mapping of rule set ids")
    return Rules(apply_overrides(rulesets.DEFAULT_RULE_SETS, overrides))
