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
