"""Reads of the dashboard screens that :mod:`.selectors` would answer one indicator at a time.

The board of a county shows ~60 indicators, each with its value and a 24-month sparkline: asking
:func:`.selectors.trend` per indicator would be three queries each. :func:`board_page` reads the
unit's stored values for the chosen period *and* every period of every sparkline in one query,
whatever the number of indicators. The tree table and its Excel download read a unit's children
(or its whole subtree) and their values in two queries. Everything is scoped like the selectors:
the org unit through :func:`.selectors.org_for`, values and divisions through
:func:`yigongti.core.scope.visible`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet

from yigongti.core.scope import visible
from yigongti.core.tree import subtree_q
from yigongti.registry.models import Division
from yigongti.registry.selectors import division_trail

from .models import Indicator, RefreshRun
from .periods import Period
from .selectors import Cell, cell_of, english, indicators, org_for, trend_periods, values_for

TREND_TYPES = ("month", "r12", "quarter", "year")
VALUE_FIELDS = ("indicator__code", "org_code", "period", "numerator", "denominator", "value")


@dataclass(frozen=True)
class Refresh:
    """What the screens say about the computation: the latest run (any status) and the last month
    the last successful run computed (``None``: nothing computed yet)."""

    run: RefreshRun | None
    last_month: int | None

    @property
    def computed(self) -> bool:
        return self.last_month is not None


def refresh_state() -> Refresh:
    """One query when the latest run succeeded, two otherwise."""
    latest = RefreshRun.objects.order_by("-started_at").first()
    if latest is None:
        return Refresh(run=None, last_month=None)
    if latest.status == RefreshRun.Status.DONE and latest.last_month is not None:
        return Refresh(run=latest, last_month=latest.last_month)
    done = (RefreshRun.objects.filter(status=RefreshRun.Status.DONE).exclude(last_month=None)
            .order_by("-started_at").values_list("last_month", flat=True).first())
    return Refresh(run=latest, last_month=done)


def trend_type(indicator: Indicator) -> str:
    """The period type of an indicator's trend: months when it has them, else rolling, quarters, years."""
    return next((t for t in TREND_TYPES if t in indicator.periods), "year")


def trend_end(period: Period, last_month: int | None) -> int:
    """The last month of a trend ending with ``period``: never past the last computed month."""
    return period.last if last_month is None else min(period.last, last_month)


def series(indicator: Indicator, stored: dict[str, Cell], end: int,
           periods: dict[str, list[Period]] | None = None) -> list[Cell | Period]:
    """One entry per trend period: its stored cell, or the period itself (a gap, never a zero);
    ``periods`` caches :func:`trend_periods` by type (a board asks for the same few many times)."""
    type_ = trend_type(indicator)
    wanted = periods[type_] if periods is not None and type_ in periods else trend_periods(type_, end)
    return [stored.get(p.key, p) for p in wanted]


@dataclass(frozen=True)
class Row:
    indicator: Indicator
    cell: Cell | None
    trend: list[Cell | Period]


@dataclass(frozen=True)
class Group:
    name: str
    rows: list[Row]


@dataclass(frozen=True)
class BoardPage:
    """The dashboard of one org unit and period: indicators grouped in catalogue order, each with
    its value and trend; the unit's children (the drill-down), its trail, the refresh state."""

    org: Division
    period: Period
    groups: list[Group]
    children: list[Division]
    trail: list[Division]
    refresh: Refresh
    hidden: int = 0  # indicators the norm does not define for this type of period
    rows: list[Row] = field(default_factory=list)


