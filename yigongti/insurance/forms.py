"""Forms of the insurance pages: settling an encounter (目录外 amounts, the idempotency key), the
reversal (冲销) and re-settlement of a settlement, the enrolment of a household (登记参保), and the
filters of the lists.

The forms only shape the input; the services are the authority (a 目录外 amount larger than its
category, a member of another household, a reversal of a reversal): the views put a service's
message back under the field it names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yigongti.care.choices import CostCategory, EncounterKind

from .models import AidCategory, SettlementStatus

Choices = list[tuple[Any, Any]]
BLANK: Choices = [("", "—")]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
KEY_MAX = 100


def new_key() -> str:
    """A fresh idempotency key, put in the form when it is rendered: a second submit of the same
    page sends the same key and gets the first settlement back."""
    return uuid.uuid4().hex


def _outside_field(label: Any, ceiling: Decimal) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=False, min_value=Decimal(0), max_digits=14, decimal_places=2,
                              widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": f"{ceiling:f}",
                                                              "inputmode": "decimal", "style": "width: 9em"}))


class _OutsideMixin(forms.Form):
    """One optional 目录外 (outside the catalogue) amount per cost category of the encounter."""

    def add_outside(self, costs: Iterable[tuple[str, Decimal]]) -> None:
        labels = dict(CostCategory.choices)
        self.categories: list[str] = []
        for category, amount in costs:
            name = f"outside_{category}"
            self.fields[name] = _outside_field(labels.get(category, category), amount)
            self.categories.append(category)

    def outside(self) -> dict[str, Decimal]:
        """``{category: amount}`` of the amounts given (zero left out)."""
        data = self.cleaned_data
        return {c: data[f"outside_{c}"] for c in self.categories if data.get(f"outside_{c}")}

    def outside_fields(self) -> list[forms.BoundField]:
        return [self[f"outside_{c}"] for c in self.categories]


class SettleForm(_OutsideMixin):
    """出院结算 / 门诊结算 of one encounter."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=KEY_MAX)

    def __init__(self, *args: Any, costs: Iterable[tuple[str, Decimal]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_outside(costs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_key())


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("冲销原因"), max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": _("如：费用录入错误")}))


class ResettleForm(_OutsideMixin):
    """重新结算: the settlement reversed and its encounter settled again (after its costs were corrected)."""

    reason = forms.CharField(label=_("重新结算原因"), max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": _("如：出院费用已更正")}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=KEY_MAX)

    def __init__(self, *args: Any, costs: Iterable[tuple[str, Decimal]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        costs = list(costs)
        self.add_outside(costs)
        # 更正后费用: every category, prefilled with the encounter's current amounts.
        current = dict(costs)
        for category, label in CostCategory.choices:
            self.fields[f"cost_{category}"] = forms.DecimalField(
                label=label, required=False, min_value=Decimal(0), max_digits=14, decimal_places=2,
                initial=current.get(category),
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal",
                                                "style": "width: 9em"}))
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_key())

    def corrected(self) -> dict[str, Decimal] | None:
        """The corrected costs ``{category: amount}`` (blank and zero left out), or ``None`` when no
        amount was given at all (settle again with the encounter's costs as they are)."""
        data = self.cleaned_data
        given = [c for c in CostCategory.values if data.get(f"cost_{c}") is not None]
        if not given:
            return None
        return {c: data[f"cost_{c}"] for c in given if data[f"cost_{c}"]}

    def cost_fields(self) -> list[forms.BoundField]:
        return [self[f"cost_{c}"] for c in CostCategory.values]


class SettlementFilterForm(forms.Form):
    year = forms.TypedChoiceField(label=_("年度"), required=False, coerce=int, empty_value=None)
    institution = forms.ChoiceField(label=_("结算机构"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False, choices=BLANK + list(SettlementStatus.choices))
    kind = forms.ChoiceField(label=_("就诊类型"), required=False,
                             choices=[*BLANK, (EncounterKind.INPATIENT.value, _("住院")),
                                      (EncounterKind.OUTPATIENT.value, _("门诊"))])

    def __init__(self, *args: Any, years: Iterable[int] = (), institutions: Choices | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("year", BLANK + [(y, y) for y in years])
        self._choices("institution", BLANK + list(institutions or []))

    def _choices(self, name: str, choices: Choices) -> None:
        field: Any = self.fields[name]
        field.choices = choices

    def value(self, name: str) -> Any:
        if not self.is_bound or not self.is_valid():
            return None
        return self.cleaned_data.get(name) or None


class EnrolmentFilterForm(forms.Form):
    year = forms.TypedChoiceField(label=_("参保年度"), required=False, coerce=int, empty_value=None)
    village = forms.ChoiceField(label=_("村"), required=False)
    q = forms.CharField(label=_("查找家庭"), required=False, max_length=50,
                        widget=forms.TextInput(attrs={"placeholder": _("户编号、成员姓名或身份证号")}))

    def __init__(self, *args: Any, years: Iterable[int] = (), villages: Choices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        year: Any = self.fields["year"]
        year.choices = [(y, y) for y in years]
        village: Any = self.fields["village"]
        village.choices = BLANK + list(villages or [])


class EnrolForm(forms.Form):
    """登记参保 of a household: the year, the payment, and per member a checkbox and a 救助类别."""

    year = forms.IntegerField(label=_("参保年度"), widget=forms.HiddenInput)
    paid_on = forms.DateField(label=_("缴费日期"), widget=DATE_INPUT)
    receipt_no = forms.CharField(label=_("缴费凭证号"), required=False, max_length=64)

    def __init__(self, *args: Any, members: Iterable[Any] = (), covered: dict[int, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        covered = covered or {}
        self.member_rows: list[dict[str, Any]] = []
        for resident in members:
            pk = resident.pk
            done = covered.get(pk)
            self.fields[f"member_{pk}"] = forms.BooleanField(
                label=resident.name, required=False, initial=done is None and resident.status == "active",
                disabled=done is not None)
            self.fields[f"category_{pk}"] = forms.ChoiceField(
                label=_("救助类别"), required=False, choices=list(AidCategory.choices),
                initial=getattr(done, "category", ""), disabled=done is not None)
            self.member_rows.append({"resident": resident, "coverage": done, "check": self[f"member_{pk}"],
                                     "category": self[f"category_{pk}"]})

    def chosen(self) -> dict[int, str]:
        """``{resident id: category}`` of the members ticked (and not yet covered)."""
        data = self.cleaned_data
        return {row["resident"].pk: data.get(f"category_{row['resident'].pk}") or ""
                for row in self.member_rows
                if row["coverage"] is None and data.get(f"member_{row['resident'].pk}")}
