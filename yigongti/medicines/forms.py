"""Forms of the medicines pages: receipts (入库), write-offs (报损), requisitions (请领) and their
approval, shipment and consolidation, order receipts (到货验收), stock-take counts (盘点) and
prescriptions (开处方, 退药).

The forms only shape the input (rows of fields named ``<name>_<n>``); the services are the authority,
and the views put a service's error back under the field it names (``items[2].lot`` → ``lot_2``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import RequisitionStatus, WriteOffReason
from .models import Medicine

Choices = list[tuple[Any, Any]]
BLANK: Choices = [("", "—")]
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
QTY = {"min": "0", "inputmode": "numeric", "style": "width: 6em"}


QUANTITY = _("数量")


def _quantity(label: Any = QUANTITY, *, required: bool = False, initial: Any = None) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=required, min_value=0, initial=initial,
                              widget=forms.NumberInput(attrs=QTY))


def medicine_choices(medicines: Iterable[Medicine]) -> Choices:
    return BLANK + [(m.code, f"{m.code} {m.label}") for m in medicines]


class _RowsForm(forms.Form):
    """A form of ``rows`` numbered rows; a row whose first field is blank is left out."""

    row_fields: tuple[str, ...] = ()
    row_count = 0

    def rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"{name}_{i}"] for name in self.row_fields] for i in range(self.row_count)]

    def filled(self) -> list[tuple[int, dict[str, Any]]]:
        """(row number, its values) of the rows given."""
        data = self.cleaned_data
        first = self.row_fields[0]
        return [(i, {name: data.get(f"{name}_{i}") for name in self.row_fields})
                for i in range(self.row_count) if data.get(f"{first}_{i}") not in (None, "")]


class ReceiptForm(_RowsForm):
    """采购入库 outside an order: item, lot, expiry, quantity, price (the contract price when blank)."""

    row_fields = ("medicine", "lot", "expiry", "quantity", "unit_price")
    document = forms.CharField(label=_("单据号"), max_length=32, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, medicines: Iterable[Medicine] = (), rows: int = 5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.row_count = rows
        choices = medicine_choices(medicines)
        for i in range(rows):
            self.fields[f"medicine_{i}"] = forms.ChoiceField(label=_("药品"), choices=choices, required=False)
            self.fields[f"lot_{i}"] = forms.CharField(label=_("批号"), max_length=32, required=False,
                                                      widget=forms.TextInput(attrs={"style": "width: 8em"}))
            self.fields[f"expiry_{i}"] = forms.DateField(label=_("有效期至"), required=False, widget=DATE_INPUT)
            self.fields[f"quantity_{i}"] = _quantity()
            self.fields[f"unit_price_{i}"] = forms.DecimalField(
                label=_("单价"), required=False, min_value=0, max_digits=12, decimal_places=4,
                widget=forms.NumberInput(attrs={"step": "0.0001", "style": "width: 7em"}))


class WriteOffForm(forms.Form):
    quantity = _quantity(required=True)
    reason = forms.ChoiceField(label=_("报损原因"), choices=WriteOffReason.choices)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class RequisitionForm(forms.Form):
    """请领: a quantity per item of the tier's list (pre-filled with the suggestion); zero left out."""

    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, lines: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stock_lines = list(lines)
        for line in self.stock_lines:
            self.fields[f"qty_{line.medicine.code}"] = _quantity(line.medicine.label, initial=line.suggested or None)

    def items(self) -> list[tuple[Any, forms.BoundField]]:
        return [(line, self[f"qty_{line.medicine.code}"]) for line in self.stock_lines]

    def wanted(self) -> dict[str, int]:
        return {line.medicine.code: self.cleaned_data[f"qty_{line.medicine.code}"] for line in self.stock_lines
                if self.cleaned_data.get(f"qty_{line.medicine.code}")}


