"""Errors of the care app (DomainError subclasses: code, status, translatable message)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import Conflict, ValidationFailed


class UnitMismatch(ValidationFailed):
    """A result whose unit is neither the item's unit nor one of its aliases."""

    code = "unit_mismatch"
    message = _("项目“%(item)s”的单位应为 %(expected)s，收到的是“%(unit)s”。")


class NotRecognisable(Conflict):
    """An order that wants to use a result which is not (or no longer) recognised."""

    code = "not_recognisable"
    message = _("该结果不能互认：%(reason)s")


class KeyReused(Conflict):
    """An idempotency key (HIS number, report number) already used for another resident."""

    code = "key_reused"
    message = _("编号“%(key)s”已用于另一位居民的记录，不能重复使用。")
