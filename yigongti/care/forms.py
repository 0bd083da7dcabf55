"""Forms of the care pages: an encounter (就诊登记), an order (开检查检验), a result (结果登记) and
the filters of the statistics page.

The forms only shape the input; the services are the authority on every rule (an ICD-10 code, a
negative cost, a unit that does not match the item are refused there, and the view puts the
message back under the field the service names). So number fields are plain inputs without
``min``: the browser must not stop a value that the service should explain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.clock import today
from yigongti.registry.models import Department, Institution
from yigongti.registry.selectors import institution_list

from .choices import AbnormalFlag, CostCategory, DischargeStatus, EncounterKind, ResultKind
from .models import ResultItem

Choices = list[tuple[Any, Any]]
BLANK: Choices = [("", "—")]
OUTSIDE = "outside"  # the institution choice of care outside the county (县外就诊)
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MONEY_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "size": 8, "placeholder": "0"})
_CODE_SPLIT = re.compile(r"[;；,，\s]+")


def item_choices(items: Iterable[ResultItem]) -> Choices:
    """``[(检验, [(code, name), …]), (检查, […])]`` for a grouped ``<select>``."""
    groups: dict[str, list[tuple[str, str]]] = {kind: [] for kind in ResultKind.values}
    for item in items:
        unit = f"，{item.unit}" if item.unit else ""
        groups.setdefault(item.kind, []).append((item.code, f"{item.name}（{item.code}{unit}）"))
    labels = dict(ResultKind.choices)
    return [(labels.get(kind, kind), rows) for kind, rows in groups.items() if rows]


def _money(value: Any) -> Decimal | None:
    text = str(value or "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except ArithmeticError:
        return None


class EncounterForm(forms.Form):
    """就诊登记 — an outpatient/emergency visit or an inpatient stay, with diagnoses and costs.

    ``institution`` is a registry code or :data:`OUTSIDE` (then ``outside_institution`` names the
    place); ``department`` lists the departments of every institution offered, grouped by it (the
    service refuses one of another institution).
    """

    kind = forms.ChoiceField(label=_("就诊类型"), choices=EncounterKind.choices, initial=EncounterKind.OUTPATIENT)
    institution = forms.ChoiceField(label=_("就诊机构"))
    outside_institution = forms.CharField(label=_("县外机构名称"), required=False, max_length=200,
                                          help_text=_("就诊机构选“县外”时填写。"))
    department = forms.ChoiceField(label=_("科室"), required=False)
    clinician_name = forms.CharField(label=_("医生姓名"), required=False, max_length=50)
    start_date = forms.DateField(label=_("就诊/入院日期"), widget=DATE_INPUT)
    end_date = forms.DateField(label=_("出院日期"), required=False, widget=DATE_INPUT)
    discharge_status = forms.ChoiceField(label=_("离院方式"), required=False,
                                         choices=BLANK + list(DischargeStatus.choices),
                                         help_text=_("住院填写。"))
    chief_complaint = forms.CharField(label=_("主诉"), required=False, max_length=500)
    booked = forms.BooleanField(label=_("预约就诊"), required=False)
    primary_code = forms.CharField(label=_("主要诊断编码(ICD-10)"), required=False, max_length=16,
                                   widget=forms.TextInput(attrs={"placeholder": "I10"}))
    primary_name = forms.CharField(label=_("主要诊断名称"), required=False, max_length=200)
    other_codes = forms.CharField(label=_("其他诊断编码"), required=False, max_length=200,
                                  widget=forms.TextInput(attrs={"placeholder": "E11.9;J18.000"}),
                                  help_text=_("多个编码用分号分隔。"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        institutions = list(institution_list(user=user))
        mine = getattr(user, "institution", None)
        if mine is not None and all(i.pk != mine.pk for i in institutions):
            institutions.insert(0, mine)
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("institution", mine.code if mine is not None else OUTSIDE)
        kwargs["initial"].setdefault("start_date", today())
        super().__init__(*args, **kwargs)
        self.institutions = {i.code: i for i in institutions}
        field = cast(forms.ChoiceField, self.fields["institution"])
        field.choices = [(i.code, i.name) for i in institutions] + [(OUTSIDE, _("县外"))]
        departments = Department.objects.filter(institution__in=institutions).select_related("institution")
        self.departments = {str(d.pk): d for d in departments.order_by("institution__path", "code")}
        groups: dict[str, list[tuple[str, str]]] = {}
        for key, department in self.departments.items():
            groups.setdefault(department.institution.name, []).append((key, department.name))
        field = cast(forms.ChoiceField, self.fields["department"])
        field.choices = BLANK + list(groups.items())
        for category, label in CostCategory.choices:
            self.fields[f"cost_{category}"] = forms.CharField(label=label, required=False, max_length=16,
                                                              widget=MONEY_INPUT)

    def cost_fields(self) -> list[forms.BoundField]:
        return [self[f"cost_{category}"] for category in CostCategory.values]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("kind", "institution", "outside_institution", "department",
                                        "clinician_name", "start_date", "end_date", "discharge_status",
                                        "chief_complaint", "booked")]

    def diagnosis_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("primary_code", "primary_name", "other_codes")]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for category in CostCategory.values:
            name = f"cost_{category}"
            raw = (data.get(name) or "").strip()
            if raw and _money(raw) is None:
                self.add_error(name, _("请输入金额，例如 12.50"))
        return data

    def chosen_institution(self) -> Institution | None:
        return self.institutions.get(self.cleaned_data.get("institution") or "")

    def chosen_department(self) -> Department | None:
        return self.departments.get(self.cleaned_data.get("department") or "")

    def diagnosis_codes(self) -> list[tuple[str, str, bool]]:
        """``(code, name, primary)`` of every diagnosis entered, the primary one first."""
        data = self.cleaned_data
        rows: list[tuple[str, str, bool]] = []
        primary = (data.get("primary_code") or "").strip().upper()
        if primary:
            rows.append((primary, (data.get("primary_name") or "").strip(), True))
        for code in _CODE_SPLIT.split(data.get("other_codes") or ""):
            if code.strip():
                rows.append((code.strip().upper(), "", False))
        return rows

    def costs(self) -> dict[str, Decimal]:
        """The costs entered (blank = nothing spent in that category, left out)."""
        costs: dict[str, Decimal] = {}
        for category in CostCategory.values:
            amount = _money(self.cleaned_data.get(f"cost_{category}"))
            if amount is not None:
                costs[category] = amount
        return costs


class OrderForm(forms.Form):
    """开检查检验 — pick an item of the catalogue; the page then checks for a recognisable result."""

    item = forms.ChoiceField(label=_("检查检验项目"))

    def __init__(self, *args: Any, items: Iterable[ResultItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["item"])
        field.choices = BLANK + item_choices(items)


class ResultForm(forms.Form):
    """结果登记 — one lab value or imaging report done at the user's institution."""

    item = forms.ChoiceField(label=_("检查检验项目"))
    value = forms.CharField(label=_("结果值"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}))
    value_text = forms.CharField(label=_("结果（文字）"), required=False, max_length=200,
                                 help_text=_("定性结果，如“阴性”；检查可留空。"))
    unit = forms.CharField(label=_("单位"), required=False, max_length=32,
                           help_text=_("留空则使用项目的单位。"))
    ref_range = forms.CharField(label=_("参考范围"), required=False, max_length=64)
    flag = forms.ChoiceField(label=_("异常标识"), required=False,
                             choices=[("", _("自动判断")), *AbnormalFlag.choices])
    reported_at = forms.DateTimeField(label=_("报告时间"), widget=DATETIME_INPUT,
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])
    report = forms.CharField(label=_("报告"), required=False, max_length=4000,
                             widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
                             help_text=_("检查：所见与印象。"))

    def __init__(self, *args: Any, items: Iterable[ResultItem], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("reported_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        self.items = {item.code: item for item in items}
        field = cast(forms.ChoiceField, self.fields["item"])
        field.choices = BLANK + item_choices(self.items.values())

    def clean_value(self) -> Decimal | None:
        raw = (self.cleaned_data.get("value") or "").strip()
        if not raw:
            return None
        value = _money(raw)
        if value is None:
            raise forms.ValidationError(_("请输入数值，例如 5.6"))
        return value

    def item_obj(self) -> ResultItem | None:
        return self.items.get(self.cleaned_data.get("item") or "")


