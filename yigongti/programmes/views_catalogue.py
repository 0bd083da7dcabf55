"""The programme catalogue (项目目录): each programme's definition in force, laid out for people —
who it is for, the plan with its windows, the form with its ranges, the classification rules."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET

from yigongti.core.clock import today

from .engine.compiled import Condition, Offset, Window
from .engine.types import ProgrammeSpec
from .forms import text
from .views_common import programme_choices, specs_on

OPS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "=", "ne": "≠"}
ANCHORS: dict[str, Any] = {"birth": _lazy("出生日期"), "lmp": _lazy("末次月经"), "diagnosis": _lazy("诊断日期"),
                           "enrolment": _lazy("纳入日期"), "notice": _lazy("报告日期")}
ENROL: dict[str, Any] = {"at_registration": _lazy("建档时自动纳入"), "at_age": _lazy("到龄自动纳入"),
                         "manual": _lazy("确诊后手工纳入")}


def offset(value: Offset | None) -> str:
    """``1岁6个月``, ``3个月``, ``28天`` …"""
    if value is None:
        return ""
    years, months = divmod(value.months, 12)
    parts = []
    if years:
        parts.append(_("%(n)s岁") % {"n": years})
    if months:
        parts.append(_("%(n)s个月") % {"n": months})
    if value.days or not parts:
        parts.append(_("%(n)s天") % {"n": value.days})
    return "".join(parts)


def window(value: Window) -> str:
    return _("前 %(before)s 天 ~ 后 %(after)s 天") % {"before": value.before, "after": value.after}


def condition(spec: ProgrammeSpec, cond: Condition) -> str:
    field = spec.fields.get(cond.field)
    name = text(field.label) if field is not None else cond.field
    if cond.op in OPS:
        return f"{name} {OPS[cond.op]} {cond.value}"
    if cond.op == "in":
        labels = {c.code: text(c.label) for c in field.choices} if field is not None else {}
        values = cond.value if isinstance(cond.value, tuple) else ()
        return _("%(name)s 为 %(values)s") % {"name": name, "values": "、".join(labels.get(v, v) for v in values)}
    if cond.op == "any":
        return _("%(name)s 有任一项") % {"name": name}
    if cond.op == "none":
        return _("%(name)s 无") % {"name": name}
    if cond.op == "true":
        return _("%(name)s 是") % {"name": name}
    return _("%(name)s 否") % {"name": name}


def schedule_rows(spec: ProgrammeSpec) -> list[dict[str, str]]:
    """One row per planned item: what, when (from the anchor), the window."""
    labels = {code: text(item.label) for code, item in spec.items.items()}
    s = spec.schedule
    rows: list[dict[str, str]] = []
    if s is None:
        return rows
    if s.interval is not None:
        rows.append({"item": labels.get(s.interval.item, s.interval.item), "when": _("首次"),
                     "window": window(s.interval.first)})
        for phase in s.interval.phases:
            when = _("每 %(every)s") % {"every": offset(phase.every)}
            if phase.until is not None:
                when += _("（至 %(until)s）") % {"until": offset(phase.until)}
            rows.append({"item": labels.get(s.interval.item, s.interval.item), "when": when,
                         "window": window(phase.window)})
        if s.interval.end is not None:
            rows.append({"item": "", "when": _("结束：%(end)s") % {"end": offset(s.interval.end)}, "window": ""})
    for age in s.ages:
        span = (f"{offset(age.window_from)} ~ {offset(age.window_to)}" if age.window_from and age.window_to
                else window(age.window))
        rows.append({"item": labels.get(age.item, age.item),
                     "when": offset(age.at) + (f"（{age.anchor}）" if age.anchor else ""), "window": span})
    for annual in s.annual:
        rows.append({"item": labels.get(annual.item, annual.item), "when": _("每年一次"), "window": ""})
    for dose in s.doses:
        extra = []
        if dose.min_age != dose.at:
            extra.append(_("最小 %(age)s") % {"age": offset(dose.min_age)})
        if dose.min_interval is not None:
            extra.append(_("间隔 ≥ %(gap)s") % {"gap": offset(dose.min_interval)})
        if dose.catch_up_until is not None:
            extra.append(_("补种至 %(age)s") % {"age": offset(dose.catch_up_until)})
        rows.append({"item": labels.get(dose.item, dose.item) + (f"（{dose.option}）" if dose.option else ""),
                     "when": offset(dose.at) + ("；" + "；".join(extra) if extra else ""),
                     "window": window(dose.window)})
    return rows


def rule_rows(spec: ProgrammeSpec) -> list[dict[str, Any]]:
    c = spec.classifier
    if c is None:
        return []
    rows: list[dict[str, Any]] = []
    for rule in c.rules:
        if rule.otherwise:
            when = _("其他情况")
        else:
            parts = []
            if rule.any:
                parts.append(_(" 或 ").join(condition(spec, x) for x in rule.any))
            if rule.all:
                parts.append(_(" 且 ").join(condition(spec, x) for x in rule.all))
            when = "；".join(parts)
        rows.append({"label": text(rule.label), "when": when, "next": offset(rule.next) if rule.next else _("常规间隔"),
                     "refer": rule.refer, "reason": text(rule.reason) if rule.reason else ""})
    labels = {r.code: text(r.label) for r in c.rules}
    for esc in c.escalations:
        rows.append({"label": labels.get(esc.to, esc.to),
                     "when": _("本次为%(code)s且上次为%(previous)s") % {
                         "code": labels.get(esc.code, esc.code),
                         "previous": "、".join(labels.get(p, p) for p in esc.previous)},
                     "next": "", "refer": False, "reason": text(esc.reason)})
    return rows


def describe(spec: ProgrammeSpec) -> dict[str, Any]:
    e = spec.eligibility
    who = []
    if e.min_age_years is not None:
        who.append(_("≥%(n)s岁") % {"n": e.min_age_years})
    if e.max_age_years is not None:
        who.append(_("<%(n)s岁") % {"n": e.max_age_years})
    if e.sex:
        who.append(_("女性") if e.sex == "F" else _("男性"))
    if e.diagnoses:
        who.append(_("诊断 %(codes)s") % {"codes": "、".join(e.diagnoses)})
    if e.requires_confirmation:
        who.append(_("须确诊"))
    return {
        "spec": spec, "name": text(spec.name),
        "anchor": str(ANCHORS.get(spec.anchor, spec.anchor)), "enrol": str(ENROL.get(e.enrol, e.enrol)),
        "who": "，".join(who) or _("全体居民"),
        "schedule": schedule_rows(spec), "rules": rule_rows(spec),
        "fields": [{"field": f, "label": text(f.label), "choices": "、".join(text(c.label) for c in f.choices)}
                   for f in spec.fields.values()],
        "variants": [(group, "、".join(options)) for group, options in spec.variants.items()],
    }


@require_GET
@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    """项目目录 — every programme as it is in force today."""
    specs = specs_on(today())
    order = [code for code, _name in programme_choices() if code in specs]
    order += [code for code in specs if code not in order]
    return render(request, "programmes/catalogue.html", {"programmes": [describe(specs[code]) for code in order]})
