"""Identity normalisation shared by registration, the door check and the MPI.

- Names: tone-less pinyin (``张三`` → ``zhang san``) so that homophones written by different
  clerks (张/章, 丽/莉) meet; surnames use their surname reading (单 → shan, 曾 → zeng).
- IDs: a 15-digit ID (before 1999: no century, no check digit) upgrades to its 18-digit form.
"""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

from yigongti.core.ids import resident_id_check_char

# Common surnames whose surname reading differs from the everyday one.
_SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "查": "zha", "区": "ou", "朴": "piao", "盖": "ge",
    "缪": "miao", "翟": "zhai", "覃": "qin", "尉": "yu", "长": "chang", "乐": "yue", "召": "shao", "种": "chong",
}
_NON_HAN = re.compile(r"[\s·•.\-]+")


def name_clean(name: str) -> str:
    """Strip spaces and separator dots that clerks type into names (e.g. 阿依·古丽)."""
    return _NON_HAN.sub("", name or "").strip()


def name_pinyin(name: str) -> str:
    """Tone-less pinyin of a Chinese name, syllables separated by spaces; non-Han kept lower-case."""
    name = name_clean(name)
    if not name:
        return ""
    syllables = lazy_pinyin(name, style=Style.NORMAL, errors=lambda s: s.lower())
    if name[0] in _SURNAME_READINGS:
        syllables[0] = _SURNAME_READINGS[name[0]]
    return " ".join(syllables)


def id_upgrade(value: str) -> str:
    """The 18-digit form of a 15-digit ID (19 inserted before the year, check char added).

    Other values come back upper-cased and stripped, unchanged.
    """
    value = (value or "").strip().upper()
    if len(value) == 15 and value.isascii() and value.isdigit():
        first17 = value[:6] + "19" + value[6:]
        return first17 + resident_id_check_char(first17)
    return value
