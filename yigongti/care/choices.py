"""Code tables of the care app. Values are stable English codes; labels are 中文."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EncounterKind(models.TextChoices):
    OUTPATIENT = "outpatient", _("门诊")
    EMERGENCY = "emergency", _("急诊")
    INPATIENT = "inpatient", _("住院")


class DischargeStatus(models.TextChoices):
    """离院方式 / 转归 (outpatient encounters leave it empty)."""

    CURED = "cured", _("治愈")
    IMPROVED = "improved", _("好转")
    NOT_IMPROVED = "not_improved", _("未愈")
    DIED = "died", _("死亡")
    TRANSFERRED = "transferred", _("转院")
    AGAINST_ADVICE = "against_advice", _("自动出院")
    OTHER = "other", _("其他")


class CostCategory(models.TextChoices):
    """费用类别 — the categories insurance adjudicates on (住院收费票据 categories, simplified)."""

    DRUGS_WESTERN = "drugs_western", _("西药费")
    DRUGS_CHINESE = "drugs_chinese", _("中成药/中草药费")
    EXAMINATION = "examination", _("检查费")
    LAB = "lab", _("化验费")
    TREATMENT = "treatment", _("治疗费")
    SURGERY = "surgery", _("手术费")
    BED = "bed", _("床位费")
    NURSING = "nursing", _("护理费")
    MATERIALS = "materials", _("卫生材料费")
    REGISTRATION = "registration", _("挂号/诊查费")
    OTHER = "other", _("其他费")


class ResultKind(models.TextChoices):
    LAB = "lab", _("检验")
    IMAGING = "imaging", _("检查")


class AbnormalFlag(models.TextChoices):
    NORMAL = "N", _("正常")
    LOW = "L", _("偏低")
    HIGH = "H", _("偏高")
    ABNORMAL = "A", _("异常")
    CRITICAL = "C", _("危急值")


class OrderStatus(models.TextChoices):
    """医嘱/申请单 status: a test ordered, or avoided because a recognised result was used."""

    ORDERED = "ordered", _("已开单")
    RECOGNISED = "recognised", _("互认免检")
    DONE = "done", _("已出结果")
    CANCELLED = "cancelled", _("已撤销")


class EncounterSource(models.TextChoices):
    UI = "ui", _("界面录入")
    IMPORT = "import", _("HIS 导入")
    API = "api", _("接口")
    DEMO = "demo", _("演示数据")
