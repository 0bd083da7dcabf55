"""Template helpers of the indicator screens: names in the active language, values as shown
("—" for a value that does not exist, never 0), counts, the unit after a number."""

from __future__ import annotations

from typing import Any

from django import template

from ..formatting import DASH, format_number
from ..selectors import english

register = template.Library()

RATIO_UNITS = {"%", "‰"}


@register.filter
def shown(indicator: Any, field: str = "name") -> str:
    """``indicator.<field>`` in the active language (``<field>_en`` in English when it is filled)."""
    if english():
        translated = getattr(indicator, f"{field}_en", "")
        if translated:
            return str(translated)
    return str(getattr(indicator, field, ""))


def value_text(value: float | None, indicator: Any) -> str:
    """A value with the indicator's decimals; "%"/"‰" glued on, other units left to the column."""
    return format_number(value, indicator.decimals, indicator.unit)


@register.filter
def value_of(cell: Any, indicator: Any) -> str:
    """The cell's value as shown: "—" when there is no stored row or its denominator is 0."""
    return value_text(None if cell is None else cell.value, indicator)


@register.filter
def amount(value: float | None) -> str:
    """A numerator or denominator: whole numbers without decimals, an estimate (× prevalence) with
    up to two; "—" when there is none."""
    if value is None:
        return DASH
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@register.filter
def unit_after(indicator: Any) -> str:
    """The unit to print after a value, unless it is already part of it (%, ‰)."""
    return "" if indicator.unit in RATIO_UNITS else indicator.unit


def target_value(indicator: Any) -> str:
    """The target as written (90 → "90%", not "90.0%"); "" without one."""
    target = indicator.target
    if target is None:
        return ""
    return format_number(target, 0 if float(target).is_integer() else indicator.decimals, indicator.unit)


@register.filter
def target_text(indicator: Any) -> str:
    """The target with the side that meets it: "≥90%" (higher is better), "≤5‰" (lower)."""
    if indicator.target is None:
        return ""
    sign = {"higher": "≥", "lower": "≤"}.get(indicator.direction, "")
    return f"{sign}{target_value(indicator)}"


@register.filter
def meets(cell: Any, indicator: Any) -> str:
    """CSS class of a value against the target: ``meets`` / ``misses`` / ``""`` (no target or value)."""
    if cell is None or cell.value is None or indicator.target is None or indicator.direction == "none":
        return ""
    good = cell.value >= indicator.target if indicator.direction == "higher" else cell.value <= indicator.target
    return "meets" if good else "misses"
