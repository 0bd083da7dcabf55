"""Org-unit scope — the only way person-level rows reach a caller (DESIGN.md "Scope").

A user (``accounts.User``) has a data-view unit and a data-entry unit, each a registry ``Division``
that includes its subtree. Every selector that returns person-level rows passes its queryset
through :func:`visible`; a row outside scope is "not found" (404), never "forbidden" (403 would
confirm it exists).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q

from .errors import NotFound
from .tree import is_within, subtree_q

M = TypeVar("M", bound=models.Model)
Mode = Literal["view", "entry"]


class SystemActor:
    """The command line acting for the whole county (``ygt worklist``, ``ygt import followups``):
    full scope; audited with no user (``username`` "system")."""

    username = "system"
    is_authenticated = False
    is_active = True
    is_superuser = False


SYSTEM = SystemActor()


def scope_path(user: Any, mode: Mode = "view") -> str | None:
    """The path of the caller's unit for ``mode``; ``""`` means the whole tree; ``None`` nothing."""
    if user is SYSTEM:
        return ""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ""
    unit = user.view_unit if mode == "view" else user.entry_unit
    return unit.path if unit is not None else None


PathField = str | tuple[str, ...]


def visible(user: Any, queryset: models.QuerySet[M], *, mode: Mode = "view",
            path_field: PathField = "path") -> models.QuerySet[M]:
    """Narrow ``queryset`` to the rows inside the caller's ``mode`` subtree.

    ``path_field`` may name several path columns: a row is inside when any of them is (a referral
    is seen by the patient's village and by the institutions it goes from and to).
    """
    path = scope_path(user, mode)
    if path is None:
        return queryset.none()
    if path == "":
        return queryset
    fields = (path_field,) if isinstance(path_field, str) else path_field
    condition = Q()
    for field in fields:
        condition |= subtree_q(path, field)
    return queryset.filter(condition)


def get_visible(user: Any, queryset: models.QuerySet[M], *, mode: Mode = "view",
                path_field: PathField = "path", **lookup: Any) -> M:
    """One row inside scope, or :class:`NotFound` — whether it is absent or outside scope."""
    try:
        return visible(user, queryset, mode=mode, path_field=path_field).get(**lookup)
    except ObjectDoesNotExist as exc:
        raise NotFound() from exc


def covers(user: Any, path: str, *, mode: Mode = "view") -> bool:
    """Whether ``path`` lies inside the caller's ``mode`` subtree (for checks before a write)."""
    own = scope_path(user, mode)
    if own is None:
        return False
    return own == "" or is_within(path, own)
