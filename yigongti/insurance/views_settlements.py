"""The settlement pages (医保结算): the landing page with the discharges awaiting settlement, the
settle form of an encounter (出院结算 / 门诊结算), the settlement slip (结算单) with its print
layout, its reversal (冲销) and re-settlement (重新结算), and the list with its Excel download.

Thin views: writes through :mod:`.services` (which lock, adjudicate, post and audit), reads scoped
through :func:`.services.settlements_visible` and audited. The settle form carries an idempotency
key generated when it is rendered, so a second submit of the same page returns the first
settlement. A service's error shows in the form with its status, never a stack trace.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.care import selectors as care_selectors
from yigongti.care.choices import CostCategory, EncounterKind
from yigongti.care.models import Encounter
from yigongti.core import audit, scope
from yigongti.core.clock import LOCAL_TZ, today
from yigongti.core.errors import DomainError, PermissionDenied
from yigongti.core.paging import paged, query_without
from yigongti.core.spreadsheets import xlsx_response
from yigongti.residents.templatetags.residents_ui import mask_id

from . import services
from .forms import ResettleForm, ReverseForm, SettleForm, SettlementFilterForm
from .models import Accumulator, Coverage, PolicyVersion, Settlement, SettlementKind, SettlementStatus
from .selectors import county_of, policy_or_none
from .views_common import english, line_text, may_settle, put_error, require_user, settlement_get, year_choices

HOME_ROWS = 20
EXPORT_LIMIT = 20_000
EXPORT_COLUMNS: tuple[Any, ...] = (
    gettext_lazy("结算单号"), gettext_lazy("类型"), gettext_lazy("状态"), gettext_lazy("结算时间"),
    gettext_lazy("出院/就诊日期"), gettext_lazy("患者姓名"), gettext_lazy("档案编号"), gettext_lazy("结算机构"),
    gettext_lazy("就诊类型"), gettext_lazy("县域内"), gettext_lazy("参保"), gettext_lazy("医疗总费用"),
    gettext_lazy("合规费用"), gettext_lazy("统筹基金支付"), gettext_lazy("大病保险支付"), gettext_lazy("医疗救助支付"),
    gettext_lazy("基金支付合计"), gettext_lazy("个人负担"), gettext_lazy("适用政策"),
)
YTD_LABELS: tuple[tuple[str, Any], ...] = tuple(
    (name, getattr(Accumulator._meta.get_field(name), "verbose_name", name))
    for name in ("outpatient_paid", "basic_paid", "catastrophic_base", "catastrophic_paid", "aid_base", "aid_paid"))
KIND_LABELS = {"inpatient": gettext_lazy("住院"), "outpatient": gettext_lazy("门诊")}
LEVEL_LABELS = {"village": gettext_lazy("村卫生室"), "township": gettext_lazy("乡镇卫生院（一级）"),
                "county": gettext_lazy("县级医院（二级）"), "tertiary": gettext_lazy("三级医院")}


# ---------------------------------------------------------------- landing page


def _awaiting(user: Any) -> Any:
    """Discharged stays without a live settlement that the caller may settle: their institution's
    (the insurance office: every one in scope, those outside the county too), latest discharge first."""
    queryset = scope.visible(user, Encounter.objects.filter(kind=EncounterKind.INPATIENT, end_date__isnull=False),
                             path_field=("path", "institution_path"))
    office = getattr(user, "is_superuser", False) or getattr(user, "role", "") in services.OFFICE_ROLES
    if not office:
        if getattr(user, "role", "") not in services.SETTLING_ROLES or not getattr(user, "institution_id", None):
            return queryset.none()
        queryset = queryset.filter(institution_id=user.institution_id)
    return (queryset.exclude(settlements__status=SettlementStatus.SETTLED)
            .select_related("resident", "institution").order_by("-end_date", "-pk"))


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """医保 — discharges awaiting settlement, the latest settlements, this year's counts."""
    user = request.user
    require_user(user)
    awaiting = _awaiting(user)
    waiting = list(awaiting[:HOME_ROWS])
    audit.read(user=user, objects=waiting, request=request)
    year = today().year
    visible = services.settlements_visible(user)
    recent = list(visible.select_related("resident", "institution")[:10])
    audit.read(user=user, objects=recent, request=request)
    counts = visible.filter(year=year).aggregate(
        settled=Count("id", filter=Q(status=SettlementStatus.SETTLED)),
        reversed=Count("id", filter=Q(status=SettlementStatus.REVERSED)))
    return render(request, "insurance/home.html", {
        "waiting": waiting, "waiting_count": awaiting.count(), "recent": recent, "year": year, **counts})


