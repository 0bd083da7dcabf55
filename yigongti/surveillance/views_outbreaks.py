"""Outbreak investigations (暴发调查): the list, one investigation with its linked cases and signals;
the county CDC adds cases by card number and closes it with the conclusion."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core.errors import DomainError, NotFound
from yigongti.core.paging import paged

from . import alerts, selectors, services
from .choices import OutbreakStatus
from .forms import CloseForm, LinkForm, card_numbers
from .models import Outbreak
from .views_common import put_error


@require_GET
@login_required
def outbreaks(request: HttpRequest) -> HttpResponse:
    """暴发调查 — open ones first, newest first."""
    queryset = selectors.outbreaks_visible(request.user).order_by("-status", "-opened_at")
    return render(request, "surveillance/outbreaks.html", paged(request, queryset))


def _context(request: HttpRequest, outbreak: Outbreak, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    bound = bound or {}
    cdc = services.is_county_reviewer(request.user)
    is_open = outbreak.status == OutbreakStatus.OPEN
    return {
        "outbreak": outbreak, "cases": selectors.outbreak_cases(user=request.user, outbreak=outbreak, request=request),
        "signals": list(selectors.signals_visible(request.user).filter(outbreak=outbreak).order_by("date")),
        "link_form": (bound.get("link") or LinkForm()) if cdc and is_open else None,
        "close_form": (bound.get("close") or CloseForm()) if cdc and is_open else None,
    }


@require_GET
@login_required
def outbreak_detail(request: HttpRequest, pk: int) -> HttpResponse:
    outbreak = selectors.outbreak_get(user=request.user, pk=pk)
    return render(request, "surveillance/outbreak.html", _context(request, outbreak))


@require_http_methods(["GET", "POST"])
@login_required
def outbreak_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """关联病例 (by card number) or 结案 (with the conclusion)."""
    user = request.user
    outbreak = selectors.outbreak_get(user=user, pk=pk)
    if request.method == "GET":
        return redirect("surveillance:outbreak", pk=outbreak.pk)
    form: forms.Form
    try:
        if action == "link":
            form = LinkForm(request.POST)
            if form.is_valid():
                numbers = card_numbers(form.cleaned_data["card_nos"])
                found = selectors.cards_by_numbers(user=user, numbers=numbers)
                missing = [n for n in numbers if n not in found]
                if missing:
                    form.add_error("card_nos", _("未找到报告卡：%(nos)s") % {"nos": "、".join(missing)})
                else:
                    linked = alerts.outbreak_link(user=user, outbreak=outbreak, card_ids=[c.pk for c in found.values()])
                    skipped = len(found) - linked
                    text = _("已关联 %(n)s 例。") % {"n": linked}
                    if skipped:
                        text = " ".join([text, _("另有 %(s)s 张卡因病种不同或已删除未关联。") % {"s": skipped}])
                    messages.success(request, text)
                    return redirect("surveillance:outbreak", pk=outbreak.pk)
        elif action == "close":
            form = CloseForm(request.POST)
            if form.is_valid():
                alerts.outbreak_close(user=user, outbreak=outbreak, summary=form.cleaned_data["summary"])
                messages.success(request, _("暴发调查已结案。"))
                return redirect("surveillance:outbreak", pk=outbreak.pk)
        else:
            raise NotFound()
    except NotFound:
        raise
    except DomainError as error:
        put_error(form, error, aliases={"note": "summary"})
        return _again(request, outbreak, action, form, error.status)
    return _again(request, outbreak, action, form, 422)


def _again(request: HttpRequest, outbreak: Outbreak, action: str, form: forms.Form, status: int) -> HttpResponse:
    fresh = selectors.outbreak_get(user=request.user, pk=outbreak.pk)
    context = _context(request, fresh, {action: form})
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    context.update({"failed": action, "failed_errors": errors})
    return render(request, "surveillance/outbreak.html", context, status=status)
