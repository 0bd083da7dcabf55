"""Indicator definitions as data: the schema of ``analytics/fixtures/indicators.yaml``.

An indicator is ``numerator ÷ denominator × factor`` (or ``numerator × factor`` without a
denominator; or, with ``compare: previous_year``, the growth of the numerator over the same period
one year earlier). Numerator and denominator are *measures*: filtered counts or sums over one fact
table (:mod:`.facts`)::

    fact: visits                 # the fact table counted
    mode: events                 # events: rows whose `date` falls in the period
    date: visit_date             #   (stock: rows alive at the period's end — `start` ≤ end < `end`)
    where: "programme = 'hypertension' AND item = 'followup'"   # SQL over the fact's columns
    count: rows                  # rows | distinct:<column> | sum:<column>
    age: {min: 35}               # stock only: age in completed years at the stock date (min ≤ age < below)
    at: end                      # stock only: end (default) or mid (mid-period population, 30 June)
    scale: 0.245                 # multiply the count (prevalence: the estimated patients)
    by: residence                # residence (the resident's village) or institution (its division)
    related:                     # the row counts only if its related rows qualify
      match: all                 # all | any
      conditions:
        - fact: visits
          key: enrolment_id      # related.key = base.<base_key> (default: id)
          base_key: id
          in_period: true        # related rows must fall in the same period (default true)
          where: "item = 'followup'"     # related columns bare; base columns as base.<column>
          min: 4                 # at least this many related rows (an SQL expression may use :age_months)
          latest: "sbp < 140 AND dbp < 90"   # the latest related row satisfies this

Parsing here checks the shape and names the indicator and key at fault; the compiler checks every
column against the fact (an unknown fact or field is refused with its name).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yigongti.core.errors import ValidationFailed

from .periods import TYPES

COUNTS = ("rows", "distinct", "sum")


class DefinitionInvalid(ValidationFailed):
    code = "indicator_definition_invalid"
    message = gettext_lazy("指标 %(code)s 的定义有误（%(key)s）：%(reason)s")


@dataclass(frozen=True)
class Related:
    fact: str
    key: str
    base_key: str = "id"
    in_period: bool = True
    where: str = ""
    min: str = "1"
    latest: str = ""


@dataclass(frozen=True)
class Measure:
    fact: str
    mode: str  # events | stock
    date: str = ""
    start: str = ""
    end: str = ""
    where: str = ""
    count: str = "rows"  # rows | distinct | sum
    column: str = ""  # for distinct / sum
    age_min: int | None = None
    age_below: int | None = None
    at: str = "end"
    scale: float = 1.0
    by: str = "residence"
    match: str = "all"
    related: tuple[Related, ...] = ()
    label: str = ""
    label_en: str = ""


@dataclass(frozen=True)
class Definition:
    code: str
    name: str
    name_en: str
    group: str
    group_en: str
    unit: str
    factor: float
    decimals: int
    direction: str
    periods: tuple[str, ...]
    formula: str
    formula_en: str
    source: str
    numerator: Measure
    denominator: Measure | None = None
    compare: str = ""  # "" or previous_year
    target: float | None = None
    sort_order: int = 0
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.document, sort_keys=True, default=str).encode()).hexdigest()


class _Reader:
    def __init__(self, code: str) -> None:
        self.code = code

    def fail(self, key: str, reason: str) -> DefinitionInvalid:
        return DefinitionInvalid(code=self.code, key=key, reason=reason)

    def text(self, value: Any, key: str, *, required: bool = True) -> str:
        if value is None or str(value).strip() == "":
            if required:
                raise self.fail(key, _("不能为空"))
            return ""
        if isinstance(value, dict | list):
            raise self.fail(key, _("应为文字"))
        return str(value).strip()

    def bilingual(self, value: Any, key: str, *, required: bool = True) -> tuple[str, str]:
        if value is None and not required:
            return "", ""
        if not isinstance(value, dict) or not value.get("zh-hans") or not value.get("en"):
            raise self.fail(key, _("应写明 zh-hans 与 en 两种文字"))
        self.keys(value, key, {"zh-hans", "en"})  # a comma inside {…} would make a stray key: quote the text
        return str(value["zh-hans"]).strip(), str(value["en"]).strip()

    def number(self, value: Any, key: str, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, _("应为数字，收到 %(value)r") % {"value": value})
        return float(value)

    def choice(self, value: Any, key: str, choices: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in choices:
            raise self.fail(key, _("应为 %(choices)s 之一，收到 %(value)r") % {"choices": " / ".join(choices),
                                                                          "value": value})
        return str(value)

    def keys(self, mapping: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(mapping, dict):
            raise self.fail(key, _("应为映射"))
        unknown = sorted(set(mapping) - allowed)
        if unknown:
            raise self.fail(key, _("不认识的键：%(keys)s") % {"keys": ", ".join(unknown)})
        return mapping

    def related(self, raw: Any, key: str) -> Related:
        raw = self.keys(raw, key, {"fact", "key", "base_key", "in_period", "where", "min", "latest"})
        in_period = raw.get("in_period", True)
        if not isinstance(in_period, bool):
            raise self.fail(f"{key}.in_period", _("应为 true 或 false"))
        minimum = raw.get("min", 1)
        if isinstance(minimum, bool) or not isinstance(minimum, int | str):
            raise self.fail(f"{key}.min", _("应为整数或 SQL 表达式"))
        return Related(fact=self.text(raw.get("fact"), f"{key}.fact"), key=self.text(raw.get("key"), f"{key}.key"),
                       base_key=self.text(raw.get("base_key", "id"), f"{key}.base_key"), in_period=in_period,
                       where=self.text(raw.get("where"), f"{key}.where", required=False), min=str(minimum),
                       latest=self.text(raw.get("latest"), f"{key}.latest", required=False))

    def measure(self, raw: Any, key: str, default_by: str) -> Measure:
        raw = self.keys(raw, key, {"fact", "mode", "date", "start", "end", "where", "count", "age", "at", "scale",
                                   "by", "related", "label"})
        mode = self.choice(raw.get("mode"), f"{key}.mode", ("events", "stock"), "events")
        count = self.text(raw.get("count", "rows"), f"{key}.count")
        kind, _sep, column = count.partition(":")
        if kind not in COUNTS or (kind == "rows") != (column == ""):
            raise self.fail(f"{key}.count",
                            _("应为 rows、distinct:<列> 或 sum:<列>，收到 %(value)r") % {"value": count})
        age_min = age_below = None
        if raw.get("age") is not None:
            age = self.keys(raw["age"], f"{key}.age", {"min", "below"})
            if mode != "stock":
                raise self.fail(f"{key}.age", _("年龄条件只用于 stock（期末存量）口径"))
            age_min = None if age.get("min") is None else int(self.number(age["min"], f"{key}.age.min", 0))
            age_below = None if age.get("below") is None else int(self.number(age["below"], f"{key}.age.below", 0))
        related: list[Related] = []
        match = "all"
        if raw.get("related") is not None:
            block = self.keys(raw["related"], f"{key}.related", {"match", "conditions"})
            match = self.choice(block.get("match"), f"{key}.related.match", ("all", "any"), "all")
            conditions = block.get("conditions")
            if not isinstance(conditions, list) or not conditions:
                raise self.fail(f"{key}.related.conditions", _("应为至少一项的列表"))
            related = [self.related(c, f"{key}.related.conditions[{i}]") for i, c in enumerate(conditions)]
        label, label_en = self.bilingual(raw.get("label"), f"{key}.label")
        measure = Measure(
            fact=self.text(raw.get("fact"), f"{key}.fact"), mode=mode,
            date=self.text(raw.get("date"), f"{key}.date", required=mode == "events"),
            start=self.text(raw.get("start"), f"{key}.start", required=mode == "stock"),
            end=self.text(raw.get("end"), f"{key}.end", required=False),
            where=self.text(raw.get("where"), f"{key}.where", required=False),
            count=kind, column=column.strip(), age_min=age_min, age_below=age_below,
            at=self.choice(raw.get("at"), f"{key}.at", ("end", "mid"), "end"),
            scale=self.number(raw.get("scale"), f"{key}.scale", 1.0),
            by=self.choice(raw.get("by"), f"{key}.by", ("residence", "institution"), default_by),
            match=match, related=tuple(related), label=label, label_en=label_en,
        )
        if measure.at == "mid" and mode != "stock":
            raise self.fail(f"{key}.at", _("期中人口只用于 stock（期末存量）口径"))
        return measure


FIELDS = {"code", "name", "group", "unit", "factor", "decimals", "direction", "periods", "formula", "source",
          "numerator", "denominator", "compare", "target", "by"}


def parse(raw: Any, *, sort_order: int = 0, groups: dict[str, str] | None = None) -> Definition:
    """One indicator of the fixture → :class:`Definition`, or :class:`DefinitionInvalid`."""
    code = str(raw.get("code", "?")) if isinstance(raw, dict) else "?"
    reader = _Reader(code)
    raw = reader.keys(raw, "indicator", FIELDS)
    name, name_en = reader.bilingual(raw.get("name"), "name")
    formula, formula_en = reader.bilingual(raw.get("formula"), "formula")
    periods = raw.get("periods") or list(TYPES)
    if not isinstance(periods, list) or not periods or any(p not in TYPES for p in periods):
        raise reader.fail("periods", _("应为 %(types)s 中的若干项") % {"types": ", ".join(TYPES)})
    by = reader.choice(raw.get("by"), "by", ("residence", "institution"), "residence")
    compare = reader.choice(raw.get("compare"), "compare", ("", "previous_year"), "")
    numerator = reader.measure(raw.get("numerator"), "numerator", by)
    denominator = None
    if raw.get("denominator") is not None:
        if compare:
            raise reader.fail("denominator", _("同比增长指标的分母是上年同期的分子，不另写分母"))
        denominator = reader.measure(raw["denominator"], "denominator", by)
    target = raw.get("target")
    return Definition(
        code=reader.text(raw.get("code"), "code"), name=name, name_en=name_en,
        group=reader.text(raw.get("group"), "group"),
        group_en=(groups or {}).get(str(raw.get("group")), str(raw.get("group"))),
        unit=reader.text(raw.get("unit"), "unit", required=False),
        factor=reader.number(raw.get("factor"), "factor", 1.0),
        decimals=int(reader.number(raw.get("decimals"), "decimals", 1)),
        direction=reader.choice(raw.get("direction"), "direction", ("higher", "lower", "none"), "higher"),
        periods=tuple(p for p in TYPES if p in periods), formula=formula, formula_en=formula_en,
        source=reader.text(raw.get("source"), "source"), numerator=numerator, denominator=denominator,
        compare=compare, target=None if target is None else reader.number(target, "target", 0),
        sort_order=sort_order, document=raw,
    )


def expand(rows: list[Any]) -> list[Any]:
    """Rows with ``each:`` (a list of mappings) become one row per entry, ``{name}`` placeholders filled
    in every string — one definition written once for every vaccine dose."""
    out: list[Any] = []
    for row in rows:
        if not isinstance(row, dict) or "each" not in row:
            out.append(row)
            continue
        template = {k: v for k, v in row.items() if k != "each"}
        for values in row["each"]:
            out.append(_fill(template, values))
    return out


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value
