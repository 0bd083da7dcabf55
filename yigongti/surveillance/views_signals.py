"""The early-warning signals (预警信号): the county CDC's queue (a township sees its own, read-only),
one signal with its chart and cases, and the CDC's answer — 核实, 排除, 开展暴发调查; the button
that runs today's early warning (``ygt alerts`` is the scheduled way).

The chart is drawn by Plotly in the browser from the series :func:`.alerts.signal_series` gives
(the counts as bars, the expected value and the threshold as lines, the signal day marked); the
same numbers are in a table under it for a PC that cannot run the script. Plotly's JavaScript is
the copy inside the installed Python package, served from here: no CDN.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound
from yigongti.core.paging import paged

from . import alerts, selectors, services
from .choices import Method, SignalStatus
from .errors import NotReviewer
from .forms import InvestigateForm, NoteForm, SignalFilterForm
from .models import Signal
from .views_common import put_error

NOTE_LABELS: dict[str, Any] = {"verify": gettext_lazy("核实记录"), "dismiss": gettext_lazy("排除原因")}
DONE: dict[str, Any] = {"verify": gettext_lazy("信号已核实。"), "dismiss": gettext_lazy("信号已排除。")}
ALLOWED: dict[str, set[str]] = {
    "verify": {SignalStatus.NEW}, "dismiss": {SignalStatus.NEW, SignalStatus.VERIFIED},
    "investigate": {SignalStatus.NEW, SignalStatus.VERIFIED},
}
BAR, ALARM_BAR, EXPECTED, THRESHOLD, MARK = "#7fa7c9", "#c0392b", "#2c7a4b", "#c0392b", "#e67e22"


def method_sentence(signal: Signal) -> str:
    """The method in one sentence, with the disease's parameters."""
    params = signal.disease.params or {}
    if signal.method == Method.SINGLE:
        return _("单病例预警：该病种出现 1 例即预警。")
    if signal.method == Method.PERCENTILE:
        return _("移动百分位数法：近7天病例数 与 既往3年同期 P%(p)s 比较（同期及前后各2周，共15个基线值）。") % {
            "p": int(params.get("percentile", 50))}
    if signal.method == Method.C1:
        return _("EARS C1：当日病例数与前7天均值比较，超过均值 + z·标准差（z 由 α=%(a)s 的正态分位数给出）即预警。") % {
            "a": params.get("alpha", 0.001)}
    if signal.method == Method.C2:
        return _("EARS C2：当日病例数与间隔2天之前的7天（t−9…t−3）均值比较，超过均值 + z·标准差即预警（α=%(a)s）。") % {
            "a": params.get("alpha", 0.001)}
    if signal.method == Method.C3:
        return _("EARS C3：近3天 C2 统计量超过 1 的部分之和大于 z 即预警（α=%(a)s）。") % {
            "a": params.get("alpha_c3", 0.025)}
    return _("累积和（CUSUM）：C2 标准化值减去参考值 k 后逐日累加，超过决策值 h 即预警。")


def observed_label(signal: Signal) -> str:
    return _("近7天病例数") if signal.method == Method.PERCENTILE else _("当日病例数")


def figure_of(signal: Signal, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The Plotly figure (data + layout) of a signal's series."""
    dates = [row["date"].isoformat() for row in rows]
    day = signal.date.isoformat()
    data = [
        {"type": "bar", "name": observed_label(signal), "x": dates, "y": [row["observed"] for row in rows],
         "marker": {"color": [ALARM_BAR if row["alarm"] else BAR for row in rows]}},
        {"type": "scatter", "mode": "lines", "name": _("期望值"), "x": dates, "y": [row["expected"] for row in rows],
         "line": {"color": EXPECTED, "dash": "dot"}, "connectgaps": False},
        {"type": "scatter", "mode": "lines", "name": _("预警阈值"), "x": dates,
         "y": [row["upperbound"] for row in rows], "line": {"color": THRESHOLD}, "connectgaps": False},
    ]
    layout = {
        "height": 340, "margin": {"l": 48, "r": 16, "t": 24, "b": 40}, "bargap": 0.15,
        "legend": {"orientation": "h", "y": -0.18}, "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": observed_label(signal)}, "rangemode": "tozero"},
        "shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
                    "line": {"color": MARK, "width": 2, "dash": "dash"}}],
        "annotations": [{"x": day, "y": 1, "xref": "x", "yref": "paper", "text": _("预警日"), "showarrow": False,
                         "yanchor": "bottom", "font": {"color": MARK}}],
    }
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- the queue


@require_GET
@login_required
def signals(request: HttpRequest) -> HttpResponse:
    """预警信号 — waiting first (待核实, 已核实), filters by status, disease and dates."""
    user = request.user
    form = SignalFilterForm(request.GET or None, diseases=services.diseases_in_force())
    start, end = form.range()
    queryset = selectors.signals_queue(user=user, status=form.value("status"), disease=form.value("disease"),
                                       start=start, end=end)
    return render(request, "surveillance/signals.html", {
        "form": form, "is_cdc": services.is_county_reviewer(user), "today": today(), **paged(request, queryset)})