class DecideForm(forms.Form):
    """审批: the approved quantity per line (the requested one pre-filled), or 驳回 with a reason."""

    note = forms.CharField(label=_("审批意见"), max_length=200, required=False)

    def __init__(self, *args: Any, lines: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.req_lines = list(lines)
        for line in self.req_lines:
            self.fields[f"approved_{line.pk}"] = _quantity(line.medicine.label, initial=line.quantity)

    def approved(self) -> dict[int, Any]:
        """Line id → the quantity given (a blank one is left to the service: the requested quantity)."""
        given = {line.pk: self.cleaned_data.get(f"approved_{line.pk}") for line in self.req_lines}
        return {pk: value for pk, value in given.items() if value is not None}


class ShipForm(forms.Form):
    partial = forms.BooleanField(label=_("允许部分配送"), required=False)


class ConsolidateForm(forms.Form):
    direct = forms.BooleanField(label=_("直送乡镇卫生院"), required=False)


class OrderReceiptForm(_RowsForm):
    """到货验收: a row per delivered lot (several lots of a line allowed)."""

    row_fields = ("line", "lot", "expiry", "quantity", "manufacturer")

    def __init__(self, *args: Any, lines: Iterable[Any] = (), rows: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        order_lines = list(lines)
        self.row_count = rows or len(order_lines) + 2
        choices = BLANK + [(str(line.pk), f"{line.medicine.code} {line.medicine.label} → {line.deliver_to.name}")
                           for line in order_lines]
        open_lines = [line for line in order_lines if line.received < line.quantity]
        for i in range(self.row_count):
            default = open_lines[i] if i < len(open_lines) else None
            self.fields[f"line_{i}"] = forms.ChoiceField(label=_("订单明细"), choices=choices, required=False,
                                                         initial=str(default.pk) if default else "")
            self.fields[f"lot_{i}"] = forms.CharField(label=_("批号"), max_length=32, required=False,
                                                      widget=forms.TextInput(attrs={"style": "width: 8em"}))
            self.fields[f"expiry_{i}"] = forms.DateField(label=_("有效期至"), required=False, widget=DATE_INPUT)
            self.fields[f"quantity_{i}"] = _quantity(
                initial=(default.quantity - default.received) if default else None)
            self.fields[f"manufacturer_{i}"] = forms.CharField(label=_("生产企业"), max_length=200, required=False)

    def filled(self) -> list[tuple[int, dict[str, Any]]]:
        """Rows with a line and a lot (a pre-filled line alone is not a delivery)."""
        return [(i, row) for i, row in super().filled() if row.get("lot")]


class CountForm(forms.Form):
    """盘点: the counted quantity per line (the ledger's quantity shown beside it)."""

    def __init__(self, *args: Any, lines: Iterable[Any] = (), editable: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.take_lines = list(lines)
        for line in self.take_lines:
            self.fields[f"counted_{line.pk}"] = _quantity(_("实盘数量"), initial=line.counted)
            if not editable:
                self.fields[f"counted_{line.pk}"].disabled = True

    def rows(self) -> list[tuple[Any, forms.BoundField]]:
        return [(line, self[f"counted_{line.pk}"]) for line in self.take_lines]

    def counts(self) -> dict[int, Any]:
        return {line.pk: self.cleaned_data.get(f"counted_{line.pk}") for line in self.take_lines}


class PrescribeForm(_RowsForm):
    """开处方: several lines of item, quantity (in the item's unit), usage and days."""

    row_fields = ("medicine", "quantity", "usage", "days")

    def __init__(self, *args: Any, medicines: Iterable[Medicine] = (), rows: int = 4, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.row_count = rows
        choices = medicine_choices(medicines)
        for i in range(rows):
            self.fields[f"medicine_{i}"] = forms.ChoiceField(label=_("药品"), choices=choices, required=False)
            self.fields[f"quantity_{i}"] = _quantity()
            self.fields[f"usage_{i}"] = forms.CharField(
                label=_("用法用量"), max_length=100, required=False,
                widget=forms.TextInput(attrs={"placeholder": _("如：一次1粒，一日3次"), "style": "width: 12em"}))
            self.fields[f"days_{i}"] = forms.IntegerField(label=_("天数"), required=False, min_value=0,
                                                          widget=forms.NumberInput(attrs=QTY))


class ReturnForm(forms.Form):
    quantity = _quantity(_("退药数量"), required=True)


class RequisitionFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=BLANK + list(RequisitionStatus.choices))
    side = forms.ChoiceField(label=_("方向"), required=False, choices=[
        ("", _("全部")), ("requester", _("本机构请领")), ("supplier", _("向本机构请领"))])
