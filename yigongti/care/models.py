"""Care across the tiers (诊疗): encounters with diagnoses, orders and costs; results and their
mutual recognition (检查检验结果互认).

- :class:`Encounter` — one outpatient / emergency visit or inpatient stay (门急诊 / 住院) at an
  institution of the county (or outside it: ``institution`` empty, ``outside_institution`` named),
  with :class:`Diagnosis`, :class:`EncounterCost` per category (what insurance adjudicates on) and
  :class:`Order` (tests ordered, or avoided because a recognised result was used).
- :class:`ResultItem` — the catalogue of lab and imaging items (unit, reference range, fee) and
  :class:`RecognitionRule` — which items are recognised between which institution tiers and for
  how many days, effective-dated; both loaded from ``care/fixtures/*.yaml`` by ``ygt rules load``.
- :class:`Result` — one lab value or imaging report of a resident, with the performing institution.

Person-level rows carry ``path``, the path of the resident's village, rewritten when the resident
moves or is merged (:func:`yigongti.residents.signals.follow_resident`); an encounter also carries
``institution_path`` and is visible from either.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.registry.choices import Tier
from yigongti.registry.models import Department, Institution, StaffMember
from yigongti.residents.models import Resident

from .choices import (
    AbnormalFlag,
    CostCategory,
    DischargeStatus,
    EncounterKind,
    EncounterSource,
    OrderStatus,
    ResultKind,
)


class Encounter(models.Model):
    """就诊记录 — an outpatient or emergency visit, or an inpatient stay (门急诊 / 住院)."""

    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="encounters")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    kind = models.CharField(_("就诊类型"), max_length=16, choices=EncounterKind.choices)
    institution = models.ForeignKey(Institution, verbose_name=_("就诊机构"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="encounters")
    # Out-of-county care (县外就诊): no registry institution; the name as the patient or claim gave it.
    outside_institution = models.CharField(_("县外机构名称"), max_length=200, blank=True)
    in_county = models.BooleanField(_("县域内"), default=True, db_index=True)
    # The institution's path: the encounter is also seen by the institution's own subtree (a
    # township centre sees the visit of a patient from another township that it recorded).
    institution_path = models.CharField(_("机构路径"), max_length=255, blank=True, db_index=True)
    tier = models.CharField(_("机构层级"), max_length=16, choices=Tier.choices, blank=True)  # of `institution`
    department = models.ForeignKey(Department, verbose_name=_("科室"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    clinician = models.ForeignKey(StaffMember, verbose_name=_("接诊医生"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    clinician_name = models.CharField(_("医生姓名"), max_length=50, blank=True)
    start_date = models.DateField(_("就诊/入院日期"), db_index=True)
    end_date = models.DateField(_("出院日期"), null=True, blank=True)
    discharge_status = models.CharField(_("离院方式"), max_length=16, choices=DischargeStatus.choices, blank=True)
    chief_complaint = models.CharField(_("主诉"), max_length=500, blank=True)
    procedures = models.JSONField(_("手术/操作"), default=list, blank=True)  # [{"code", "name", "date"}]
    total_cost = models.DecimalField(_("总费用"), default=0, max_digits=12, decimal_places=2)
    booked = models.BooleanField(_("预约就诊"), default=False)  # counts toward 预约诊疗率
    # The HIS's own number of the visit (门诊号/住院号 + 流水): the natural key of an import.
    source_no = models.CharField(_("HIS 流水号"), max_length=64, blank=True)
    source = models.CharField(_("来源"), max_length=16, choices=EncounterSource.choices, default=EncounterSource.UI)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("就诊记录")
        verbose_name_plural = _("就诊记录")
        ordering = ["-start_date", "-pk"]
        indexes = [
            models.Index(fields=["resident", "start_date"], name="care_enc_resident_date"),
            models.Index(fields=["institution", "start_date"], name="care_enc_inst_date"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["institution", "source_no"], condition=~Q(source_no=""),
                                    name="care_encounter_source_no_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start_date}"


class Diagnosis(models.Model):
    """诊断 — an ICD-10 diagnosis of an encounter; one primary (主要诊断) per encounter."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="diagnoses")
    code = models.CharField(_("ICD-10 编码"), max_length=16, db_index=True)
    name = models.CharField(_("诊断名称"), max_length=200, blank=True)
    is_primary = models.BooleanField(_("主要诊断"), default=False)
    position = models.PositiveSmallIntegerField(_("序号"), default=0)

    class Meta:
        verbose_name = _("诊断")
        verbose_name_plural = _("诊断")
        ordering = ["encounter_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["encounter"], condition=Q(is_primary=True),
                                    name="care_diagnosis_one_primary"),
        ]


