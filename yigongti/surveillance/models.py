"""Notifiable diseases and early warning (传染病报告与预警, DOMAIN.md §4).

- :class:`Disease` — the catalogue of notifiable diseases as data (``surveillance/fixtures/
  diseases.yaml``, ``ygt rules load``): class 甲/乙/丙, ICD-10 codes, the reporting deadline, and how
  the early warning treats it (single case, or methods with their parameters).
- :class:`CaseCard` — one 传染病报告卡: the patient (a resident or not), disease, 病例分类, onset and
  diagnosis, the reporting clinician and institution, the address at onset, the deadline clock
  (diagnosis → report) and the review by the township and the county CDC. :class:`CardEvent` is its
  history (every review, correction, revision and deletion, with who and why).
- :class:`Signal` — one early-warning signal for a township × disease × day × method, with the
  observed and expected counts and the threshold; the county CDC verifies, dismisses or opens an
  :class:`Outbreak` investigation that links cases.

A card carries ``path`` (the division of the address at onset; "" outside the county) and
``institution_path`` (the reporting institution): both sides see it through
:func:`yigongti.core.scope.visible`. A signal carries the township's ``path``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.care.models import Encounter
from yigongti.registry.models import Division, Institution, StaffMember
from yigongti.residents.models import Resident

from .choices import CardAction, CardStatus, DiagnosisType, DiseaseClass, Method, OutbreakStatus, SignalStatus


class Disease(models.Model):
    """法定传染病病种 — one notifiable disease of the catalogue, effective-dated and cited.

    ``icd10`` holds code prefixes (``B08.4`` matches ``B08.4`` and ``B08.40``; ``A15`` every
    A15.x). ``deadline_hours`` is the reporting deadline from diagnosis (2 for 甲类 and 乙类 managed
    as 甲类, 24 otherwise). ``single_case`` diseases raise a signal on every case; the others run
    ``methods`` with ``params`` (``percentile`` P, ``alpha``, ``min_sigma``, ``min_cases`` …).
    ``episode_days``: a second card for the same patient and disease within so many days of the
    first diagnosis is a duplicate (重卡).
    """

    code = models.CharField(_("病种代码"), max_length=32, unique=True)
    name = models.CharField(_("病名"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100)
    disease_class = models.CharField(_("分类"), max_length=1, choices=DiseaseClass.choices)
    managed_as_a = models.BooleanField(_("按甲类管理"), default=False)
    icd10 = models.JSONField(_("ICD-10 编码"))  # ["B08.4"]
    deadline_hours = models.PositiveSmallIntegerField(_("报告时限（小时）"))
    single_case = models.BooleanField(_("单病例预警"), default=False)
    methods = models.JSONField(_("预警方法"), default=list, blank=True)  # ["percentile", "c3"]
    params = models.JSONField(_("预警参数"), default=dict, blank=True)  # {"percentile": 80, "min_cases": 2}
    episode_days = models.PositiveIntegerField(_("同一病程天数（重卡判定）"), default=30)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)
    source = models.TextField(_("依据"))
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("法定传染病病种")
        verbose_name_plural = _("法定传染病病种")
        ordering = ["disease_class", "position", "code"]

    def __str__(self) -> str:
        return self.name

    def matches(self, icd10_code: str) -> bool:
        """Whether ``icd10_code`` is one of this disease's codes (by prefix, case and dot blind)."""
        code = icd10_code.strip().upper()
        return any(code.startswith(str(prefix).upper()) for prefix in self.icd10)


