"""Helpers shared by the medicines pages (药品): who uses them, the institution picked (``?org=``),
a service's error onto a form, the year in the query string."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from yigongti.core import scope
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound, PermissionDenied
from yigongti.registry.choices import Tier
from yigongti.registry.models import Institution

from . import services
from .selectors import institutions_visible

FIRST_YEAR = 2000


def require_reader(user: Any) -> None:
    """The medicines pages are for the roles in ``services.READ_ROLES`` (and superusers)."""
    if not services.may_read(user):
        raise PermissionDenied()


def may_act(user: Any, institution: Institution, *, supplying: bool = False) -> bool:
    """Whether the caller may keep (or, ``supplying``, approve and ship from) the institution's stock."""
    try:
        services.check_may_act(user, institution, supplying=supplying)
    except DomainError:
        return False
    return True


def institution_choices(user: Any) -> list[Institution]:
    return list(institutions_visible(user).order_by("path", "code"))


def org_of(request: HttpRequest, *, param: str = "org") -> Institution:
    """The institution ``?org=`` names (an id inside the caller's scope; 404 outside it), else the
    caller's own institution, else the first institution in scope (the county hospital first)."""
    user = request.user
    raw = (request.POST.get(param) if request.method == "POST" else None) or request.GET.get(param) or ""
    if raw:
        if not (raw.isascii() and raw.isdigit()):
            raise NotFound()
        return scope.get_visible(user, Institution.objects.all(), pk=int(raw))
    own = getattr(user, "institution_id", None)
    visible = institutions_visible(user)
    if own and visible.filter(pk=own).exists():
        return visible.get(pk=own)
    first = visible.order_by("path", "code").filter(tier=Tier.COUNTY).first() or visible.order_by(
        "path", "code").first()
    if first is None:
        raise NotFound()
    return first


def year_of(request: HttpRequest) -> int:
    """``?year=`` within 2000 … next year, else this year."""
    raw = request.GET.get("year") or ""
    if raw.isascii() and raw.isdigit() and FIRST_YEAR <= int(raw) <= today().year + 1:
        return int(raw)
    return today().year


def year_choices(around: int) -> list[int]:
    this = today().year
    years = list(range(this + 1, this - 6, -1))
    if around not in years:
        years.append(around)
    return years


def put_error(form: forms.Form, error: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """A service's error under the field it names (through ``aliases``: ``items[0].lot`` → ``lot_0``),
    else above the form. Out of scope stays 404."""
    if isinstance(error, NotFound):
        raise error
    field = str(error.params.get("field") or "")
    field = (aliases or {}).get(field, field)
    form.add_error(field if field in form.fields else None, str(error))


def int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name) or ""
    return int(raw) if raw.isascii() and raw.isdigit() else None
