"""Vaccine doses (预防接种), 国家免疫规划疫苗儿童免疫程序及说明（2021年版）.

Each dose is due at ``max(recommended age, minimum age, previous dose of the series + minimum
interval)``, the previous dose taken as given or, when still pending, as projected
(``max(its due, as_of)`` — it cannot be given in the past). A dose pushed past its normal window is
a catch-up (补种) dose; a missed dose is ``catch-up`` while the child is under the vaccine's
catch-up age limit and ``overdue`` after it. A dose given before its minimum age or interval is
done but flagged (``before_min_age`` / ``interval_too_short``): 2021 说明 counts it as invalid, the
service records it with the flag for the doctor to decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError

from .compiled import Dose, Window
from .types import PlanRow, ProgrammeSpec, Service, Status

BEFORE_MIN_AGE = "before_min_age"
INTERVAL_TOO_SHORT = "interval_too_short"


class VariantInvalid(DomainError):
    code = "variant_invalid"
    status = 422
    message = _("疫苗方案 %(group)s=%(value)s 无效，应为 %(options)s 之一。")


def chosen_options(spec: ProgrammeSpec, variant: Mapping[str, str] | None,
                   given: Mapping[str, dt.date]) -> frozenset[str]:
    """The option of each variant group: as asked, else the one the history used, else the first."""
    chosen: set[str] = set()
    for group, options in spec.variants.items():
        value = (variant or {}).get(group)
        if value is None:
            used = {d.option for d in (spec.schedule.doses if spec.schedule else ()) if d.item in given}
            value = next((o for o in options if o in used), options[0])
        elif value not in options:
            raise VariantInvalid(group=group, value=value, options=", ".join(options))
        chosen.add(value)
    for group in (variant or {}):
        if group not in spec.variants:
            raise VariantInvalid(group=group, value=(variant or {})[group], options=", ".join(spec.variants) or "—")
    return frozenset(chosen)


def dose_rows(spec: ProgrammeSpec, doses: Sequence[Dose], *, anchor: dt.date, history: Sequence[Service],
              as_of: dt.date, variant: Mapping[str, str] | None) -> list[PlanRow]:
    given: dict[str, dt.date] = {}
    for service in history:
        first = given.get(service.item)
        if first is None or service.date < first:
            given[service.item] = service.date
    options = chosen_options(spec, variant, given)
    rows: list[PlanRow] = []
    previous: dict[str, dt.date] = {}  # series → date of the last dose, given or projected
    previous_given: dict[str, bool] = {}
    for dose in doses:
        if dose.option and dose.option not in options:
            continue
        recommended = dose.at.after(anchor)
        normal_start, normal_end = dose.window.around(recommended)
        min_date = dose.min_age.after(anchor)
        before = previous.get(dose.series)
        interval_date = dose.min_interval.after(before) if before is not None and dose.min_interval else None
        due = max(recommended, min_date, interval_date) if interval_date else max(recommended, min_date)
        moved = due > normal_end
        start, end = Window(0, dose.window.after).around(due) if moved else (normal_start, normal_end)
        done_on = given.get(dose.item)
        if done_on is not None:
            flags: list[str] = []
            if done_on < min_date:
                flags.append(BEFORE_MIN_AGE)
            if interval_date is not None and previous_given.get(dose.series) and done_on < interval_date:
                flags.append(INTERVAL_TOO_SHORT)
            rows.append(PlanRow(dose.item, due, start, end, "done", done_on=done_on, catch_up=moved,
                                flags=tuple(flags)))
            previous[dose.series] = done_on
            previous_given[dose.series] = True
            continue
        status: Status
        if as_of < start:
            status = "not-yet"
        elif as_of <= end:
            status = "due"
        elif dose.catch_up_until is None or as_of < dose.catch_up_until.after(anchor):
            status = "catch-up"
        else:
            status = "overdue"
        rows.append(PlanRow(dose.item, due, start, end, status, catch_up=moved))
        previous[dose.series] = max(due, as_of)
        previous_given[dose.series] = False
    return rows
