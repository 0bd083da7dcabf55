"""Accounts: users bound to org units and API tokens. (The audit log and scope are in core.)"""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from yigongti.registry.models import Division, Institution


class Role(models.TextChoices):
    VILLAGE_DOCTOR = "village_doctor", _("村医")
    TOWNSHIP_STAFF = "township_staff", _("卫生院工作人员")
    TOWNSHIP_DIRECTOR = "township_director", _("卫生院院长")
    COUNTY_CLINICIAN = "county_clinician", _("县医院医生")
    HEALTH_COMMISSION = "health_commission", _("县卫健局")
    CDC = "cdc", _("疾控中心")
    INSURANCE = "insurance", _("医保局")
    ADMIN = "admin", _("系统管理员")


class User(AbstractUser):
    """用户 — a person who signs in, bound to a data-entry and a data-view org unit.

    A unit includes its subtree. Person-level rows reach a user only through
    :func:`yigongti.core.scope.visible`.
    """

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, default=Role.VILLAGE_DOCTOR)
    institution = models.ForeignKey(
        Institution, verbose_name=_("所在机构"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    entry_unit = models.ForeignKey(
        Division, verbose_name=_("数据录入单元"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    view_unit = models.ForeignKey(
        Division, verbose_name=_("数据查看单元"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    failed_logins = models.PositiveIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username


class ApiToken(models.Model):
    """API 令牌 — a machine credential; only the SHA-256 of the key is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
