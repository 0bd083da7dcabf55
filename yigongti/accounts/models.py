"""Accounts: users bound to org units, API tokens, and the append-only audit log."""

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
    :func:`yigongti.accounts.scope.visible`.
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


class AuditAction(models.TextChoices):
    READ = "read", _("查看")
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")


class AuditOutcome(models.TextChoices):
    OK = "ok", _("成功")
    NOT_FOUND = "not_found", _("未找到/超出范围")
    DENIED = "denied", _("拒绝")
    FAILED = "failed", _("失败")


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: object) -> int:
        raise TypeError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")


class AuditEntry(models.Model):
    """审计日志 — who read or changed which person's data, when, from where, with what outcome.

    Append-only: the ORM refuses update and delete, and a database trigger (SQLite and
    PostgreSQL, see the migration) refuses them underneath.
    """

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=64, blank=True)
    path = models.CharField(_("组织路径"), max_length=255, blank=True, db_index=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=AuditOutcome.choices, default=AuditOutcome.OK)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, blank=True)  # web / api / cli
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")
