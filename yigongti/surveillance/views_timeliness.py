"""报告及时率 — per reporting institution in the caller's scope, for a date range (this year by
default): cards reported, on time, the rate and the median hours from diagnosis to report, worst
first; the same table as an Excel download."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from yigongti.core.clock import today
from yigongti.core.paging import query_without
from yigongti.core.spreadsheets import xlsx_response

from . import selectors
from .forms import RangeForm

COLUMNS: tuple[Any, ...] = (
    gettext_lazy("机构代码"), gettext_lazy("报告单位"), gettext_lazy("报告卡数"), gettext_lazy("及时报告数"),
    gettext_lazy("及时率（%）"), gettext_lazy("诊断至报告中位数（小时）"),
)


def default_range() -> tuple[dt.date, dt.date]:
    """This year up to today."""
    day = today()
    return dt.date(day.year, 1, 1), day


@require_GET
@login_required
def timeliness(request: HttpRequest) -> HttpResponse:
    """报告及时率 by institution; ``format=xlsx`` downloads it."""
    first, last = default_range()
    form = RangeForm(request.GET or None, initial={"start": first, "end": last})
    start, end = form.range(first, last)
    assert start is not None and end is not None
    rows = selectors.timeliness_by_institution(user=request.user, start=start, end=end)
    if request.GET.get("format") == "xlsx":
        table: list[list[Any]] = [[str(c) for c in COLUMNS]] + [
            [t.institution.code, t.institution.name, t.reported, t.on_time,
             round(t.rate, 1) if t.rate is not None else None,
             round(t.median_hours, 1) if t.median_hours is not None else None] for t in rows]
        return xlsx_response([(_("报告及时率"), table)], f"timeliness-{start:%Y%m%d}-{end:%Y%m%d}")
    reported = sum(t.reported for t in rows)
    on_time = sum(t.on_time for t in rows)
    return render(request, "surveillance/timeliness.html", {
        "form": form, "rows": rows, "start": start, "end": end, "reported": reported, "on_time": on_time,
        "rate": 100.0 * on_time / reported if reported else None, "query": query_without(request, "format")})
