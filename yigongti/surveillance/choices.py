"""Code tables of the surveillance app. Values are stable English codes; labels are 中文."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DiseaseClass(models.TextChoices):
    """法定传染病分类 (《传染病防治法》): 甲类, 乙类, 丙类."""

    A = "A", _("甲类")
    B = "B", _("乙类")
    C = "C", _("丙类")


class DiagnosisType(models.TextChoices):
    """病例分类 of the 传染病报告卡, least to most certain."""

    SUSPECTED = "suspected", _("疑似病例")
    CLINICAL = "clinical", _("临床诊断病例")
    CONFIRMED = "confirmed", _("确诊病例")
    CARRIER = "carrier", _("病原携带者")


class CardStatus(models.TextChoices):
    """报告 → 乡镇初审 → 县疾控终审; 退回订正 goes back to the reporter; 删除 (重卡) is final."""

    REPORTED = "reported", _("待审核")
    TOWNSHIP_CHECKED = "township_checked", _("乡镇已初审")
    ACCEPTED = "accepted", _("已审核")
    RETURNED = "returned", _("退回订正")
    DELETED = "deleted", _("已删除")


class CardAction(models.TextChoices):
    """What happened to a card (its history, one :class:`~.models.CardEvent` each)."""

    REPORT = "report", _("报告")
    TOWNSHIP_ACCEPT = "township_accept", _("乡镇初审通过")
    ACCEPT = "accept", _("县疾控审核通过")
    RETURN = "return", _("退回订正")
    CORRECT = "correct", _("订正后重新报告")
    REVISE = "revise", _("订正诊断")
    MERGE = "merge", _("合并重复报告")
    DELETE = "delete", _("删除重卡")
    LINK = "link", _("关联暴发调查")


class Method(models.TextChoices):
    """预警方法 (DOMAIN.md §4)."""

    SINGLE = "single", _("单病例预警")
    PERCENTILE = "percentile", _("移动百分位数法")
    C1 = "c1", _("EARS C1")
    C2 = "c2", _("EARS C2")
    C3 = "c3", _("EARS C3")
    CUSUM = "cusum", _("累积和（CUSUM）")


class SignalStatus(models.TextChoices):
    """A signal waits in the county CDC's queue until it is verified, dismissed or investigated."""

    NEW = "new", _("待核实")
    VERIFIED = "verified", _("已核实")
    DISMISSED = "dismissed", _("已排除")
    INVESTIGATING = "investigating", _("暴发调查中")


class OutbreakStatus(models.TextChoices):
    OPEN = "open", _("调查中")
    CLOSED = "closed", _("已结案")
