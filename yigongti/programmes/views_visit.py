"""Recording a visit (随访/服务记录) and "what is this child due for?" (应种/应查).

The visit form is built from the programme's field specs; the engine checks the values and the
service records them. Its errors go back under their fields; on success the page shows at once
what the visit means (classification with its reasons, referral) and when the next one is due.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound
from yigongti.residents import selectors as resident_selectors

from . import selectors, services
from .engine import ValuesInvalid, plan
from .engine.types import PlanRow, ProgrammeSpec, Service
from .forms import DueForm, VisitForm, text
from .views_common import STATUS_LABELS, classification_label, flag_labels, item_labels, spec_of, specs_on

# The programmes whose plans answer "what is this child due for?" (anchored at birth).
CHILD_PROGRAMMES = ("immunisation", "child")


@require_http_methods(["GET", "POST"])
@login_required
def visit(request: HttpRequest, code: str, programme: str) -> HttpResponse:
    """随访记录 — the form of one item (``?item=``) of a programme for a resident; POST records it."""
    resident = resident_selectors.resident_get(user=request.user, record_no=code, request=request)
    day = today()
    spec = spec_of(programme, day)
    item = request.POST.get("item") or request.GET.get("item") or next(iter(spec.items), "")
    if item not in spec.items:
        raise NotFound()
    form = VisitForm(request.POST or None, spec=spec, item=item)
    context: dict[str, Any] = {"resident": resident, "spec": spec, "programme": programme, "item": item,
                               "item_label": text(spec.items[item].label), "programme_name": text(spec.name)}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                outcome = services.visit_record(
                    user=request.user, resident=resident, programme_code=programme, item=item,
                    visit_date=form.cleaned_data["visit_date"], values=form.values(),
                    idempotency_key=form.cleaned_data["idempotency_key"], source="web",
                    note=form.cleaned_data["note"], request=request)
            except NotFound:
                raise
            except ValuesInvalid as error:
                for code, message in error.problems:
                    form.add_error(code if code in form.fields else None, str(message))
                status = error.status
            except DomainError as error:
                field = getattr(error, "field", None) or error.params.get("field")
                form.add_error(field if field in form.fields else None, str(error))
                status = error.status
            else:
                return render(request, "programmes/visit_result.html", {
                    **context, **_result(spec, outcome), "outcome": outcome, "flags": flag_labels(outcome.flags),
                    "days_to_next": (outcome.next_due - day).days if outcome.next_due else None,
                })
        else:
            status = 422
    return render(request, "programmes/visit.html", {**context, "form": form}, status=status)


def _result(spec: ProgrammeSpec, outcome: Any) -> dict[str, Any]:
    """What the visit means: the engine's classification, or for a repeated submission (which
    returns the stored visit) the classification stored with it."""
    found = outcome.classification
    if found is not None:
        return {"class_code": found.code, "class_label": text(found.label), "refer": found.refer,
                "reasons": [text(r) for r in found.reasons]}
    visit = outcome.visit
    return {"class_code": visit.classification, "class_label": classification_label(spec, visit.classification),
            "refer": visit.refer, "reasons": []}


def _plan_rows(spec: ProgrammeSpec, rows: list[PlanRow]) -> list[dict[str, Any]]:
    labels = item_labels({spec.code: spec})[spec.code]
    return [{"row": row, "label": labels.get(row.item, row.item), "status": STATUS_LABELS.get(row.status),
             "flags": flag_labels(row.flags)} for row in rows]


@require_GET
@login_required
def due(request: HttpRequest) -> HttpResponse:
    """应种/应查 — the immunisation and child-health plans of a child from a birth date and the doses
    given (pure, nothing stored), or of a resident (``?record_no=``, audited)."""
    day = today()
    specs = specs_on(day)
    wanted = [specs[code] for code in CHILD_PROGRAMMES if code in specs]
    record_no = (request.GET.get("record_no") or "").strip()
    tables: list[dict[str, Any]] = []
    resident = None
    form = DueForm(None if record_no else (request.GET or None))
    if record_no:
        resident = resident_selectors.resident_get(user=request.user, record_no=record_no, request=request)
        for spec in wanted:
            rows = selectors.resident_plan(user=request.user, resident=resident, programme_code=spec.code,
                                           as_of=day, request=request)
            tables.append({"spec": spec, "name": text(spec.name), "rows": _plan_rows(spec, rows)})
    elif form.is_bound and form.is_valid():
        data = form.cleaned_data
        as_of: dt.date = data["as_of"] or day
        history: list[Service] = data["history"]
        for spec in wanted:
            mine = [s for s in history if s.item in spec.items]
            try:
                rows = plan(spec, anchor=data["birth_date"], history=mine, as_of=as_of,
                            variant=form.variant() or None)
            except DomainError as error:
                form.add_error(None, str(error))
                break
            tables.append({"spec": spec, "name": text(spec.name), "rows": _plan_rows(spec, rows)})
        unknown = sorted({s.item for s in history} - {i for spec in wanted for i in spec.items})
        if unknown:
            form.add_error("history", _unknown_message(unknown))
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "programmes/due.html", {"form": form, "tables": tables, "resident": resident},
                  status=status)


def _unknown_message(items: list[str]) -> str:
    return _("未知的服务项：%(items)s") % {"items": "、".join(items)}
