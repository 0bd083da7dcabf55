"""Residents pages (居民档案): search, registration with the door check, the record, edit, transfer,
the review queue of the master patient index, merge and unmerge.

Thin views: every read goes through :mod:`.selectors` (scoped to the caller; a record read is
audited), every write through :mod:`.services`. A :class:`~yigongti.core.errors.DomainError` raised
there becomes a page in the web layer's error middleware (404 for a record outside scope), except
where the page itself can say better: a :class:`~.errors.DuplicateResident` on registration shows
the existing record, and a validation error of a service appears on the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core.errors import DomainError, NotFound
from yigongti.core.scope import covers, scope_path

from . import selectors, services
from .choices import Relation
from .errors import DuplicateResident
from .forms import PairDecisionForm, ResidentForm, SearchForm, TransferForm
from .models import MatchPair, Resident
from .panels import RESIDENT_LINKS
from .templatetags.residents_ui import id_shown

PAGE_SIZE = 25


@require_GET
@login_required
def resident_list(request: HttpRequest) -> HttpResponse:
    """居民档案 — search (ID, record number, name, pinyin, name + birth date) and filters, paginated."""
    form = SearchForm(request.GET or None, user=request.user)
    q, village, status = "", None, None
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        village = form.cleaned_data["village"] or None
        status = form.cleaned_data["status"] or None
    results = selectors.resident_search(user=request.user, q=q, village_code=village, status=status)
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "residents/list.html", {
        "form": form, "page": page, "q": q, "query": query.urlencode(),
        "can_register": scope_path(request.user, "entry") is not None,
    })


@require_http_methods(["GET", "POST"])
@login_required
def resident_new(request: HttpRequest) -> HttpResponse:
    """新建档案 — register a resident; a duplicate is stopped at the door and shown instead."""
    form = ResidentForm(request.POST or None, user=request.user)
    duplicate: DuplicateResident | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                resident = _register(request, form)
            except DuplicateResident as error:
                duplicate, status = error, error.status
            except NotFound:
                raise
            except DomainError as error:
                status = _form_error(form, error)
            else:
                messages.success(request, _("已建档：%(name)s（%(record_no)s）") % {
                    "name": resident.name, "record_no": resident.record_no})
                return redirect("residents:detail", code=resident.record_no)
        else:
            status = 422
    return render(request, "residents/form.html", {
        "form": form, "duplicate": duplicate, "editing": False,
        "existing_id": id_shown(request.user, duplicate.existing) if duplicate and duplicate.existing else "",
    }, status=status)


def _register(request: HttpRequest, form: ResidentForm) -> Resident:
    """Register from the form; with 新建家庭 the household is created in the same transaction."""
    items = form.cleaned_items()
    with transaction.atomic():
        if form.wants_new_household:
            household = services.household_create(user=request.user, village_code=items["village_code"],
                                                   address=items.get("address", ""))
            items.update(household_code=household.code, relation_to_head=Relation.HEAD)
        return services.resident_register(user=request.user, request=request, **items)


def _form_error(form: ResidentForm, error: DomainError) -> int:
    """Put a service's validation error on the form (under its field when it names one)."""
    field = getattr(error, "field", None) or error.params.get("field")
    form.add_error(field if field in form.fields else None, str(error))
    return error.status


@require_GET
@login_required
def resident_detail(request: HttpRequest, code: str) -> HttpResponse:
    """居民档案 — every identity and record item, household, responsible units, history (audited)."""
    resident = selectors.resident_get(user=request.user, record_no=code, request=request)
    history = selectors.resident_history(user=request.user, resident=resident)
    return render(request, "residents/detail.html", {
        "resident": resident,
        "history": history,
        "members": selectors.household_members(user=request.user, resident=resident),
        "can_enter": covers(request.user, resident.path, mode="entry"),
        "links": [(label, reverse(url_name, args=[resident.record_no])) for label, url_name in RESIDENT_LINKS],
    })


@require_http_methods(["GET", "POST"])
@login_required
def resident_edit(request: HttpRequest, code: str) -> HttpResponse:
    """编辑 — identity and record items; the village changes only through a transfer."""
    resident = selectors.resident_get(user=request.user, record_no=code, request=request)
    form = ResidentForm(request.POST or None, user=request.user, resident=resident)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.resident_update(user=request.user, resident=resident, request=request,
                                         **form.cleaned_items())
            except NotFound:
                raise
            except DomainError as error:
                status = _form_error(form, error)
            else:
                messages.success(request, _("档案已更新。"))
                return redirect("residents:detail", code=resident.record_no)
        else:
            status = 422
    return render(request, "residents/form.html", {"form": form, "resident": resident, "editing": True},
                  status=status)


