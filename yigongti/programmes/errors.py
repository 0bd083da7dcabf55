"""Errors of the programmes app (DomainError subclasses: code, status, translatable message)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import Conflict, ValidationFailed


class NotEnrolled(ValidationFailed):
    """A visit for a resident who is not (or no longer) managed in the programme."""

    code = "not_enrolled"
    message = _("%(name)s（档案编号 %(record_no)s）未纳入“%(programme)s”管理，不能登记该项目的服务；请先纳入管理。")

    def __init__(self, **params: Any) -> None:
        params.setdefault("field", "programme")
        super().__init__(**params)


class NotEligible(ValidationFailed):
    """The resident is not in the programme's target group (age, sex, diagnosis, confirmation)."""

    code = "not_eligible"
    message = _("不符合“%(programme)s”的纳入条件：%(reason)s")


class AlreadyEnrolled(Conflict):
    """An active enrolment exists already (one per resident and programme)."""

    code = "already_enrolled"
    message = _("%(name)s 已在“%(programme)s”管理中（%(enrolled_on)s 纳入，编号 %(enrolment)s），不能重复纳入。")


class EnrolmentClosed(Conflict):
    code = "enrolment_closed"
    message = _("该管理记录已于 %(closed_on)s 结案。")


