"""What stands behind a number: the formula panel of an indicator for a unit and a period.

The formula in both languages, the numerator and the denominator with their labels and the stored
numbers, factor and unit, the source (the norm), each measure's fact and filters as written in the
definition, and the SQL the compiler makes of it — so that anyone can check a figure by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.errors import DomainError
from yigongti.registry.models import Division

from .compiler import compile_definition
from .definitions import Measure, Related, parse
from .facts import FACTS
from .models import Indicator
from .periods import Period
from .selectors import Cell, english


@dataclass(frozen=True)
class MeasureView:
    """One measure (numerator or denominator) as the panel lists it: its label, its stored number
    and its definition as (term, text) pairs."""

    role: str
    label: str
    number: float | None
    facts: list[tuple[str, str]]


def _fact_name(name: str) -> str:
    fact = FACTS.get(name)
    if fact is None:
        return name
    return f"{fact.label_en if english() else fact.label}（{name}）"


def _related(related: Related) -> str:
    parts = [_("%(fact)s 中 %(key)s = 本行 %(base)s 的记录") % {
        "fact": _fact_name(related.fact), "key": related.key, "base": related.base_key}]
    if related.in_period:
        parts.append(_("落在同一周期内"))
    if related.where:
        parts.append(_("满足 %(where)s") % {"where": related.where})
    parts.append(_("至少 %(min)s 条") % {"min": related.min})
    if related.latest:
        parts.append(_("最近一条满足 %(latest)s") % {"latest": related.latest})
    return _("，").join(parts)


def describe(measure: Measure) -> list[tuple[str, str]]:
    """A measure's definition in words: fact, events or stock, filters, count, age, scale, by."""
    facts = [(_("事实表"), _fact_name(measure.fact))]
    if measure.mode == "events":
        facts.append((_("口径"), _("期内发生：%(date)s 落在周期内") % {"date": measure.date}))
    else:
        at = _("期中（年中）") if measure.at == "mid" else _("期末")
        text = _("%(at)s存量：%(start)s 不晚于%(at)s") % {"at": at, "start": measure.start}
        if measure.end:
            text += _("，且 %(end)s 为空或晚于%(at)s") % {"end": measure.end, "at": at}
        facts.append((_("口径"), text))
    if measure.where:
        facts.append((_("筛选条件"), measure.where))
    count = {"rows": _("记录数"), "distinct": _("%(column)s 的不同值个数"), "sum": _("%(column)s 之和")}[measure.count]
    facts.append((_("计数"), count % {"column": measure.column} if measure.column else count))
    if measure.age_min is not None or measure.age_below is not None:
        low = "" if measure.age_min is None else _("≥%(age)s 岁") % {"age": measure.age_min}
        high = "" if measure.age_below is None else _("<%(age)s 岁") % {"age": measure.age_below}
        facts.append((_("年龄"), " ".join(t for t in (low, high) if t)))
    if measure.scale != 1:
        facts.append((_("折算系数"), f"× {measure.scale:g}"))
    facts.append((_("归属"), _("居民现住址所在区划") if measure.by == "residence" else _("机构所在区划")))
    for index, related in enumerate(measure.related):
        facts.append((_("关联条件") if index == 0 else "", _related(related)))
    if len(measure.related) > 1:
        facts.append(("", _("以上条件须全部满足") if measure.match == "all" else _("以上条件满足其一即可")))
    return facts


@dataclass(frozen=True)
class FormulaView:
    indicator: Indicator
    org: Division
    period: Period
    period_label: str
    cell: Cell | None
    measures: list[MeasureView]
    sql: list[tuple[str, str]]
    problem: str  # the definition cannot be read or compiled (the stored values stand, the panel says why)
    compare: bool


def formula_view(*, indicator: Indicator, org: Division, period: Period, cell: Cell | None) -> FormulaView:
    """The panel of ``indicator`` for ``org`` in ``period`` (``cell``: its stored value, if any)."""
    en = english()
    measures: list[MeasureView] = []
    sql: list[tuple[str, str]] = []
    problem = ""
    compare = False
    try:
        definition = parse(indicator.definition, sort_order=indicator.sort_order)
        compiled = compile_definition(definition)
    except DomainError as error:
        problem = str(error)
    else:
        compare = bool(definition.compare)
        numerator_label = indicator.numerator_label_en if en and indicator.numerator_label_en else \
            indicator.numerator_label
        measures.append(MeasureView(role=_("分子"), label=numerator_label,
                                    number=None if cell is None else cell.numerator,
                                    facts=describe(definition.numerator)))
        if definition.denominator is not None:
            label = indicator.denominator_label_en if en and indicator.denominator_label_en else \
                indicator.denominator_label
            measures.append(MeasureView(role=_("分母"), label=label,
                                        number=None if cell is None else cell.denominator,
                                        facts=describe(definition.denominator)))
        elif compare:
            measures.append(MeasureView(role=_("分母"), label=_("上年同期的分子（%(label)s）") % {
                "label": numerator_label}, number=None if cell is None else cell.denominator, facts=[]))
        sql.append((_("分子"), compiled.numerator))
        if compiled.denominator:
            sql.append((_("分母"), compiled.denominator))
    return FormulaView(indicator=indicator, org=org, period=period, period_label=period.label(english=en),
                       cell=cell, measures=measures, sql=sql, problem=problem, compare=compare)


def formula_context(view: FormulaView) -> dict[str, Any]:
    return {"formula": view, "indicator": view.indicator, "org": view.org, "period": view.period}