@require_http_methods(["GET", "POST"])
@login_required
def resident_transfer(request: HttpRequest, code: str) -> HttpResponse:
    """迁移 — move the record to another village of the county (possibly outside the caller's scope)."""
    resident = selectors.resident_get(user=request.user, record_no=code, request=request)
    is_head = resident.household is not None and resident.household.head_id == resident.pk
    form = TransferForm(request.POST or None, path=resident.path, current_village=resident.village.code,
                        is_head=is_head)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                transfer = services.resident_transfer(
                    user=request.user, resident=resident, to_village_code=form.cleaned_data["to_village_code"],
                    on=form.cleaned_data["on"], reason=form.cleaned_data["reason"],
                    with_household=bool(form.cleaned_data.get("with_household")), request=request)
            except NotFound:
                raise
            except DomainError as error:
                form.add_error(None, str(error))
                status = error.status
            else:
                messages.success(request, _("%(name)s 的档案已迁移至 %(village)s。") % {
                    "name": resident.name, "village": transfer.to_village.name})
                if covers(request.user, transfer.to_path, mode="view"):
                    return redirect("residents:detail", code=resident.record_no)
                return redirect("residents:list")
        else:
            status = 422
    return render(request, "residents/transfer.html", {"form": form, "resident": resident}, status=status)


# ---------------------------------------------------------------- the review queue, merge, unmerge

COMPARED = ("record_no", "name", "name_pinyin", "sex", "birth_date", "id_number", "ethnicity", "phone",
            "address", "village", "household", "status", "created_at")


def _display(user: Any, resident: Resident, name: str) -> str:
    if name == "id_number":
        return id_shown(user, resident)
    if name in ("sex", "status", "ethnicity"):
        return str(getattr(resident, f"get_{name}_display")())
    if name == "village":
        return resident.village.name
    if name == "birth_date":
        return resident.birth_date.isoformat()
    if name == "created_at":
        return f"{timezone.localtime(resident.created_at):%Y-%m-%d}" if resident.created_at else ""
    value = getattr(resident, name)
    return "" if value is None else str(value)


def compare(user: Any, left: Resident, right: Resident) -> list[dict[str, Any]]:
    """The two records field by field, each row marked when the values differ."""
    rows = []
    for name in COMPARED:
        a, b = _display(user, left, name), _display(user, right, name)
        label = getattr(Resident._meta.get_field(name), "verbose_name", name)
        rows.append({"name": name, "label": label, "left": a, "right": b,
                     "differs": name not in ("record_no", "created_at") and a != b})
    return rows


def _pair_item(user: Any, pair: MatchPair) -> dict[str, Any]:
    older = min((pair.left, pair.right), key=lambda r: (r.created_at, r.pk))
    return {"pair": pair, "rows": compare(user, pair.left, pair.right), "older": older,
            "sides": [pair.left, pair.right],
            "can_enter": covers(user, pair.left.path, mode="entry") and covers(user, pair.right.path, mode="entry")}


@require_GET
@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    """疑似重复审核 — pending pairs whose two records the caller can see, side by side."""
    page = Paginator(selectors.review_queue(user=request.user), 10).get_page(request.GET.get("page"))
    items = [_pair_item(request.user, pair) for pair in page.object_list]
    return render(request, "residents/review.html", {"page": page, "items": items})


@require_http_methods(["GET", "POST"])
@login_required
def pair_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """One pair: GET shows it, POST decides it (合并 with the chosen survivor, or 非同一人)."""
    pair = selectors.pair_get(user=request.user, pk=pk)
    if request.method == "GET":
        return render(request, "residents/pair.html", {"item": _pair_item(request.user, pair)})
    form = PairDecisionForm(request.POST)
    if not form.is_valid():
        raise DomainError(_("请选择合并或非同一人。"))
    decision = form.cleaned_data["decision"]
    survivor = None
    if decision == "merge":
        wanted = form.cleaned_data["survivor"]
        survivor = next((r for r in (pair.left, pair.right) if r.record_no == wanted), None)
    pair = services.pair_decide(user=request.user, pair=pair, decision=decision, survivor=survivor,
                                request=request)
    if decision == "merge":
        kept = survivor or min((pair.left, pair.right), key=lambda r: (r.created_at, r.pk))
        messages.success(request, _("已合并：保留档案 %(record_no)s。") % {"record_no": kept.record_no})
    else:
        messages.success(request, _("已标记为非同一人。"))
    return redirect(reverse("residents:review"))


@require_http_methods(["GET", "POST"])
@login_required
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """撤销合并 — GET asks for confirmation, POST restores the merged record with its linked rows."""
    merge = selectors.merge_get(user=request.user, pk=pk)
    if request.method == "GET":
        return render(request, "residents/unmerge.html", {"merge": merge})
    restored = services.resident_unmerge(user=request.user, merge=merge, request=request)
    messages.success(request, _("已撤销合并：%(record_no)s 恢复为独立档案。") % {"record_no": restored.record_no})
    return redirect("residents:detail", code=restored.record_no)