class EncounterCost(models.Model):
    """费用明细 — the cost of an encounter in one category (insurance adjudicates on these)."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="costs")
    category = models.CharField(_("费用类别"), max_length=32, choices=CostCategory.choices)
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("费用明细")
        verbose_name_plural = _("费用明细")
        constraints = [models.UniqueConstraint(fields=["encounter", "category"], name="care_cost_category_unique")]


class ResultItem(models.Model):
    """检验检查项目 — one lab or imaging item of the catalogue (``care/fixtures/result_items.yaml``)."""

    code = models.CharField(_("项目代码"), max_length=32, unique=True)
    name = models.CharField(_("项目名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=16, choices=ResultKind.choices)
    unit = models.CharField(_("单位"), max_length=32, blank=True)  # imaging: empty
    # Other spellings of the unit a HIS may send that mean the same (mmol/l for mmol/L).
    unit_aliases = models.JSONField(_("单位别名"), default=list, blank=True)
    ref_low = models.DecimalField(_("参考下限"), max_digits=12, decimal_places=4, null=True, blank=True)
    ref_high = models.DecimalField(_("参考上限"), max_digits=12, decimal_places=4, null=True, blank=True)
    price = models.DecimalField(_("收费标准"), max_digits=12, decimal_places=2)  # the fee a recognised result saves
    loinc = models.CharField(_("LOINC"), max_length=16, blank=True)
    source = models.TextField(_("依据"), blank=True)

    class Meta:
        verbose_name = _("检验检查项目")
        verbose_name_plural = _("检验检查项目")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class RecognitionRule(models.Model):
    """互认规则 — a result of ``item`` done at an institution of a ``performed_tiers`` tier is
    recognised by an ordering institution of an ``ordering_tiers`` tier for ``valid_days`` days
    after it was reported, from ``effective_from`` (inclusive) to ``effective_to`` (exclusive)."""

    item = models.ForeignKey(ResultItem, verbose_name=_("项目"), on_delete=models.CASCADE,
                             related_name="recognition_rules")
    performed_tiers = models.JSONField(_("出具机构层级"))  # ["county", "township"]
    ordering_tiers = models.JSONField(_("互认机构层级"))  # ["county", "township", "village"]
    valid_days = models.PositiveIntegerField(_("互认有效天数"))
    source = models.TextField(_("依据"))
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("互认规则")
        verbose_name_plural = _("互认规则")
        ordering = ["item_id", "effective_from"]


class Result(models.Model):
    """检验检查结果 — one lab value or imaging report of a resident (互认 reads these)."""

    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="results")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    item = models.ForeignKey(ResultItem, verbose_name=_("项目"), on_delete=models.PROTECT, related_name="results")
    encounter = models.ForeignKey(Encounter, verbose_name=_("就诊记录"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="results")
    value = models.DecimalField(_("结果值"), max_digits=12, decimal_places=4, null=True, blank=True)
    value_text = models.CharField(_("结果（文字）"), max_length=200, blank=True)
    unit = models.CharField(_("单位"), max_length=32, blank=True)
    ref_range = models.CharField(_("参考范围"), max_length=64, blank=True)
    flag = models.CharField(_("异常标识"), max_length=1, choices=AbnormalFlag.choices, default=AbnormalFlag.NORMAL)
    report = models.TextField(_("报告"), blank=True)  # imaging: findings and impression
    performed_by = models.ForeignKey(Institution, verbose_name=_("出具机构"), on_delete=models.PROTECT,
                                     related_name="+")
    performer_tier = models.CharField(_("出具机构层级"), max_length=16, choices=Tier.choices)
    reported_at = models.DateTimeField(_("报告时间"))
    source_no = models.CharField(_("报告单号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("检验检查结果")
        verbose_name_plural = _("检验检查结果")
        ordering = ["-reported_at"]
        indexes = [
            # The recognition check: one patient, one item, newest first.
            models.Index(fields=["resident", "item", "-reported_at"], name="care_result_check"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["performed_by", "source_no"], condition=~Q(source_no=""),
                                    name="care_result_source_no_unique"),
        ]


class Order(models.Model):
    """检查检验申请 — a test ordered at an encounter, or avoided because a recognised result of
    another institution was used instead (``status`` 互认免检, ``recognised_result`` set, ``saved``
    the fee not charged). Tests avoided and cost saved per institution and month count these."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="orders")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey(Institution, verbose_name=_("开单机构"), on_delete=models.PROTECT,
                                    related_name="+")
    item = models.ForeignKey(ResultItem, verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.ORDERED)
    recognised_result = models.ForeignKey(Result, verbose_name=_("互认结果"), null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    saved = models.DecimalField(_("节省费用"), default=0, max_digits=12, decimal_places=2)
    ordered_on = models.DateField(_("开单日期"), db_index=True)
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查检验申请")
        verbose_name_plural = _("检查检验申请")
        ordering = ["-ordered_on", "-pk"]
        indexes = [models.Index(fields=["institution", "ordered_on"], name="care_order_inst_date")]
