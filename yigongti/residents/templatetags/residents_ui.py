"""Template helpers of the residents pages: age, the masked resident ID, labels of code lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import get_language, gettext

from yigongti.core.clock import today
from yigongti.core.scope import covers

from ..choices import ETHNICITIES, Allergy, Condition, Disability
from ..forms import FAMILY_MEMBERS
from ..models import Resident

register = template.Library()

_ETHNICITY = dict(ETHNICITIES)
_LABELS: dict[str, Any] = {"allergy": Allergy, "condition": Condition, "disability": Disability}


def age_on(born: dt.date, day: dt.date) -> int:
    """Full years from ``born`` to ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@register.filter
def age(born: dt.date | None) -> int | str:
    """Full years today (injectable today), or an empty string."""
    return age_on(born, today()) if born else ""


def mask_id(value: str) -> str:
    """``522399********1234``: the division and the last four characters, the birth date hidden."""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 2, 0)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


@register.simple_tag
def id_shown(user: Any, resident: Any) -> str:
    """The resident ID in full for a user whose data-entry scope covers the record, else masked."""
    value = resident.id_number or ""
    if not value or covers(user, resident.path, mode="entry"):
        return value
    return mask_id(value)


@register.simple_tag
def can_enter(user: Any, path: str) -> bool:
    """Whether the caller may change a record at ``path`` (their data-entry scope covers it)."""
    return covers(user, path, mode="entry")


@register.filter
def ethnicity_label(code: str) -> str:
    return _ETHNICITY.get(code, code)


@register.filter
def code_labels(codes: Any, table: str) -> str:
    """``["penicillin", …]`` → ``青霉素、…`` in the current language (``table``: allergy/condition/disability)."""
    choices = _LABELS[table]
    names = []
    for code in codes or []:
        key = code.get("condition") if isinstance(code, dict) else code
        names.append(str(choices(key).label) if key in choices.values else str(key))
    return gettext("、").join(names)


@register.filter
def family_rows(history: Any) -> list[tuple[str, str]]:
    """家族史 ``{"father": ["hypertension"], …}`` → ``[("父亲", "高血压"), …]`` in the form's order."""
    history = history or {}
    return [(str(label), code_labels(history[key], "condition")) for key, label in FAMILY_MEMBERS
            if history.get(key)]


def _english() -> bool:
    return (get_language() or "").startswith("en")


@register.filter
def reason_field(reason: Any) -> str:
    """The compared field of a match reason in the current language (the MPI labels it zh and en)."""
    if not isinstance(reason, dict):
        return ""
    if _english() and reason.get("field_label_en"):
        return str(reason["field_label_en"])
    if reason.get("field_label"):
        return str(reason["field_label"])
    name = str(reason.get("field") or "")
    try:
        return str(getattr(Resident._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:  # a feature of the MPI that is not a model field keeps its name
        return name


@register.filter
def reason_level(reason: Any) -> str:
    """The comparison level that fired for a match reason, in the current language."""
    if not isinstance(reason, dict):
        return ""
    if _english() and reason.get("label_en"):
        return str(reason["label_en"])
    label = reason.get("label") or reason.get("level") or ""
    return gettext(str(label)) if label else ""
