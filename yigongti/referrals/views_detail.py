"""One referral (转诊单): everything about it, and the actions the caller may take on it.

Each action is a small POST form to its own address; after it the page redirects back with a
message. A refused transition (accepting twice, accepting a cancelled referral) or a missing reason
shows the page again with the error in place and the error's status (409 / 422).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core.errors import DomainError, NotFound

from . import selectors, services
from .choices import Direction
from .forms import (
    CARE_PROGRAMMES,
    AcceptForm,
    CompleteForm,
    DownForm,
    ReasonForm,
    receiving_institutions,
    slot_choices,
)
from .views_common import allowed_actions, event_rows, free_slots, put_error, slot_from

DONE: dict[str, Any] = {
    "accept": gettext_lazy("已接收转诊。"), "reject": gettext_lazy("已拒绝转诊。"),
    "cancel": gettext_lazy("已撤销转诊。"), "arrive": gettext_lazy("已登记到诊。"),
    "complete": gettext_lazy("已完成转诊并反馈出院小结。"), "down": gettext_lazy("已下转，照护计划已下达。"),
}


def _forms(request: HttpRequest, referral: Any, actions: set[str], bound: dict[str, forms.Form]) -> dict[str, Any]:
    """The action forms (a bound one, with its errors, replaces its empty twin)."""
    out: dict[str, Any] = {}
    if "accept" in actions:
        slots = free_slots([referral.to_institution])
        out["accept_form"] = bound.get("accept") or AcceptForm(slots=slot_choices(slots, with_institution=False))
    if "reject" in actions:
        out["reject_form"] = bound.get("reject") or ReasonForm(prefix="reject")
    if "cancel" in actions:
        out["cancel_form"] = bound.get("cancel") or ReasonForm(prefix="cancel")
    if "complete" in actions:
        out["complete_form"] = bound.get("complete") or CompleteForm()
    if "down" in actions:
        out["down_form"] = bound.get("down") or DownForm(institutions=_down_targets(referral))
    return out


def _down_targets(referral: Any) -> list[Any]:
    """Where a patient may be sent down to besides the sender: the township centres."""
    return [i for i in receiving_institutions() if i.tier == "township" and i.pk != referral.from_institution_id]


def _context(request: HttpRequest, referral: Any, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    actions = allowed_actions(request.user, referral)
    plan = referral.care_plan or {}
    programmes = dict(CARE_PROGRAMMES)
    return {
        "referral": referral, "actions": actions, **_forms(request, referral, actions, bound or {}),
        "care_plan": plan, "care_programme": programmes.get(plan.get("programme"), plan.get("programme", "")),
        "is_up": referral.direction == Direction.UP, "events": event_rows(referral),
    }


@require_GET
@login_required
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """转诊单 — summary, results, timeline, booking, care plan, feedback, related referrals; actions."""
    referral = selectors.referral_get(user=request.user, pk=pk, request=request)
    return render(request, "referrals/detail.html", _context(request, referral))


@require_http_methods(["GET", "POST"])
@login_required
def referral_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One action on a referral (GET — a reloaded address — goes back to the referral)."""
    user = request.user
    referral = selectors.referral_get(user=user, pk=pk, request=request)
    if request.method == "GET":
        return redirect("referrals:detail", pk=referral.pk)
    form: forms.Form | None = None
    try:
        if action == "accept":
            slots = free_slots([referral.to_institution])
            form = AcceptForm(request.POST, slots=slot_choices(slots, with_institution=False))
            if form.is_valid():
                services.referral_accept(user=user, referral=referral, note=form.cleaned_data["note"],
                                         slot=slot_from(slots, form.cleaned_data["slot"]), request=request)
        elif action in ("reject", "cancel"):
            form = ReasonForm(request.POST, prefix=action)
            if form.is_valid():
                act = services.referral_reject if action == "reject" else services.referral_cancel
                act(user=user, referral=referral, reason=form.cleaned_data["reason"], request=request)
        elif action == "arrive":
            services.referral_arrive(user=user, referral=referral, request=request)
        elif action == "complete":
            form = CompleteForm(request.POST)
            if form.is_valid():
                services.referral_complete(user=user, referral=referral, feedback=form.cleaned_data["feedback"],
                                           request=request)
        elif action == "down":
            form = DownForm(request.POST, institutions=_down_targets(referral))
            if form.is_valid():
                down = services.referral_down(
                    user=user, referral=referral, reason=form.cleaned_data["reason"],
                    summary=form.cleaned_data["summary"], care_plan=form.care_plan(),
                    to_institution=form.institution(), request=request)
                messages.success(request, str(DONE[action]))
                return redirect("referrals:detail", pk=down.pk)
        else:
            raise NotFound()
    except NotFound:
        raise
    except DomainError as error:
        if form is not None:
            put_error(form, error, aliases={"feedback": "feedback", "reason": "reason"})
        else:
            messages.error(request, str(error))
            return redirect("referrals:detail", pk=referral.pk)
        return _again(request, referral, action, form, error.status)
    if form is not None and form.errors:
        return _again(request, referral, action, form, 422)
    messages.success(request, str(DONE[action]))
    return redirect("referrals:detail", pk=referral.pk)


def _again(request: HttpRequest, referral: Any, action: str, form: forms.Form, status: int) -> HttpResponse:
    """The referral page again, the action's form with its errors (the referral re-read: it may have moved)."""
    fresh = selectors.referral_get(user=request.user, pk=referral.pk, request=request)
    context = _context(request, fresh, {action: form})
    shown = action in context["actions"]
    errors = (list(form.non_field_errors()) if shown
              else [str(e) for field_errors in form.errors.values() for e in field_errors])
    context.update({"failed": action, f"{action}_form": form, "failed_errors": errors})
    return render(request, "referrals/detail.html", context, status=status)
