"""Reading stored indicator values (never computing them): the dashboard, the API, ``ygt indicators``.

Values are aggregates per org unit — no person-level data — but a user still sees only the org
units of their data-view subtree: every selector takes the caller and narrows by
:func:`yigongti.core.scope.visible` on ``org_path`` (the command line acts as ``SYSTEM``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from yigongti.core.errors import NotFound
from yigongti.core.scope import visible
from yigongti.registry.models import Division
from yigongti.registry.selectors import current

from .models import Indicator, IndicatorValue, RefreshRun
from .periods import Period, index_of, make, parse

TREND_MONTHS = 24


def english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


@dataclass(frozen=True)
class Cell:
    """One stored value as shown: numerator, denominator, value (``None`` → "—")."""

    indicator: str
    org: str
    period: str
    numerator: float
    denominator: float | None
    value: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"indicator": self.indicator, "org": self.org, "period": self.period, "numerator": self.numerator,
                "denominator": self.denominator, "value": self.value}


def cell_of(row: Mapping[str, Any]) -> Cell:
    """A ``.values(...)`` row of :class:`IndicatorValue` (with ``indicator__code``) as a :class:`Cell`."""
    return Cell(indicator=row["indicator__code"], org=row["org_code"], period=row["period"],
                numerator=row["numerator"], denominator=row["denominator"], value=row["value"])


def trend_periods(type_: str, end: int, months: int = TREND_MONTHS) -> list[Period]:
    """The periods of ``type_`` ending in the ``months`` months up to month ``end``."""
    found: list[Period] = []
    for mi in range(end - months + 1, end + 1):
        period = make(type_, mi)
        if period.last == mi:
            found.append(period)
    return found


def values_for(*, user: Any) -> QuerySet[IndicatorValue]:
    """Stored values of the org units the caller may see."""
    return visible(user, IndicatorValue.objects.filter(indicator__active=True), path_field="org_path")


def org_for(*, user: Any, code: str) -> Division:
    """The division ``code`` names, if the caller may see it (else :class:`NotFound`)."""
    division = visible(user, Division.objects.filter(code=code)).first()
    if division is None:
        raise NotFound()
    return division


def indicators() -> list[Indicator]:
    return list(Indicator.objects.filter(active=True))


def indicator_get(code: str) -> Indicator:
    found = Indicator.objects.filter(code=code, active=True).first()
    if found is None:
        raise NotFound(_("没有代码为“%(code)s”的指标。") % {"code": code})
    return found


def default_period(type_: str = "year") -> Period:
    """The latest period of ``type_`` with stored values (this period when there are none)."""
    last = RefreshRun.objects.filter(status=RefreshRun.Status.DONE).exclude(last_month=None) \
        .values_list("last_month", flat=True).first()
    from yigongti.core.clock import today

    return make(type_, last if last is not None else index_of(today()))


def cells(*, user: Any, org: str | None = None, period: str | None = None,
          codes: Iterable[str] | None = None, level: str | None = None) -> list[Cell]:
    """Stored values filtered by org unit (exact code), period key, indicator codes or level."""
    rows = values_for(user=user)
    if org:
        rows = rows.filter(org_code=org)
    if period:
        rows = rows.filter(period=parse(period).key)
    if codes:
        rows = rows.filter(indicator__code__in=list(codes))
    if level:
        rows = rows.filter(org_level=level)
    ordered = rows.order_by("indicator__sort_order", "org_path", "period").values(
        "indicator__code", "org_code", "period", "numerator", "denominator", "value")
    return [cell_of(row) for row in ordered]


@dataclass(frozen=True)
class Board:
    """The dashboard of one org unit and period: every indicator's cell there, in catalogue order."""

    org: Division
    period: Period
    rows: list[tuple[Indicator, Cell | None]]


def board(*, user: Any, org: str, period: str) -> Board:
    division = org_for(user=user, code=org)
    chosen = parse(period)
    found = {c.indicator: c for c in cells(user=user, org=division.code, period=chosen.key)}
    rows = [(indicator, found.get(indicator.code)) for indicator in indicators()
            if chosen.type in indicator.periods]
    return Board(org=division, period=chosen, rows=rows)


def trend(*, user: Any, org: str, code: str, last: Period | None = None,
          months: int = TREND_MONTHS) -> list[Cell | Period]:
    """The monthly (or, for indicators without months, rolling / quarterly) series up to ``last``.

    Returns one entry per period: the stored :class:`Cell`, or the :class:`Period` itself when there
    is no value (a gap in the chart, never a zero).
    """
    indicator = indicator_get(code)
    division = org_for(user=user, code=org)
    end = (last or default_period("month")).last
    computed = default_period("month").last  # never past the last month the refresh computed
    end = min(end, computed)
    type_ = next(t for t in ("month", "r12", "quarter", "year") if t in indicator.periods)
    periods = trend_periods(type_, end, months)
    stored = {c.period: c for c in cells(user=user, org=division.code, codes=[code])}
    return [stored.get(p.key, p) for p in periods]


def children(*, user: Any, org: str, code: str, period: str) -> list[tuple[Division, Cell | None]]:
    """The child units of ``org`` with their value of ``code`` in ``period`` (for ranking and drill-down)."""
    division = org_for(user=user, code=org)
    kids = list(visible(user, current(Division.objects.filter(parent=division))).order_by("code"))
    chosen = parse(period)
    rows = (values_for(user=user).filter(indicator__code=code, period=chosen.key, org_code__in=[k.code for k in kids])
            .values("indicator__code", "org_code", "period", "numerator", "denominator", "value"))
    found = {row["org_code"]: cell_of(row) for row in rows}
    return [(kid, found.get(kid.code)) for kid in kids]


def ranking(*, user: Any, org: str, code: str, period: str) -> list[tuple[int | None, Division, Cell | None]]:
    """Children ranked by value — best first by the indicator's direction; units without a value last."""
    indicator = indicator_get(code)
    rows = children(user=user, org=org, code=code, period=period)
    with_value = [r for r in rows if r[1] is not None and r[1].value is not None]
    without = [r for r in rows if r[1] is None or r[1].value is None]
    reverse = indicator.direction != "lower"
    with_value.sort(key=lambda r: r[1].value, reverse=reverse)  # type: ignore[union-attr, arg-type, return-value]
    ranked: list[tuple[int | None, Division, Cell | None]] = [(i + 1, d, c) for i, (d, c) in enumerate(with_value)]
    return ranked + [(None, d, c) for d, c in without]


def last_refresh() -> RefreshRun | None:
    return RefreshRun.objects.order_by("-started_at").first()
