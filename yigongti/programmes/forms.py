"""Forms of the programmes pages: worklist filters, enrolment, closing, the visit form built from a
programme's field specs, and the "what is this child due for?" question.

The forms only shape the input; the services and the engine are the authority on every rule (a
measurement out of range is refused by :func:`~yigongti.programmes.engine.validate_values`, and its
message is put back under the field by the view). So number fields are plain inputs without
``min``/``max``: the browser must not stop a value that the engine should explain.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from yigongti.core.clock import today
from yigongti.core.scope import visible
from yigongti.core.tree import subtree_q
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division
from yigongti.registry.selectors import current, division_root_for

from .choices import CloseReason
from .engine.types import FieldSpec, ProgrammeSpec, Service

Choices = list[tuple[str, Any]]
BLANK: Choices = [("", "—")]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Variant choices of the immunisation schedule (2021): live (L) or inactivated (I) JE / HepA.
JE_VARIANTS: Choices = [("JE-L", _("乙脑减毒活疫苗（JE-L）")), ("JE-I", _("乙脑灭活疫苗（JE-I）"))]
HEPA_VARIANTS: Choices = [("HepA-L", _("甲肝减毒活疫苗（HepA-L）")), ("HepA-I", _("甲肝灭活疫苗（HepA-I）"))]
_HISTORY_LINE = re.compile(r"^\s*(\S+)[\s,，]+(\d{4}-\d{1,2}-\d{1,2})\s*$")


def text(label: Any) -> str:
    """A :class:`~.engine.types.Text` (or a plain string) in the active UI language."""
    return label.get(get_language()) if hasattr(label, "get") and hasattr(label, "zh") else str(label)


def org_choices(user: Any) -> Choices:
    """The caller's view unit and the townships and villages below it (codes and names)."""
    root = division_root_for(user)
    if root is None:
        return []
    below = visible(user, current(Division.objects.filter(
        subtree_q(root.path), level__in=[DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE])).exclude(pk=root.pk))
    rows = [(root.code, f"{root.name}（{root.code}）")]
    for division in below.order_by("path"):
        indent = "　" if division.level == DivisionLevel.VILLAGE and root.level != DivisionLevel.TOWNSHIP else ""
        rows.append((division.code, f"{indent}{division.name}（{division.code}）"))
    return rows


class WorklistForm(forms.Form):
    """The worklist's filters: unit, date (the week starts on it) and programme; all optional."""

    org = forms.ChoiceField(label=_("单位"), required=False)
    date = forms.DateField(label=_("日期"), required=False, widget=DATE_INPUT)
    programme = forms.ChoiceField(label=_("项目"), required=False)

    def __init__(self, *args: Any, user: Any, programmes: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["org"]
        field.choices = org_choices(user)
        field = self.fields["programme"]
        field.choices = [("", _("全部项目")), *programmes]


class EnrolForm(forms.Form):
    """纳入管理 — manual enrolment (a confirmed diagnosis, a pregnancy, a registered patient …)."""

    programme = forms.ChoiceField(label=_("项目"))
    anchor_date = forms.DateField(label=_("起算日期"), required=False, widget=DATE_INPUT,
                                  help_text=_("诊断日期、末次月经或出生日期；留空按项目规则确定。"))
    diagnosis_code = forms.CharField(label=_("诊断编码(ICD-10)"), required=False, max_length=16,
                                     widget=forms.TextInput(attrs={"placeholder": "I10"}))
    confirmed = forms.BooleanField(label=_("诊断已确诊"), required=False)
    je = forms.ChoiceField(label=_("乙脑疫苗"), required=False, choices=BLANK + JE_VARIANTS)
    hepa = forms.ChoiceField(label=_("甲肝疫苗"), required=False, choices=BLANK + HEPA_VARIANTS)

    def __init__(self, *args: Any, programmes: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["programme"]
        field.choices = BLANK + programmes

    def variant(self) -> dict[str, str]:
        """The immunisation variant chosen (empty: the schedule's default, the live vaccines)."""
        data = self.cleaned_data
        return {key: data[name] for key, name in (("JE", "je"), ("HepA", "hepa")) if data.get(name)}


class CloseForm(forms.Form):
    """结案 — close an enrolment with its reason."""

    reason = forms.ChoiceField(label=_("结案原因"), choices=BLANK + list(CloseReason.choices))
    on = forms.DateField(label=_("结案日期"), required=False, widget=DATE_INPUT)
    note = forms.CharField(label=_("结案说明"), required=False, max_length=200)


def _spec_field(spec: FieldSpec) -> forms.Field:
    """The Django field of one :class:`FieldSpec` (the engine parses and range-checks the value)."""
    label = text(spec.label) + (f"（{spec.unit}）" if spec.unit else "")
    help_text = ""
    if spec.min is not None and spec.max is not None:
        help_text = _("范围 %(min)s–%(max)s") % {"min": spec.min, "max": spec.max}
    common: dict[str, Any] = {"label": label, "required": False, "help_text": help_text}
    if spec.type in ("integer", "decimal"):
        step = "1" if spec.type == "integer" or not spec.decimals else str(10 ** -spec.decimals)
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal", "data-step": step,
                                                             "size": 8}), max_length=16, **common)
    choices = [(c.code, text(c.label)) for c in spec.choices]
    if spec.type == "choice":
        return forms.ChoiceField(choices=BLANK + choices, **common)
    if spec.type == "multichoice":
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    if spec.type == "boolean":
        return forms.BooleanField(**common)
    if spec.type == "date":
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), max_length=10, **common)
    return forms.CharField(max_length=200, **common)


