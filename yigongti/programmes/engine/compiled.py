"""The compiled rules of a programme: what :func:`~.spec.spec_from_document` builds from the YAML
``schedule`` and ``classification`` sections and :func:`~.plan.plan` / :func:`~.classify.classify`
walk. Plain frozen values with every number taken from the fixture (no defaults that are rules).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from .types import Text


@dataclass(frozen=True)
class Offset:
    """A span of calendar time: whole months (years × 12 + months) then days (weeks × 7 + days)."""

    months: int = 0
    days: int = 0

    def after(self, day: dt.date) -> dt.date:
        """``day`` moved by this span (a month end clamps: 31 Jan + 1 month = 28/29 Feb)."""
        if self.months:
            index = day.year * 12 + day.month - 1 + self.months
            year, month = divmod(index, 12)
            month += 1
            last = calendar.monthrange(year, month)[1]
            day = day.replace(year=year, month=month, day=min(day.day, last))
        return day + dt.timedelta(days=self.days) if self.days else day

    def before(self, day: dt.date) -> dt.date:
        return Offset(-self.months, -self.days).after(day)


@dataclass(frozen=True)
class Window:
    """The tolerance window around a due date: ``due - before`` .. ``due + after`` (days)."""

    before: int = 0
    after: int = 0

    def around(self, due: dt.date) -> tuple[dt.date, dt.date]:
        return due - dt.timedelta(days=self.before), due + dt.timedelta(days=self.after)


@dataclass(frozen=True)
class AgeItem:
    """An item due at a fixed offset from the anchor (child visit, antenatal check, TCM visit).

    ``window_from``/``window_to`` (offsets from the anchor) override ``window`` when given.
    ``anchor`` names another anchor (``delivery``) instead of the schedule's; ``drop_after``: an
    item not done is left out of the plan once the person is past that age (a 40-year-old is
    not overdue for a 3-month TCM visit).
    """

    item: str
    at: Offset
    window: Window
    window_from: Offset | None = None
    window_to: Offset | None = None
    anchor: str = ""
    drop_after: Offset | None = None


@dataclass(frozen=True)
class AnnualItem:
    """Once per calendar year from ``start`` after the anchor (健康体检, 体质辨识)."""

    item: str
    start: Offset = field(default_factory=Offset)


@dataclass(frozen=True)
class Phase:
    """A part of an interval plan: until ``until`` after the anchor, one visit every ``every``."""

    until: Offset | None
    every: Offset
    window: Window


@dataclass(frozen=True)
class IntervalRules:
    """Follow-ups at intervals set by each visit's classification (高血压, 糖尿病, 精神障碍, 肺结核)."""

    item: str
    first: Window  # around the anchor
    phases: tuple[Phase, ...]  # the regular interval, by time since the anchor; the last runs on
    end: Offset | None = None  # no follow-up due after anchor + end (肺结核: 6 months)


@dataclass(frozen=True)
class Dose:
    """One vaccine dose (疫苗剂次) of a series, 国家免疫规划疫苗儿童免疫程序 (2021).

    ``at`` is the recommended age, ``min_age`` the earliest valid age, ``min_interval`` the
    shortest valid gap after the previous dose of the same series, ``window`` the days after the
    recommended age in which the dose counts as on time, ``catch_up_until`` the age from which
    a missed dose is no longer given (补种年龄上限).
    """

    item: str
    series: str
    at: Offset
    min_age: Offset
    min_interval: Offset | None
    window: Window
    catch_up_until: Offset | None
    option: str = ""  # the variant option (JE-L, HepA-I …) or "" for every child


@dataclass(frozen=True)
class DeliveryAnchor:
    """The second anchor of the maternal plan: the ``delivery`` history row, else LMP + ``default``."""

    name: str
    from_item: str
    default: Offset


@dataclass(frozen=True)
class Schedule:
    type: Literal["interval", "age", "annual", "doses"]
    interval: IntervalRules | None = None
    ages: tuple[AgeItem, ...] = ()
    annual: tuple[AnnualItem, ...] = ()
    doses: tuple[Dose, ...] = ()
    anchors: tuple[DeliveryAnchor, ...] = ()


Op = Literal["lt", "le", "gt", "ge", "eq", "ne", "in", "any", "none", "is_true", "not_true"]


@dataclass(frozen=True)
class Condition:
    """``field op value``; a missing value makes every op false except ``none`` and ``not_true``."""

    field: str
    op: Op
    value: Decimal | str | tuple[str, ...] | None = None


@dataclass(frozen=True)
class ClassRule:
    """One classification outcome; the first rule whose conditions hold wins (``otherwise``: always)."""

    code: str
    label: Text
    any: tuple[Condition, ...] = ()
    all: tuple[Condition, ...] = ()
    otherwise: bool = False
    next: Offset | None = None
    window: Window = field(default_factory=Window)
    refer: bool = False
    reason: Text | None = None


@dataclass(frozen=True)
class Escalation:
    """``code`` becomes ``to`` when the previous visit was one of ``previous`` (两次连续不满意 → 转诊)."""

    code: str
    previous: tuple[str, ...]
    to: str
    reason: Text


@dataclass(frozen=True)
class Classifier:
    items: tuple[str, ...]
    rules: tuple[ClassRule, ...]
    escalations: tuple[Escalation, ...] = ()

    def rule(self, code: str) -> ClassRule | None:
        for rule in self.rules:
            if rule.code == code:
                return rule
        return None
