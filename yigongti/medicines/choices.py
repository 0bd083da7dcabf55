"""Choices of the medicines app (基本药物): movement kinds with their sign, document statuses."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DrugClass(models.TextChoices):
    """药品类别 — the encounter cost category a dispensing is charged to (``care.CostCategory``)."""

    WESTERN = "drugs_western", _("西药")
    CHINESE = "drugs_chinese", _("中成药")


class MovementKind(models.TextChoices):
    """库存流水类型 — every change of stock is one of these; the balance is their sum."""

    RECEIPT = "receipt", _("采购入库")
    TRANSFER_OUT = "transfer_out", _("调拨出库")
    TRANSFER_IN = "transfer_in", _("调拨入库")
    DISPENSE = "dispense", _("处方发药")
    RETURN = "return", _("退药入库")
    ADJUSTMENT = "adjustment", _("盘点调整")
    WRITE_OFF = "write_off", _("报损")


# The sign every movement of a kind has (0: either, as a stock take finds it).
SIGN: dict[str, int] = {
    MovementKind.RECEIPT: 1, MovementKind.TRANSFER_IN: 1, MovementKind.RETURN: 1,
    MovementKind.TRANSFER_OUT: -1, MovementKind.DISPENSE: -1, MovementKind.WRITE_OFF: -1,
    MovementKind.ADJUSTMENT: 0,
}


class WriteOffReason(models.TextChoices):
    EXPIRED = "expired", _("过期")
    DAMAGED = "damaged", _("破损")
    RECALLED = "recalled", _("召回")
    OTHER = "other", _("其他")


class RequisitionStatus(models.TextChoices):
    """请领单状态 — submitted → approved (or rejected) → shipped → received; cancelled by the requester."""

    SUBMITTED = "submitted", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    SHIPPED = "shipped", _("已配送")
    RECEIVED = "received", _("已收货")
    CANCELLED = "cancelled", _("已撤销")


class OrderStatus(models.TextChoices):
    """采购订单状态 — draft (consolidated) → approved (sent to the supplier) → partly / fully received."""

    DRAFT = "draft", _("待审批")
    APPROVED = "approved", _("已下单")
    PARTLY_RECEIVED = "partly_received", _("部分到货")
    RECEIVED = "received", _("已到货")
    CANCELLED = "cancelled", _("已撤销")


class PrescriptionStatus(models.TextChoices):
    OPEN = "open", _("待发药")
    DISPENSED = "dispensed", _("已发药")
    CANCELLED = "cancelled", _("已作废")


class StockTakeStatus(models.TextChoices):
    OPEN = "open", _("盘点中")
    POSTED = "posted", _("已过账")
