"""One encounter (就诊详情) and its order form (开检查检验) with mutual recognition (检查检验结果互认).

Ordering is two steps when it can save a test: the item is checked against the resident's results
(:func:`~yigongti.care.selectors.recognition_check`, for the encounter's institution); when a
recognisable result exists the page offers it — "采用该结果（免检）" records the order as avoided
with the fee saved, "仍然开单" orders the test anyway. When none exists the test is ordered at once
and the page says why no earlier result could be used.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core.errors import DomainError, NotFound
from yigongti.core.scope import covers

from . import selectors, services
from .forms import OrderForm
from .panels import encounter_panels
from .views import cost_rows, encounter_row, number, result_row

USE, ORDER = "use", "order"  # the two buttons of the offer


def _context(request: HttpRequest, encounter: Any, form: OrderForm | None = None,
             offer: Any = None) -> dict[str, Any]:
    costs, total = cost_rows(encounter)
    # Who may record care for the resident, or at the encounter's institution (as the service checks).
    can_order = encounter.institution_id is not None and (
        covers(request.user, encounter.path, mode="entry")
        or covers(request.user, encounter.institution.path, mode="entry"))
    return {
        "encounter": encounter, "resident": encounter.resident, "row": encounter_row(encounter),
        "costs": costs, "cost_sum": total,
        "orders": list(encounter.orders.all()),  # prefetched by the selector
        "results": [result_row(r) for r in encounter.results.all()],
        "form": form if form is not None else OrderForm(items=selectors.result_items()),
        "offer": _offer(offer) if offer is not None else None,
        "can_order": can_order,
        "panels": encounter_panels(request, encounter),
    }


def _offer(answer: Any) -> dict[str, Any]:
    """What the page shows of a recognisable result (its value, where, when, until when, saving)."""
    return {"answer": answer, "item": answer.item, "row": result_row(answer.result),
            "saved": number(answer.saved) or "0"}


@require_GET
@login_required
def encounter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """就诊详情 — diagnoses, procedures, costs, orders and results; the order form."""
    encounter = selectors.encounter_get(user=request.user, pk=pk, request=request)
    return render(request, "care/encounter.html", _context(request, encounter))


@require_http_methods(["GET", "POST"])
@login_required
def order(request: HttpRequest, pk: int) -> HttpResponse:
    """开检查检验 — check for a recognisable result, offer it, or order (GET goes to the encounter)."""
    encounter = selectors.encounter_get(user=request.user, pk=pk, request=request)
    if request.method == "GET":
        return redirect("care:encounter", pk=encounter.pk)
    form = OrderForm(request.POST, items=selectors.result_items())
    if not form.is_valid():
        return render(request, "care/encounter.html", _context(request, encounter, form), status=422)
    item_code = form.cleaned_data["item"]
    decision = request.POST.get("decision") or ""
    try:
        if decision == ORDER:
            created = services.order_create(user=request.user, encounter=encounter, item_code=item_code,
                                             request=request)
            messages.success(request, _("已开单：%(item)s。") % {"item": created.item.name})
            return redirect("care:encounter", pk=encounter.pk)
        if encounter.institution is None:
            form.add_error(None, _("县外就诊记录不能开单。"))
            return render(request, "care/encounter.html", _context(request, encounter, form), status=422)
        answer = selectors.recognition_check(user=request.user, resident=encounter.resident, item_code=item_code,
                                             ordering_institution=encounter.institution, request=request)
        if decision == USE:
            return _use(request, encounter, form, answer)
        if answer.recognisable and answer.result is not None:
            return render(request, "care/encounter.html", _context(request, encounter, form, answer))
        created = services.order_create(user=request.user, encounter=encounter, item_code=item_code,
                                        request=request)
    except NotFound:
        raise
    except DomainError as error:
        form.add_error("item" if error.params.get("field") in ("item", "item_code") else None, str(error))
        return render(request, "care/encounter.html", _context(request, encounter, form), status=error.status)
    messages.success(request, _("已开单：%(item)s。") % {"item": created.item.name})
    messages.info(request, _("未能采用既往结果：%(reason)s") % {"reason": answer.reason})
    return redirect("care:encounter", pk=encounter.pk)


def _use(request: HttpRequest, encounter: Any, form: OrderForm, answer: Any) -> HttpResponse:
    """采用该结果（免检） — only the result that was offered, and only while it is still recognised."""
    offered = request.POST.get("result") or ""
    if not answer.recognisable or answer.result is None or str(answer.result.pk) != offered:
        reason = answer.reason or _("所选结果已不是最新的可互认结果，请重新查询。")
        form.add_error(None, _("该结果不能互认：%(reason)s") % {"reason": reason})
        offer = answer if answer.recognisable and answer.result is not None else None
        return render(request, "care/encounter.html", _context(request, encounter, form, offer), status=409)
    created = services.order_create(user=request.user, encounter=encounter, item_code=answer.item.code,
                                    use_result=answer.result, request=request)
    messages.success(request, _("已采用互认结果，免检：%(item)s，节省费用 ¥%(saved)s。") % {
        "item": created.item.name, "saved": number(created.saved) or "0"})
    return redirect("care:encounter", pk=encounter.pk)