class Outbreak(models.Model):
    """暴发调查 — an investigation opened from a signal, linking the cases it concerns."""

    code = models.CharField(_("调查编号"), max_length=32, unique=True)
    disease = models.ForeignKey(Disease, verbose_name=_("病种"), on_delete=models.PROTECT, related_name="+")
    township = models.ForeignKey(Division, verbose_name=_("乡镇"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("路径"), max_length=255, db_index=True)  # the township's
    title = models.CharField(_("标题"), max_length=200)
    status = models.CharField(_("状态"), max_length=16, choices=OutbreakStatus.choices, default=OutbreakStatus.OPEN)
    summary = models.TextField(_("调查记录"), blank=True)
    opened_at = models.DateTimeField(_("立案时间"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("暴发调查")
        verbose_name_plural = _("暴发调查")
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class CaseCard(models.Model):
    """传染病报告卡 — one reported case of a notifiable disease."""

    card_no = models.CharField(_("报告卡编号"), max_length=32, unique=True)
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="case_cards")
    patient_name = models.CharField(_("患者姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    id_number = models.CharField(_("有效证件号"), max_length=18, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    # 现住址 at onset: the division (village, or township) when it lies in the county, and the text.
    division = models.ForeignKey(Division, verbose_name=_("现住址（区划）"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    township = models.ForeignKey(Division, verbose_name=_("现住址所在乡镇"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("现住址（详细）"), max_length=255, blank=True)
    path = models.CharField(_("路径"), max_length=255, db_index=True, blank=True)
    disease = models.ForeignKey(Disease, verbose_name=_("病种"), on_delete=models.PROTECT, related_name="cards")
    icd10 = models.CharField(_("ICD-10 编码"), max_length=16, blank=True)
    diagnosis_type = models.CharField(_("病例分类"), max_length=16, choices=DiagnosisType.choices)
    onset_date = models.DateField(_("发病日期"))
    diagnosed_at = models.DateTimeField(_("诊断时间"))
    reported_at = models.DateTimeField(_("报告时间"), db_index=True)
    deadline_at = models.DateTimeField(_("报告时限"))
    on_time = models.BooleanField(_("及时报告"))
    institution = models.ForeignKey(Institution, verbose_name=_("报告单位"), on_delete=models.PROTECT,
                                    related_name="+")
    institution_path = models.CharField(_("报告单位路径"), max_length=255, db_index=True)
    clinician = models.ForeignKey(StaffMember, verbose_name=_("报告医生"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    clinician_name = models.CharField(_("报告医生姓名"), max_length=50, blank=True)
    encounter = models.ForeignKey(Encounter, verbose_name=_("就诊记录"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("审核状态"), max_length=20, choices=CardStatus.choices, default=CardStatus.REPORTED,
                              db_index=True)
    return_reason = models.CharField(_("退回原因"), max_length=500, blank=True)
    delete_reason = models.CharField(_("删除原因"), max_length=500, blank=True)
    duplicate_of = models.ForeignKey("self", verbose_name=_("重复于"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    outbreak = models.ForeignKey(Outbreak, verbose_name=_("暴发调查"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="cases")
    note = models.TextField(_("备注"), blank=True)
    township_checked_at = models.DateTimeField(_("乡镇初审时间"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("县疾控审核时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("传染病报告卡")
        verbose_name_plural = _("传染病报告卡")
        ordering = ["-reported_at", "-pk"]
        indexes = [
            # The early warning counts by township × disease × report day.
            models.Index(fields=["township", "disease", "reported_at"], name="surv_card_alert"),
            models.Index(fields=["resident", "disease"], name="surv_card_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.card_no} {self.patient_name}"

    @property
    def delay_hours(self) -> float:
        """Hours from diagnosis to report (the deadline clock)."""
        return (self.reported_at - self.diagnosed_at).total_seconds() / 3600


class CardEvent(models.Model):
    """报告卡操作记录 — one step of a card's life: who, when, what changed and why."""

    card = models.ForeignKey(CaseCard, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=20, choices=CardAction.choices)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    note = models.CharField(_("说明"), max_length=500, blank=True)
    changes = models.JSONField(_("变更"), default=dict, blank=True)  # {"field": [before, after]}

    class Meta:
        verbose_name = _("报告卡操作记录")
        verbose_name_plural = _("报告卡操作记录")
        ordering = ["card_id", "at", "pk"]


class Signal(models.Model):
    """预警信号 — the early warning found more cases than expected (or a single-case disease) in a
    township on a day. ``observed`` is the count the method looked at (the last 7 days for the
    moving percentile, the day for EARS and CUSUM), ``expected`` its baseline, ``threshold`` the
    count above which the method alarms."""

    township = models.ForeignKey(Division, verbose_name=_("乡镇"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("路径"), max_length=255, db_index=True)  # the township's
    disease = models.ForeignKey(Disease, verbose_name=_("病种"), on_delete=models.PROTECT, related_name="signals")
    date = models.DateField(_("预警日期"), db_index=True)
    method = models.CharField(_("预警方法"), max_length=16, choices=Method.choices)
    observed = models.FloatField(_("观察值"))
    expected = models.FloatField(_("期望值"))
    threshold = models.FloatField(_("预警阈值"))
    window_start = models.DateField(_("观察期开始"))
    status = models.CharField(_("状态"), max_length=16, choices=SignalStatus.choices, default=SignalStatus.NEW,
                              db_index=True)
    note = models.TextField(_("核实记录"), blank=True)
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    outbreak = models.ForeignKey(Outbreak, verbose_name=_("暴发调查"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="signals")
    cases = models.ManyToManyField(CaseCard, verbose_name=_("相关病例"), blank=True, related_name="signals")
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("预警信号")
        verbose_name_plural = _("预警信号")
        ordering = ["-date", "township_id", "disease_id"]
        constraints = [
            # ``ygt alerts --date D`` run twice writes each signal once.
            models.UniqueConstraint(fields=["township", "disease", "date", "method"], name="surv_signal_once"),
            models.CheckConstraint(condition=Q(observed__gte=0), name="surv_signal_observed_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.township} {self.disease} ({self.method})"


__all__ = ["CardAction", "CardEvent", "CaseCard", "Disease", "Method", "Outbreak", "Signal", "SignalStatus"]
