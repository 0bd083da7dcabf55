"""The case-report pages (传染病报告卡): the landing page, the card list and its download, the card
form (from an encounter or by hand) with its live deadline clock, and one card.

Thin views: reads through :mod:`.selectors` (scoped, every card shown audited), writes through
:func:`.services.card_report`. A service's validation error appears under its field; a duplicate
card is offered for merge ("合并到该卡" posts the same form again with ``merge_into``).
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.care import selectors as care_selectors
from yigongti.core.clock import LOCAL_TZ, now
from yigongti.core.errors import DomainError, NotFound
from yigongti.core.paging import paged
from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.models import Institution
from yigongti.registry.selectors import institution_list
from yigongti.residents import selectors as resident_selectors

from . import selectors, services
from .choices import DiagnosisType
from .errors import DuplicateCard, RulesNotLoaded
from .forms import CardFilterForm, CardForm
from .models import CaseCard, Disease
from .views_common import Clock, deadline_clock, hours_minutes, put_error
from .views_review import card_context

LANDING_ROWS = 20
EXPORT_LIMIT = 20_000
EXPORT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("card_no", gettext_lazy("报告卡编号")), ("patient_name", gettext_lazy("患者姓名")), ("sex", gettext_lazy("性别")),
    ("birth_date", gettext_lazy("出生日期")), ("address", gettext_lazy("现住址")), ("township", gettext_lazy("乡镇")),
    ("disease", gettext_lazy("病种")), ("icd10", gettext_lazy("ICD-10")), ("diagnosis_type", gettext_lazy("病例分类")),
    ("onset_date", gettext_lazy("发病日期")), ("diagnosed_at", gettext_lazy("诊断时间")),
    ("reported_at", gettext_lazy("报告时间")), ("delay_hours", gettext_lazy("诊断至报告（小时）")),
    ("on_time", gettext_lazy("及时")), ("institution", gettext_lazy("报告单位")), ("status", gettext_lazy("审核状态")),
)


# ---------------------------------------------------------------- landing page and list


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """传染病报告 — cards awaiting my review, returned cards of my institution, recent cards; for the
    county CDC the signals waiting in its queue."""
    user = request.user
    review = selectors.cards_to_review(user=user)
    returned = selectors.cards_returned(user=user)
    to_review = list(review[:LANDING_ROWS])
    to_correct = list(returned[:LANDING_ROWS])
    recent = list(selectors.cards_list(user=user)[:10])
    selectors.audit_cards(user=user, cards=list({c.pk: c for c in to_review + to_correct + recent}.values()),
                          request=request)
    cdc = services.is_county_reviewer(user)
    return render(request, "surveillance/home.html", {
        "to_review": to_review, "review_count": review.count(), "to_correct": to_correct,
        "returned_count": returned.count(), "recent": recent, "is_cdc": cdc,
        "signals_waiting": selectors.signals_queue(user=user, status="new").count() if cdc else 0,
    })


def _institutions_in_scope(user: Any) -> list[Institution]:
    return list(institution_list(user=user).order_by("path"))


@require_GET
@login_required
def cards(request: HttpRequest) -> HttpResponse:
    """报告卡查询 — filters, a page of cards, and the same rows as Excel or CSV (``format``)."""
    user = request.user
    form = CardFilterForm(request.GET or None, diseases=services.diseases_in_force(),
                          institutions=_institutions_in_scope(user))
    start, end = form.range()
    filters: dict[str, Any] = {"user": user, "status": form.value("status"), "disease": form.value("disease"),
                               "start": start, "end": end, "institution": form.value("institution")}
    fmt = request.GET.get("format")
    if fmt in ("xlsx", "csv"):
        rows = list(selectors.cards_export(**filters)[:EXPORT_LIMIT])
        selectors.audit_cards(user=user, cards=rows, request=request)
        return _export(rows, fmt, f"cards-{now():%Y%m%d}")
    page = paged(request, selectors.cards_list(**filters))
    selectors.audit_cards(user=user, cards=page["rows"], request=request)
    return render(request, "surveillance/cards.html", {"form": form, **page})


def _export_row(card: CaseCard) -> list[Any]:
    division = card.division.name if card.division is not None else ""
    township = card.township.name if card.township is not None else ""
    return [card.card_no, card.patient_name, card.sex, card.birth_date, card.address or division, township,
        card.disease.name, card.icd10, card.get_diagnosis_type_display(), card.onset_date,
        card.diagnosed_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
        card.reported_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"), round(card.delay_hours, 2),
        _("是") if card.on_time else _("否"), card.institution.name, card.get_status_display()]


def _export(rows: list[CaseCard], fmt: str, name: str) -> HttpResponse:
    header = [str(label) for _key, label in EXPORT_COLUMNS]
    table = [header, *[_export_row(card) for card in rows]]
    if fmt == "xlsx":
        return xlsx_response([(_("传染病报告卡"), table)], name)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # Excel opens a UTF-8 CSV with Chinese text only with the BOM
    writer = csv.writer(response)
    for row in table:
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    return response


# ---------------------------------------------------------------- the card form


def _encounter(request: HttpRequest) -> Any:
    """The encounter the card is filled from (``?encounter=`` or the form's hidden field), scoped."""
    raw = (request.POST.get("encounter") if request.method == "POST" else None) or request.GET.get("encounter")
    if not raw:
        return None
    if not str(raw).isdigit():
        raise NotFound()
    return care_selectors.encounter_get(user=request.user, pk=int(raw), request=request)


def _reporting_institutions(user: Any, encounter: Any) -> list[Institution]:
    """The institutions the caller may report for (the encounter's first, then their own)."""
    found = [i for i in _institutions_in_scope(user) if services.reports_for(user, i)]
    first = [i for i in (getattr(encounter, "institution", None), getattr(user, "institution", None))
             if i is not None and services.reports_for(user, i)]
    ordered: dict[int, Institution] = {i.pk: i for i in first}
    ordered.update({i.pk: i for i in found if i.pk not in ordered})
    return list(ordered.values())


def _initial(request: HttpRequest, encounter: Any, diseases: dict[str, Disease]) -> dict[str, Any]:
    """The card prefilled from the encounter (patient, institution, clinician, ICD-10, diagnosis
    time = the encounter's date at the current time, never later than now) or for a card by hand."""
    current = now().replace(second=0, microsecond=0)
    code = request.GET.get("disease") or ""
    initial: dict[str, Any] = {"diagnosed_at": current, "disease": code if code in diseases else ""}
    user_institution = getattr(request.user, "institution", None)
    if user_institution is not None:
        initial["institution"] = user_institution.code
    if encounter is None:
        return initial
    resident = encounter.resident
    diagnosed = dt.datetime.combine(encounter.start_date, current.timetz())
    found = services.notifiable_diagnoses(encounter)
    match = next(((d, x) for d, x in found if x.code == code), found[0] if found else None)
    initial.update({
        "encounter": encounter.pk, "record_no": resident.record_no, "diagnosis_type": DiagnosisType.CLINICAL,
        "patient_name": resident.name,
        "sex": resident.sex, "birth_date": resident.birth_date, "clinician_name": encounter.clinician_name,
        "diagnosed_at": min(diagnosed, current), "division": resident.village.code if resident.village_id else "",
        "address": resident.address,
    })
    if encounter.institution_id is not None:
        initial["institution"] = encounter.institution.code
    if match is not None:
        initial.update({"icd10": match[0].code, "disease": match[1].code})
    return initial


def clock_of(disease_code: str, icd10: str, diagnosed: Any) -> Clock | None:
    """The deadline clock for what the form holds now (``None`` until a disease and a time are known)."""
    if isinstance(diagnosed, str):
        try:
            diagnosed = CardForm.base_fields["diagnosed_at"].clean(diagnosed)
        except ValidationError:  # a half-typed time shows no clock: it is not an error yet
            return None
    if not isinstance(diagnosed, dt.datetime):
        return None
    disease = services.diseases_in_force().filter(code=disease_code).first() if disease_code else None
    if disease is None and icd10.strip():
        disease = services.disease_for_code(icd10)
    return deadline_clock(diagnosed, disease.deadline_hours) if disease is not None else None


def _form_clock(form: CardForm) -> Clock | None:
    if form.is_bound:
        return clock_of(form.data.get("disease", ""), form.data.get("icd10", ""), form.data.get("diagnosed_at", ""))
    initial = form.initial
    return clock_of(initial.get("disease", ""), initial.get("icd10", ""), initial.get("diagnosed_at"))


@require_GET
@login_required
def card_deadline(request: HttpRequest) -> HttpResponse:
    """The deadline clock of the form (htmx: on a change of disease, code or time, and every minute)."""
    clock = clock_of(request.GET.get("disease", ""), request.GET.get("icd10", ""), request.GET.get("diagnosed_at", ""))
    return render(request, "surveillance/_deadline.html", {"clock": clock})


@require_http_methods(["GET", "POST"])
@login_required
def card_new(request: HttpRequest) -> HttpResponse:
    """填写传染病报告卡 — by hand, or from an encounter (``?encounter=<pk>&disease=<code>``)."""
    user = request.user
    encounter = _encounter(request)
    diseases = {d.code: d for d in services.diseases_in_force()}
    if not diseases:
        raise RulesNotLoaded()
    institutions = _reporting_institutions(user, encounter)
    form = CardForm(request.POST or None, initial=_initial(request, encounter, diseases),
                    diseases=diseases.values(), divisions=selectors.address_divisions(), institutions=institutions)
    duplicate: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            card, duplicate = _file(request, form, encounter)
            if card is not None:
                return redirect("surveillance:card", pk=card.pk)
            if duplicate is not None:
                status = 409
    return render(request, "surveillance/card_form.html", {
        "form": form, "encounter": encounter, "duplicate": duplicate, "clock": _form_clock(form),
        "can_report": bool(institutions)}, status=status)


def _resident(request: HttpRequest, form: CardForm, encounter: Any) -> tuple[bool, Any]:
    """(ok, resident): the resident the record number names (the encounter's, or one in scope)."""
    record_no = form.cleaned_data["record_no"].strip()
    if not record_no:
        return True, None
    if encounter is not None and encounter.resident.record_no == record_no:
        return True, encounter.resident
    try:
        return True, resident_selectors.resident_get(user=request.user, record_no=record_no, request=request)
    except NotFound:
        form.add_error("record_no", _("未找到该居民档案（或不在您的管辖范围内）。"))
        return False, None


def _file(request: HttpRequest, form: CardForm, encounter: Any) -> tuple[CaseCard | None, dict[str, Any] | None]:
    """The card filed (or merged), or None with the errors on the form and a duplicate to offer."""
    ok, resident = _resident(request, form, encounter)
    if not ok:
        return None, None
    data = form.cleaned_data
    card_input = services.CardInput(
        institution=form.chosen_institution(), diagnosis_type=data["diagnosis_type"], onset_date=data["onset_date"],
        diagnosed_at=data["diagnosed_at"], disease=form.chosen_disease(), icd10=data["icd10"], resident=resident,
        patient_name=data["patient_name"], sex=data["sex"], birth_date=data["birth_date"],
        id_number=data["id_number"], phone=data["phone"], division=form.chosen_division(), address=data["address"],
        clinician_name=data["clinician_name"], encounter=encounter, note=data["note"])
    merge = request.POST.get("merge_into") or ""
    try:
        card = services.card_report(user=request.user, data=card_input,
                                    merge_into=int(merge) if merge.isdigit() else None, request=request)
    except DuplicateCard as error:
        return None, {"card_id": error.params.get("card_id"), "card_no": error.params.get("card_no"),
                      "message": str(error)}
    except DomainError as error:
        put_error(form, error)
        return None, None
    if merge.isdigit():
        messages.success(request, _("已合并到报告卡 %(no)s。") % {"no": card.card_no})
        return card, None
    hours, minutes = hours_minutes(card.reported_at - card.diagnosed_at)
    if card.on_time:
        messages.success(request, _("报告卡 %(no)s 已提交：诊断后 %(h)s 小时 %(m)s 分报告，"
                                    "在 %(limit)s 小时时限内（及时）。") % {
            "no": card.card_no, "h": hours, "m": minutes, "limit": card.disease.deadline_hours})
    else:
        messages.warning(request, _("报告卡 %(no)s 已提交：诊断后 %(h)s 小时 %(m)s 分报告，"
                                    "超过 %(limit)s 小时时限（迟报）。") % {
            "no": card.card_no, "h": hours, "m": minutes, "limit": card.disease.deadline_hours})
    return card, None


# ---------------------------------------------------------------- one card


@require_GET
@login_required
def card_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """传染病报告卡 — every field, the deadline clock, the history; the review steps the caller may take."""
    card = selectors.card_get(user=request.user, pk=pk, request=request)
    return render(request, "surveillance/card.html", card_context(request, card))
