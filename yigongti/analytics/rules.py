"""``ygt rules load`` for analytics: the indicator catalogue (``fixtures/indicators.yaml``).

Each row (after ``each:`` expansion, see :func:`.definitions.expand`) is parsed and compiled — a
definition naming an unknown fact or field stops the load with the indicator and the name — then
upserted by ``code``. Loading again changes nothing; a changed definition gets a new digest, and
the next refresh recomputes that indicator for every period.
"""

from __future__ import annotations

from typing import Any

from yigongti.core.rule_fixtures import LoadResult, RuleFixture, upsert_by_code

from .compiler import CompileError, compile_definition
from .definitions import DefinitionInvalid, expand, parse
from .models import Indicator

KIND = "analytics.indicators"


def indicators_load(fixture: RuleFixture) -> LoadResult:
    result = LoadResult()
    rows = expand(fixture.rows("indicators"))
    groups = fixture.document.get("groups") or {}
    if not isinstance(groups, dict):
        raise fixture.invalid("groups: a mapping of group names, Chinese → English")
    seen: set[str] = set()
    for position, row in enumerate(rows):
        try:
            definition = parse(row, sort_order=position, groups={str(k): str(v) for k, v in groups.items()})
            compile_definition(definition)
        except (DefinitionInvalid, CompileError) as exc:
            raise fixture.invalid(str(exc)) from exc
        if definition.code in seen:
            raise fixture.invalid(f"{definition.code}: duplicate code")
        seen.add(definition.code)
        values: dict[str, Any] = {
            "name": definition.name, "name_en": definition.name_en, "group": definition.group,
            "group_en": definition.group_en,
            "sort_order": position, "unit": definition.unit, "factor": definition.factor,
            "decimals": definition.decimals, "direction": definition.direction, "periods": list(definition.periods),
            "formula": definition.formula, "formula_en": definition.formula_en,
            "numerator_label": definition.numerator.label, "numerator_label_en": definition.numerator.label_en,
            "denominator_label": definition.denominator.label if definition.denominator else "",
            "denominator_label_en": definition.denominator.label_en if definition.denominator else "",
            "source": definition.source, "target": definition.target, "definition": definition.document,
            "digest": definition.digest,
        }
        result.add(upsert_by_code(Indicator, code=definition.code, values=values), definition.code)
    return result


LOADERS = {KIND: indicators_load}
