"""Helpers shared by the referral pages: errors onto forms, what a user may do with a referral, the
caller's institution, the receiving institutions and their slots."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound
from yigongti.registry.models import Institution

from . import machine, selectors
from .choices import Direction, ReferralStatus
from .forms import SLOT_DAYS, Choices, slot_choices

EVENT_LABELS: dict[str, Any] = {
    "request": _("申请"), "escalate": _("超时升级"), "down": _("下转"), "book": _("预约"),
}
# Service argument names that differ from the form field that shows their error.
FIELD_ALIASES = {"result_ids": "results", "files": "attachments", "specialist": "specialist_institution",
                 "department": "to_department"}


def put_error(form: forms.Form, error: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """Show a service's error under the field it names (else above the form). Out of scope stays 404."""
    if isinstance(error, NotFound):
        raise error
    field = getattr(error, "field", None) or error.params.get("field")
    names = {**FIELD_ALIASES, **(aliases or {})}
    if field not in form.fields:
        field = names.get(str(field), field)
    form.add_error(field if field in form.fields else None, str(error))


def institution_of(user: Any) -> Institution | None:
    """The institution the caller works at (None for a county body or an administrator)."""
    return getattr(user, "institution", None) if getattr(user, "institution_id", None) else None


def is_system(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False))


def at(user: Any, institution_id: int | None) -> bool:
    """Whether the caller acts for institution ``institution_id``."""
    return is_system(user) or (institution_id is not None and getattr(user, "institution_id", None) == institution_id)


def allowed_actions(user: Any, referral: Any) -> set[str]:
    """The actions the caller may take on ``referral`` now: the state machine's transitions from its
    status that the caller's side may take, and 下转 on an arrived or completed up-referral not yet
    sent down (the services check again)."""
    actions = set()
    for action in machine.allowed_actions(referral.status):
        side = machine.SIDE.get(action)
        if at(user, referral.to_institution_id if side == "to" else referral.from_institution_id):
            actions.add(str(action))
    live_down = any(d.status not in (ReferralStatus.REJECTED, ReferralStatus.CANCELLED)
                    for d in referral.down_referrals.all())  # prefetched by referral_get
    if (referral.direction == Direction.UP and referral.status in (ReferralStatus.ARRIVED, ReferralStatus.COMPLETED)
            and at(user, referral.to_institution_id) and not live_down):
        actions.add("down")
    return actions


def event_rows(referral: Any) -> list[dict[str, Any]]:
    """The referral's history with its actions and statuses as the screen says them."""
    labels = {**EVENT_LABELS, **{str(k): v for k, v in machine.ACTION_LABELS.items()}}
    return [{"event": e, "action": labels.get(e.action, e.action),
             "from": machine.status_label(e.from_status) if e.from_status else "",
             "to": machine.status_label(e.to_status)} for e in referral.events.all()]


def window() -> tuple[dt.date, dt.date]:
    """The days offered for a booking: today and the next ``SLOT_DAYS - 1``."""
    start = today()
    return start, start + dt.timedelta(days=SLOT_DAYS - 1)


def free_slots(institutions: list[Institution], department: Any = None) -> list[Any]:
    """The slots of ``institutions`` in the booking window that still have a free place."""
    start, end = window()
    rows: list[Any] = []
    for institution in institutions:
        rows.extend(selectors.slots_for(institution=institution, date_from=start, date_to=end,
                                        department=department))
    return [s for s in rows if s.booked < s.capacity]


def free_slot_choices(institutions: list[Institution], *, department: Any = None,
                      with_institution: bool = True) -> Choices:
    return slot_choices(free_slots(institutions, department), with_institution=with_institution)


def slot_from(slots: list[Any], pk: int | None) -> Any:
    """The slot ``pk`` among ``slots`` (the ones offered), or None."""
    return next((s for s in slots if s.pk == pk), None) if pk else None


def page_info(result: Any) -> tuple[list[Any], int]:
    """Items and total count of a page from :func:`selectors.referral_desk` (a Page schema or a dict)."""
    def get(name: str) -> Any:
        return result.get(name) if isinstance(result, dict) else getattr(result, name, None)

    items = list(get("items") or [])
    total = get("total")
    if total is None:
        total = get("count")
    return items, int(total or 0)


def query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def resident_bookings(user: Any, resident: Any, request: Any) -> list[Any]:
    """A resident's bookings (scoped, audited)."""
    return selectors.bookings_of(user=user, resident=resident, request=request)


def resident_consults(user: Any, resident: Any, request: Any) -> list[Any]:
    """A resident's teleconsultations (scoped, audited)."""
    return selectors.consults_of(user=user, resident=resident, request=request)
