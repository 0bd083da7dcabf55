"""Essential medicines as one (基本药物三统一): the catalogue, the stock ledger, requisitions,
purchase orders, prescriptions and stock takes.

- Catalogue (``ygt rules load``, ``fixtures/catalogue.yaml``): :class:`Medicine` (the national
  essential-medicines list and the few non-essential items the county hospital uses),
  :class:`FormularyEntry` (the 医共体's list per institution tier: what a village clinic may stock,
  with its reorder and target levels), :class:`Supplier` and :class:`ContractPrice` (the contracted
  supplier and unit price of an item, effective-dated; 零差率: sold at that price).
- Stock: :class:`Batch` (an item's lot with its expiry and purchase price), :class:`Holding` (a
  batch at an institution: the row locked while its stock moves) and :class:`Movement` — receipts,
  transfers, dispensing, returns, adjustments and write-offs. **The balance is the sum of the
  movements**; no stored number is ever edited. Two sums are kept beside the ledger so that reading
  them does not mean adding up millions of rows: :attr:`Holding.quantity` (the batch's balance) and
  :class:`MonthlyUse` (what an institution dispensed of an item in a month). Both are written in the
  same transaction as the movement that changes them, by the ledger's one writer, and the ledger
  check compares them with the movements.
- Flow: :class:`Requisition` (请领: village → township centre → county hospital), consolidated at the
  county into :class:`PurchaseOrder` per supplier, received at the county or delivered directly.
- :class:`Prescription` (处方) of an encounter, dispensed first-expiry-first-out.
- :class:`StockTake` (盘点): counted against the ledger, differences posted as adjustments.

Stock quantities are whole units of the item's ``unit`` (盒, 瓶, 支 — the unit dispensed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.care.models import Encounter
from yigongti.registry.choices import Tier
from yigongti.registry.models import EffectiveDated, Institution
from yigongti.residents.models import Resident

from .choices import (
    DrugClass,
    MovementKind,
    OrderStatus,
    PrescriptionStatus,
    RequisitionStatus,
    StockTakeStatus,
    WriteOffReason,
)


class Medicine(EffectiveDated):
    """药品 — one item of the catalogue: generic name, dosage form, strength and pack."""

    code = models.CharField(_("药品编码"), max_length=32, unique=True)
    national_code = models.CharField(_("国家医保药品编码"), max_length=32, blank=True)
    generic_name = models.CharField(_("通用名"), max_length=100, db_index=True)
    name_en = models.CharField(_("英文名"), max_length=100, blank=True)
    dosage_form = models.CharField(_("剂型"), max_length=32)
    strength = models.CharField(_("规格"), max_length=64)
    pack = models.CharField(_("包装"), max_length=64)
    unit = models.CharField(_("单位"), max_length=8)  # the unit stocked and dispensed: 盒, 瓶, 支
    drug_class = models.CharField(_("药品类别"), max_length=16, choices=DrugClass.choices)
    category = models.CharField(_("药理分类"), max_length=64, blank=True)
    atc = models.CharField(_("ATC 编码"), max_length=8, blank=True)
    essential = models.BooleanField(_("国家基本药物"), default=True, db_index=True)

    class Meta:
        verbose_name = _("药品")
        verbose_name_plural = _("药品目录")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.generic_name} {self.strength}"

    @property
    def label(self) -> str:
        """通用名 剂型 规格 (包装) — how the item is named in messages and on labels."""
        return f"{self.generic_name}（{self.dosage_form} {self.strength}，{self.pack}）"


class FormularyEntry(EffectiveDated):
    """医共体用药目录 — an item an institution of ``tier`` may stock, with its stock levels."""

    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.CASCADE,
                                 related_name="formulary")
    tier = models.CharField(_("机构层级"), max_length=16, choices=Tier.choices)
    reorder_level = models.PositiveIntegerField(_("补货线"))  # below it: 低于补货线
    target_level = models.PositiveIntegerField(_("目标库存"))  # a requisition tops up to it

    class Meta:
        verbose_name = _("用药目录条目")
        verbose_name_plural = _("医共体用药目录")
        ordering = ["tier", "medicine__code"]
        constraints = [models.UniqueConstraint(fields=["medicine", "tier", "valid_from"],
                                               name="medicines_formulary_unique")]


class Supplier(EffectiveDated):
    """配送企业 — a contracted supplier (pharmaceutical distributor)."""

    code = models.CharField(_("企业编码"), max_length=32, unique=True)
    name = models.CharField(_("企业名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    licence = models.CharField(_("药品经营许可证号"), max_length=64, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("配送企业")
        verbose_name_plural = _("配送企业")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ContractPrice(EffectiveDated):
    """采购合同价 — the supplier and unit price of an item from a day (统一采购; 零差率 sells at it)."""

    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.CASCADE,
                                 related_name="prices")
    supplier = models.ForeignKey(Supplier, verbose_name=_("配送企业"), on_delete=models.PROTECT,
                                 related_name="prices")
    unit_price = models.DecimalField(_("单价"), max_digits=12, decimal_places=4)
    contract = models.CharField(_("合同编号"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("采购合同价")
        verbose_name_plural = _("采购合同价")
        ordering = ["medicine__code", "valid_from"]
        constraints = [models.UniqueConstraint(fields=["medicine", "valid_from"], name="medicines_price_unique")]


class Batch(models.Model):
    """批次 — a lot of an item with its expiry and the price it was bought at (the price it is sold at)."""

    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.PROTECT,
                                 related_name="batches")
    lot = models.CharField(_("批号"), max_length=32)
    expiry = models.DateField(_("有效期至"), db_index=True)
    unit_price = models.DecimalField(_("单价"), max_digits=12, decimal_places=4)
    manufacturer = models.CharField(_("生产企业"), max_length=200, blank=True)
    supplier = models.ForeignKey(Supplier, verbose_name=_("配送企业"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("批次")
        verbose_name_plural = _("批次")
        ordering = ["medicine_id", "expiry", "pk"]
        constraints = [models.UniqueConstraint(fields=["medicine", "lot"], name="medicines_batch_lot_unique")]

    def __str__(self) -> str:
        return f"{self.medicine} {self.lot}"


class Holding(models.Model):
    """库位 — a batch held at an institution: the row locked (``SELECT … FOR UPDATE``) while that
    stock moves, so two dispensings of the last box queue on it.

    ``quantity`` (结存) is the sum of the batch's movements there, added to in the same statement
    block as each movement is written (``services._move``) and never set by hand; the database
    refuses it below zero, a second guard behind the lock. The ledger check recomputes it."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="holdings")
    medicine = models.ForeignKey(Medicine, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("机构路径"), max_length=255, db_index=True)
    quantity = models.IntegerField(_("结存"), default=0)

    class Meta:
        verbose_name = _("库位")
        verbose_name_plural = _("库位")
        constraints = [models.UniqueConstraint(fields=["institution", "batch"], name="medicines_holding_unique"),
                       models.CheckConstraint(condition=Q(quantity__gte=0), name="medicines_holding_not_negative")]
        indexes = [models.Index(fields=["institution", "medicine"], name="medicines_holding_inst_med")]


