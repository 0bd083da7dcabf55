"""互认与预约统计 — tests avoided and cost saved per institution and month (检查检验结果互认), and
the share of visits booked in advance (预约诊疗率), for a unit of the caller's scope and a year;
downloadable as XLSX (``?format=xlsx``)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.filters import org_year_params

from . import selectors

RECOGNITION_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("institution", gettext_lazy("机构代码")), ("institution_name", gettext_lazy("机构")),
    ("month", gettext_lazy("月份")), ("avoided", gettext_lazy("互认免检项次")),
    ("saved", gettext_lazy("节省费用（元）")),
)
BOOKED_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("institution", gettext_lazy("机构代码")), ("institution_name", gettext_lazy("机构")),
    ("month", gettext_lazy("月份")), ("visits", gettext_lazy("就诊人次")), ("booked", gettext_lazy("预约就诊人次")),
    ("rate", gettext_lazy("预约诊疗率（%）")),
)


def percent(part: Any, whole: Any) -> Decimal | None:
    """``part / whole`` in per cent, one decimal (None when there is nothing to divide by)."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _recognition(rows: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = sorted(rows, key=lambda r: (r["institution"], r["month"]))
    total = {"avoided": sum(int(r["avoided"] or 0) for r in rows),
             "saved": sum((Decimal(r["saved"] or 0) for r in rows), Decimal(0))}
    return rows, total


def _booked(rows: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    shown = [{**r, "percent": percent(r["booked"], r["visits"])}
             for r in sorted(rows, key=lambda r: (r["institution"], r["month"]))]
    visits = sum(int(r["visits"] or 0) for r in shown)
    booked = sum(int(r["booked"] or 0) for r in shown)
    return shown, {"visits": visits, "booked": booked, "percent": percent(booked, visits)}


@require_GET
@login_required
def stats(request: HttpRequest) -> HttpResponse:
    """互认与预约统计 — per institution and month; ``?format=xlsx`` downloads both tables."""
    form, org, year = org_year_params(request)
    recognition, recognition_total = _recognition(
        selectors.recognition_stats(user=request.user, org_code=org, year=year))
    booked, booked_total = _booked(selectors.booked_share(user=request.user, org_code=org, year=year))
    if request.GET.get("format") == "xlsx":
        return _xlsx(recognition, booked, f"care-stats-{org or 'all'}-{year}")
    query = request.GET.copy()
    query["format"] = "xlsx"
    return render(request, "care/stats.html", {
        "form": form, "org": org, "year": year, "recognition": recognition, "recognition_total": recognition_total,
        "booked": booked, "booked_total": booked_total, "xlsx_query": query.urlencode(),
    })


def _sheet_rows(rows: list[dict[str, Any]], columns: tuple[tuple[str, Any], ...]) -> list[list[Any]]:
    """The header and one row per entry (the rate as its percentage)."""
    return [[str(label) for _key, label in columns],
            *[[row.get("percent") if key == "rate" else row.get(key) for key, _label in columns] for row in rows]]


def _xlsx(recognition: list[dict[str, Any]], booked: list[dict[str, Any]], name: str) -> HttpResponse:
    return xlsx_response([(_("检查检验结果互认"), _sheet_rows(recognition, RECOGNITION_COLUMNS)),
                          (_("预约诊疗率"), _sheet_rows(booked, BOOKED_COLUMNS))], name)
