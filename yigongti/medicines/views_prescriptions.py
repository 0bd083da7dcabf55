"""Prescriptions (处方): 开处方 for an encounter, the prescription page (the printable 处方笺) with
发药 (first-expiry-first-out), 作废 and per-line 退药.

Prescriptions are person-level: they reach a caller only through
:func:`.selectors.prescriptions_visible` (the patient's village or the prescribing institution) and
every read is audited. Writes go through :mod:`.services`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.care.models import Encounter
from yigongti.core import audit, scope
from yigongti.core.errors import DomainError, NotFound
from yigongti.registry.models import Institution

from . import selectors, services_dispensing
from .choices import PrescriptionStatus
from .forms import PrescribeForm, ReturnForm
from .models import Movement, Prescription, PrescriptionLine
from .views_common import may_act, put_error, require_reader

OBJECT_TYPE = "medicines.prescription"


def prescription_get(user: Any, pk: int, request: Any = None) -> Prescription:
    """One prescription in the caller's scope, its read audited; else :class:`NotFound` (audited as a miss)."""
    prescription = (selectors.prescriptions_visible(user).select_related("resident", "institution", "encounter",
                                                                         "dispensed_by")
                    .filter(pk=pk).first())
    if prescription is None:
        audit.read_missed(user=user, object_type=OBJECT_TYPE, object_id=pk, request=request)
        raise NotFound()
    audit.read(user=user, objects=[prescription], request=request)
    return prescription


