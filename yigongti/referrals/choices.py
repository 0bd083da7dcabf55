"""Code tables of the referrals app. Values are stable English codes; labels are 中文."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    UP = "up", _("上转")
    DOWN = "down", _("下转")


class ReferralKind(models.TextChoices):
    """What the patient is referred for; which institution takes which kind is data
    (``referrals/fixtures/routes.yaml``)."""

    OUTPATIENT = "outpatient", _("门诊")
    INPATIENT = "inpatient", _("住院")
    EMERGENCY = "emergency", _("急诊")
    EXAMINATION = "examination", _("检查")
    REHABILITATION = "rehabilitation", _("康复")
    CHRONIC = "chronic", _("慢病管理")


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("普通")
    URGENT = "urgent", _("加急")
    EMERGENCY = "emergency", _("紧急")


class ReferralStatus(models.TextChoices):
    """申请 → 应答 (接收 / 拒绝) → 到诊 → 完成 (反馈); 撤销 before arrival."""

    REQUESTED = "requested", _("待接收")
    ACCEPTED = "accepted", _("已接收")
    REJECTED = "rejected", _("已拒绝")
    CANCELLED = "cancelled", _("已撤销")
    ARRIVED = "arrived", _("已到诊")
    COMPLETED = "completed", _("已完成")


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("已预约")
    CANCELLED = "cancelled", _("已取消")
    ATTENDED = "attended", _("已就诊")


class ConsultStatus(models.TextChoices):
    REQUESTED = "requested", _("待答复")
    ANSWERED = "answered", _("已答复")
    CANCELLED = "cancelled", _("已撤销")
