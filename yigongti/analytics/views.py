"""指标 — the indicator screens. They read stored values only (``ygt analytics refresh`` computes).

- ``/analytics/`` → the board of the caller's own unit for the latest year;
- the **board** of an org unit and period: every indicator in catalogue order, grouped, with its
  value, numerator / denominator, target and 24-month sparkline; a click on a value opens the
  formula panel (htmx); below, the child units — the drill-down county → township → village;
- the **indicator page**: the big trend chart, the formula, the ranking of the child units and a
  tree table that expands row by row (htmx) down to the villages;
- every table downloads as Excel (``?format=xlsx``; :mod:`.views_xlsx`).

A unit outside the caller's scope is 404 (the selectors scope); a period that does not exist is
the page itself with the message and status 422, so the picker is right there to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yigongti.core.errors import NotFound
from yigongti.registry.models import Division
from yigongti.registry.selectors import division_root_for, division_trail

from . import charts, selectors, views_xlsx
from .board import BoardPage, Refresh, board_page, refresh_state, subtree, tree_children, trend_end, unit_cell
from .formatting import DASH
from .models import Indicator, PeriodType
from .periods import Period, PeriodInvalid, make, parse
from .templatetags.analytics_ui import (
    amount,
    meets,
    shown,
    target_text,
    target_value,
    unit_after,
    value_of,
    value_text,
)
from .views_formula import formula_context, formula_view

PICKER_TYPES = (PeriodType.YEAR, PeriodType.QUARTER, PeriodType.MONTH, PeriodType.ROLLING)
MAX_DEPTH = 8


# ---------------------------------------------------------------- the period picker


def _period(request: HttpRequest, default_type: str = "year") -> Period:
    """The ``period`` asked for (:class:`PeriodInvalid` when it does not exist), else the latest of
    ``default_type`` with stored values."""
    key = request.GET.get("period", "").strip()
    return parse(key) if key else selectors.default_period(default_type)


def picker(period: Period | None, refresh: Refresh, raw: str = "") -> dict[str, Any]:
    """The picker's links: the same end month as each type, the previous and next period (none
    past the last computed month), and the key as typed."""
    last = refresh.last_month
    base = period or selectors.default_period("year")
    end = base.last if last is None else min(base.last, last)
    types = [{"type": t.value, "label": t.label, "key": make(t.value, end).key,
              "current": period is not None and period.type == t.value} for t in PICKER_TYPES]
    previous = following = None
    if period is not None:
        step = {"month": 1, "r12": 1, "quarter": 3, "year": 12}[period.type]
        previous = period.shifted(-step).key
        after = period.shifted(step)
        following = after.key if last is None or after.first <= last else None
    return {"types": types, "previous": previous, "next": following, "key": raw or (period.key if period else ""),
            "label": period.label(english=selectors.english()) if period else ""}


def _invalid(request: HttpRequest, template: str, error: PeriodInvalid, context: dict[str, Any]) -> HttpResponse:
    """The page with the period's message instead of its numbers (422), the picker ready to fix it."""
    refresh = refresh_state()
    return render(request, template, {**context, "error": str(error), "refresh": refresh,
                                      "picker": picker(None, refresh, request.GET.get("period", ""))}, status=422)


# ---------------------------------------------------------------- pages


@require_GET
@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The board of the caller's own unit (the county for the health commission) for the latest year."""
    root = division_root_for(request.user)
    if root is None:
        raise NotFound(_("您的账户尚未分配数据查看范围，因此看不到任何指标。请联系系统管理员。"))
    url = reverse("analytics:board", args=[root.code])
    return redirect(f"{url}?period={selectors.default_period('year').key}")


@require_GET
@login_required
def board(request: HttpRequest, code: str) -> HttpResponse:
    """指标看板 — one org unit and period; ``?format=xlsx`` downloads the indicator table."""
    division = selectors.org_for(user=request.user, code=code)
    try:
        period = _period(request)
    except PeriodInvalid as error:
        return _invalid(request, "analytics/board.html", error, {
            "org": division, "trail": division_trail(user=request.user, path=division.path)})
    page = board_page(user=request.user, org=division, period=period)
    if request.GET.get("format") == "xlsx":
        return views_xlsx.board(page)
    en = selectors.english()
    return render(request, "analytics/board.html", {
        "page": page, "org": page.org, "period": period, "period_label": period.label(english=en),
        "groups": board_lines(page), "trail": page.trail, "refresh": page.refresh,
        "picker": picker(period, page.refresh), "has_values": any(row.cell is not None for row in page.rows),
    })


@dataclass(frozen=True)
class BoardLine:
    """One indicator row of the board, every text ready: 60 rows rendered without 60 × 10 template
    filters and URL reversals (the board must stay fast on a village PC's server)."""

    code: str
    name: str
    value: str
    css: str
    unit: str
    numerator: str
    denominator: str
    target: str
    indicator_url: str
    formula_url: str
    spark: SafeString


