"""Errors of the surveillance app (DomainError subclasses: code, status, translatable message)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed


class NotNotifiable(ValidationFailed):
    """A card for a diagnosis that is not on the catalogue of notifiable diseases in force."""

    code = "not_notifiable"
    message = _("诊断“%(code)s”不属于法定报告传染病，不能填写传染病报告卡。")

    def __init__(self, **params: object) -> None:
        params.setdefault("field", "icd10")
        super().__init__(**params)


class CardInvalid(ValidationFailed):
    """A field of the card that cannot be accepted (``field`` names it)."""

    code = "card_invalid"
    message = _("%(reason)s")


class DuplicateCard(Conflict):
    """The same patient already has a card for this disease within the episode: offered for merge."""

    code = "duplicate_card"
    message = _("该患者已有同一病种的报告卡 %(card_no)s（诊断于 %(diagnosed)s，%(days)s 天内视为同一病程），"
                "可合并到该卡，不应重复报告。")


class IllegalReview(Conflict):
    """The review step is not allowed in the card's current status."""

    code = "illegal_review"
    message = _("报告卡当前为“%(status)s”，不能%(action)s。")


class NotReviewer(PermissionDenied):
    code = "not_reviewer"
    message = _("只有%(who)s可以%(action)s。")


class IllegalSignalAction(Conflict):
    code = "illegal_signal_action"
    message = _("预警信号当前为“%(status)s”，不能%(action)s。")


class AlertsBusy(Conflict):
    """Another early-warning run wrote the same signals at the same moment (the cron and the button)."""

    code = "alerts_busy"
    message = _("另一次预警运行正在写入相同的信号，请稍后重新运行（重复运行不会重复生成信号）。")


class IllegalOutbreakAction(Conflict):
    code = "illegal_outbreak_action"
    message = _("暴发调查当前为“%(status)s”，不能%(action)s。")


class ReasonRequired(ValidationFailed):
    code = "reason_required"
    message = _("请填写%(what)s。")

    def __init__(self, **params: object) -> None:
        params.setdefault("field", "reason")
        super().__init__(**params)


class RulesNotLoaded(DomainError):
    code = "surveillance_rules_not_loaded"
    status = 409
    message = _("没有生效的法定传染病病种目录，请先运行 ygt rules load。")


class SeriesInvalid(ValidationFailed):
    """A series file for ``ygt alerts --series`` that cannot be read (the row and reason named)."""

    code = "series_invalid"
    message = _("%(reason)s")


class SeriesTooShort(ValidationFailed):
    code = "series_too_short"
    message = _("序列太短，无法建立基线：%(method)s 需要至少 %(needs)s 个数据（已有 %(length)s 个）。")
