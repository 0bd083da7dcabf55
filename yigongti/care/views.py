"""Care pages (诊疗): a resident's encounters and results, and recording an encounter.

Thin views: reads through :mod:`.selectors` and :mod:`yigongti.residents.selectors` (scoped and
audited), writes through :mod:`.services`. A :class:`~yigongti.core.errors.DomainError` raised there
becomes a page in the web layer's error middleware (404 for a record outside scope), except where
the page can say better: a validation error of a service appears under its field on the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core.errors import DomainError, NotFound
from yigongti.core.scope import covers
from yigongti.residents import selectors as resident_selectors

from . import selectors, services
from .choices import AbnormalFlag, CostCategory, EncounterKind
from .forms import OUTSIDE, EncounterForm

# The colour class of each abnormal flag (ygt.css: badge ok / warn / bad).
FLAG_CLASSES = {AbnormalFlag.NORMAL: "ok", AbnormalFlag.LOW: "warn", AbnormalFlag.HIGH: "warn",
                AbnormalFlag.ABNORMAL: "bad", AbnormalFlag.CRITICAL: "bad"}
_INDEX = re.compile(r"[.\[](\d+)")


def number(value: Decimal | None) -> str:
    """A decimal without its trailing zeros (``5.6000`` → ``5.6``, ``10.0000`` → ``10``)."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def result_row(result: Any) -> dict[str, Any]:
    """What a results table shows of one result: the value with its unit, the flag and its colour."""
    shown = number(result.value) if result.value is not None else result.value_text
    if result.value is not None and result.value_text:
        shown = f"{shown} {result.value_text}"
    return {"result": result, "value": shown, "unit": result.unit,
            "flag": result.get_flag_display() if result.flag else "",
            "flag_class": FLAG_CLASSES.get(result.flag, ""), "abnormal": result.flag not in ("", AbnormalFlag.NORMAL)}


def encounter_row(encounter: Any) -> dict[str, Any]:
    """One line of a resident's encounters: where, the primary diagnosis, the total."""
    diagnoses = list(encounter.diagnoses.all())  # prefetched by the selector
    primary = next((d for d in diagnoses if d.is_primary), diagnoses[0] if diagnoses else None)
    return {"encounter": encounter, "primary": primary, "others": [d for d in diagnoses if d is not primary],
            "place": encounter.institution.name if encounter.institution_id else encounter.outside_institution}


def error_field(error: DomainError) -> str | None:
    """The input a service names as wrong (``field`` of a ValidationFailed), if any."""
    field = getattr(error, "field", None) or error.params.get("field")
    return str(field) if field else None


def put_error(form: forms.Form, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's error under the form field it names (``aliases`` maps service arguments
    to form fields), else above the form."""
    field = error_field(error)
    target = (aliases or {}).get(field or "", field)
    form.add_error(target if target in form.fields else None, str(error))


# ---------------------------------------------------------------- a resident's care


@require_GET
@login_required
def resident_care(request: HttpRequest, code: str) -> HttpResponse:
    """就诊与检查检验 — the resident's encounters and results, newest first."""
    resident = resident_selectors.resident_get(user=request.user, record_no=code, request=request)
    encounters = selectors.encounters_of(user=request.user, resident=resident, request=request)
    results = selectors.results_of(user=request.user, resident=resident, request=request)
    return render(request, "care/resident.html", {
        "resident": resident,
        "encounters": [encounter_row(e) for e in encounters],
        "results": [result_row(r) for r in results],
        "can_enter": covers(request.user, resident.path, mode="entry"),
        "can_report": getattr(request.user, "institution_id", None) is not None,
    })


# ---------------------------------------------------------------- recording an encounter


def _encounter_error(form: EncounterForm, error: DomainError) -> None:
    """Put a service error on the encounter form: diagnoses on the code fields, costs on the
    category's field (``costs.drugs_western``, ``costs[lab]``), the rest by name."""
    field = error_field(error) or ""
    if field.startswith("diagnos"):
        # The service names the list; the code in its message (or an index) tells which input.
        match = _INDEX.search(field)
        message = str(error)
        codes = form.diagnosis_codes()
        primary = next((c for c, _name, is_primary in codes if is_primary), "")
        others = [c for c, _name, is_primary in codes if not is_primary]
        if match is not None:
            on_other = int(match.group(1)) > 0 or not primary
        else:
            on_other = not primary or (any(c in message for c in others) and primary not in message)
        form.add_error("other_codes" if on_other else "primary_code", message)
        return
    if field.startswith("cost"):
        category = next((c for c in CostCategory.values if c in field), None)
        if category is None:  # the service named no category: the first negative one
            costs = form.costs()
            category = next((c for c, amount in costs.items() if amount < 0), None)
        form.add_error(f"cost_{category}" if category else None, str(error))
        return
    aliases = {"clinician": "clinician_name"}
    if form.cleaned_data.get("institution") == OUTSIDE:
        aliases["institution"] = "outside_institution"
    put_error(form, error, aliases)


@require_http_methods(["GET", "POST"])
@login_required
def encounter_new(request: HttpRequest, code: str) -> HttpResponse:
    """登记就诊 — an outpatient/emergency visit or an inpatient stay; success → the encounter page."""
    resident = resident_selectors.resident_get(user=request.user, record_no=code, request=request)
    form = EncounterForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                encounter = services.encounter_record(
                    user=request.user, resident=resident, kind=data["kind"], start_date=data["start_date"],
                    institution=form.chosen_institution(),
                    outside_institution=(data["outside_institution"] or "").strip()
                    if data["institution"] == OUTSIDE else "",
                    department=form.chosen_department(), clinician_name=data["clinician_name"].strip(),
                    end_date=data["end_date"], discharge_status=data["discharge_status"],
                    chief_complaint=data["chief_complaint"].strip(),
                    diagnoses=[services.DiagnosisIn(code=c, name=n, primary=p) for c, n, p in form.diagnosis_codes()],
                    costs=form.costs(), booked=data["booked"], request=request)
            except NotFound:
                raise
            except DomainError as error:
                _encounter_error(form, error)
                status = error.status
            else:
                messages.success(request, _("已登记就诊记录。"))
                return redirect("care:encounter", pk=encounter.pk)
    return render(request, "care/encounter_form.html", {
        "resident": resident, "form": form, "inpatient": EncounterKind.INPATIENT,
    }, status=status)


def cost_rows(encounter: Any) -> tuple[list[dict[str, Any]], Decimal]:
    """The costs of an encounter in the order of the categories, and their sum."""
    labels = dict(CostCategory.choices)
    order = {c: i for i, c in enumerate(CostCategory.values)}
    costs: Iterable[Any] = sorted(encounter.costs.all(), key=lambda c: order.get(c.category, 99))
    rows = [{"label": labels.get(c.category, c.category), "amount": c.amount} for c in costs]
    return rows, sum((c["amount"] for c in rows), Decimal(0))
