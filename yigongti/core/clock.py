"""Injectable "today" (DESIGN.md: tests and the demo can run at any date).

``YGT_TODAY=2025-06-30`` pins the date for a process; tests use :func:`frozen`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_pinned: dt.date | None = None


def today() -> dt.date:
    """The local date in Asia/Shanghai, unless pinned."""
    if _pinned is not None:
        return _pinned
    env = os.environ.get("YGT_TODAY")
    if env:
        return dt.date.fromisoformat(env)
    return dt.datetime.now(LOCAL_TZ).date()


@contextmanager
def frozen(day: dt.date) -> Iterator[None]:
    """Pin :func:`today` inside a ``with`` block."""
    global _pinned
    previous, _pinned = _pinned, day
    try:
        yield
    finally:
        _pinned = previous


def now() -> dt.datetime:
    """The aware current time in Asia/Shanghai on :func:`today`'s date (the real time of day when the
    date is pinned, so "now" moves with a pinned today in tests and the demo)."""
    current = dt.datetime.now(LOCAL_TZ)
    pinned = today()
    if pinned == current.date():
        return current
    return dt.datetime.combine(pinned, current.timetz())
