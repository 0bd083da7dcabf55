"""Helpers shared by the programmes pages: the programme definitions in force, item labels, flags."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import NotFound

from . import selectors
from .engine import fixture_specs
from .engine.types import ProgrammeSpec
from .forms import Choices, text
from .specs import ProgrammeNotLoaded, spec_for

# Notes the engine puts on a service (PlanRow.flags / VisitOutcome.flags), as the screen says them.
FLAG_LABELS: dict[str, Any] = {
    "before_min_age": _("早于最小接种月龄（已记录，请核实）"),
    "interval_too_short": _("与前一剂次间隔不足（已记录，请核实）"),
    "outside_window": _("不在服务时间窗内"),
    "not_planned": _("不在服务计划中"),
}
STATUS_LABELS: dict[str, Any] = {
    "done": _("已完成"), "due": _("应服务"), "overdue": _("已逾期"), "catch-up": _("需补种"), "not-yet": _("未到期"),
}


def specs_on(day: dt.date) -> dict[str, ProgrammeSpec]:
    """Every programme's definition in force on ``day``, by code: the stored versions (what an
    administrator edits), else the fixtures when the rules are not loaded (``ygt rules load``)."""
    specs: dict[str, ProgrammeSpec] = {}
    codes = [programme.code for programme in selectors.programme_list()]
    if not codes:
        return fixture_specs(day)
    for code in codes:
        try:
            specs[code] = spec_for(code, day)
        except ProgrammeNotLoaded:
            continue  # no version in force that day
    return specs


def spec_of(code: str, day: dt.date) -> ProgrammeSpec:
    """One programme's definition in force on ``day``, or :class:`NotFound`."""
    spec = specs_on(day).get(code)
    if spec is None:
        raise NotFound()
    return spec


def programme_choices() -> Choices:
    """``[(code, name)]`` of the programmes known to the database, in their order."""
    return [(p.code, p.name) for p in selectors.programme_list()]


def item_labels(specs: dict[str, ProgrammeSpec]) -> dict[str, dict[str, str]]:
    """``{programme: {item: label}}`` in the active language."""
    return {code: {item: text(spec.label) for item, spec in s.items.items()} for code, s in specs.items()}


def flag_labels(flags: Any) -> list[str]:
    return [str(FLAG_LABELS.get(flag, flag)) for flag in flags or ()]


def classification_label(spec: ProgrammeSpec | None, code: str) -> str:
    """The label of a classification code under ``spec`` (the code itself when unknown)."""
    if not code:
        return ""
    rule = spec.classifier.rule(code) if spec is not None and spec.classifier is not None else None
    return text(rule.label) if rule is not None else code