class Requisition(models.Model):
    """请领单 — an institution asks its supplying institution (village → township centre → county)."""

    number = models.CharField(_("请领单号"), max_length=32, unique=True)
    institution = models.ForeignKey(Institution, verbose_name=_("请领机构"), on_delete=models.PROTECT,
                                    related_name="+")
    path = models.CharField(_("请领机构路径"), max_length=255, db_index=True)
    supplier = models.ForeignKey(Institution, verbose_name=_("供货机构"), on_delete=models.PROTECT,
                                 related_name="+")
    supplier_path = models.CharField(_("供货机构路径"), max_length=255, db_index=True)
    status = models.CharField(_("状态"), max_length=16, choices=RequisitionStatus.choices,
                              default=RequisitionStatus.SUBMITTED, db_index=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("请领时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    shipped_at = models.DateTimeField(_("配送时间"), null=True, blank=True)
    shipped_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    received_at = models.DateTimeField(_("收货时间"), null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        verbose_name = _("请领单")
        verbose_name_plural = _("请领单")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class PurchaseOrder(models.Model):
    """采购订单 — the county's consolidated order to one contracted supplier (统一采购)."""

    number = models.CharField(_("订单号"), max_length=32, unique=True)
    buyer = models.ForeignKey(Institution, verbose_name=_("采购机构"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("采购机构路径"), max_length=255, db_index=True)
    supplier = models.ForeignKey(Supplier, verbose_name=_("配送企业"), on_delete=models.PROTECT,
                                 related_name="orders")
    status = models.CharField(_("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT,
                              db_index=True)
    order_date = models.DateField(_("订单日期"))
    total = models.DecimalField(_("金额"), default=0, max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        verbose_name = _("采购订单")
        verbose_name_plural = _("采购订单")
        ordering = ["-order_date", "-pk"]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    """订单明细 — an item, quantity and contract price, delivered to the county or directly (直送)."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("订购数量"))
    unit_price = models.DecimalField(_("合同单价"), max_digits=12, decimal_places=4)
    deliver_to = models.ForeignKey(Institution, verbose_name=_("收货机构"), on_delete=models.PROTECT,
                                   related_name="+")
    received = models.PositiveIntegerField(_("已到货数量"), default=0)

    class Meta:
        verbose_name = _("订单明细")
        verbose_name_plural = _("订单明细")
        ordering = ["order_id", "pk"]


class RequisitionLine(models.Model):
    """请领明细 — requested, approved, shipped and received quantities of one item."""

    requisition = models.ForeignKey(Requisition, on_delete=models.CASCADE, related_name="lines")
    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("请领数量"))
    approved = models.PositiveIntegerField(_("批准数量"), null=True, blank=True)
    shipped = models.PositiveIntegerField(_("配送数量"), default=0)
    received = models.PositiveIntegerField(_("收货数量"), default=0)
    # Consolidated into the county's purchase order (and delivered directly when ``order_line.deliver_to``
    # is the requesting institution).
    order_line = models.ForeignKey(PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="requisition_lines")

    class Meta:
        verbose_name = _("请领明细")
        verbose_name_plural = _("请领明细")
        ordering = ["requisition_id", "pk"]
        constraints = [models.UniqueConstraint(fields=["requisition", "medicine"],
                                               name="medicines_requisition_item_unique")]


class Prescription(models.Model):
    """处方 — the medicines prescribed at an encounter, dispensed at the encounter's institution."""

    number = models.CharField(_("处方号"), max_length=32, unique=True)
    encounter = models.ForeignKey(Encounter, verbose_name=_("就诊记录"), on_delete=models.PROTECT,
                                  related_name="prescriptions")
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("路径"), max_length=255, db_index=True)  # the resident's village
    institution = models.ForeignKey(Institution, verbose_name=_("开方机构"), on_delete=models.PROTECT,
                                    related_name="+")
    institution_path = models.CharField(_("机构路径"), max_length=255, db_index=True)
    prescribed_on = models.DateField(_("开方日期"), db_index=True)
    prescriber = models.CharField(_("开方医生"), max_length=50, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=PrescriptionStatus.choices,
                              default=PrescriptionStatus.OPEN, db_index=True)
    amount = models.DecimalField(_("药品金额"), default=0, max_digits=14, decimal_places=2)
    essential_amount = models.DecimalField(_("基本药物金额"), default=0, max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("开方时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    dispensed_at = models.DateTimeField(_("发药时间"), null=True, blank=True)
    dispensed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        verbose_name = _("处方")
        verbose_name_plural = _("处方")
        ordering = ["-prescribed_on", "-pk"]
        indexes = [models.Index(fields=["institution", "prescribed_on"], name="medicines_rx_inst_date")]

    def __str__(self) -> str:
        return self.number


class PrescriptionLine(models.Model):
    """处方明细 — an item, how much (in its unit) and how to take it."""

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="lines")
    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("数量"))
    usage = models.CharField(_("用法用量"), max_length=100, blank=True)
    days = models.PositiveSmallIntegerField(_("天数"), null=True, blank=True)
    amount = models.DecimalField(_("金额"), default=0, max_digits=14, decimal_places=2)  # set when dispensed

    class Meta:
        verbose_name = _("处方明细")
        verbose_name_plural = _("处方明细")
        ordering = ["prescription_id", "pk"]


class StockTake(models.Model):
    """盘点单 — the batches of an institution counted; posting writes the differences as adjustments."""

    number = models.CharField(_("盘点单号"), max_length=32, unique=True)
    institution = models.ForeignKey(Institution, verbose_name=_("盘点机构"), on_delete=models.PROTECT,
                                    related_name="+")
    path = models.CharField(_("机构路径"), max_length=255, db_index=True)
    taken_on = models.DateField(_("盘点日期"))
    status = models.CharField(_("状态"), max_length=16, choices=StockTakeStatus.choices,
                              default=StockTakeStatus.OPEN)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    posted_at = models.DateTimeField(_("过账时间"), null=True, blank=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        verbose_name = _("盘点单")
        verbose_name_plural = _("盘点单")
        ordering = ["-taken_on", "-pk"]
        constraints = [models.UniqueConstraint(fields=["institution"], condition=Q(status="open"),
                                               name="medicines_one_open_stocktake")]

    def __str__(self) -> str:
        return self.number


class StockTakeLine(models.Model):
    """盘点明细 — a batch: the ledger's quantity when the take began, the count, the difference."""

    stock_take = models.ForeignKey(StockTake, on_delete=models.CASCADE, related_name="lines")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(_("账面数量"))
    counted = models.PositiveIntegerField(_("实盘数量"), null=True, blank=True)

    class Meta:
        verbose_name = _("盘点明细")
        verbose_name_plural = _("盘点明细")
        ordering = ["stock_take_id", "pk"]
        constraints = [models.UniqueConstraint(fields=["stock_take", "batch"], name="medicines_take_batch_unique")]

    @property
    def difference(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected


class Movement(models.Model):
    """库存流水 — one change of a batch's stock at an institution (signed, in the item's unit).

    Receipts, transfers in and returns are positive; transfers out, dispensing and write-offs
    negative; a stock take's adjustment either. ``amount`` = ``quantity`` × ``unit_price`` (the batch's
    price: 零差率). Exactly the document that caused it is set (order, requisition, prescription, take).
    """

    # Foreign keys the composite indexes below lead with, or nobody filters by, carry no index of their own:
    # fewer indexes to maintain on the busiest table.
    institution = models.ForeignKey(Institution, verbose_name=_("机构"), on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    path = models.CharField(_("机构路径"), max_length=255, db_index=True)
    batch = models.ForeignKey(Batch, verbose_name=_("批次"), on_delete=models.PROTECT, related_name="movements")
    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    kind = models.CharField(_("类型"), max_length=16, choices=MovementKind.choices)
    quantity = models.IntegerField(_("数量"))
    unit_price = models.DecimalField(_("单价"), max_digits=12, decimal_places=4)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    moved_on = models.DateField(_("业务日期"))
    counterpart = models.ForeignKey(Institution, verbose_name=_("对方机构"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", db_index=False)
    document = models.CharField(_("单据号"), max_length=32, blank=True, db_index=True)
    order_line = models.ForeignKey(PurchaseOrderLine, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="movements")
    requisition_line = models.ForeignKey(RequisitionLine, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="movements")
    prescription_line = models.ForeignKey(PrescriptionLine, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="movements")
    stock_take = models.ForeignKey(StockTake, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="movements")
    reason = models.CharField(_("原因"), max_length=16, choices=WriteOffReason.choices, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("记账时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_index=False)

    class Meta:
        verbose_name = _("库存流水")
        verbose_name_plural = _("库存流水")
        ordering = ["moved_on", "pk"]
        indexes = [
            # quantity as the last key: a balance (SUM per batch of an institution) is read from the index alone
            models.Index(fields=["institution", "medicine", "batch", "quantity"], name="medicines_mv_balance"),
            models.Index(fields=["institution", "moved_on"], name="medicines_mv_inst_date"),
            models.Index(fields=["kind", "moved_on"], name="medicines_mv_kind_date"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="medicines_movement_nonzero"),
            models.CheckConstraint(
                condition=(Q(kind__in=["receipt", "transfer_in", "return"], quantity__gt=0)
                           | Q(kind__in=["transfer_out", "dispense", "write_off"], quantity__lt=0)
                           | Q(kind="adjustment")),
                name="medicines_movement_sign"),
        ]


class MonthlyUse(models.Model):
    """月消耗 — what an institution dispensed of an item in a month, net of returns: the sum of its
    dispensing and return movements, kept like :attr:`Holding.quantity` (never set by hand; the
    ledger check recomputes it). The monthly consumption report reads it instead of the ledger."""

    institution = models.ForeignKey(Institution, verbose_name=_("机构"), on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    medicine = models.ForeignKey(Medicine, verbose_name=_("药品"), on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    month = models.DateField(_("月份"))  # the first day of the month
    quantity = models.IntegerField(_("消耗数量"), default=0)
    amount = models.DecimalField(_("消耗金额"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("月消耗")
        verbose_name_plural = _("月消耗")
        constraints = [models.UniqueConstraint(fields=["institution", "medicine", "month"],
                                               name="medicines_monthlyuse_unique")]
        indexes = [models.Index(fields=["month", "institution"], name="medicines_use_month")]
