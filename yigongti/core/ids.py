"""Resident ID (公民身份号码, GB 11643): 18 characters — 6-digit division, 8-digit birth date,
3-digit sequence (odd = male), ISO 7064 MOD 11-2 check character.

The division part is not checked against a list: IDs keep the code of the birth place *at
registration*, and many such codes have since been abolished (python-stdnum's ``cn.ric`` rejects
them, which is why the checksum is computed here; a property test compares the two).
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def resident_id_problem(value: str) -> str | None:
    """``None`` when ``value`` is a valid 18-character resident ID, else the reason (user's language)."""
    value = (value or "").strip().upper()
    if len(value) != 18:
        return _("身份证号应为 18 位，实为 %(n)s 位") % {"n": len(value)}
    # isascii(): str.isdigit() also accepts full-width and other scripts' digits.
    if not value.isascii() or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return _("身份证号只能包含数字，最后一位可为 X")
    try:
        born = resident_id_birth_date(value)
    except ValueError:
        return _("身份证号中的出生日期无效")
    if born.year < 1880 or born > dt.date.today():
        return _("身份证号中的出生日期无效")
    if value[17] != resident_id_check_char(value[:17]):
        return _("身份证号校验位错误（GB 11643）")
    return None


def resident_id_birth_date(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def resident_id_sex(value: str) -> str:
    """``M`` or ``F`` from the sequence digit (odd = male)."""
    return "M" if int(value[16]) % 2 == 1 else "F"
