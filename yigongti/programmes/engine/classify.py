"""Classification of a visit (分类) from its values and the earlier visits' classifications.

The rules are data (``classification:`` in the fixture): the first rule whose conditions hold
wins; then an escalation may turn it into another (规范(第三版) 高血压: 连续两次控制不满意 → 转诊).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from .compiled import ClassRule, Condition
from .types import Classification, ProgrammeSpec, Text, Value


def _holds(condition: Condition, values: Mapping[str, Value]) -> bool:
    value = values.get(condition.field)
    op = condition.op
    if op == "none":
        return value is None or value == () or value == ""
    if op == "not_true":
        return value is not True
    if value is None or value == "" or value == ():
        return False
    if op == "any":
        return bool(value)
    if op == "is_true":
        return value is True
    target = condition.value
    if op == "in":
        members = target if isinstance(target, tuple) else ()
        if isinstance(value, tuple):
            return any(v in members for v in value)
        return str(value) in members
    if op in ("eq", "ne"):
        same = str(value) == str(target) or (isinstance(value, tuple) and str(target) in value)
        return same if op == "eq" else not same
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or not isinstance(target, Decimal):
        return False
    number = Decimal(value)
    if op == "lt":
        return number < target
    if op == "le":
        return number <= target
    if op == "gt":
        return number > target
    return number >= target  # ge


def _matches(rule: ClassRule, values: Mapping[str, Value]) -> bool:
    if rule.otherwise:
        return True
    if rule.any and not any(_holds(c, values) for c in rule.any):
        return False
    return not rule.all or all(_holds(c, values) for c in rule.all)


def _result(rule: ClassRule, reasons: tuple[Text, ...]) -> Classification:
    step = rule.next
    months = step.months if step and step.months and not step.days else None
    days = step.days if step and not months else None
    return Classification(code=rule.code, label=rule.label, next_in_days=days, refer=rule.refer,
                          reasons=reasons, next_in_months=months)


def classify_rule(spec: ProgrammeSpec, *, item: str, values: Mapping[str, Value],
                  previous: Sequence[str]) -> ClassRule | None:
    """The rule that classifies this visit (after escalation), or ``None`` when the item has none."""
    classifier = spec.classifier
    if classifier is None or item not in classifier.items:
        return None
    for rule in classifier.rules:
        if _matches(rule, values):
            break
    last = previous[-1] if previous else None
    for escalation in classifier.escalations:
        if escalation.code == rule.code and last in escalation.previous:
            target = classifier.rule(escalation.to)
            if target is not None:
                return target
    return rule


def classify(spec: ProgrammeSpec, *, item: str, values: Mapping[str, Value],
             previous: Sequence[str]) -> Classification | None:
    """What this visit's values mean and when the next visit is due; ``None`` for an item without rules.

    ``previous``: the classification codes of the earlier visits of the programme, oldest first.
    """
    classifier = spec.classifier
    if classifier is None or item not in classifier.items:
        return None
    first = next(r for r in classifier.rules if _matches(r, values))
    rule = classify_rule(spec, item=item, values=values, previous=previous)
    assert rule is not None
    reasons: list[Text] = []
    if first.reason is not None:
        reasons.append(first.reason)
    if rule is not first:
        last = previous[-1] if previous else None
        for escalation in classifier.escalations:
            if escalation.code == first.code and last in escalation.previous:
                reasons.append(escalation.reason)
                break
    return _result(rule, tuple(reasons))
