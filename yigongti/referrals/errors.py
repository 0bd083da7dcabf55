"""Errors of the referrals app (DomainError subclasses: code, status, translatable message)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed


class IllegalTransition(Conflict):
    """The state machine refuses ``action`` in the referral's current status (also: the second of
    two concurrent accepts)."""

    code = "illegal_transition"
    message = _("转诊单当前为“%(status)s”，不能%(action)s。")


class RouteRefused(ValidationFailed):
    """No referral route in force lets the receiving institution take this referral."""

    code = "route_refused"
    message = _("“%(institution)s”不接收%(tier)s机构的“%(kind)s”%(direction)s转诊。")

    def __init__(self, **params: object) -> None:
        params.setdefault("field", "to_institution")
        super().__init__(**params)


class NotDownReferable(Conflict):
    code = "not_down_referable"
    message = _("只有已到诊或已完成的上转单才能下转（该单为%(direction)s，状态“%(status)s”）。")


class NotOfInstitution(PermissionDenied):
    """The caller works elsewhere: only the institution on that side of the referral may act."""

    code = "not_of_institution"
    message = _("只有“%(institution)s”的人员可以%(action)s。")


class RulesNotLoaded(DomainError):
    code = "referral_rules_not_loaded"
    status = 409
    message = _("%(on)s 没有生效的转诊规则（%(what)s），请先运行 ygt rules load。")


class SlotFull(Conflict):
    code = "slot_full"
    message = _("该时段号源已约满。")


class AlreadyBooked(Conflict):
    code = "already_booked"
    message = _("%(reason)s")


class BookingClosed(Conflict):
    code = "booking_closed"
    message = _("该预约当前为“%(status)s”，不能取消。")


class AlreadyAnswered(Conflict):
    code = "already_answered"
    message = _("该会诊已于 %(answered_at)s 答复，不能重复答复。")
