"""The plan of one person in one programme: every visit or dose with its due date, window and
status at ``as_of``. Pure: no clock, no database; the same inputs give the same rows.

- Interval programmes (高血压, 糖尿病, 严重精神障碍, 肺结核): the first follow-up is due at the
  anchor; each later one at the last visit's date + the interval its classification sets (or the
  phase's regular interval). A missed follow-up stays one overdue row; projected rows after it
  start from ``max(due, as_of)`` and run to ``as_of + horizon_days`` (or the programme's end).
- Age schedules (儿童, 孕产妇, 中医药 children): each item at a fixed age / gestational age.
- Annual items (健康体检, 体质辨识): once per calendar year.
- Vaccines: :mod:`.doses`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence

from .classify import classify_rule
from .compiled import AgeItem, AnnualItem, IntervalRules, Phase, Schedule
from .doses import dose_rows
from .types import Directive, PlanRow, ProgrammeSpec, Service, Status


def status_at(window_start: dt.date, window_end: dt.date, as_of: dt.date) -> Status:
    """not-yet before the window, due inside it, overdue after it (for an item not done)."""
    if as_of < window_start:
        return "not-yet"
    return "due" if as_of <= window_end else "overdue"


def plan(spec: ProgrammeSpec, *, anchor: dt.date, history: Sequence[Service], as_of: dt.date,
         variant: Mapping[str, str] | None = None, horizon_days: int = 365,
         directives: Sequence[Directive] = ()) -> list[PlanRow]:
    """Every row of the plan, sorted by (due, item order); see the module docstring.

    ``directives`` (care plans) re-anchor the interval follow-ups like a classification does.
    """
    schedule = spec.schedule
    if schedule is None:
        return []
    rows: list[PlanRow] = []
    limit = as_of + dt.timedelta(days=horizon_days)
    if schedule.interval is not None:
        rows += _interval_rows(spec, schedule.interval, anchor=anchor, history=history, as_of=as_of, limit=limit,
                               directives=directives)
    if schedule.ages:
        rows += _age_rows(schedule, anchor=anchor, history=history, as_of=as_of)
    for annual in schedule.annual:
        rows += _annual_rows(annual, anchor=anchor, history=history, as_of=as_of, limit=limit)
    if schedule.doses:
        rows += dose_rows(spec, schedule.doses, anchor=anchor, history=history, as_of=as_of, variant=variant)
    order = {code: i for i, code in enumerate(spec.items)}
    rows.sort(key=lambda row: (row.due, order.get(row.item, len(order))))
    return rows


def _phase(rules: IntervalRules, anchor: dt.date, day: dt.date) -> Phase:
    for phase in rules.phases:
        if phase.until is None or day < phase.until.after(anchor):
            return phase
    return rules.phases[-1]


def _interval_rows(spec: ProgrammeSpec, rules: IntervalRules, *, anchor: dt.date, history: Sequence[Service],
                   as_of: dt.date, limit: dt.date, directives: Sequence[Directive] = ()) -> list[PlanRow]:
    visits = sorted((s for s in history if s.item == rules.item), key=lambda s: s.date)
    classifier = spec.classifier
    rows: list[PlanRow] = []
    due = anchor
    start, end = rules.first.around(anchor)
    refer = False
    previous: list[str] = []
    pending = sorted(directives, key=lambda d: d.date)
    for visit in visits:
        # A care plan issued before this visit re-anchored the follow-up this visit fulfils.
        while pending and pending[0].date < visit.date:
            due, start, end = _directed(pending.pop(0))
        rows.append(PlanRow(rules.item, due, start, end, "done", done_on=visit.date, refer=refer))
        rule = None
        if classifier is not None:
            if visit.classification:
                rule = classifier.rule(visit.classification)
            elif visit.values:
                rule = classify_rule(spec, item=visit.item, values=visit.values, previous=previous)
        if rule is not None and rule.next is not None:
            due = rule.next.after(visit.date)
            start, end = rule.window.around(due)
            refer = rule.refer
        else:
            phase = _phase(rules, anchor, visit.date)
            due = phase.every.after(visit.date)
            start, end = phase.window.around(due)
            refer = False
        previous.append(rule.code if rule is not None else visit.classification)
    for directive in pending:  # care plans after the last visit: the latest one sets the next due date
        due, start, end = _directed(directive)
        refer = False
    stop = rules.end.after(anchor) if rules.end is not None else None
    if stop is not None and due > stop:
        return rows
    status = status_at(start, end, as_of)
    if status == "overdue" or due <= limit:
        rows.append(PlanRow(rules.item, due, start, end, status, refer=refer))
    current = max(due, as_of)
    while True:
        phase = _phase(rules, anchor, current)
        current = phase.every.after(current)
        if current > limit or (stop is not None and current > stop):
            break
        start, end = phase.window.around(current)
        rows.append(PlanRow(rules.item, current, start, end, status_at(start, end, as_of)))
    return rows


def _directed(directive: Directive) -> tuple[dt.date, dt.date, dt.date]:
    """(due, window start, window end) of the follow-up a care plan asks for."""
    due = directive.date + dt.timedelta(days=directive.within_days)
    return due, directive.date, due


def _anchors(schedule: Schedule, anchor: dt.date, history: Sequence[Service]) -> dict[str, tuple[dt.date, bool]]:
    """Each named anchor: (date, whether it came from the history) — delivery, else LMP + 280 days."""
    found: dict[str, tuple[dt.date, bool]] = {"": (anchor, False)}
    for named in schedule.anchors:
        dates = [s.date for s in history if s.item == named.from_item]
        found[named.name] = (min(dates), True) if dates else (named.default.after(anchor), False)
    return found


def _age_rows(schedule: Schedule, *, anchor: dt.date, history: Sequence[Service], as_of: dt.date) -> list[PlanRow]:
    done: dict[str, dt.date] = {}
    for service in history:
        if service.item not in done or service.date < done[service.item]:
            done[service.item] = service.date
    anchors = _anchors(schedule, anchor, history)
    # An event that re-anchors later items (a delivery) ends the earlier items not yet done.
    ended = min((d for name, (d, real) in anchors.items() if name and real), default=None)
    rows: list[PlanRow] = []
    for item in schedule.ages:
        base, _real = anchors[item.anchor]
        due, start, end = _age_window(item, base)
        done_on = done.get(item.item)
        if done_on is not None:
            rows.append(PlanRow(item.item, due, start, end, "done", done_on=done_on))
            continue
        if item.drop_after is not None and as_of >= item.drop_after.after(anchor):
            continue
        if ended is not None and not item.anchor and start >= ended:
            continue
        rows.append(PlanRow(item.item, due, start, end, status_at(start, end, as_of)))
    return rows


def _age_window(item: AgeItem, base: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    due = item.at.after(base)
    if item.window_from is not None and item.window_to is not None:
        return due, item.window_from.after(base), item.window_to.after(base)
    start, end = item.window.around(due)
    return due, start, end


def _annual_rows(annual: AnnualItem, *, anchor: dt.date, history: Sequence[Service], as_of: dt.date,
                 limit: dt.date) -> list[PlanRow]:
    """One row per calendar year from ``anchor + start``: due on the anniversary, window the year.

    A missed year cannot be made up: only the latest missed past year stays (overdue), older ones
    drop out of the plan (the indicators count them).
    """
    first = annual.start.after(anchor)
    done: dict[int, dt.date] = {}
    for service in history:
        if service.item == annual.item and service.date >= dt.date(first.year, 1, 1):
            year = service.date.year
            if year not in done or service.date < done[year]:
                done[year] = service.date
    rows: list[PlanRow] = []
    missed: PlanRow | None = None
    for year in range(first.year, limit.year + 1):
        start = max(first, dt.date(year, 1, 1))
        end = dt.date(year, 12, 31)
        day = min(first.day, calendar.monthrange(year, first.month)[1])
        due = max(start, dt.date(year, first.month, day))
        if start > limit and year not in done:  # a year whose window opens within the horizon is planned
            break
        if year in done:
            rows.append(PlanRow(annual.item, due, start, end, "done", done_on=done[year]))
        elif end < as_of:
            missed = PlanRow(annual.item, due, start, end, "overdue")
        else:
            rows.append(PlanRow(annual.item, due, start, end, status_at(start, end, as_of)))
    if missed is not None:
        rows.append(missed)
    return rows


def still_to_do(spec: ProgrammeSpec, rows: Sequence[PlanRow], *, as_of: dt.date,
                horizon_days: int = 365) -> list[PlanRow]:
    """The rows of a plan still to be done — what the stored schedule and the worklists keep.

    Not done, and not past making up: a visit of an age schedule whose window closed is dropped
    once a later visit of the schedule has opened (the missed 3-month check is not done at 6
    months; an antenatal check once the postpartum visits open); a yearly item's missed year once
    the next year's opens; a vaccine dose past its catch-up age (``overdue``) is never given. A
    missed follow-up stays until it is done. Interval and yearly rows only as far as
    ``horizon_days`` ahead; age schedules whole.
    """
    schedule = spec.schedule
    annual = {a.item for a in schedule.annual} if schedule is not None else set()
    limit = as_of + dt.timedelta(days=horizon_days)
    opened_age = [r.window_start for r in rows if r.item not in annual and r.window_start <= as_of]
    kept = []
    for row in rows:
        if row.status == "done":
            continue
        if row.status == "overdue":
            if schedule is not None and schedule.doses:
                continue
            if row.item in annual:
                if any(o.item == row.item and row.window_end < o.window_start <= as_of for o in rows):
                    continue
            elif schedule is not None and schedule.ages and any(row.window_end < d for d in opened_age):
                continue
        if (row.item in annual or (schedule is not None and schedule.interval is not None
                                   and not schedule.ages)) and row.window_start > limit:
            continue
        kept.append(row)
    return kept
