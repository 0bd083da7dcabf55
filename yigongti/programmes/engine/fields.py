"""Visit form values: parse what a user typed per :class:`~.types.FieldSpec` and refuse what cannot
be right — a missing required field, a value outside the physiological range (with a hint when it
looks like the wrong unit: 斤 for kg, grams, metres), a field the item's form does not have.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yigongti.core.errors import ValidationFailed

from .types import FieldSpec, ProgrammeSpec, Value

TRUE = frozenset({"1", "true", "yes", "y", "是", "有", "t"})
FALSE = frozenset({"0", "false", "no", "n", "否", "无", "f"})
SPLIT = re.compile(r"[,，、;；|]\s*")
TEXT_MAX = 200


class ValuesInvalid(ValidationFailed):
    """Form values refused; ``problems`` lists ``(field_code, message)`` for every bad field."""

    code = "values_invalid"
    message = gettext_lazy("输入有误：%(reason)s")

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__(field=problems[0][0] if problems else "",
                         reason="；".join(f"{code}: {message}" for code, message in self.problems))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, list | tuple) and not value)


def _number(spec: FieldSpec, raw: object) -> Decimal:
    if isinstance(raw, bool):
        raise ValueError(_("应为数值"))
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(_("“%(value)s”不是数值") % {"value": raw}) from None
    if not number.is_finite():
        raise ValueError(_("“%(value)s”不是数值") % {"value": raw})
    return number


def _in_range(spec: FieldSpec, number: Decimal) -> None:
    low, high = spec.min, spec.max
    if (low is not None and number < low) or (high is not None and number > high):
        for factor, hint in spec.unit_hints:
            scaled = number / factor
            if (low is None or scaled >= low) and (high is None or scaled <= high):
                raise ValueError(_("%(value)s %(unit)s 超出合理范围（%(min)s–%(max)s），%(hint)s") % {
                    "value": number, "unit": spec.unit, "min": low, "max": high, "hint": hint.get(_lang())})
        raise ValueError(_("%(value)s %(unit)s 超出合理范围（%(min)s–%(max)s）") % {
            "value": number, "unit": spec.unit, "min": low, "max": high})


def _lang() -> str:
    return translation.get_language() or "zh-hans"


def parse_value(spec: FieldSpec, raw: object) -> Value:
    """One field's typed value, or ValueError with the reason (in the active language)."""
    if spec.type == "integer":
        number = _number(spec, raw)
        if number != number.to_integral_value():
            raise ValueError(_("应为整数"))
        _in_range(spec, number)
        return int(number)
    if spec.type == "decimal":
        number = _number(spec, raw)
        _in_range(spec, number)
        return number.quantize(Decimal(1).scaleb(-spec.decimals), rounding=ROUND_HALF_UP)
    codes = {c.code for c in spec.choices}
    if spec.type == "choice":
        text = str(raw).strip()
        if text not in codes:
            raise ValueError(_("“%(value)s”不是可选项（%(choices)s）") % {"value": text, "choices": ", ".join(codes)})
        return text
    if spec.type == "multichoice":
        items = [str(x).strip() for x in raw] if isinstance(raw, list | tuple) else SPLIT.split(str(raw).strip())
        chosen = tuple(dict.fromkeys(x for x in items if x))
        bad = [x for x in chosen if x not in codes]
        if bad:
            raise ValueError(_("“%(value)s”不是可选项（%(choices)s）") % {"value": ", ".join(bad),
                                                                       "choices": ", ".join(codes)})
        return chosen
    if spec.type == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise ValueError(_("应为 是/否"))
    if spec.type == "date":
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(_("应为日期 YYYY-MM-DD")) from None
    text = str(raw).strip()
    if len(text) > TEXT_MAX:
        raise ValueError(_("不应超过 %(max)s 字") % {"max": TEXT_MAX})
    return text


def stored_value(raw: Any, kind: str) -> Value:
    """A value as stored (a Visit column, or ``Visit.data`` JSON: strings for decimals and dates,
    lists for multichoice; SQLite hands booleans back as 0/1) as the engine's type."""
    if kind == "multichoice":
        return tuple(raw)
    if kind == "decimal" and not isinstance(raw, Decimal):
        return Decimal(str(raw))
    if kind == "integer" and not isinstance(raw, int):
        return int(raw)
    if kind == "date" and isinstance(raw, str):
        return dt.date.fromisoformat(raw)
    if kind == "boolean" and isinstance(raw, int):
        return bool(raw)
    return raw


def validate_values(spec: ProgrammeSpec, item: str, raw: Mapping[str, Any]) -> dict[str, Value]:
    """The typed values of one visit of ``item``; :class:`ValuesInvalid` naming every bad field.

    Blank values are absent; required fields of the item's form must be present; codes not on the
    item's form are refused.
    """
    item_spec = spec.items.get(item)
    if item_spec is None:
        raise ValuesInvalid([("item", _("项目 %(programme)s 没有服务项 %(item)s") % {
            "programme": spec.code, "item": item})])
    form = item_spec.form
    problems: list[tuple[str, str]] = []
    values: dict[str, Value] = {}
    for code in raw:
        if code not in form:
            problems.append((str(code), _("此服务项没有该字段")))
    for code in form:
        field = spec.fields[code]
        value = raw.get(code)
        if _blank(value):
            if field.required:
                problems.append((code, _("%(label)s 为必填项") % {"label": field.label.get(_lang())}))
            continue
        try:
            values[code] = parse_value(field, value)
        except ValueError as exc:
            problems.append((code, f"{field.label.get(_lang())}: {exc}"))
    if problems:
        raise ValuesInvalid(problems)
    return values
