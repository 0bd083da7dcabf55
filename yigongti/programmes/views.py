"""Programmes pages (公共卫生服务): the catalogue, the worklist with its exports, a resident's
enrolments with their plans and visits, enrolling and closing.

Thin views: reads through :mod:`.selectors` and :mod:`yigongti.residents.selectors` (scoped and
audited), writes through :mod:`.services`. A :class:`~yigongti.core.errors.DomainError` raised there
becomes a page in the web layer's error middleware (404 for a record outside scope), except where
the page can say better: a validation error of a service appears on its form.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound
from yigongti.core.scope import covers
from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.selectors import division_root_for
from yigongti.residents import selectors as resident_selectors
from yigongti.residents.templatetags.residents_ui import age_on

from . import selectors, services
from .choices import EnrolmentStatus
from .engine.types import ProgrammeSpec
from .forms import CloseForm, EnrolForm, WorklistForm
from .views_common import STATUS_LABELS, classification_label, flag_labels, item_labels, programme_choices, specs_on

SECTIONS: tuple[tuple[str, Any], ...] = (
    ("overdue", gettext_lazy("已逾期")), ("due", gettext_lazy("本周应随访")), ("unseen", gettext_lazy("本年未服务")),
)
EXPORT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("section", gettext_lazy("类别")), ("programme_name", gettext_lazy("项目")), ("item", gettext_lazy("服务项")),
    ("record_no", gettext_lazy("档案编号")), ("name", gettext_lazy("姓名")), ("sex", gettext_lazy("性别")),
    ("birth_date", gettext_lazy("出生日期")), ("village_name", gettext_lazy("所在村")),
    ("due", gettext_lazy("应服务日期")), ("window_start", gettext_lazy("窗口开始")),
    ("window_end", gettext_lazy("窗口结束")), ("days_overdue", gettext_lazy("逾期天数")),
    ("refer", gettext_lazy("需转诊")), ("classification", gettext_lazy("最近分类")),
    ("last_visit_on", gettext_lazy("最近服务日期")),
)
CHILD_PROGRAMME = "child"  # its eligibility.max_age_years ends childhood
SEX_LABELS = {"M": gettext_lazy("男"), "F": gettext_lazy("女")}


# ---------------------------------------------------------------- worklist


def _worklist_params(request: HttpRequest) -> tuple[WorklistForm, str, dt.date, str | None]:
    root = division_root_for(request.user)
    org, day, programme = (root.code if root is not None else ""), today(), None
    form = WorklistForm(request.GET or None, user=request.user, programmes=programme_choices(),
                        initial={"org": org, "date": day})
    if form.is_bound:
        form.is_valid()
        if "org" in form.errors:
            raise NotFound()  # a unit outside the caller's scope is not found, as everywhere
        data = form.cleaned_data
        org = data.get("org") or org
        day = data.get("date") or day
        programme = data.get("programme") or None
    return form, org, day, programme


@require_GET
@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    """工作清单 — due this week, overdue, never seen this year, per programme; printable, exportable."""
    form, org, day, programme = _worklist_params(request)
    if not org:
        raise NotFound()
    fmt = request.GET.get("format")
    exporting = fmt in ("csv", "xlsx")
    # The page shows each section's most urgent rows; an export carries every row.
    result = selectors.worklist_for_org(user=request.user, org_code=org, on=day, programme=programme,
                                        request=request, **({"limit": None} if exporting else {}))
    specs = specs_on(day)
    labels = item_labels(specs)
    if exporting:
        rows = list(_export_rows(result, labels, specs))
        name = f"worklist-{org}-{day:%Y%m%d}"
        return _csv(rows, name) if fmt == "csv" else xlsx_response([(_("工作清单"), rows)], name)
    sections = []
    counts = result.counts()
    for key, label in SECTIONS:
        rows = getattr(result, key)
        sections.append({"key": key, "label": label, "count": counts[key], "shown": len(rows),
                         "groups": _by_programme(rows, labels, specs)})
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "programmes/worklist.html", {
        "form": form, "worklist": result, "sections": sections, "query": query.urlencode(),
    })


def _by_programme(rows: Iterable[Any], labels: dict[str, dict[str, str]],
                  specs: Mapping[str, ProgrammeSpec]) -> list[dict[str, Any]]:
    """Rows grouped by programme (first appearance order), each row with its item and class labels."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(row.programme_code, {"code": row.programme_code, "name": row.programme_name,
                                                        "rows": []})
        group["rows"].append({"row": row, "item_label": labels.get(row.programme_code, {}).get(row.item, row.item),
                              "classification": classification_label(specs.get(row.programme_code),
                                                                      row.classification)})
    return list(groups.values())


def _export_rows(result: Any, labels: dict[str, dict[str, str]],
                 specs: Mapping[str, ProgrammeSpec]) -> Iterable[list[Any]]:
    yield [str(label) for _attr, label in EXPORT_COLUMNS]
    for key, section in SECTIONS:
        for row in getattr(result, key):
            cells: list[Any] = []
            for attr, _label in EXPORT_COLUMNS:
                if attr == "section":
                    cells.append(str(section))
                elif attr == "item":
                    cells.append(labels.get(row.programme_code, {}).get(row.item, row.item))
                elif attr == "sex":
                    cells.append(str(SEX_LABELS.get(row.sex, row.sex)))
                elif attr == "classification":
                    cells.append(classification_label(specs.get(row.programme_code), row.classification))
                elif attr == "refer":
                    cells.append(_("是") if row.refer else "")
                else:
                    cells.append(getattr(row, attr))
            yield cells


