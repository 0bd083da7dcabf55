"""Code lists of the programmes app (项目管理的代码表)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("管理中")
    CLOSED = "closed", _("已结案")


class EnrolmentHow(models.TextChoices):
    AUTO = "auto", _("自动纳入")
    MANUAL = "manual", _("手工纳入")


class CloseReason(models.TextChoices):
    """结案原因."""

    MOVED = "moved", _("迁出")
    DECEASED = "deceased", _("死亡")
    CURED = "cured", _("治愈")
    REFUSED = "refused", _("拒绝管理")
    COMPLETED = "completed", _("服务期满")  # a child past 6, a delivered mother after the 42-day check
    OTHER = "other", _("其他")


class VisitSource(models.TextChoices):
    WEB = "web", _("网页录入")
    API = "api", _("接口")
    IMPORT = "import", _("文件导入")
    DEMO = "demo", _("演示数据")


class Adherence(models.TextChoices):
    """服药依从性."""

    REGULAR = "regular", _("规律")
    INTERMITTENT = "intermittent", _("间断")
    NONE = "none", _("不服药")
