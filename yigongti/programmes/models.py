"""Public-health programmes (国家基本公共卫生服务项目) as data, enrolments, visit plans and visits.

- :class:`Programme` / :class:`ProgrammeVersion` — a programme and its effective-dated definition
  (eligibility, visit plan, forms, classification rules) loaded from ``programmes/fixtures/*.yaml``
  by ``ygt rules load``; the definition is the YAML document, parsed and checked by
  :mod:`yigongti.programmes.engine.spec` before it is stored.
- :class:`Enrolment` — a resident under a programme's management (纳入管理 … 结案).
- :class:`ScheduledVisit` — the pending part of an enrolment's plan (what the engine says is still
  to be done), rewritten by the plan engine after every change; the worklists read it.
- :class:`Visit` — a service received (随访 / 体检 / 接种 …) with its typed measurements.

Person-level rows (enrolments, scheduled visits, visits) carry ``path``, the path of the
resident's village, rewritten when the resident moves (``residents.signals.resident_moved``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.registry.models import Institution, StaffMember
from yigongti.residents.models import Resident

from .choices import Adherence, CloseReason, EnrolmentHow, EnrolmentStatus, VisitSource


class Programme(models.Model):
    """公共卫生服务项目 — one programme of the national basic public health service."""

    code = models.CharField(_("项目代码"), max_length=32, unique=True)
    name = models.CharField(_("项目名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("公共卫生服务项目")
        verbose_name_plural = _("公共卫生服务项目")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class ProgrammeVersion(models.Model):
    """项目规则版本 — a programme's definition valid from ``effective_from`` (to ``effective_to``)."""

    programme = models.ForeignKey(Programme, verbose_name=_("项目"), on_delete=models.CASCADE,
                                  related_name="versions")
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)
    source = models.TextField(_("依据"))
    definition = models.JSONField(_("规则定义"))  # the YAML document, as loaded
    digest = models.CharField(_("摘要"), max_length=64)  # sha256 of the canonical JSON: detects changes
    loaded_at = models.DateTimeField(_("载入时间"), auto_now=True)

    class Meta:
        verbose_name = _("项目规则版本")
        verbose_name_plural = _("项目规则版本")
        ordering = ["programme", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["programme", "effective_from"],
                                               name="programme_version_from_unique")]

    def __str__(self) -> str:
        return f"{self.programme.code} {self.effective_from}"


