"""Resident medical insurance (城乡居民基本医疗保险, formerly 新农合): policies, enrolment, settlement.

- :class:`PolicyVersion` — a policy document (``fixtures/policy-*.yaml``, kind ``insurance.policy``)
  stored by ``ygt rules load``: per county (or ``"*"``), effective-dated, never overlapping.
- :class:`HouseholdEnrolment` (参保登记) — one household paying for one year, and
  :class:`Coverage` — each member covered that year, with the contribution, the fiscal subsidy,
  the exemption (资助参保) of an assistance category (特困/五保, 低保, 脱贫人口).
- :class:`Accumulator` — a person's year-to-date amounts (what the funds paid, the bases of the
  大病 and aid deductibles); the row a settlement locks, so two institutions settling the same
  person at once are serialised and no cap is crossed.
- :class:`Settlement` — a direct settlement (即时结算) of one encounter: what each layer paid, what
  the patient paid, the explanation line by line; or a reversal (冲销) of one, with the amounts
  negated. At most one live settlement per encounter.
- :class:`LedgerEntry` — double entry: every settlement and every enrolment posts entries that sum
  to zero, so the sum over every account is always zero (:func:`~.services.ledger_check`).

Person-level rows carry ``path`` (the resident's village path, kept current by
:func:`yigongti.residents.signals.follow_resident`); a settlement also carries
``institution_path`` and is visible from either.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.care.models import Encounter
from yigongti.registry.models import Institution
from yigongti.residents.models import Household, Resident


def _money(label: Any) -> models.DecimalField:
    return models.DecimalField(label, max_digits=14, decimal_places=2, default=0)


class AidCategory(models.TextChoices):
    """医疗救助对象类别 (资助参保 and the 医疗救助 layer)."""

    NONE = "", _("普通参保人")
    WUBAO = "wubao", _("特困/五保")
    DIBAO = "dibao", _("低保")
    POVERTY = "poverty", _("脱贫人口")


class SettlementKind(models.TextChoices):
    SETTLEMENT = "settlement", _("结算")
    REVERSAL = "reversal", _("冲销")


class SettlementStatus(models.TextChoices):
    SETTLED = "settled", _("已结算")
    REVERSED = "reversed", _("已冲销")
    REVERSAL = "reversal", _("冲销记录")


class Account(models.TextChoices):
    """Ledger accounts. Funds (basic, 大病, 救助) receive income and pay claims; the others are
    where money comes from or goes to."""

    BASIC = "basic", _("基本医保统筹基金")
    CATASTROPHIC = "catastrophic", _("大病保险")
    AID = "aid", _("医疗救助")
    CONTRIBUTIONS = "contributions", _("个人缴费")
    SUBSIDY = "subsidy", _("财政补助")
    PATIENT = "patient", _("个人自付")
    INSTITUTION = "institution", _("医疗机构")


class EntrySource(models.TextChoices):
    ENROLMENT = "enrolment", _("参保缴费")
    SETTLEMENT = "settlement", _("结算")
    FUNDING = "funding", _("基金划拨")


class PolicyVersion(models.Model):
    """医保待遇政策 — one policy document, in force for a county (or ``*``) from a date."""

    code = models.CharField(_("编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    county = models.CharField(_("县级区划代码"), max_length=6, db_index=True)  # "*": any county
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)
    source = models.TextField(_("政策依据"))
    document = models.JSONField(_("政策内容"))  # the YAML mapping, dates as ISO text
    loaded_at = models.DateTimeField(_("加载时间"), auto_now=True)

    class Meta:
        verbose_name = _("医保待遇政策")
        verbose_name_plural = _("医保待遇政策")
        ordering = ["county", "effective_from"]

    def __str__(self) -> str:
        return self.name


class HouseholdEnrolment(models.Model):
    """参保登记 — a household's enrolment and payment for one insurance year."""

    household = models.ForeignKey(Household, verbose_name=_("家庭户"), on_delete=models.PROTECT,
                                  related_name="insurance_enrolments")
    year = models.PositiveSmallIntegerField(_("参保年度"))
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    policy = models.CharField(_("缴费政策"), max_length=64)
    paid_on = models.DateField(_("缴费日期"))
    receipt_no = models.CharField(_("缴费凭证号"), max_length=64, blank=True)
    members = models.PositiveSmallIntegerField(_("参保人数"), default=0)
    contribution = _money(_("个人缴费合计"))  # paid by the household
    exempted = _money(_("资助参保合计"))  # individual contributions paid by medical aid
    subsidy = _money(_("财政补助合计"))
    collected_at = models.ForeignKey(Institution, verbose_name=_("收缴机构"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("参保登记")
        verbose_name_plural = _("参保登记")
        ordering = ["-year", "household"]
        constraints = [models.UniqueConstraint(fields=["household", "year"], name="ins_household_year")]

    def __str__(self) -> str:
        return f"{self.household} {self.year}"


class Coverage(models.Model):
    """参保人员 — one resident covered for one year (the household paid, or medical aid did)."""

    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="insurance_coverages")
    enrolment = models.ForeignKey(HouseholdEnrolment, verbose_name=_("参保登记"), on_delete=models.PROTECT,
                                  related_name="coverages")
    year = models.PositiveSmallIntegerField(_("参保年度"))
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    category = models.CharField(_("救助类别"), max_length=16, choices=AidCategory.choices, blank=True, default="")
    contribution = _money(_("个人缴费"))
    exempted = _money(_("资助参保"))
    subsidy = _money(_("财政补助"))
    valid_from = models.DateField(_("待遇开始"))
    valid_to = models.DateField(_("待遇截止（不含）"))

    class Meta:
        verbose_name = _("参保人员")
        verbose_name_plural = _("参保人员")
        ordering = ["-year", "resident"]
        constraints = [models.UniqueConstraint(fields=["resident", "year"], name="ins_coverage_resident_year")]

    def __str__(self) -> str:
        return f"{self.resident} {self.year}"


class Accumulator(models.Model):
    """年度累计 — a person's year-to-date amounts; locked by every settlement of the person."""

    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="insurance_accumulators")
    year = models.PositiveSmallIntegerField(_("年度"))
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    outpatient_paid = _money(_("门诊统筹已支付"))
    basic_paid = _money(_("住院统筹已支付"))
    catastrophic_base = _money(_("大病保险累计合规自付"))
    catastrophic_paid = _money(_("大病保险已支付"))
    aid_base = _money(_("医疗救助累计自付"))
    aid_paid = _money(_("医疗救助已支付"))
    settlements = models.PositiveIntegerField(_("结算次数"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("年度累计")
        verbose_name_plural = _("年度累计")
        constraints = [models.UniqueConstraint(fields=["resident", "year"], name="ins_accumulator_resident_year")]

    def __str__(self) -> str:
        return f"{self.resident} {self.year}"


class Settlement(models.Model):
    """医保结算单 — one direct settlement of an encounter, or the reversal (冲销) of one."""

    number = models.CharField(_("结算单号"), max_length=32, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=SettlementKind.choices,
                            default=SettlementKind.SETTLEMENT)
    status = models.CharField(_("状态"), max_length=16, choices=SettlementStatus.choices,
                              default=SettlementStatus.SETTLED, db_index=True)
    encounter = models.ForeignKey(Encounter, verbose_name=_("就诊记录"), on_delete=models.PROTECT,
                                  related_name="settlements")
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="insurance_settlements")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    institution = models.ForeignKey(Institution, verbose_name=_("结算机构"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    institution_path = models.CharField(_("机构路径"), max_length=255, blank=True, db_index=True)
    in_county = models.BooleanField(_("县域内"), default=True)
    encounter_kind = models.CharField(_("就诊类型"), max_length=16)  # outpatient | inpatient (as adjudicated)
    level = models.CharField(_("机构级别"), max_length=16)
    year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    service_date = models.DateField(_("出院/就诊日期"), db_index=True)
    policy = models.CharField(_("适用政策"), max_length=64)
    covered = models.BooleanField(_("参保"), default=True)
    reason = models.CharField(_("未参保原因"), max_length=200, blank=True)
    aid_category = models.CharField(_("救助类别"), max_length=16, choices=AidCategory.choices, blank=True)
    total = _money(_("医疗总费用"))
    eligible = _money(_("合规费用"))
    outside_catalogue = _money(_("目录外自付"))
    category_share = _money(_("先行自付"))
    excluded = _money(_("不予支付"))
    basic = _money(_("统筹基金支付"))
    catastrophic = _money(_("大病保险支付"))
    aid = _money(_("医疗救助支付"))
    patient = _money(_("个人负担"))
    lines = models.JSONField(_("结算说明"), default=list)  # [{"rule", "zh", "en", "amount"}]
    costs = models.JSONField(_("费用明细"), default=dict)  # {"costs": {category: amount}, "outside_catalogue": {…}}
    ytd_before = models.JSONField(_("结算前累计"), default=dict)
    ytd_after = models.JSONField(_("结算后累计"), default=dict)
    idempotency_key = models.CharField(_("幂等键"), max_length=100, unique=True)
    reverses = models.OneToOneField("self", verbose_name=_("冲销的结算单"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="reversal")
    note = models.CharField(_("说明"), max_length=200, blank=True)  # the reason of a reversal
    settled_at = models.DateTimeField(_("结算时间"), db_index=True)
    settled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("医保结算单")
        verbose_name_plural = _("医保结算单")
        ordering = ["-settled_at", "-pk"]
        constraints = [
            # At most one live settlement per encounter (a reversed one may be followed by a new one).
            models.UniqueConstraint(fields=["encounter"], condition=Q(status="settled"),
                                    name="ins_one_live_settlement"),
        ]
        indexes = [models.Index(fields=["resident", "year"], name="ins_settlement_resident_year")]

    def __str__(self) -> str:
        return self.number

    @property
    def fund(self) -> Decimal:
        """What the funds paid together (basic + 大病 + 救助)."""
        return Decimal(self.basic) + Decimal(self.catastrophic) + Decimal(self.aid)


class LedgerEntry(models.Model):
    """记账分录 — one amount on one account; the entries of one posting sum to zero."""

    posting = models.CharField(_("凭证号"), max_length=40, db_index=True)
    source = models.CharField(_("来源"), max_length=16, choices=EntrySource.choices)
    account = models.CharField(_("账户"), max_length=16, choices=Account.choices, db_index=True)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)  # + into the account, − out of it
    year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    on = models.DateField(_("记账日期"), db_index=True)
    institution = models.ForeignKey(Institution, verbose_name=_("医疗机构"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    settlement = models.ForeignKey(Settlement, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="entries")
    enrolment = models.ForeignKey(HouseholdEnrolment, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="entries")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("记账分录")
        verbose_name_plural = _("记账分录")
        ordering = ["pk"]
