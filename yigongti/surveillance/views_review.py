"""The review of a card (审核): township 初审 and county 终审, 退回订正, 订正诊断, 删除重卡, and the
reporter's 订正 of a returned card.

Each step is a small POST form to its own address; after it the card page comes back with a
message. A step the caller may not take (403), one the card's status does not allow (409) or a
missing reason (422) shows the card page again with the error in place and the error's status.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from yigongti.core.errors import DomainError, NotFound
from yigongti.registry.choices import Sex

from . import selectors, services
from .forms import CorrectForm, DeleteForm, ReturnForm, ReviseForm
from .models import CaseCard
from .views_common import accept_label, card_actions, hours_minutes, put_error

DONE: dict[str, Any] = {
    "accept": gettext_lazy("已审核通过。"), "return": gettext_lazy("已退回报告单位订正。"),
    "revise": gettext_lazy("已订正诊断。"), "delete": gettext_lazy("已删除（重卡）。"),
    "correct": gettext_lazy("已订正并重新报告，等待审核。"),
}


def _forms(card: CaseCard, actions: set[str], bound: dict[str, forms.Form]) -> dict[str, Any]:
    """The action forms (a bound one, with its errors, replaces its empty twin)."""
    out: dict[str, Any] = {}
    if "return" in actions:
        out["return_form"] = bound.get("return") or ReturnForm()
    if "revise" in actions:
        out["revise_form"] = bound.get("revise") or ReviseForm(
            diseases=services.diseases_in_force(), initial={"diagnosis_type": card.diagnosis_type})
    if "delete" in actions:
        out["delete_form"] = bound.get("delete") or DeleteForm()
    if "correct" in actions:
        out["correct_form"] = bound.get("correct") or CorrectForm(
            divisions=selectors.address_divisions(), initial=CorrectForm.initial_of(card))
    return out


def _label(name: str) -> str:
    try:
        return str(getattr(CaseCard._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


def event_rows(card: CaseCard) -> list[dict[str, Any]]:
    """The card's history with each change as (field label, before, after)."""
    return [{"event": e, "changes": [(_label(name), *[*change, "", ""][:2])
                                     for name, change in (e.changes or {}).items()]}
            for e in selectors.card_events(card)]


def card_context(request: HttpRequest, card: CaseCard, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    """What the card page shows: the card, its clock, its history and the steps the caller may take."""
    actions = card_actions(request.user, card)
    hours, minutes = hours_minutes(card.reported_at - card.diagnosed_at)
    return {
        "card": card, "actions": actions, "accept_label": accept_label(request.user),
        "sex_label": dict(Sex.choices).get(card.sex, ""),
        "delay_hours": hours, "delay_minutes": minutes, "events": event_rows(card),
        **_forms(card, actions, bound or {}),
    }


@require_http_methods(["GET", "POST"])
@login_required
def card_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One review step on a card (GET — a reloaded address — goes back to the card)."""
    user = request.user
    card = selectors.card_get(user=user, pk=pk, request=request)
    if request.method == "GET":
        return redirect("surveillance:card", pk=card.pk)
    form: forms.Form | None = None
    try:
        if action == "accept":
            services.card_accept(user=user, card=card, request=request)
        elif action == "return":
            form = ReturnForm(request.POST)
            if form.is_valid():
                services.card_return(user=user, card=card, reason=form.cleaned_data["reason"], request=request)
        elif action == "revise":
            form = ReviseForm(request.POST, diseases=services.diseases_in_force())
            if form.is_valid():
                services.card_revise(user=user, card=card, disease=form.chosen_disease(),
                                     diagnosis_type=form.cleaned_data["diagnosis_type"],
                                     note=form.cleaned_data["note"], request=request)
        elif action == "delete":
            form = DeleteForm(request.POST)
            if form.is_valid():
                services.card_delete(user=user, card=card, reason=form.cleaned_data["reason"],
                                     duplicate_of=_duplicate(request, form), request=request)
        elif action == "correct":
            form = CorrectForm(request.POST, divisions=selectors.address_divisions())
            if form.is_valid():
                services.card_correct(user=user, card=card, changes=form.changes(card), request=request)
        else:
            raise NotFound()
    except NotFound:
        raise
    except DomainError as error:
        if form is not None:
            put_error(form, error)
        return _again(request, card, action, form, error.status, str(error))
    if form is not None and form.errors:
        return _again(request, card, action, form, 422, "")
    messages.success(request, str(DONE[action]))
    return redirect("surveillance:card", pk=card.pk)


class _NoSuchCard(DomainError):
    code = "card_invalid"
    status = 422


def _duplicate(request: HttpRequest, form: DeleteForm) -> CaseCard | None:
    """The card the deleted one duplicates, by its number (in the caller's scope), or None."""
    number = form.cleaned_data["duplicate_no"].strip()
    if not number:
        return None
    found = selectors.cards_by_numbers(user=request.user, numbers=[number]).get(number)
    if found is None:
        raise _NoSuchCard(gettext_lazy("未找到报告卡 %(no)s。"), no=number, field="duplicate_no")
    return found


def _again(request: HttpRequest, card: CaseCard, action: str, form: forms.Form | None, status: int,
           message: str) -> HttpResponse:
    """The card page again with the step's errors (the card re-read: it may have moved meanwhile)."""
    fresh = selectors.card_get(user=request.user, pk=card.pk, request=request)
    context = card_context(request, fresh, {action: form} if form is not None else None)
    errors = [message] if message and (form is None or not form.errors) else []
    if form is not None:
        shown = action in context["actions"]
        errors += ([str(e) for e in form.non_field_errors()] if shown
                   else [str(e) for field_errors in form.errors.values() for e in field_errors])
        if shown:
            context[f"{action}_form"] = form
    context.update({"failed": action, "failed_errors": list(dict.fromkeys(errors))})
    return render(request, "surveillance/card.html", context, status=status)
