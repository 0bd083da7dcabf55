"""How indicator numbers are shown: "—" for a value that does not exist (a zero denominator), never 0."""

from __future__ import annotations

DASH = "—"


def format_number(value: float | None, decimals: int = 1, unit: str = "") -> str:
    """``value`` with ``decimals`` places and thousands separators, the unit after a ratio ("%", "‰")."""
    if value is None:
        return DASH
    text = f"{value:,.{decimals}f}"
    return f"{text}{unit}" if unit in {"%", "‰"} else text
