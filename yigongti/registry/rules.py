"""Rule-fixture loaders of the registry, found by ``ygt rules load`` (see :mod:`yigongti.core.rule_fixtures`)."""

from __future__ import annotations

from yigongti.core.rule_fixtures import RuleLoader

from .standards import FIXTURE_KIND, standard_rules_load

LOADERS: dict[str, RuleLoader] = {FIXTURE_KIND: standard_rules_load}