def _cell(value: Any) -> str:
    """A CSV cell Excel shows as text: a leading ``= + - @`` would make it a formula (CSV injection)."""
    shown = "" if value is None else value.isoformat() if isinstance(value, dt.date) else str(value)
    return "'" + shown if shown[:1] in ("=", "+", "-", "@", "\t", "\r") else shown


def _csv(rows: list[list[Any]], name: str) -> HttpResponse:
    """UTF-8 with a BOM, so that Excel on a Chinese Windows PC opens it without mojibake."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


# ---------------------------------------------------------------- a resident's programmes


def _resident_context(request: HttpRequest, resident: Any) -> dict[str, Any]:
    """Enrolments, each with its plan (active ones) and visits; the forms to enrol and close."""
    user, day = request.user, today()
    specs = specs_on(day)
    labels = item_labels(specs)
    visits = selectors.visits_of(user=user, resident=resident, request=request)
    cards = []
    for enrolment in selectors.enrolments_of(user=user, resident=resident, request=request):
        code = enrolment.programme.code
        spec = specs.get(code)
        active = enrolment.status == EnrolmentStatus.ACTIVE
        plan = (selectors.resident_plan(user=user, resident=resident, programme_code=code, as_of=day,
                                        request=request) if active else [])
        names = labels.get(code, {})
        cards.append({
            "enrolment": enrolment, "code": code, "active": active,
            "plan": [{"row": row, "label": names.get(row.item, row.item), "status": STATUS_LABELS.get(row.status),
                      "flags": flag_labels(row.flags)} for row in plan],
            "visits": [{"visit": v, "label": names.get(v.item, v.item), "flags": flag_labels(v.flags),
                        "classification": classification_label(spec, v.classification)}
                       for v in visits if v.programme_id == enrolment.programme_id],
            "classification": classification_label(spec, enrolment.classification),
            "items": list(names.items()) if spec is not None else [],
            "close_form": CloseForm(prefix=f"close{enrolment.pk}"),
        })
    child = specs.get(CHILD_PROGRAMME)
    limit = child.eligibility.max_age_years if child is not None else None
    return {
        "resident": resident, "cards": cards, "today": day,
        # "What is this child due for?" only for a resident of child-health age.
        "show_due": limit is None or age_on(resident.birth_date, day) < limit,
        "can_enter": covers(user, resident.path, mode="entry"),
        "enrol_form": EnrolForm(programmes=programme_choices()),
    }


@require_GET
@login_required
def resident_programmes(request: HttpRequest, code: str) -> HttpResponse:
    """居民的公共卫生服务 — enrolments, plans with their status, visits; record, enrol, close."""
    resident = resident_selectors.resident_get(user=request.user, record_no=code, request=request)
    return render(request, "programmes/resident.html", _resident_context(request, resident))


@require_http_methods(["GET", "POST"])
@login_required
def enrol(request: HttpRequest, code: str) -> HttpResponse:
    """纳入管理 — enrol the resident in a programme (the form re-shown with its errors).

    GET (a bookmarked or reloaded address) goes back to the resident's page.
    """
    resident = resident_selectors.resident_get(user=request.user, record_no=code, request=request)
    if request.method == "GET":
        return redirect("programmes:resident", code=resident.record_no)
    form = EnrolForm(request.POST, programmes=programme_choices())
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            enrolment = services.enrolment_create(
                user=request.user, resident=resident, programme_code=data["programme"],
                anchor_date=data["anchor_date"], diagnosis_code=data["diagnosis_code"].strip().upper(),
                confirmed=data["confirmed"], variant=form.variant() or None, how="manual", request=request)
        except NotFound:
            raise
        except DomainError as error:
            field = getattr(error, "field", None) or error.params.get("field")
            form.add_error(field if field in form.fields else None, str(error))
            status = error.status
        else:
            messages.success(request, _("已纳入管理：%(programme)s") % {"programme": enrolment.programme.name})
            return redirect("programmes:resident", code=resident.record_no)
    context = _resident_context(request, resident)
    context["enrol_form"] = form
    return render(request, "programmes/resident.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def close(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """结案 — close one enrolment of this resident with its reason (GET goes back to the page)."""
    resident = resident_selectors.resident_get(user=request.user, record_no=code, request=request)
    enrolment = selectors.enrolment_get(user=request.user, pk=pk, request=request)
    if enrolment.resident_id != resident.pk:
        raise NotFound()
    if request.method == "GET":
        return redirect("programmes:resident", code=resident.record_no)
    form = CloseForm(request.POST, prefix=f"close{pk}")
    if form.is_valid():
        try:
            services.enrolment_close(user=request.user, enrolment=enrolment, reason=form.cleaned_data["reason"],
                                     on=form.cleaned_data["on"], note=form.cleaned_data["note"], request=request)
        except NotFound:
            raise
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("已结案：%(programme)s") % {"programme": enrolment.programme.name})
    else:
        messages.error(request, _("请选择结案原因。"))
    return redirect("programmes:resident", code=resident.record_no)
