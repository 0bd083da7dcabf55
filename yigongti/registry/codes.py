"""Administrative division codes (GB/T 2260 to county, 12-digit 统计用区划代码 below): their short
form, and the level and parent a code implies. Pure functions: no database.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import ValidationFailed

from .choices import DivisionLevel

LEVEL_RANK: dict[str, int] = {
    DivisionLevel.PROVINCE: 0,
    DivisionLevel.PREFECTURE: 1,
    DivisionLevel.COUNTY: 2,
    DivisionLevel.TOWNSHIP: 3,
    DivisionLevel.VILLAGE: 4,
}


def division_code_normalise(code: str, *, field: str = "code") -> str:
    """The short form of a division code: 6 digits to county, 9 to township, 12 to village.

    12-digit 统计用区划代码 with trailing zeros lose them (``522399000000`` → ``522399``,
    ``522399100000`` → ``522399100``); 2- and 4-digit province/prefecture codes gain them.
    """
    value = (code or "").strip()
    if not value.isdigit() or len(value) not in (2, 4, 6, 9, 12):
        raise ValidationFailed(_("区划代码“%(code)s”格式有误：应为 6、9 或 12 位数字"), code=value, field=field)
    if len(value) in (2, 4):
        value = value.ljust(6, "0")
    if len(value) == 12 and value.endswith("000"):
        value = value[:9]
    if len(value) == 9 and value.endswith("000"):
        value = value[:6]
    if value.startswith("00") or value == "000000":
        raise ValidationFailed(_("区划代码“%(code)s”格式有误：应为 6、9 或 12 位数字"), code=code, field=field)
    return value


def division_level_of_code(code: str) -> str:
    """The level a normalised code implies (2+0000 province, 4+00 prefecture, 6 county, 9, 12)."""
    if len(code) == 12:
        return DivisionLevel.VILLAGE
    if len(code) == 9:
        return DivisionLevel.TOWNSHIP
    if code.endswith("0000"):
        return DivisionLevel.PROVINCE
    if code.endswith("00"):
        return DivisionLevel.PREFECTURE
    return DivisionLevel.COUNTY


def division_parent_code_of(code: str) -> str | None:
    """The parent code a normalised code implies (``None`` for a province)."""
    level = division_level_of_code(code)
    if level == DivisionLevel.VILLAGE:
        return code[:9]
    if level == DivisionLevel.TOWNSHIP:
        return code[:6]
    if level == DivisionLevel.COUNTY:
        return code[:4] + "00"
    if level == DivisionLevel.PREFECTURE:
        return code[:2] + "0000"
    return None