class Enrolment(models.Model):
    """纳入管理 — a resident under one programme, from enrolment to closing (结案)."""

    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="enrolments")
    programme = models.ForeignKey(Programme, verbose_name=_("项目"), on_delete=models.PROTECT,
                                  related_name="enrolments")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    # The programme's anchor: birth date (child, TCM, immunisation), last menstrual period
    # (maternal), diagnosis / notification / enrolment date (the others).
    anchor_date = models.DateField(_("起算日期"))
    enrolled_on = models.DateField(_("纳入日期"))
    how = models.CharField(_("纳入方式"), max_length=8, choices=EnrolmentHow.choices)
    diagnosis_code = models.CharField(_("诊断编码(ICD-10)"), max_length=16, blank=True)
    # Variant choices of a programme, e.g. {"JE": "JE-L", "HepA": "HepA-I"} for immunisation.
    variant = models.JSONField(_("方案选择"), default=dict, blank=True)
    status = models.CharField(_("管理状态"), max_length=8, choices=EnrolmentStatus.choices,
                              default=EnrolmentStatus.ACTIVE)
    closed_on = models.DateField(_("结案日期"), null=True, blank=True)
    close_reason = models.CharField(_("结案原因"), max_length=16, choices=CloseReason.choices, blank=True)
    close_note = models.CharField(_("结案说明"), max_length=200, blank=True)
    # Kept by the plan engine after each change (denormalised for the worklists and the indicators).
    classification = models.CharField(_("最近分类"), max_length=32, blank=True)
    refer = models.BooleanField(_("需转诊"), default=False)
    last_visit_on = models.DateField(_("最近服务日期"), null=True, blank=True)
    next_due = models.DateField(_("下次应服务日期"), null=True, blank=True)
    planned_at = models.DateField(_("计划生成日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("项目管理对象")
        verbose_name_plural = _("项目管理对象")
        ordering = ["programme__sort_order", "-enrolled_on"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "programme"], condition=Q(status="active"),
                                    name="enrolment_one_active"),
        ]
        # varchar_pattern_ops: PostgreSQL serves the subtree filter (``path LIKE '…/%'``) from the
        # index whatever the database collation (ignored on SQLite).
        indexes = [models.Index(fields=["path", "programme", "status"], name="enrolment_path_prog",
                                opclasses=["varchar_pattern_ops", "int8_ops", "varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.programme_id}:{self.resident_id}"


class ScheduledVisit(models.Model):
    """计划服务 — one pending visit or dose of an enrolment's plan, as the engine computed it.

    Only items not yet done are stored; the plan engine deletes and rewrites an enrolment's rows
    whenever its inputs change. ``catch_up`` marks a dose moved by the catch-up rules (补种).
    """

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="scheduled")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(_("路径"), max_length=255)
    item = models.CharField(_("服务项"), max_length=32)
    due = models.DateField(_("应服务日期"))
    window_start = models.DateField(_("窗口开始"))
    window_end = models.DateField(_("窗口结束"))
    catch_up = models.BooleanField(_("补种"), default=False)
    refer = models.BooleanField(_("转诊后随访"), default=False)

    class Meta:
        verbose_name = _("计划服务")
        verbose_name_plural = _("计划服务")
        ordering = ["due", "item"]
        indexes = [
            models.Index(fields=["path", "window_start"], name="scheduled_path_start",
                         opclasses=["varchar_pattern_ops", "date_ops"]),
            models.Index(fields=["enrolment", "due"], name="scheduled_enrolment_due"),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.due}"


class Visit(models.Model):
    """服务记录 — one service received under an enrolment: a follow-up, check, antenatal visit, dose …

    Measurements are typed columns (no EAV); the few programme-specific fields without a column
    live in ``data`` under their form field code. ``(enrolment, item, visit_date)`` is unique, so
    a submission repeated by mistake is recognised and returns the first record; ``idempotency_key``
    does the same for API clients that send one.
    """

    enrolment = models.ForeignKey(Enrolment, verbose_name=_("管理记录"), on_delete=models.PROTECT,
                                  related_name="visits")
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="visits")
    programme = models.ForeignKey(Programme, verbose_name=_("项目"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    item = models.CharField(_("服务项"), max_length=32)
    visit_date = models.DateField(_("服务日期"))
    institution = models.ForeignKey(Institution, verbose_name=_("服务机构"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffMember, verbose_name=_("服务人员"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    # Measurements (体征与检查)
    sbp = models.PositiveSmallIntegerField(_("收缩压(mmHg)"), null=True, blank=True)
    dbp = models.PositiveSmallIntegerField(_("舒张压(mmHg)"), null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(_("心率(次/分)"), null=True, blank=True)
    fpg = models.DecimalField(_("空腹血糖(mmol/L)"), max_digits=4, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField(_("体重(kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(_("身高(cm)"), max_digits=4, decimal_places=1, null=True, blank=True)
    bmi = models.DecimalField(_("体质指数"), max_digits=4, decimal_places=1, null=True, blank=True)
    waist_cm = models.DecimalField(_("腰围(cm)"), max_digits=4, decimal_places=1, null=True, blank=True)
    hb = models.PositiveSmallIntegerField(_("血红蛋白(g/L)"), null=True, blank=True)
    adherence = models.CharField(_("服药依从性"), max_length=16, choices=Adherence.choices, blank=True)
    symptoms = models.JSONField(_("症状"), default=list, blank=True)  # form choice codes
    danger_signs = models.JSONField(_("危险征象"), default=list, blank=True)  # form choice codes
    risk_grade = models.PositiveSmallIntegerField(_("危险性评估(0-5级)"), null=True, blank=True)
    lot_no = models.CharField(_("疫苗批号"), max_length=32, blank=True)
    data = models.JSONField(_("其他项目"), default=dict, blank=True)
    # What the engine concluded (分类结果)
    classification = models.CharField(_("分类"), max_length=32, blank=True)
    refer = models.BooleanField(_("转诊"), default=False)
    next_due = models.DateField(_("下次随访日期"), null=True, blank=True)
    flags = models.JSONField(_("提示"), default=list, blank=True)  # e.g. ["before_min_age"]
    note = models.CharField(_("备注"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=VisitSource.choices, default=VisitSource.WEB)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, null=True, blank=True, unique=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("服务记录")
        verbose_name_plural = _("服务记录")
        ordering = ["-visit_date", "-pk"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "item", "visit_date"],
                                               name="visit_once_per_day")]
        indexes = [models.Index(fields=["programme", "visit_date"], name="visit_programme_date")]

    def __str__(self) -> str:
        return f"{self.item} {self.visit_date}"


class CarePlan(models.Model):
    """照护计划 — a follow-up asked for from outside the programme's own schedule: a down-referral
    (下转) sends the patient back with "follow up within N days". The plan engine treats it like a
    classification on ``issued_on``: the next follow-up falls due within ``follow_up_days``."""

    enrolment = models.ForeignKey(Enrolment, verbose_name=_("管理记录"), on_delete=models.PROTECT,
                                  related_name="care_plans")
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    issued_on = models.DateField(_("下达日期"))
    follow_up_days = models.PositiveSmallIntegerField(_("随访时限（天）"))
    instructions = models.TextField(_("照护要点"), blank=True)
    source = models.CharField(_("来源"), max_length=64, blank=True)  # e.g. "referral:42"
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("照护计划")
        verbose_name_plural = _("照护计划")
        ordering = ["enrolment_id", "issued_on"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "source"], condition=~Q(source=""),
                                               name="careplan_once_per_source")]
