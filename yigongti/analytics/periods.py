"""Periods of the indicators: month ``202503``, quarter ``2025Q1``, year ``2025`` and the rolling
twelve months ending with a month, ``202503R12``.

Every period is a run of whole months, so the compiler needs no date arithmetic: an event belongs
to a period when its month index (``year * 12 + month - 1``) is one of the period's; a stock
("alive at the end") is taken at the end of the period's last month (or of its middle month for
mid-period population, e.g. 30 June for a year).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy

from yigongti.core.errors import ValidationFailed

TYPES = ("month", "quarter", "year", "r12")
_PATTERNS = (
    (re.compile(r"^(\d{4})(0[1-9]|1[0-2])R12$"), "r12"),
    (re.compile(r"^(\d{4})(0[1-9]|1[0-2])$"), "month"),
    (re.compile(r"^(\d{4})Q([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})$"), "year"),
)


class PeriodInvalid(ValidationFailed):
    code = "period_invalid"
    message = gettext_lazy(
        "周期“%(period)s”不存在：请用 2025（年）、2025Q1（季度）、202503（月）或 202503R12（截至该月的滚动12个月）。")


def month_index(year: int, month: int) -> int:
    """``year * 12 + month - 1``: consecutive months are consecutive integers."""
    return year * 12 + month - 1


def index_of(day: dt.date) -> int:
    return month_index(day.year, day.month)


def yyyymm(mi: int) -> int:
    return (mi // 12) * 100 + mi % 12 + 1


def from_yyyymm(value: int) -> int:
    return month_index(value // 100, value % 100)


def month_start(mi: int) -> dt.date:
    return dt.date(mi // 12, mi % 12 + 1, 1)


def month_end(mi: int) -> dt.date:
    return month_start(mi + 1) - dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class Period:
    """A period: its key, its type and the month indexes it covers (``first``..``last``)."""

    last: int
    type: str
    first: int
    key: str

    @property
    def months(self) -> range:
        return range(self.first, self.last + 1)

    @property
    def start(self) -> dt.date:
        return month_start(self.first)

    @property
    def end(self) -> dt.date:
        return month_end(self.last)

    @property
    def mid(self) -> int:
        """The month whose end is the middle of the period (mid-year population: 30 June)."""
        return self.first + (self.last - self.first) // 2

    def shifted(self, months: int) -> Period:
        """The same kind of period ``months`` later (negative: earlier)."""
        return make(self.type, self.last + months)

    def label(self, english: bool = False) -> str:
        year, month = self.last // 12, self.last % 12 + 1
        if self.type == "year":
            return f"{year}" if english else f"{year}年"
        if self.type == "quarter":
            return f"{year} Q{(month - 1) // 3 + 1}" if english else f"{year}年第{(month - 1) // 3 + 1}季度"
        if self.type == "month":
            return f"{year}-{month:02d}" if english else f"{year}年{month}月"
        start = month_start(self.first)
        return (f"12 months to {year}-{month:02d}" if english
                else f"{start.year}年{start.month}月—{year}年{month}月")


def make(type_: str, last: int) -> Period:
    """The period of ``type_`` that contains (year, quarter, month) or ends with (r12) month ``last``."""
    year, month = last // 12, last % 12 + 1
    if type_ == "month":
        return Period(last=last, type="month", first=last, key=f"{year}{month:02d}")
    if type_ == "quarter":
        quarter = (month - 1) // 3 + 1
        first = month_index(year, quarter * 3 - 2)
        return Period(last=first + 2, type="quarter", first=first, key=f"{year}Q{quarter}")
    if type_ == "year":
        return Period(last=month_index(year, 12), type="year", first=month_index(year, 1), key=f"{year}")
    if type_ == "r12":
        return Period(last=last, type="r12", first=last - 11, key=f"{year}{month:02d}R12")
    raise PeriodInvalid(period=type_)


def parse(key: str) -> Period:
    """The period a key names, or :class:`PeriodInvalid` (a clear message, never a guess)."""
    text = (key or "").strip().upper()
    for pattern, type_ in _PATTERNS:
        found = pattern.match(text)
        if not found:
            continue
        year = int(found.group(1))
        if not 1900 <= year <= 2200:
            break
        if type_ == "year":
            return make("year", month_index(year, 1))
        if type_ == "quarter":
            return make("quarter", month_index(year, int(found.group(2)) * 3))
        return make(type_, month_index(year, int(found.group(2))))
    raise PeriodInvalid(period=key)


def periods_between(first: int, last: int, types: Iterable[str] = TYPES) -> list[Period]:
    """Every period of ``types`` that ends in or contains a month of ``first..last``."""
    found: set[Period] = set()
    for mi in range(first, last + 1):
        for type_ in types:
            found.add(make(type_, mi))
    return sorted(found)


def affected(months: Iterable[int], *, first: int, last: int, types: Iterable[str] = TYPES) -> list[Period]:
    """The periods whose numbers a change in ``months`` can move: those containing the month and,
    for year-on-year comparisons, the same periods one year later; all inside ``first..last``."""
    types = tuple(types)
    found: set[Period] = set()
    for mi in months:
        for shift in (0, 12):
            for end in range(mi + shift, mi + shift + 12):
                if not first <= end <= last:
                    continue
                for type_ in types:
                    period = make(type_, end)
                    if period.first <= mi + shift <= period.last:
                        found.add(period)
    return sorted(found)
