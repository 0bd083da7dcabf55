"""Cell parsers shared by the importers: code tables (code or Chinese label), yes/no, dates, counts.

Each parser takes a non-empty stripped string and returns the value, or raises :class:`BadValue`
with a reason in the user's language.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from yigongti.interop.tabular import normalise_header


class BadValue(ValueError):
    """A cell that does not parse; ``reason`` says why, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def choice_parser(choices: type[models.TextChoices], what: str,
                  extras: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """A parser accepting a code-table value (``village_clinic``), its label (``村卫生室``, also in
    English) or one of ``extras`` (common synonyms), all case- and space-insensitive."""
    index: dict[str, str] = {}
    for value, label in choices.choices:
        index[normalise_header(str(value))] = str(value)
        for language in ("zh-hans", "en"):
            with translation.override(language):
                index.setdefault(normalise_header(str(label)), str(value))
    for alias, value in (extras or {}).items():
        index.setdefault(normalise_header(alias), value)
    accepted = "、".join(f"{value}/{label}" for value, label in choices.choices)

    def parse(text: str) -> str:
        found = index.get(normalise_header(text))
        if found is None:
            raise BadValue(_("%(what)s“%(value)s”无效，可选：%(accepted)s") % {
                "what": what, "value": text, "accepted": accepted})
        return found

    return parse


_TRUE = {"是", "1", "true", "t", "yes", "y", "√", "有"}
_FALSE = {"否", "0", "false", "f", "no", "n", "×", "无"}


def parse_bool(text: str) -> bool:
    key = normalise_header(text)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise BadValue(_("“%(value)s”不是是/否（可填 是/否、1/0、true/false）") % {"value": text})


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?$")


def parse_date(text: str) -> dt.date:
    """``2025-03-01``, ``2025/3/1``, ``2025.03.01``, ``2025年3月1日`` or ``20250301``."""
    value = text.strip()
    match = _DATE.match(value)
    try:
        if match:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        if re.fullmatch(r"\d{8}", value):
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        pass
    raise BadValue(_("“%(value)s”不是有效日期（应为 YYYY-MM-DD）") % {"value": text})


def parse_count(text: str) -> int:
    """A non-negative whole number; 有/无 and 是/否 count as 1/0 (a room either exists or not)."""
    key = normalise_header(text)
    if key in _TRUE - {"1"}:
        return 1
    if key in _FALSE - {"0"}:
        return 0
    try:
        number = float(unicodedata.normalize("NFKC", text).strip())
    except ValueError:
        number = -1.0
    if number < 0 or not number.is_integer():
        raise BadValue(_("“%(value)s”不是非负整数") % {"value": text})
    return int(number)


LIST_SEPARATORS = re.compile(r"[;；、,，]")


def split_list(text: str) -> list[str]:
    """``执业医师；全科医师`` → ``["执业医师", "全科医师"]`` (separated by ; ； 、 , ，)."""
    return [part.strip() for part in LIST_SEPARATORS.split(text) if part.strip()]


def parse_text(text: str) -> str:
    return text


Parser = Callable[[str], Any]