def board_lines(page: BoardPage) -> list[tuple[str, list[BoardLine]]]:
    query = f"?period={page.period.key}"
    indicator_url = reverse("analytics:indicator", args=[page.org.code, "INDICATOR"])
    formula_url = reverse("analytics:formula", args=[page.org.code, "INDICATOR"])
    groups: list[tuple[str, list[BoardLine]]] = []
    for group in page.groups:
        lines: list[BoardLine] = []
        for row in group.rows:
            indicator, cell = row.indicator, row.cell
            name = shown(indicator)
            if cell is None:
                numerator = denominator = DASH
            else:
                numerator = amount(cell.numerator)
                denominator = "" if cell.denominator is None else amount(cell.denominator)
            spark = charts.sparkline([c.value if isinstance(c, selectors.Cell) else None for c in row.trend],
                                     label=_("%(name)s：近24个月") % {"name": name})
            lines.append(BoardLine(
                code=indicator.code, name=name, value=value_of(cell, indicator), css=meets(cell, indicator),
                unit=unit_after(indicator), numerator=numerator, denominator=denominator,
                target=target_text(indicator), spark=spark,
                indicator_url=indicator_url.replace("INDICATOR", indicator.code) + query,
                formula_url=formula_url.replace("INDICATOR", indicator.code) + query))
        groups.append((group.name, lines))
    return groups


def _indicator_and_org(request: HttpRequest, code: str, indicator: str) -> tuple[Division, Indicator]:
    """The unit first: a unit outside scope is 404 whatever the indicator."""
    division = selectors.org_for(user=request.user, code=code)
    return division, selectors.indicator_get(indicator)


def trend_points(indicator: Indicator, trend: list[selectors.Cell | Period]) -> list[charts.Point]:
    en = selectors.english()
    points: list[charts.Point] = []
    for entry in trend:
        if isinstance(entry, selectors.Cell):
            period = parse(entry.period)
            text = value_text(entry.value, indicator)
            detail = "" if entry.denominator is None else f"（{amount(entry.numerator)} / {amount(entry.denominator)}）"
            points.append(charts.Point(label=period.key, value=entry.value,
                                       title=f"{period.label(english=en)}：{text}{detail}"))
        else:
            points.append(charts.Point(label=entry.key, value=None,
                                       title=_("%(period)s：无数据") % {"period": entry.label(english=en)}))
    return points


@require_GET
@login_required
def indicator_page(request: HttpRequest, code: str, indicator: str) -> HttpResponse:
    """指标详情 — trend, formula, ranking and tree of one indicator for one unit and period.

    ``?format=xlsx`` downloads every table; ``&table=trend|ranking|tree`` one of them.
    """
    division, found = _indicator_and_org(request, code, indicator)
    trail = division_trail(user=request.user, path=division.path)
    try:
        period = _period(request)
    except PeriodInvalid as error:
        return _invalid(request, "analytics/indicator.html", error,
                        {"org": division, "indicator": found, "trail": trail})
    refresh = refresh_state()
    last = make("month", trend_end(period, refresh.last_month))
    trend = selectors.trend(user=request.user, org=division.code, code=found.code, last=last)
    ranking = selectors.ranking(user=request.user, org=division.code, code=found.code, period=period.key)
    cell = unit_cell(user=request.user, org=division, indicator=found.code, period=period)
    table = request.GET.get("table", "")
    if request.GET.get("format") == "xlsx":
        tree_rows = subtree(user=request.user, org=division, indicator=found.code, period=period) \
            if table in ("", "tree") else []
        return views_xlsx.indicator(found, division, period, table=table, trend=trend, ranking=ranking,
                                    cell=cell, tree=tree_rows)
    en = selectors.english()
    target_label = _("目标 %(target)s") % {"target": target_value(found)} if found.target is not None else ""
    chart = charts.trend_chart(trend_points(found, trend), fmt=lambda v: value_text(v, found),
                               title=_("%(name)s：趋势") % {"name": shown(found)}, target=found.target,
                               target_label=target_label, empty=_("没有已计算的值"))
    return render(request, "analytics/indicator.html", {
        "org": division, "indicator": found, "period": period, "period_label": period.label(english=en),
        "trail": trail, "refresh": refresh, "picker": picker(period, refresh), "chart": chart,
        "applies": period.type in found.periods, "ranking": ranking, "cell": cell,
        "tree": tree_children(user=request.user, org=division, indicator=found.code, period=period),
        **formula_context(formula_view(indicator=found, org=division, period=period, cell=cell)),
    })


@require_GET
@login_required
def formula(request: HttpRequest, code: str, indicator: str) -> HttpResponse:
    """The formula panel (htmx partial); a full page when asked without JavaScript."""
    division, found = _indicator_and_org(request, code, indicator)
    period = _period(request)
    cell = unit_cell(user=request.user, org=division, indicator=found.code, period=period)
    context = formula_context(formula_view(indicator=found, org=division, period=period, cell=cell))
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "analytics/_formula.html", context)
    return render(request, "analytics/formula.html", {
        **context, "trail": division_trail(user=request.user, path=division.path)})


@require_GET
@login_required
def tree(request: HttpRequest, code: str, indicator: str) -> HttpResponse:
    """The child rows of one row of the tree table (``<tr>``s, htmx); without JavaScript the
    indicator page of that unit, whose tree starts there."""
    division, found = _indicator_and_org(request, code, indicator)
    period = _period(request)
    if not request.htmx:  # type: ignore[attr-defined]
        url = reverse("analytics:indicator", args=[division.code, found.code])
        return redirect(f"{url}?period={period.key}")
    depth = request.GET.get("depth", "1")
    level = min(int(depth), MAX_DEPTH) if depth.isdigit() and depth != "0" else 1
    rows = tree_children(user=request.user, org=division, indicator=found.code, period=period, depth=level)
    return render(request, "analytics/_tree_rows.html", {"rows": rows, "indicator": found, "period": period})
