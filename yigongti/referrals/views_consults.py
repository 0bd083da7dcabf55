"""Teleconsultation (远程会诊): a township centre asks a county specialist about a patient, with
results and files attached; the specialist answers; the record keeps both. Attachments are served
only through the scoped :func:`selectors.attachment_get`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.care import selectors as care_selectors
from yigongti.core.errors import DomainError, NotFound
from yigongti.residents import selectors as resident_selectors

from . import selectors, services
from .choices import ConsultStatus
from .forms import AnswerForm, ConsultForm, department_choices, departments_of, receiving_institutions, result_choices
from .views_common import at, institution_of, put_error

CONSULT_BOXES: tuple[tuple[str, Any], ...] = (
    ("incoming", gettext_lazy("待我会诊")), ("outgoing", gettext_lazy("我申请的")),
)


@require_GET
@login_required
def consults(request: HttpRequest) -> HttpResponse:
    """远程会诊 — the consultations asked of the caller's institution, or asked by it."""
    institution = institution_of(request.user)
    box = request.GET.get("box") or "incoming"
    if box not in dict(CONSULT_BOXES):
        box = "incoming"
    rows = (selectors.consults_desk(user=request.user, institution=institution, box=box, request=request)
            if institution is not None else [])
    return render(request, "referrals/consults.html", {"institution": institution, "box": box, "rows": rows,
                                                       "boxes": CONSULT_BOXES})


@require_http_methods(["GET", "POST"])
@login_required
def consult_new(request: HttpRequest, code: str) -> HttpResponse:
    """申请远程会诊 — question, specialist institution (county level), results and files."""
    user = request.user
    resident = resident_selectors.resident_get(user=user, record_no=code, request=request)
    institutions = receiving_institutions(county_only=True)
    departments = departments_of(institutions)
    results = care_selectors.results_of(user=user, resident=resident, request=request)
    form = ConsultForm(request.POST or None, request.FILES or None, institutions=institutions,
                       departments=department_choices(departments), results=result_choices(results))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            to = form.institution()
            department = next((d for d in departments if d.pk == data.get("department")), None)
            if department is not None and department.institution_id != to.pk:
                form.add_error("department", _("所选科室不属于会诊机构。"))
            else:
                try:
                    consultation = services.consult_request(
                        user=user, resident=resident, specialist_institution=to, question=data["question"],
                        department=department, result_ids=data["results"], files=data["attachments"],
                        request=request)
                except NotFound:
                    raise
                except DomainError as error:
                    put_error(form, error, aliases={"specialist_institution": "specialist_institution"})
                    status = error.status
                else:
                    messages.success(request, _("远程会诊申请已发送至%(to)s。") % {"to": to.name})
                    return redirect("referrals:consult", pk=consultation.pk)
    return render(request, "referrals/consult_new.html", {"resident": resident, "form": form,
                                                          "has_results": bool(results)}, status=status)


def _can_answer(user: Any, consultation: Any) -> bool:
    return consultation.status == ConsultStatus.REQUESTED and at(user, consultation.specialist_institution_id)


@require_http_methods(["GET", "POST"])
@login_required
def consult_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """会诊单 — question, results, attachments and the answer (the specialist side answers here)."""
    user = request.user
    consultation = selectors.consult_get(user=user, pk=pk, request=request)
    can_answer = _can_answer(user, consultation)
    form = AnswerForm(request.POST or None) if can_answer else None
    status = 200
    if request.method == "POST":
        if form is None:
            messages.error(request, _("该会诊已答复或您无权答复。"))
            return redirect("referrals:consult", pk=consultation.pk)
        status = 422
        if form.is_valid():
            try:
                services.consult_answer(user=user, consultation=consultation, answer=form.cleaned_data["answer"],
                                        request=request)
            except NotFound:
                raise
            except DomainError as error:
                put_error(form, error)
                status = error.status
            else:
                messages.success(request, _("已答复会诊。"))
                return redirect("referrals:consult", pk=consultation.pk)
    return render(request, "referrals/consult.html", {"consultation": consultation, "form": form},
                  status=status)


@require_GET
@login_required
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """A consultation's attachment, as a download (never rendered inline: it is a user's upload)."""
    item = selectors.attachment_get(user=request.user, pk=pk, request=request)
    response = HttpResponse(bytes(item.content), content_type=item.content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, item.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