# ---------------------------------------------------------------- settling an encounter


def cost_totals(encounter: Encounter) -> list[tuple[str, Decimal]]:
    """The encounter's costs per category (in the order of the categories), summed."""
    totals: dict[str, Decimal] = {}
    for cost in encounter.costs.all():
        totals[cost.category] = totals.get(cost.category, Decimal(0)) + cost.amount
    order = {c: i for i, c in enumerate(CostCategory.values)}
    return sorted(totals.items(), key=lambda item: order.get(item[0], 99))


def _live(encounter: Encounter) -> Settlement | None:
    return Settlement.objects.filter(encounter=encounter, status=SettlementStatus.SETTLED).first()


def _settle_context(request: HttpRequest, encounter: Encounter, form: SettleForm, allowed: bool) -> dict[str, Any]:
    inpatient = encounter.kind == EncounterKind.INPATIENT
    discharged = not inpatient or encounter.end_date is not None
    service_date = encounter.end_date or encounter.start_date
    coverage = Coverage.objects.filter(resident_id=encounter.resident_id, year=service_date.year).first()
    if coverage is not None:
        audit.read(user=request.user, objects=[coverage], request=request)
    labels = dict(CostCategory.choices)
    costs = cost_totals(encounter)
    return {
        "encounter": encounter, "resident": encounter.resident, "form": form, "allowed": allowed,
        "inpatient": inpatient, "discharged": discharged, "service_date": service_date, "coverage": coverage,
        "policy": policy_or_none(county_of(encounter.path), service_date) if discharged else None,
        "costs": [{"category": c, "label": labels.get(c, c), "amount": a, "field": form[f"outside_{c}"]}
                  for c, a in costs],
        "total": sum((a for _c, a in costs), Decimal(0)),
    }


@require_http_methods(["GET", "POST"])
@login_required
def settle(request: HttpRequest, pk: int) -> HttpResponse:
    """出院结算 / 门诊结算 — the costs, optional 目录外 amounts, one click; the slip after."""
    user = request.user
    encounter = care_selectors.encounter_get(user=user, pk=pk, request=request)
    require_user(user)
    live = _live(encounter)
    if request.method == "GET" and live is not None:
        messages.info(request, _("该就诊已结算（结算单 %(number)s）。") % {"number": live.number})
        return redirect("insurance:settlement", pk=live.pk)
    form = SettleForm(request.POST or None, costs=cost_totals(encounter))
    status = 200
    refused = ""  # who may not settle sees the costs and why, not the button (the service checks again)
    try:
        services.check_may_settle(user, encounter)
    except PermissionDenied as error:
        refused = str(error)
        status = 403
    allowed = not refused
    if allowed and request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                settlement, created = services.settle(user, encounter.pk, key=form.cleaned_data["idempotency_key"],
                                                      outside_catalogue=form.outside(), request=request)
            except DomainError as error:
                put_error(form, error)
                status = error.status
            else:
                if created:
                    messages.success(request, _(
                        "结算成功：结算单 %(number)s，基金支付 %(fund)s 元，个人负担 %(patient)s 元。") % {
                        "number": settlement.number, "fund": settlement.fund, "patient": settlement.patient})
                else:
                    messages.info(request, _("该就诊已结算（结算单 %(number)s），未重复结算。") % {
                        "number": settlement.number})
                return redirect("insurance:settlement", pk=settlement.pk)
    return render(request, "insurance/settle.html", {**_settle_context(request, encounter, form, allowed),
                                                     "refused": refused}, status=status)