@require_POST
@login_required
def alerts_today(request: HttpRequest) -> HttpResponse:
    """运行今日预警 — the county CDC runs :func:`.alerts.alerts_run` for today and sees what it found."""
    if not services.is_county_reviewer(request.user):
        raise NotReviewer(who=_("县疾控"), action=_("运行预警"))
    try:
        summary = alerts.alerts_run(day=today())
    except DomainError as error:
        messages.error(request, str(error))
        return redirect("surveillance:signals")
    messages.success(request, _("已运行 %(day)s 的预警：%(t)s 个乡镇 × %(d)s 个病种，"
                                "新信号 %(n)s 条，已存在 %(a)s 条。") % {
        "day": summary.end, "t": summary.townships, "d": summary.diseases, "n": len(summary.created),
        "a": summary.already})
    return redirect("surveillance:signals")


# ---------------------------------------------------------------- one signal


def _actions(user: Any, signal: Signal) -> set[str]:
    if not services.is_county_reviewer(user):
        return set()
    return {action for action, statuses in ALLOWED.items() if signal.status in statuses}


def _context(request: HttpRequest, signal: Signal, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    bound = bound or {}
    rows = alerts.signal_series(signal)
    cases = selectors.signal_cases(user=request.user, signal=signal, request=request)
    actions = _actions(request.user, signal)
    context: dict[str, Any] = {
        "signal": signal, "rows": rows, "figure": figure_of(signal, rows), "method_text": method_sentence(signal),
        "observed_label": observed_label(signal), "cases": cases, "actions": actions,
    }
    for action in ("verify", "dismiss"):
        if action in actions:
            context[f"{action}_form"] = bound.get(action) or NoteForm(prefix=action, label=NOTE_LABELS[action])
    if "investigate" in actions:
        context["investigate_form"] = bound.get("investigate") or InvestigateForm(
            cases=cases, initial={"title": _("%(township)s%(disease)s暴发调查") % {
                "township": signal.township.name, "disease": signal.disease.name}})
    return context


@require_GET
@login_required
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """预警信号 — the chart, the method in one sentence, the cases; the CDC's answer."""
    signal = selectors.signal_get(user=request.user, pk=pk)
    return render(request, "surveillance/signal.html", _context(request, signal))


@require_http_methods(["GET", "POST"])
@login_required
def signal_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """核实 / 排除 / 开展暴发调查 (GET — a reloaded address — goes back to the signal)."""
    user = request.user
    signal = selectors.signal_get(user=user, pk=pk)
    if request.method == "GET":
        return redirect("surveillance:signal", pk=signal.pk)
    form: forms.Form
    try:
        if action in ("verify", "dismiss"):
            form = NoteForm(request.POST, prefix=action, label=NOTE_LABELS[action])
            if form.is_valid():
                act = alerts.signal_verify if action == "verify" else alerts.signal_dismiss
                act(user=user, signal=signal, note=form.cleaned_data["note"])
                messages.success(request, str(DONE[action]))
                return redirect("surveillance:signal", pk=signal.pk)
        elif action == "investigate":
            cases = selectors.signal_cases(user=user, signal=signal, request=request)
            form = InvestigateForm(request.POST, cases=cases)
            if form.is_valid():
                outbreak = alerts.signal_investigate(user=user, signal=signal, title=form.cleaned_data["title"],
                                                     note=form.cleaned_data["note"],
                                                     card_ids=form.cleaned_data["cases"])
                messages.success(request, _("已立案暴发调查 %(code)s。") % {"code": outbreak.code})
                return redirect("surveillance:outbreak", pk=outbreak.pk)
        else:
            raise NotFound()
    except NotFound:
        raise
    except DomainError as error:
        put_error(form, error)
        return _again(request, signal, action, form, error.status)
    return _again(request, signal, action, form, 422)


def _again(request: HttpRequest, signal: Signal, action: str, form: forms.Form, status: int) -> HttpResponse:
    fresh = selectors.signal_get(user=request.user, pk=signal.pk)
    context = _context(request, fresh, {action: form})
    shown = action in context["actions"]
    errors = ([str(e) for e in form.non_field_errors()] if shown
              else [str(e) for field_errors in form.errors.values() for e in field_errors])
    context.update({"failed": action, "failed_errors": errors})
    return render(request, "surveillance/signal.html", context, status=status)


# ---------------------------------------------------------------- Plotly's script, from the installed package


@require_GET
def plotly_js(request: HttpRequest) -> FileResponse:
    """``plotly.min.js`` from the plotly package (cached for a day; 404 when plotly is not installed)."""
    try:
        script = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
        version = importlib.metadata.version("plotly")
    except (ModuleNotFoundError, importlib.metadata.PackageNotFoundError) as exc:
        raise NotFound() from exc
    if not script.is_file():
        raise NotFound()
    response = FileResponse(script.open("rb"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    response["ETag"] = f'"plotly-{version}"'
    return response
