"""Helpers shared by the surveillance pages: a service's error onto a form, the deadline clock, what
the caller may do with a card, paging and filters in the query string."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yigongti.core.clock import now
from yigongti.core.errors import DomainError, NotFound

from . import services
from .choices import CardStatus
from .models import CaseCard

# Service argument names that differ from the form field that shows their error.
FIELD_ALIASES = {"duplicate_of": "duplicate_no", "note": "note", "reason": "reason", "resident": "record_no",
                 "reported_at": "diagnosed_at"}


def put_error(form: forms.Form, error: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """Show a service's error under the field it names (else above the form). Out of scope stays 404."""
    if isinstance(error, NotFound):
        raise error
    field = error.params.get("field")
    names = {**FIELD_ALIASES, **(aliases or {})}
    if field not in form.fields:
        field = names.get(str(field), field)
    form.add_error(field if field in form.fields else None, str(error))


@dataclass(frozen=True)
class Clock:
    """The reporting deadline of a card being filled: diagnosis + N hours, and the time left (or past)."""

    hours: int
    deadline: dt.datetime
    overdue: bool
    minutes: int  # whole minutes left, or past the deadline when ``overdue``

    @property
    def parts(self) -> tuple[int, int]:
        """(hours, minutes) of the time left, or of the time past the deadline."""
        return divmod(self.minutes, 60)


def deadline_clock(diagnosed_at: dt.datetime, hours: int, at: dt.datetime | None = None) -> Clock:
    """The deadline of a diagnosis made at ``diagnosed_at`` with an ``hours`` limit, seen at ``at`` (now)."""
    deadline = diagnosed_at + dt.timedelta(hours=hours)
    left = (deadline - (at or now())).total_seconds()
    return Clock(hours=hours, deadline=deadline, overdue=left < 0, minutes=int(abs(left) // 60))


def hours_minutes(delta: dt.timedelta) -> tuple[int, int]:
    """A duration as whole hours and minutes (rounded down to the minute)."""
    minutes = int(delta.total_seconds() // 60)
    return divmod(max(minutes, 0), 60)


def card_actions(user: Any, card: CaseCard) -> set[str]:
    """The review steps the caller may take on ``card`` now (the services check again):
    ``accept``, ``return``, ``revise``, ``delete`` for a reviewer, ``correct`` for the reporter."""
    actions: set[str] = set()
    status = card.status
    county = services.is_county_reviewer(user)
    township = not county and services.is_township_reviewer(user, card)
    if county:
        if status in (CardStatus.REPORTED, CardStatus.TOWNSHIP_CHECKED):
            actions.add("accept")
        if status in (CardStatus.REPORTED, CardStatus.TOWNSHIP_CHECKED, CardStatus.ACCEPTED):
            actions.add("return")
    elif township and status == CardStatus.REPORTED:
        actions.update({"accept", "return"})
    if (county or township) and status != CardStatus.DELETED:
        actions.update({"revise", "delete"})
    if status == CardStatus.RETURNED and services.reports_for(user, card.institution):
        actions.add("correct")
    return actions


def accept_label(user: Any) -> Any:
    return _("县疾控终审通过") if services.is_county_reviewer(user) else _("乡镇初审通过")

