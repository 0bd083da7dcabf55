"""Errors of the insurance app (DomainError subclasses: code, status, translatable message).

Each names what is wrong: the policy file and its key, or the case's field, with the reason.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import Conflict, DomainError, ValidationFailed


class PolicyInvalid(ValidationFailed):
    """A policy that cannot be used: ``name`` (its file or code), ``key`` (dotted path), ``reason``."""

    code = "insurance_policy_invalid"
    message = _("医保政策 %(name)s 有误：%(key)s — %(reason)s")

    def __init__(self, **params: Any) -> None:
        params.setdefault("field", params.get("key", ""))
        super().__init__(**params)


class PolicyOverlap(Conflict):
    """Two policies for the same county whose effective dates overlap: which one is in force?"""

    code = "insurance_policy_overlap"
    message = _("医保政策 %(first)s 与 %(second)s 适用于同一地区（%(county)s），生效期重叠（自 %(start)s 起）。")


class NoPolicy(DomainError):
    code = "insurance_no_policy"
    status = 409
    message = _("%(date)s 在地区 %(county)s 没有生效的医保政策。")


class CaseInvalid(ValidationFailed):
    """A case (encounter to adjudicate) with a bad field: ``field`` names it, ``reason`` says why."""

    code = "insurance_case_invalid"
    message = _("病例数据有误：%(field)s — %(reason)s")


class AlreadyEnrolled(Conflict):
    code = "insurance_already_enrolled"
    message = _("%(name)s 已参加 %(year)s 年度城乡居民医保（参保登记 %(enrolment)s）。")


class MemberInvalid(ValidationFailed):
    """A household member who cannot be enrolled: ``field`` names the member, ``reason`` why."""

    code = "insurance_member_invalid"
    message = _("参保人员有误：%(field)s — %(reason)s")


class NotSettleable(ValidationFailed):
    """An encounter that cannot be settled yet (not discharged, bad costs): ``field`` and ``reason``."""

    code = "insurance_not_settleable"
    message = _("该就诊不能结算：%(field)s — %(reason)s")


class IdempotencyKeyReused(Conflict):
    code = "insurance_idempotency_key_reused"
    message = _("幂等键 %(key)s 已用于另一次就诊（结算单 %(number)s）。")


class ReversalRefused(Conflict):
    """A reversal that cannot be made: of a reversal, of an already reversed settlement."""

    code = "insurance_reversal_refused"
    message = _("结算单 %(number)s 不能冲销：%(reason)s")


class SettlementBusy(Conflict):
    """Another settlement of the same person or encounter held the lock; nothing was written."""

    code = "insurance_busy"
    message = _("同一参保人正在另一处结算，请稍后重试。")
