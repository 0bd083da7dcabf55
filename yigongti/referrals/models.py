"""Two-way referral (双向转诊), teleconsultation (远程会诊) and booked slots (预约号源).

- :class:`ReferralRoute` / :class:`ResponseDeadline` — which institutions take which kinds of
  referral from which tier, and how long the receiving side has to answer by urgency; rules as
  data (``referrals/fixtures/*.yaml``, ``ygt rules load``).
- :class:`Referral` — one referral, up or down, through 申请 → 应答 (接收/拒绝) → 到诊 → 完成 with
  feedback; a down-referral carries a care plan (programme, follow-up within N days) that enrols
  or re-plans the patient in ``programmes`` (through :data:`yigongti.care.signals.care_plan_issued`).
  :class:`ReferralEvent` is its history, one row per transition.
- :class:`Slot` / :class:`Booking` — the county hospital's published slots per department and the
  bookings on them; ``Slot.booked`` only moves by a conditional UPDATE (never past ``capacity``).
- :class:`Teleconsultation` / :class:`ConsultAttachment` — a question to a county specialist about a
  patient, its attachments and the answer.

Person-level rows carry ``path``, the path of the resident's village (rewritten when the resident
moves or is merged); referrals and consultations also carry the paths of the institutions on both
sides, so each side's desk sees them (:func:`yigongti.core.scope.visible` over several fields).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.care.models import Encounter, Result
from yigongti.registry.models import Department, Institution
from yigongti.residents.models import Resident

from .choices import BookingStatus, ConsultStatus, Direction, ReferralKind, ReferralStatus, Urgency


class ReferralRoute(models.Model):
    """转诊路径 — institutions of ``to_types`` take referrals of ``kinds`` in ``direction`` from an
    institution of a ``from_tiers`` tier (effective-dated, cited)."""

    code = models.CharField(_("规则代码"), max_length=64, unique=True)
    direction = models.CharField(_("方向"), max_length=8, choices=Direction.choices)
    from_tiers = models.JSONField(_("转出机构层级"))  # ["village", "township"]
    to_types = models.JSONField(_("接收机构类型"))  # ["county_hospital", "tcm_hospital"]
    kinds = models.JSONField(_("转诊类别"))  # ["outpatient", "inpatient", …]
    source = models.TextField(_("依据"))
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("转诊路径")
        verbose_name_plural = _("转诊路径")
        ordering = ["direction", "code"]


class ResponseDeadline(models.Model):
    """应答时限 — the receiving institution answers a referral of ``urgency`` within
    ``respond_hours``; unanswered after ``escalate_hours`` it goes to the 医共体 referral centre."""

    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices)
    respond_hours = models.PositiveIntegerField(_("应答时限（小时）"))
    escalate_hours = models.PositiveIntegerField(_("升级时限（小时）"))
    source = models.TextField(_("依据"))
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("应答时限")
        verbose_name_plural = _("应答时限")
        constraints = [models.UniqueConstraint(fields=["urgency", "effective_from"], name="deadline_urgency_from")]


class Slot(models.Model):
    """预约号源 — ``capacity`` places in a department on a date and time band."""

    institution = models.ForeignKey(Institution, verbose_name=_("机构"), on_delete=models.PROTECT,
                                    related_name="slots")
    department = models.ForeignKey(Department, verbose_name=_("科室"), on_delete=models.PROTECT, related_name="slots")
    date = models.DateField(_("日期"))
    start_time = models.TimeField(_("开始时间"))
    end_time = models.TimeField(_("结束时间"))
    capacity = models.PositiveIntegerField(_("号源数"))
    booked = models.PositiveIntegerField(_("已预约"), default=0)
    clinician_name = models.CharField(_("出诊医生"), max_length=50, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("预约号源")
        verbose_name_plural = _("预约号源")
        ordering = ["date", "start_time", "department_id"]
        indexes = [models.Index(fields=["institution", "date"], name="ref_slot_inst_date")]
        constraints = [
            models.CheckConstraint(condition=Q(booked__lte=models.F("capacity")), name="ref_slot_not_overbooked"),
            models.UniqueConstraint(fields=["department", "date", "start_time"], name="ref_slot_unique_band"),
        ]


class Referral(models.Model):
    """转诊单 — one referral between institutions of the county network, up or down."""

    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="referrals")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    direction = models.CharField(_("方向"), max_length=8, choices=Direction.choices)
    kind = models.CharField(_("转诊类别"), max_length=16, choices=ReferralKind.choices)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.ROUTINE)
    from_institution = models.ForeignKey(Institution, verbose_name=_("转出机构"), on_delete=models.PROTECT,
                                         related_name="referrals_out")
    to_institution = models.ForeignKey(Institution, verbose_name=_("接收机构"), on_delete=models.PROTECT,
                                       related_name="referrals_in")
    to_department = models.ForeignKey(Department, verbose_name=_("接收科室"), null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    from_path = models.CharField(_("转出机构路径"), max_length=255, db_index=True)
    to_path = models.CharField(_("接收机构路径"), max_length=255, db_index=True)
    reason = models.CharField(_("转诊原因"), max_length=500)
    diagnosis_code = models.CharField(_("初步诊断编码"), max_length=16, blank=True)
    diagnosis_name = models.CharField(_("初步诊断"), max_length=200, blank=True)
    summary = models.TextField(_("病情摘要"), blank=True)
    results = models.ManyToManyField(Result, verbose_name=_("附检查检验结果"), blank=True, related_name="+")
    # The up-referral a down-referral continues (上转 → 下转), and the encounter at the receiving side.
    parent = models.ForeignKey("self", verbose_name=_("原上转单"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="down_referrals")
    encounter = models.ForeignKey(Encounter, verbose_name=_("接诊记录"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=ReferralStatus.choices,
                              default=ReferralStatus.REQUESTED)
    requested_at = models.DateTimeField(_("申请时间"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    respond_by = models.DateTimeField(_("应答时限"))
    escalate_at = models.DateTimeField(_("升级时间"))
    escalated_at = models.DateTimeField(_("已升级于"), null=True, blank=True)
    responded_at = models.DateTimeField(_("应答时间"), null=True, blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    reject_reason = models.CharField(_("拒绝原因"), max_length=500, blank=True)
    cancel_reason = models.CharField(_("撤销原因"), max_length=500, blank=True)
    arrived_at = models.DateTimeField(_("到诊时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    feedback = models.TextField(_("诊疗反馈（出院小结）"), blank=True)
    # Down-referral care plan (下转照护计划): {"programme", "follow_up_days", "instructions"}.
    care_plan = models.JSONField(_("照护计划"), default=dict, blank=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("转诊单")
        verbose_name_plural = _("转诊单")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            # The referral desk: incoming and outgoing by status, newest first; overdue by deadline.
            models.Index(fields=["to_institution", "status", "-requested_at"], name="ref_desk_in"),
            models.Index(fields=["from_institution", "status", "-requested_at"], name="ref_desk_out"),
            models.Index(fields=["to_institution", "status", "respond_by"], name="ref_desk_overdue"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} #{self.pk}"


class ReferralEvent(models.Model):
    """转诊流转记录 — one transition of a referral (who, when, from which status to which)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=16)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    note = models.CharField(_("备注"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("转诊流转记录")
        verbose_name_plural = _("转诊流转记录")
        ordering = ["referral_id", "at", "pk"]


class Booking(models.Model):
    """预约 — one place on a slot, for a resident (usually for a referral); seen on both sides."""

    slot = models.ForeignKey(Slot, verbose_name=_("号源"), on_delete=models.PROTECT, related_name="bookings")
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="bookings")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    referral = models.ForeignKey(Referral, verbose_name=_("转诊单"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="bookings")
    booked_from = models.ForeignKey(Institution, verbose_name=_("预约机构"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=BookingStatus.choices, default=BookingStatus.BOOKED)
    booked_at = models.DateTimeField(_("预约时间"))
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["-booked_at"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "resident"], condition=Q(status="booked"),
                                    name="ref_booking_once_per_slot"),
            models.UniqueConstraint(fields=["referral"], condition=Q(status="booked"),
                                    name="ref_booking_once_per_referral"),
        ]


class Teleconsultation(models.Model):
    """远程会诊 — a township centre asks a county specialist about a patient; the answer is kept."""

    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT,
                                 related_name="teleconsultations")
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    requesting_institution = models.ForeignKey(Institution, verbose_name=_("申请机构"), on_delete=models.PROTECT,
                                               related_name="consults_out")
    specialist_institution = models.ForeignKey(Institution, verbose_name=_("会诊机构"), on_delete=models.PROTECT,
                                               related_name="consults_in")
    department = models.ForeignKey(Department, verbose_name=_("会诊科室"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    from_path = models.CharField(_("申请机构路径"), max_length=255, db_index=True)
    to_path = models.CharField(_("会诊机构路径"), max_length=255, db_index=True)
    question = models.TextField(_("会诊问题"))
    results = models.ManyToManyField(Result, verbose_name=_("附检查检验结果"), blank=True, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=ConsultStatus.choices, default=ConsultStatus.REQUESTED)
    requested_at = models.DateTimeField(_("申请时间"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    answer = models.TextField(_("会诊意见"), blank=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        verbose_name = _("远程会诊")
        verbose_name_plural = _("远程会诊")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["specialist_institution", "status", "-requested_at"], name="ref_consult_in")]


class ConsultAttachment(models.Model):
    """会诊附件 — a file attached to a consultation; kept in the database so it is only ever
    served through the scoped consultation view."""

    consultation = models.ForeignKey(Teleconsultation, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        verbose_name = _("会诊附件")
        verbose_name_plural = _("会诊附件")
