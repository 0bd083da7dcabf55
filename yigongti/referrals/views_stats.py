"""Referral statistics (转诊统计): up and down referrals by institution and month, on screen and as
an Excel download."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from yigongti.core.errors import NotFound
from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.filters import org_year_params

from . import selectors as referral_selectors

COLUMNS: tuple[tuple[str, Any], ...] = (
    ("institution", gettext_lazy("机构代码")), ("institution_name", gettext_lazy("机构")),
    ("month", gettext_lazy("月份")), ("up_out", gettext_lazy("上转转出")), ("up_in", gettext_lazy("上转接收")),
    ("down_out", gettext_lazy("下转转出")), ("down_in", gettext_lazy("下转接收")),
)
COUNTS = ("up_out", "up_in", "down_out", "down_in")


@require_GET
@login_required
def stats(request: HttpRequest) -> HttpResponse:
    """转诊统计 — by institution and month for a unit and a year; ``format=xlsx`` downloads it."""
    form, org, year = org_year_params(request)
    if org is None:  # no unit of their own: nothing to count
        raise NotFound()
    rows = referral_selectors.referral_counts(user=request.user, org_code=org, year=year)
    if request.GET.get("format") == "xlsx":
        return _xlsx(rows, f"referrals-{org}-{year}")
    totals = {key: sum(int(row.get(key) or 0) for row in rows) for key in COUNTS}
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "referrals/stats.html", {"form": form, "rows": rows, "totals": totals, "org": org,
                                                    "year": year, "query": query.urlencode()})


def _xlsx(rows: list[dict[str, Any]], name: str) -> HttpResponse:
    table: list[list[Any]] = [[str(label) for _key, label in COLUMNS],
                              *[[row.get(key) for key, _label in COLUMNS] for row in rows]]
    return xlsx_response([(_("转诊统计"), table)], name)