# ---------------------------------------------------------------- the slip


def _policy_name(code: str) -> str:
    found = PolicyVersion.objects.filter(code=code).values_list("name", "name_en").first()
    if found is None:
        return code
    return (found[1] if english() and found[1] else found[0]) or code


def _amount_rows(costs: dict[str, Any]) -> list[dict[str, Any]]:
    labels = dict(CostCategory.choices)
    within = costs.get("costs") or {}
    outside = costs.get("outside_catalogue") or {}
    rows = []
    for category in [c for c in CostCategory.values if c in within or c in outside]:
        inside, out = Decimal(within.get(category) or 0), Decimal(outside.get(category) or 0)
        rows.append({"label": labels.get(category, category), "total": inside + out, "outside": out})
    return rows


def slip_context(request: HttpRequest, s: Settlement, bound: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the slip shows, and the actions the caller may take on it."""
    user = request.user
    bound = bound or {}
    resident = s.resident
    related = list(services.settlements_visible(user).filter(encounter_id=s.encounter_id).exclude(pk=s.pk)
                   .order_by("settled_at", "pk"))
    audit.read(user=user, objects=related, request=request)
    actionable = (s.kind == SettlementKind.SETTLEMENT and s.status == SettlementStatus.SETTLED
                  and may_settle(user, s.encounter))
    reversal = getattr(s, "reversal", None)  # the reverse one-to-one: absent until reversed
    context: dict[str, Any] = {
        "s": s, "resident": resident, "encounter": s.encounter, "id_masked": mask_id(resident.id_number or ""),
        "policy_name": _policy_name(s.policy), "lines": [{"text": line_text(line), "amount": Decimal(line["amount"]),
                                                          "rule": line.get("rule", "")} for line in s.lines or []],
        "cost_rows": _amount_rows(s.costs or {}), "kind_label": KIND_LABELS.get(s.encounter_kind, s.encounter_kind),
        "level_label": LEVEL_LABELS.get(s.level, s.level) if s.in_county else _("县外医疗机构"),
        "ytd": [{"label": label, "before": Decimal(s.ytd_before.get(name) or 0),
                 "after": Decimal(s.ytd_after.get(name) or 0)} for name, label in YTD_LABELS
                if name in (s.ytd_after or {})],
        "self_pay": s.outside_catalogue + s.category_share + s.excluded, "related": related,
        "reversal": reversal, "actionable": actionable,
    }
    if actionable:
        costs = cost_totals(s.encounter)
        context["reverse_form"] = bound.get("reverse") or ReverseForm(prefix="reverse")
        context["resettle_form"] = bound.get("resettle") or ResettleForm(prefix="resettle", costs=costs)
        context["current_total"] = sum((a for _c, a in costs), Decimal(0))
    return context


@require_GET
@login_required
def settlement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """结算单 — every amount, the explanation line by line, the accumulators after; print, 冲销, 重新结算."""
    require_user(request.user)
    settlement = settlement_get(request.user, pk, request)
    return render(request, "insurance/slip.html", slip_context(request, settlement))


@require_GET
@login_required
def settlement_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The slip alone, laid out for paper (no navigation, no buttons but 打印)."""
    require_user(request.user)
    settlement = settlement_get(request.user, pk, request)
    return render(request, "insurance/slip_print.html", slip_context(request, settlement))


@require_http_methods(["GET", "POST"])
@login_required
def settlement_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """冲销 (``reverse``) or 重新结算 (``resettle``) of a settlement; GET goes back to the slip."""
    user = request.user
    require_user(user)
    settlement = settlement_get(user, pk, request)
    if request.method == "GET":
        return redirect("insurance:settlement", pk=settlement.pk)
    form: ReverseForm | ResettleForm
    if action == "reverse":
        form = ReverseForm(request.POST, prefix="reverse")
    else:
        form = ResettleForm(request.POST, prefix="resettle", costs=cost_totals(settlement.encounter))
    if not form.is_valid():
        return _slip_again(request, settlement, action, form, 422)
    reason = form.cleaned_data["reason"]
    try:
        if isinstance(form, ResettleForm):
            reversal, fresh = services.resettle(user, settlement.pk, reason=reason,
                                                key=form.cleaned_data["idempotency_key"],
                                                outside_catalogue=form.outside(), costs=form.corrected(),
                                                request=request)
            messages.success(request, _("已冲销结算单 %(old)s（冲销单 %(reversal)s）并重新结算：结算单 %(new)s。") % {
                "old": settlement.number, "reversal": reversal.number, "new": fresh.number})
            return redirect("insurance:settlement", pk=fresh.pk)
        reversal = services.reverse(user, settlement.pk, reason=reason, request=request)
    except DomainError as error:
        put_error(form, error)
        return _slip_again(request, settlement, action, form, error.status)
    messages.success(request, _("已冲销结算单 %(number)s：冲销单 %(reversal)s。") % {
        "number": settlement.number, "reversal": reversal.number})
    return redirect("insurance:settlement", pk=reversal.pk)


def _slip_again(request: HttpRequest, settlement: Settlement, action: str, form: Any, status: int) -> HttpResponse:
    """The slip again with the action's errors (re-read: it may have changed meanwhile)."""
    fresh = settlement_get(request.user, settlement.pk, request)
    context = slip_context(request, fresh, {action: form})
    errors = [str(e) for e in form.non_field_errors()]
    if not context["actionable"]:  # the form is not shown any more: say why at the top
        errors += [str(e) for field_errors in form.errors.values() for e in field_errors]
        if not errors:
            errors.append(_("该结算单已不能冲销。"))
    context.update({"failed": action, "failed_errors": list(dict.fromkeys(errors))})
    return render(request, "insurance/slip.html", context, status=status)


# ---------------------------------------------------------------- the list


def _institution_choices(user: Any) -> list[tuple[str, str]]:
    rows = (services.settlements_visible(user).filter(institution__isnull=False)
            .values_list("institution__code", "institution__name").distinct().order_by("institution__code"))
    return [(code, name) for code, name in rows]


def _filtered(request: HttpRequest) -> tuple[SettlementFilterForm, Any]:
    user = request.user
    form = SettlementFilterForm(request.GET or None, years=year_choices(), institutions=_institution_choices(user))
    queryset = services.settlements_visible(user).select_related("resident", "institution")
    for name, lookup in (("year", "year"), ("institution", "institution__code"), ("status", "status"),
                         ("kind", "encounter_kind")):
        value = form.value(name)
        if value:
            queryset = queryset.filter(**{lookup: value})
    return form, queryset


def _export_row(s: Settlement) -> list[Any]:
    return [s.number, s.get_kind_display(), s.get_status_display(),
            s.settled_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"), s.service_date, s.resident.name,
            s.resident.record_no, s.institution.name if s.institution else "",
            str(KIND_LABELS.get(s.encounter_kind, s.encounter_kind)), _("是") if s.in_county else _("否"),
            _("是") if s.covered else _("否"), s.total, s.eligible, s.basic, s.catastrophic, s.aid, s.fund, s.patient,
            s.policy]


@require_GET
@login_required
def settlements(request: HttpRequest) -> HttpResponse:
    """结算单查询 — by year, institution, status and kind; ``format=xlsx`` downloads the rows."""
    user = request.user
    require_user(user)
    form, queryset = _filtered(request)
    if request.GET.get("format") == "xlsx":
        rows = list(queryset[:EXPORT_LIMIT])
        audit.read(user=user, objects=rows, request=request)
        table = [[str(c) for c in EXPORT_COLUMNS], *[_export_row(s) for s in rows]]
        return xlsx_response([(_("医保结算单"), table)], f"settlements-{today():%Y%m%d}")
    page = paged(request, queryset)
    audit.read(user=user, objects=page["rows"], request=request)
    return render(request, "insurance/settlements.html", {
        "form": form, "export_query": query_without(request, "format", "page"), **page})
