"""Recording a lab value or imaging report (结果登记) done at the user's institution.

Picking an item fills in its unit and reference range: the page is re-rendered for ``?item=``
(htmx swaps only the form; without JavaScript a blank unit means the item's unit anyway). A unit
that does not match the item comes back under the unit field.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yigongti.core.errors import DomainError, NotFound, PermissionDenied
from yigongti.registry.selectors import user_institution
from yigongti.residents import selectors as resident_selectors

from . import selectors, services
from .errors import UnitMismatch
from .forms import ResultForm
from .models import ResultItem
from .views import number, put_error


def ref_range_of(item: ResultItem) -> str:
    """The item's reference range as the form shows it (``3.9-6.1``, ``<5.2``, ``>1.04``)."""
    low, high = number(item.ref_low), number(item.ref_high)
    if low and high:
        return f"{low}-{high}"
    return f"<{high}" if high else f">{low}" if low else ""


@require_http_methods(["GET", "POST"])
@login_required
def result_new(request: HttpRequest, code: str) -> HttpResponse:
    """登记检查检验结果 — performed at the user's institution; success → the resident's care page."""
    resident = resident_selectors.resident_get(user=request.user, record_no=code, request=request)
    institution = user_institution(user=request.user)
    if institution is None:
        raise PermissionDenied(_("您的账号未关联医疗机构，不能登记检查检验结果。"))
    items = list(selectors.result_items())
    status = 200
    if request.method == "POST":
        form = ResultForm(request.POST, items=items)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.result_record(
                    user=request.user, resident=resident, item_code=data["item"], performed_by=institution,
                    reported_at=data["reported_at"], value=data["value"], value_text=data["value_text"].strip(),
                    unit=data["unit"].strip(), ref_range=data["ref_range"].strip(), flag=data["flag"],
                    report=data["report"].strip(), request=request)
            except NotFound:
                raise
            except UnitMismatch as error:
                form.add_error("unit", str(error))
                status = error.status
            except DomainError as error:
                put_error(form, error, {"item_code": "item"})
                status = error.status
            else:
                messages.success(request, _("已登记结果：%(item)s。") % {"item": result.item.name})
                return redirect("care:resident", code=resident.record_no)
    else:
        form = ResultForm(initial=_initial(request, items), items=items)
    # Choosing an item re-renders the form with its unit and reference range filled in (htmx).
    form.fields["item"].widget.attrs.update({
        "hx-get": reverse("care:result_new", args=[resident.record_no]), "hx-trigger": "change",
        "hx-target": "#result-form", "hx-select": "#result-form", "hx-swap": "outerHTML"})
    context: dict[str, Any] = {"resident": resident, "form": form, "institution": institution}
    return render(request, "care/result_form.html", context, status=status)


def _initial(request: HttpRequest, items: list[ResultItem]) -> dict[str, Any]:
    """``?item=`` chosen: its unit and reference range filled in."""
    code = request.GET.get("item") or ""
    item = next((i for i in items if i.code == code), None)
    if item is None:
        return {}
    return {"item": item.code, "unit": item.unit, "ref_range": ref_range_of(item)}
