"""Excel downloads of the indicator tables (``?format=xlsx``): numbers stay numbers, a value that
does not exist stays an empty cell (never 0), as :func:`yigongti.core.spreadsheets.xlsx_response`
writes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from yigongti.core.errors import NotFound
from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.models import Division

from .board import BoardPage, TreeRow
from .models import Indicator
from .periods import Period, parse
from .selectors import Cell, english

Sheet = tuple[str, list[list[Any]]]


def _name(indicator: Indicator) -> str:
    return indicator.name_en if english() and indicator.name_en else indicator.name


def _numbers(cell: Cell | None) -> list[Any]:
    if cell is None:
        return [None, None, None]
    return [cell.numerator, cell.denominator, cell.value]


def board(page: BoardPage) -> HttpResponse:
    """Every indicator of the board: code, name, numerator, denominator, value, unit, target."""
    rows: list[list[Any]] = [[_("指标代码"), _("指标名称"), _("分子"), _("分母"), _("指标值"), _("单位"), _("目标值"),
                              _("分组")]]
    for row in page.rows:
        indicator = row.indicator
        rows.append([indicator.code, _name(indicator), *_numbers(row.cell), indicator.unit, indicator.target,
                     indicator.group])
    title = f"{page.org.name} {page.period.key}"
    return xlsx_response([(title, rows)], f"indicators-{page.org.code}-{page.period.key}")


def trend_sheet(trend: Sequence[Cell | Period]) -> Sheet:
    rows: list[list[Any]] = [[_("周期"), _("周期名称"), _("分子"), _("分母"), _("指标值")]]
    en = english()
    for entry in trend:
        if isinstance(entry, Cell):
            rows.append([entry.period, parse(entry.period).label(english=en), *_numbers(entry)])
        else:
            rows.append([entry.key, entry.label(english=en), None, None, None])
    return _("趋势"), rows


def ranking_sheet(ranking: Sequence[tuple[int | None, Division, Cell | None]]) -> Sheet:
    rows: list[list[Any]] = [[_("名次"), _("区划代码"), _("单位"), _("指标值"), _("分子"), _("分母")]]
    for rank, division, cell in ranking:
        numerator, denominator, value = _numbers(cell)
        rows.append([rank, division.code, division.name, value, numerator, denominator])
    return _("下级单位排名"), rows


def tree_sheet(org: Division, cell: Cell | None, tree: Sequence[TreeRow]) -> Sheet:
    """The unit and every unit below it, flattened: depth, level, code, name, parent, numbers."""
    rows: list[list[Any]] = [[_("深度"), _("层级"), _("区划代码"), _("单位"), _("上级区划代码"), _("上级单位"),
                              _("分子"), _("分母"), _("指标值")]]
    parent = org.parent if org.parent_id else None
    rows.append([0, org.get_level_display(), org.code, org.name, parent.code if parent else None,
                 parent.name if parent else None, *_numbers(cell)])
    for row in tree:
        rows.append([row.depth, row.division.get_level_display(), row.division.code, row.division.name,
                     row.parent.code if row.parent else None, row.parent.name if row.parent else None,
                     *_numbers(row.cell)])
    return _("分级明细"), rows


def indicator(found: Indicator, org: Division, period: Period, *, table: str, trend: Sequence[Cell | Period],
              ranking: Sequence[tuple[int | None, Division, Cell | None]], cell: Cell | None,
              tree: Sequence[TreeRow]) -> HttpResponse:
    """The tables of the indicator page: ``table`` names one (trend, ranking, tree), or all three."""
    sheets = {"trend": lambda: trend_sheet(trend), "ranking": lambda: ranking_sheet(ranking),
              "tree": lambda: tree_sheet(org, cell, tree)}
    if table and table not in sheets:
        raise NotFound()
    chosen = [sheets[table]()] if table else [make() for make in sheets.values()]
    suffix = f"-{table}" if table else ""
    return xlsx_response(chosen, f"{found.code}-{org.code}-{period.key}{suffix}")
