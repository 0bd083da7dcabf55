"""Comparisons tuned for Chinese data, built from the model in ``settings.yaml``.

Each comparison is a Splink custom comparison whose levels are plain SQL conditions (the string
similarity functions are the backend's: DuckDB or Spark), labelled in Chinese and English so that
every score can say why. The m/u probabilities come from the same file; training is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SETTINGS_PATH = Path(__file__).with_name("settings.yaml")


@dataclass(frozen=True)
class Level:
    key: str
    zh: str
    en: str
    sql: str
    m: float | None
    u: float | None
    is_null: bool


@dataclass(frozen=True)
class Comparison:
    field: str
    column: str
    zh: str
    en: str
    levels: tuple[Level, ...]

    def level_for_gamma(self, gamma: int) -> Level:
        """Splink numbers levels from the top: the null level is -1, the last (ELSE) level is 0."""
        if gamma < 0:
            return next(lv for lv in self.levels if lv.is_null)
        scored = [lv for lv in self.levels if not lv.is_null]
        return scored[len(scored) - 1 - gamma]


@dataclass(frozen=True)
class Model:
    source: str
    duplicate_share: float
    link_share: float
    max_prior: float
    review_threshold: float
    auto_threshold: float
    comparisons: tuple[Comparison, ...]
    blocking_rules: tuple[str, ...]
    fallback_blocking_rules: tuple[str, ...]

    def prior(self, *, n: int, link_to: int | None = None) -> float:
        """λ for a dedupe of ``n`` records, or for a link of ``n`` records to ``link_to`` records."""
        if link_to is not None:
            value = self.link_share / max(1, link_to)
        else:
            value = 2 * self.duplicate_share / max(1, n)
        return min(self.max_prior, value)

    def comparison(self, field: str) -> Comparison:
        return next(c for c in self.comparisons if c.field == field)


def _level(raw: dict[str, Any]) -> Level:
    return Level(key=raw["key"], zh=str(raw["zh"]), en=str(raw["en"]), sql=str(raw["sql"]).strip(),
                 m=raw.get("m"), u=raw.get("u"), is_null=bool(raw.get("null", False)))


@cache
def load_model(path: Path = SETTINGS_PATH) -> Model:
    """The MPI model of ``settings.yaml`` (cached; pass another path to try other parameters)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    comparisons = tuple(
        Comparison(field=c["field"], column=c["output_column_name"], zh=c["zh"], en=c["en"],
                   levels=tuple(_level(lv) for lv in c["levels"]))
        for c in data["comparisons"]
    )
    return Model(
        source=" ".join(str(data["source"]).split()),
        duplicate_share=float(data["prior"]["duplicate_share"]),
        link_share=float(data["prior"]["link_share"]),
        max_prior=float(data["prior"]["max"]),
        review_threshold=float(data["thresholds"]["review"]),
        auto_threshold=float(data["thresholds"]["auto_link"]),
        comparisons=comparisons,
        blocking_rules=tuple(" ".join(r["sql"].split()) for r in data["blocking_rules"]),
        fallback_blocking_rules=tuple(" ".join(r["sql"].split()) for r in data.get("fallback_blocking_rules", [])),
    )


def _functions(dialect: str) -> dict[str, str]:
    from splink.internals.dialects import SplinkDialect

    d = SplinkDialect.from_string(dialect)
    return {"dl": d.damerau_levenshtein_function_name, "lev": d.levenshtein_function_name,
            "jw": d.jaro_winkler_function_name}


def comparison_dict(comparison: Comparison, dialect: str) -> dict[str, Any]:
    """A Splink comparison dict (custom SQL levels with fixed m/u) for ``dialect``."""
    names = _functions(dialect)
    levels = []
    for lv in comparison.levels:
        level: dict[str, Any] = {"sql_condition": lv.sql.format(**names), "label_for_charts": f"{lv.key}: {lv.en}"}
        if lv.is_null:
            level["is_null_level"] = True
        else:
            level["m_probability"] = lv.m
            level["u_probability"] = lv.u
        levels.append(level)
    return {"output_column_name": comparison.column, "comparison_description": f"{comparison.zh} / {comparison.en}",
            "comparison_levels": levels}


def settings_dict(
    *, dialect: str, link_type: str, fields: frozenset[str], prior: float, model: Model | None = None
) -> dict[str, Any]:
    """The Splink settings for the comparisons of ``fields`` (the ones the data has)."""
    model = model or load_model()
    comparisons = [comparison_dict(c, dialect) for c in model.comparisons if c.field in fields]
    rules = list(model.blocking_rules)
    if not {"birth_date", "village"} & fields:
        rules += model.fallback_blocking_rules
    return {
        "link_type": link_type,
        "probability_two_random_records_match": prior,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": rules,
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
        "additional_columns_to_retain": [],
    }