def dispensed_batches(prescriptions: list[Prescription]) -> dict[int, list[dict[str, Any]]]:
    """Prescription line id → the batches it left and came back into (net), expiry first."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = (Movement.objects.filter(prescription_line__prescription__in=prescriptions)
            .values_list("prescription_line_id", "batch__lot", "batch__expiry").annotate(q=Sum("quantity"))
            .order_by("prescription_line_id", "batch__expiry"))
    for line_id, lot, expiry, quantity in rows:
        if quantity:
            found[line_id].append({"lot": lot, "expiry": expiry, "quantity": -quantity})
    return found


def prescription_rows(user: Any, prescriptions: list[Prescription]) -> list[dict[str, Any]]:
    """What the panel and the page show of each prescription: lines with their batches, the actions."""
    batches = dispensed_batches(prescriptions)
    institutions = Institution.objects.in_bulk({p.institution_id for p in prescriptions})
    rows = []
    for prescription in prescriptions:
        acts = may_act(user, institutions[prescription.institution_id])
        lines = list(prescription.lines.select_related("medicine"))
        shown = [{"line": line, "batches": batches.get(line.pk, [])} for line in lines]
        rows.append({"p": prescription, "lines": shown,
                     "can_dispense": acts and prescription.status == PrescriptionStatus.OPEN,
                     "can_cancel": acts and prescription.status == PrescriptionStatus.OPEN,
                     "can_return": acts and prescription.status == PrescriptionStatus.DISPENSED})
    return rows


def prescribe_medicines(encounter: Encounter) -> list[Any]:
    """The items a prescription at the encounter's institution may name: its tier's list on the day."""
    if encounter.institution is None:
        return []
    entries = selectors.formulary(encounter.institution.tier, encounter.start_date)
    return sorted((entry.medicine for entry in entries.values()), key=lambda m: m.code)


@require_http_methods(["GET", "POST"])
@login_required
def prescribe(request: HttpRequest, pk: int) -> HttpResponse:
    """开处方 for an encounter (the panel's form posts here; errors come back on this page)."""
    user = request.user
    require_reader(user)
    encounter = scope.get_visible(user, Encounter.objects.select_related("institution", "resident"),
                                  path_field=("path", "institution_path"), pk=pk)
    audit.read(user=user, objects=[encounter], request=request)
    form = PrescribeForm(request.POST if request.method == "POST" else None, medicines=prescribe_medicines(encounter))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            filled = form.filled()
            items = [services_dispensing.PrescribedItem(
                medicine=row["medicine"], quantity=row["quantity"] if row["quantity"] is not None else "",
                usage=row["usage"] or "", days=row["days"]) for _i, row in filled]
            aliases = {f"items[{index}].{name}": f"{name}_{row}" for index, (row, _v) in enumerate(filled)
                       for name in PrescribeForm.row_fields}
            try:
                prescription = services_dispensing.prescribe(user, encounter.pk, items, request=request)
            except DomainError as error:
                put_error(form, error, aliases=aliases)
                status = error.status
            else:
                messages.success(request, _("已开处方 %(number)s。") % {"number": prescription.number})
                return redirect("care:encounter", pk=encounter.pk)
    return render(request, "medicines/prescribe.html", {"encounter": encounter, "form": form}, status=status)


def _page(request: HttpRequest, prescription: Prescription, *, status: int = 200, errors: list[str] | None = None,
          return_forms: dict[int, ReturnForm] | None = None, template: str = "medicines/prescription.html"
          ) -> HttpResponse:
    (row,) = prescription_rows(request.user, [prescription])
    forms = return_forms or {}
    for line in row["lines"]:
        line["return_form"] = forms.get(line["line"].pk) or ReturnForm(prefix=f"return-{line['line'].pk}")
    return render(request, template, {"p": prescription, "row": row, "failed_errors": errors or []}, status=status)


@require_GET
@login_required
def prescription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The 处方笺 (printable) with the actions the caller may take."""
    user = request.user
    require_reader(user)
    return _page(request, prescription_get(user, pk, request))


@require_GET
@login_required
def prescription_print(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require_reader(user)
    return _page(request, prescription_get(user, pk, request), template="medicines/prescription_print.html")


@require_http_methods(["GET", "POST"])
@login_required
def prescription_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """发药 (``dispense``) or 作废 (``cancel``); back to the encounter with what was dispensed."""
    user = request.user
    require_reader(user)
    prescription = prescription_get(user, pk, request)
    if request.method == "GET":
        return redirect("medicines:prescription", pk=prescription.pk)
    try:
        if action == "dispense":
            services_dispensing.dispense(user, prescription.pk, request=request)
        else:
            services_dispensing.prescription_cancel(user, prescription.pk, request=request)
    except DomainError as error:
        if error.status in (403, 404):
            raise
        return _page(request, prescription_get(user, pk), status=error.status, errors=[str(error)])
    if action == "dispense":
        (row,) = prescription_rows(user, [prescription_get(user, pk)])
        taken = "；".join(f"{line['line'].medicine.generic_name} " + "、".join(
            f"{b['lot']} × {b['quantity']}" for b in line["batches"]) for line in row["lines"])
        messages.success(request, _("处方 %(number)s 已发药：%(batches)s。") % {
            "number": prescription.number, "batches": taken})
    else:
        messages.success(request, _("处方 %(number)s 已作废。") % {"number": prescription.number})
    if request.POST.get("back") == "encounter":
        return redirect("care:encounter", pk=prescription.encounter_id)
    return redirect("medicines:prescription", pk=prescription.pk)


@require_http_methods(["GET", "POST"])
@login_required
def line_return(request: HttpRequest, pk: int) -> HttpResponse:
    """退药 of a dispensed line: units back into the batches they left."""
    user = request.user
    require_reader(user)
    line = PrescriptionLine.objects.filter(pk=pk, prescription__in=selectors.prescriptions_visible(user)).first()
    if line is None:
        audit.read_missed(user=user, object_type=OBJECT_TYPE, object_id=f"line:{pk}", request=request)
        raise NotFound()
    prescription = prescription_get(user, line.prescription_id, request)
    if request.method == "GET":
        return redirect("medicines:prescription", pk=prescription.pk)
    form = ReturnForm(request.POST, prefix=f"return-{line.pk}")
    if form.is_valid():
        try:
            services_dispensing.return_dispensed(user, line.pk, form.cleaned_data["quantity"], request=request)
        except DomainError as error:
            if error.status in (403, 404):
                raise
            put_error(form, error)
            return _page(request, prescription_get(user, prescription.pk), status=error.status,
                         return_forms={line.pk: form})
        messages.success(request, _("已退药 %(n)s。") % {"n": form.cleaned_data["quantity"]})
        return redirect("medicines:prescription", pk=prescription.pk)
    return _page(request, prescription, status=422, return_forms={line.pk: form})