def board_page(*, user: Any, org: str | Division, period: Period) -> BoardPage:
    """The board of ``org`` for ``period`` in a fixed number of queries (six or seven)."""
    division = org if isinstance(org, Division) else org_for(user=user, code=org)
    refresh = refresh_state()
    catalogue = indicators()
    shown = [i for i in catalogue if period.type in i.periods]
    end = trend_end(period, refresh.last_month)
    by_type = {type_: trend_periods(type_, end) for type_ in {trend_type(i) for i in shown}}
    keys = {period.key} | {p.key for periods in by_type.values() for p in periods}
    # One read for the period and every sparkline; tuples, no join: ~1,000 rows for a county.
    codes = {i.pk: i.code for i in catalogue}
    stored: dict[str, dict[str, Cell]] = {}
    rows = (values_for(user=user).filter(org_code=division.code, period__in=sorted(keys))
            .values_list("indicator_id", "period", "numerator", "denominator", "value"))
    for indicator_id, key, numerator, denominator, value in rows:
        code = codes.get(indicator_id)
        if code is not None:
            stored.setdefault(code, {})[key] = Cell(indicator=code, org=division.code, period=key,
                                                    numerator=numerator, denominator=denominator, value=value)
    groups: list[Group] = []
    by_name: dict[str, Group] = {}
    flat: list[Row] = []
    for indicator in shown:
        own = stored.get(indicator.code, {})
        entry = Row(indicator=indicator, cell=own.get(period.key), trend=series(indicator, own, end, by_type))
        flat.append(entry)
        if indicator.group not in by_name:
            name = indicator.group_en if english() and indicator.group_en else indicator.group
            by_name[indicator.group] = Group(name=name, rows=[])
            groups.append(by_name[indicator.group])
        by_name[indicator.group].rows.append(entry)
    return BoardPage(org=division, period=period, groups=groups, children=children_of(user=user, division=division),
                     trail=division_trail(user=user, path=division.path), refresh=refresh,
                     hidden=len(catalogue) - len(shown), rows=flat)


def children_of(*, user: Any, division: Division) -> list[Division]:
    """The child units of ``division`` the caller may see, each with ``n_children``."""
    return list(visible(user, Division.objects.filter(parent=division))
                .annotate(n_children=Count("children")).order_by("code"))


@dataclass(frozen=True)
class TreeRow:
    """One row of the tree table: a unit, its depth below the unit the table starts from, its
    parent, whether it has children to expand, and its value (``None``: no stored row)."""

    division: Division
    depth: int
    parent: Division | None
    has_children: bool
    cell: Cell | None


def _cells(user: Any, codes: Iterable[str], indicator: str, period: Period) -> dict[str, Cell]:
    rows = (values_for(user=user).filter(indicator__code=indicator, period=period.key, org_code__in=list(codes))
            .values(*VALUE_FIELDS))
    return {row["org_code"]: cell_of(row) for row in rows}


def tree_children(*, user: Any, org: str | Division, indicator: str, period: Period,
                  depth: int = 1) -> list[TreeRow]:
    """The children of ``org`` with their value of ``indicator`` in ``period`` (three queries)."""
    division = org if isinstance(org, Division) else org_for(user=user, code=org)
    kids = children_of(user=user, division=division)
    found = _cells(user, [k.code for k in kids], indicator, period)
    return [TreeRow(division=k, depth=depth, parent=division, has_children=bool(k.n_children),  # type: ignore[attr-defined]
                    cell=found.get(k.code)) for k in kids]


def unit_cell(*, user: Any, org: Division, indicator: str, period: Period) -> Cell | None:
    return _cells(user, [org.code], indicator, period).get(org.code)


def subtree(*, user: Any, org: Division, indicator: str, period: Period) -> list[TreeRow]:
    """Every unit below ``org`` (all levels, in tree order) with its value — for the Excel download
    of the tree table. Two queries whatever the depth."""
    below = list(visible(user, Division.objects.filter(path__startswith=org.path + "/"))
                 .select_related("parent").order_by("path"))
    rows = (values_for(user=user).filter(subtree_q(org.path, "org_path"), indicator__code=indicator,
                                         period=period.key).values(*VALUE_FIELDS))
    found = {row["org_code"]: cell_of(row) for row in rows}
    base = org.path.count("/")
    having = {d.parent_id for d in below}
    return [TreeRow(division=d, depth=d.path.count("/") - base, parent=d.parent, has_children=d.pk in having,
                    cell=found.get(d.code)) for d in below]


def value_rows(*, user: Any, org: Division | None = None, period: Period | None = None,
               codes: Iterable[str] | None = None, level: str | None = None) -> QuerySet[Any]:
    """Stored values (as dicts of :data:`VALUE_FIELDS`) for the API, in catalogue order.

    ``org`` alone: that unit's values; with ``level``: the units of that level inside it (its
    subtree, itself included); ``level`` alone: every unit of that level the caller may see.
    """
    rows = values_for(user=user)
    if org is not None:
        rows = rows.filter(subtree_q(org.path, "org_path")) if level else rows.filter(org_code=org.code)
    if period is not None:
        rows = rows.filter(period=period.key)
    if codes:
        rows = rows.filter(indicator__code__in=list(codes))
    if level:
        rows = rows.filter(org_level=level)
    return (rows.order_by("indicator__sort_order", "indicator__code", "org_path", "period_type", "period", "pk")
            .values(*VALUE_FIELDS))
