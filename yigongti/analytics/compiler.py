"""Compile a measure (:mod:`.definitions`) once to SQL that DuckDB and Spark both run.

The SQL reads the fact tables by name (views over the Parquet partitions) and two small tables of
periods the engine registers:

- ``period_months(period, ptype, mi)`` — every month index of every period being computed;
- ``period_at(period, ptype, at_mi, mid_mi)`` — the month at whose end a stock is taken.

It returns one row per (period, org unit) with ``period``, ``org`` (the division code), ``lvl``
(county / township / village) and ``v`` (the count or sum); org units are rolled up with
``GROUPING SETS`` over the fact's hierarchy columns. Only portable SQL is used: ``year()``,
``month()``, ``dayofmonth()``, ``count``, ``sum``, ``max_by``, ``CASE``, ``GROUPING SETS``,
``grouping()`` — no date arithmetic (every period is a run of whole months, see :mod:`.periods`).

Every identifier of a ``where`` / ``latest`` / ``min`` expression is checked against the fact's
columns and qualified with its table alias; anything else is refused with its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yigongti.core.clock import today
from yigongti.core.errors import ValidationFailed

from .definitions import Definition, Measure
from .facts import FACTS, ORG_LEVELS, Fact


class CompileError(ValidationFailed):
    code = "indicator_compile_error"
    message = gettext_lazy("指标 %(code)s 的%(part)s无法计算：%(reason)s")


KEYWORDS = {"and", "or", "not", "in", "is", "null", "between", "like", "case", "when", "then", "else", "end",
            "true", "false", "date", "as", "integer", "bigint", "double", "varchar", "distinct"}
FUNCTIONS = {"coalesce", "abs", "lower", "upper", "year", "month", "substr", "length", "round", "least",
             "greatest", "cast"}
PLACEHOLDERS = {":age_months", ":today"}  # :today is the refresh's date, a DATE literal

_TOKEN = re.compile(
    r"(?P<string>'(?:[^']|'')*')|(?P<placeholder>:[a-z_]+)|(?P<name>[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)?)"
    r"|(?P<number>\d+(?:\.\d+)?)|(?P<op><=|>=|<>|!=|[-+*/(),=<>%])|(?P<space>\s+)"
)


@dataclass
class _Scope:
    """What an expression may name: the columns of ``fact`` (alias ``alias``) and, in a related
    condition, ``base.<column>`` of the base fact (collected to carry them through the base rows)."""

    code: str
    part: str
    fact: Fact
    alias: str
    base: Fact | None = None
    base_refs: set[str] | None = None
    age_months: str | None = None


def _fail(scope: _Scope, reason: str) -> CompileError:
    return CompileError(code=scope.code, part=scope.part, reason=reason)


def qualify(expression: str, scope: _Scope) -> str:
    """``expression`` with every column qualified by its alias; unknown names refused."""
    out: list[str] = []
    position = 0
    tokens = list(_TOKEN.finditer(expression))
    for index, token in enumerate(tokens):
        if token.start() != position:
            raise _fail(scope, _("无法识别“%(text)s”") % {"text": expression[position:token.start()]})
        position = token.end()
        kind, text = token.lastgroup, token.group()
        if kind == "placeholder" and text == ":today":
            out.append(f"DATE '{today().isoformat()}'")
        elif kind == "placeholder":
            if text != ":age_months" or scope.age_months is None:
                raise _fail(scope, _("占位符 %(name)s 在这里不可用") % {"name": text})
            out.append(scope.age_months)
        elif kind == "name":
            out.append(_name(text, tokens, index, scope))
        else:
            out.append(text)
    if position != len(expression):
        raise _fail(scope, _("无法识别“%(text)s”") % {"text": expression[position:]})
    return "".join(out)


def _name(text: str, tokens: list[re.Match[str]], index: int, scope: _Scope) -> str:
    following = next((t.group() for t in tokens[index + 1:] if t.lastgroup != "space"), "")
    if "." in text:
        prefix, column = text.split(".", 1)
        if prefix != "base" or scope.base is None or scope.base_refs is None:
            raise _fail(scope, _("不认识的字段“%(name)s”") % {"name": text})
        if column not in scope.base.column_names:
            raise _fail(scope, _("事实表 %(fact)s 没有字段“%(name)s”") % {"fact": scope.base.name, "name": column})
        scope.base_refs.add(column)
        return f"b.base_{column}"
    lowered = text.lower()
    if lowered in KEYWORDS:
        return text
    if following == "(":
        if lowered not in FUNCTIONS:
            raise _fail(scope, _("不支持的函数“%(name)s”") % {"name": text})
        return lowered
    if text not in scope.fact.column_names:
        raise _fail(scope, _("事实表 %(fact)s 没有字段“%(name)s”") % {"fact": scope.fact.name, "name": text})
    return f"{scope.alias}.{text}"


def fact_of(name: str, code: str, part: str) -> Fact:
    fact = FACTS.get(name)
    if fact is None:
        raise CompileError(code=code, part=part, reason=_("没有名为“%(name)s”的事实表（可用：%(facts)s）")
                           % {"name": name, "facts": ", ".join(sorted(FACTS))})
    return fact


def _column(scope: _Scope, name: str, what: str) -> str:
    if name not in scope.fact.column_names:
        raise _fail(scope, _("事实表 %(fact)s 没有字段“%(name)s”（%(what)s）")
                    % {"fact": scope.fact.name, "name": name, "what": what})
    return f"{scope.alias}.{name}"


def _mi(expression: str) -> str:
    return f"(year({expression}) * 12 + month({expression}) - 1)"


def _order_key(alias: str, date: str) -> str:
    """A sortable BIGINT for "latest": the date as YYYYMMDD, then the row id."""
    d = f"{alias}.{date}"
    return (f"(CAST(year({d}) * 10000 + month({d}) * 100 + dayofmonth({d}) AS BIGINT) * 1000000000"
            f" + CAST({alias}.id AS BIGINT))")


def _related_date(fact: Fact, code: str, part: str) -> str:
    """The event date of a related fact (``Fact.event_date``)."""
    if not fact.event_date:
        raise CompileError(code=code, part=part, reason=_("事实表 %(fact)s 没有事件日期，不能作为关联条件")
                           % {"fact": fact.name})
    return fact.event_date


def compile_measure(code: str, part: str, measure: Measure, period_types: tuple[str, ...]) -> str:
    """The SQL of one measure over all periods of ``period_types`` (see the module docstring).

    Plans, cheapest first: a count or sum without related conditions aggregates the fact once per
    month (events) or stock date (stocks) and org unit, then sums those into periods — the fact is
    scanned once whatever the number of periods. With related conditions, the base rows are
    expanded by period and each condition is pre-aggregated per key and month (or per key) before
    it is joined; a condition that compares with the base row (``base.<column>``) joins row by row.
    """
    fact = fact_of(measure.fact, code, part)
    scope = _Scope(code=code, part=part, fact=fact, alias="f")
    prefix = "" if measure.by == "residence" else "inst_"
    orgs = [_column(scope, f"{prefix}{level}", _("层级")) for level in ORG_LEVELS]
    types = ", ".join(f"'{t}'" for t in period_types)
    at_column = "at_mi" if measure.at == "end" else "mid_mi"
    two_stage = not measure.related and measure.count != "distinct"
    at = "a.at_mi" if two_stage else f"p.{at_column}"
    conditions: list[str] = []
    age_months: str | None = None
    if measure.mode == "events":
        date = _column(scope, measure.date, "date")
        source = f"{fact.name} f JOIN period_months p ON p.mi = {_mi(date)} AND p.ptype IN ({types})"
    else:
        start = _column(scope, measure.start, "start")
        table = (f"(SELECT DISTINCT {at_column} AS at_mi FROM period_at WHERE ptype IN ({types})) a" if two_stage
                 else "period_at p")
        type_test = "" if two_stage else f" AND p.ptype IN ({types})"
        source = f"{fact.name} f JOIN {table} ON {_mi(start)} <= {at}{type_test}"
        if measure.end:
            end = _column(scope, measure.end, "end")
            source += f" AND ({end} IS NULL OR {_mi(end)} > {at})"
        if "birth_date" in fact.column_names:
            age_months = f"({at} - {_mi('f.birth_date')})"
            if measure.age_min is not None:
                conditions.append(f"{age_months} >= {measure.age_min * 12}")
            if measure.age_below is not None:
                conditions.append(f"{age_months} < {measure.age_below * 12}")
        elif measure.age_min is not None or measure.age_below is not None:
            raise _fail(scope, _("事实表 %(fact)s 没有出生日期，不能按年龄筛选") % {"fact": fact.name})
    scope.age_months = age_months
    if measure.where:
        conditions.append(f"({qualify(measure.where, scope)})")
    carried = "" if measure.count == "rows" else _column(scope, measure.column, measure.count)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    named = [f"{o} AS o_{o.split('.')[1]}" for o in orgs]
    m_orgs = [f"m.o_{o.split('.')[1]}" for o in orgs]

    if two_stage:
        value = _aggregate(measure.count, carried)
        if measure.mode == "events":
            inner = (f"SELECT {_mi(date)} AS mi, {', '.join(named)}, {value} AS v FROM {fact.name} f{where}"
                     f" GROUP BY {_mi(date)}, {', '.join(orgs)}")
            join = f"period_months p ON p.mi = m.mi AND p.ptype IN ({types})"
        else:
            inner = (f"SELECT a.at_mi AS at_mi, {', '.join(named)}, {value} AS v FROM {source}{where}"
                     f" GROUP BY a.at_mi, {', '.join(orgs)}")
            join = f"period_at p ON p.{at_column} = m.at_mi AND p.ptype IN ({types})"
        return (f"WITH m AS ({inner}) SELECT p.period AS period, {_org_case(m_orgs)}, sum(m.v) AS v"
                f" FROM m JOIN {join} GROUP BY GROUPING SETS {_sets('p.period', m_orgs)}")

    if not measure.related:
        value = _aggregate(measure.count, carried)
        return (f"SELECT p.period AS period, {_org_case(orgs)}, {value} AS v FROM {source}{where}"
                f" GROUP BY GROUPING SETS {_sets('p.period', orgs)}")

    # Base rows carry what the related conditions need; each condition aggregates per base row.
    base_refs: set[str] = set()
    ctes: list[str] = []
    joins: list[str] = []
    tests: list[str] = []
    for index, related in enumerate(measure.related):
        rel_fact = fact_of(related.fact, code, f"{part}.related[{index}]")
        refs: set[str] = set()
        rscope = _Scope(code=code, part=f"{part}.related[{index}]", fact=rel_fact, alias="r", base=fact,
                        base_refs=refs, age_months="b.age_months" if age_months else None)
        key = _column(rscope, related.key, "key")
        _column(scope, related.base_key, "base_key")
        base_refs.add(related.base_key)
        rwhere = qualify(related.where, rscope) if related.where else ""
        latest = qualify(related.latest, rscope) if related.latest else ""
        minimum = related.min if related.min.isdigit() else qualify(related.min, rscope)
        base_refs |= refs
        date = _related_date(rel_fact, code, rscope.part)
        order = _order_key("r", date)
        ok = f"CASE WHEN {latest} THEN 1 ELSE 0 END" if latest else ""
        cond_where = f" WHERE {rwhere}" if rwhere else ""
        c = f"c{index}"
        on_key = f"b.base_{related.base_key}"
        if refs:  # compares with the base row: join row by row
            period_join = (f" JOIN period_months q ON q.period = b.period AND q.mi = {_mi('r.' + date)}"
                           if related.in_period else "")
            extra = f", max_by({ok}, {order}) AS ok" if latest else ""
            ctes.append(f"{c} AS (SELECT b.rid, b.period, count(*) AS n{extra} FROM base b JOIN {rel_fact.name} r"
                        f" ON {key} = {on_key}{period_join}{cond_where} GROUP BY b.rid, b.period)")
            joins.append(f" LEFT JOIN {c} ON {c}.rid = b.rid AND {c}.period = b.period")
        elif related.in_period:  # per key and month, then per key and period
            extra_m = f", max({order}) AS lk, max_by({ok}, {order}) AS lok" if latest else ""
            extra_p = ", max_by(x.lok, x.lk) AS ok" if latest else ""
            ctes.append(f"{c}m AS (SELECT {key} AS k, {_mi('r.' + date)} AS mi, count(*) AS n{extra_m}"
                        f" FROM {rel_fact.name} r{cond_where} GROUP BY {key}, {_mi('r.' + date)})")
            ctes.append(f"{c} AS (SELECT x.k, q.period, sum(x.n) AS n{extra_p} FROM {c}m x"
                        f" JOIN period_months q ON q.mi = x.mi GROUP BY x.k, q.period)")
            joins.append(f" LEFT JOIN {c} ON {c}.k = {on_key} AND {c}.period = b.period")
        else:  # any time: per key
            extra = f", max_by({ok}, {order}) AS ok" if latest else ""
            ctes.append(f"{c} AS (SELECT {key} AS k, count(*) AS n{extra} FROM {rel_fact.name} r{cond_where}"
                        f" GROUP BY {key})")
            joins.append(f" LEFT JOIN {c} ON {c}.k = {on_key}")
        test = f"coalesce({c}.n, 0) >= {minimum}"
        if latest:
            test += f" AND {c}.ok = 1"
        tests.append(f"({test})")
    carry = [f"f.{name} AS base_{name}" for name in sorted(base_refs)]
    if carried:
        carry.append(f"{carried} AS m_value")
    if age_months:
        carry.append(f"{age_months} AS age_months")
    base = (f"base AS (SELECT f.id AS rid, p.period AS period, {', '.join(named + carry)}"
            f" FROM {source}{where})")
    glue = " AND " if measure.match == "all" else " OR "
    value = _aggregate(measure.count, "b.m_value")
    b_orgs = [f"b.o_{o.split('.')[1]}" for o in orgs]
    return (f"WITH {base}, {', '.join(ctes)} SELECT b.period AS period, {_org_case(b_orgs)}, {value} AS v"
            f" FROM base b{''.join(joins)} WHERE {glue.join(tests)}"
            f" GROUP BY GROUPING SETS {_sets('b.period', b_orgs)}")


def _aggregate(count: str, column: str) -> str:
    if count == "rows":
        return "count(*)"
    return f"count(DISTINCT {column})" if count == "distinct" else f"sum({column})"


def _sets(period: str, orgs: list[str]) -> str:
    county, township, village = orgs
    return f"(({period}, {county}), ({period}, {county}, {township}), ({period}, {county}, {township}, {village}))"


def _org_case(orgs: list[str]) -> str:
    county, township, village = orgs
    return (f"CASE WHEN grouping({village}) = 0 THEN {village} WHEN grouping({township}) = 0 THEN {township}"
            f" ELSE {county} END AS org, CASE WHEN grouping({village}) = 0 THEN 'village'"
            f" WHEN grouping({township}) = 0 THEN 'township' ELSE 'county' END AS lvl")


@dataclass(frozen=True)
class Compiled:
    definition: Definition
    numerator: str
    denominator: str | None


def compile_definition(definition: Definition) -> Compiled:
    """Both measures of a definition, compiled (raises :class:`CompileError` naming what is wrong)."""
    numerator = compile_measure(definition.code, _("分子"), definition.numerator, definition.periods)
    denominator = None
    if definition.denominator is not None:
        denominator = compile_measure(definition.code, _("分母"), definition.denominator, definition.periods)
    return Compiled(definition=definition, numerator=numerator, denominator=denominator)