class VisitForm(forms.Form):
    """The form of one item of a programme (随访表), its fields built from the programme's spec.

    ``idempotency_key`` is new on every rendering of an empty form and kept on a re-rendered one,
    so sending the same form twice records one visit.
    """

    visit_date = forms.DateField(label=_("服务日期"), widget=DATE_INPUT)
    note = forms.CharField(label=_("备注"), required=False, max_length=200)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, spec: ProgrammeSpec, item: str, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"visit_date": today(), "idempotency_key": uuid.uuid4().hex})
        super().__init__(*args, **kwargs)
        self.spec_fields: list[FieldSpec] = []
        item_spec = spec.items.get(item)
        for code in item_spec.form if item_spec is not None else ():
            field_spec = spec.fields.get(code)
            if field_spec is None:
                continue
            self.spec_fields.append(field_spec)
            self.fields[code] = _spec_field(field_spec)
            self.fields[code].required_mark = field_spec.required  # type: ignore[attr-defined]

    def measurement_fields(self) -> list[forms.BoundField]:
        return [self[f.code] for f in self.spec_fields]

    def values(self) -> dict[str, object]:
        """The entered values, raw (strings, lists, booleans) for the engine; empty ones left out."""
        values: dict[str, object] = {}
        for spec in self.spec_fields:
            value = self.cleaned_data.get(spec.code)
            if spec.type == "boolean":
                values[spec.code] = bool(value)
            elif spec.type == "multichoice":
                if value:
                    values[spec.code] = list(value)
            elif value not in (None, ""):
                values[spec.code] = value.strip() if isinstance(value, str) else value
        return values


def parse_history(raw: str) -> tuple[list[Service], list[str]]:
    """``HepB-1 2025-01-02`` per line → services, and the lines that could not be read."""
    services: list[Service] = []
    bad: list[str] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        match = _HISTORY_LINE.match(line)
        if match is None:
            bad.append(line.strip())
            continue
        try:
            day = dt.date(*(int(part) for part in match.group(2).split("-")))
        except ValueError:
            bad.append(line.strip())
            continue
        services.append(Service(item=match.group(1), date=day))
    return services, bad


class DueForm(forms.Form):
    """应种/应查什么 — a birth date, the variants and the doses or visits already given."""

    birth_date = forms.DateField(label=_("出生日期"), widget=DATE_INPUT)
    as_of = forms.DateField(label=_("查询日期"), required=False, widget=DATE_INPUT)
    je = forms.ChoiceField(label=_("乙脑疫苗"), required=False, choices=BLANK + JE_VARIANTS)
    hepa = forms.ChoiceField(label=_("甲肝疫苗"), required=False, choices=BLANK + HEPA_VARIANTS)
    history = forms.CharField(
        label=_("已接种/已服务"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 32, "placeholder": "HepB-1 2025-01-02\nBCG-1 2025-01-02"}),
        help_text=_("每行一项：服务项代码 日期，例如 HepB-1 2025-01-02"))

    def clean_history(self) -> list[Service]:
        services, bad = parse_history(self.cleaned_data.get("history") or "")
        if bad:
            raise forms.ValidationError(_("无法识别的行：%(lines)s") % {"lines": "；".join(bad[:5])})
        born = self.cleaned_data.get("birth_date")
        if born is not None and any(s.date < born for s in services):
            raise forms.ValidationError(_("服务日期不能早于出生日期。"))
        return services

    def variant(self) -> dict[str, str]:
        data = self.cleaned_data
        return {key: data[name] for key, name in (("JE", "je"), ("HepA", "hepa")) if data.get(name)}
