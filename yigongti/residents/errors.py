"""Errors of the residents app (DomainError subclasses: code, status, translatable message)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError, NotFound

if TYPE_CHECKING:
    from .models import Resident


class DuplicateResident(DomainError):
    """The person is already registered: show ``existing`` instead of creating a second record.

    ``existing`` is ``None`` when the record lies outside the caller's data-view scope — the caller
    then learns only that the ID (or the person) is registered in another unit, nothing else.
    ``basis`` says why: ``"id_number"`` (same resident ID) or ``"strong_match"`` (same name pinyin,
    birth date and sex).
    """

    code = "duplicate_resident"
    status = 409
    message = _("该居民已建档：%(name)s（档案编号 %(record_no)s）。")

    def __init__(self, existing: Resident | None, *, basis: str, message: Any = None, **params: Any) -> None:
        self.existing = existing
        self.basis = basis
        if message is None:
            message = _DEFAULT_MESSAGES[(basis, existing is not None)]
        if existing is not None:
            params.setdefault("name", existing.name)
            params.setdefault("record_no", existing.record_no)
        super().__init__(message, **params)


_DEFAULT_MESSAGES: dict[tuple[str, bool], Any] = {
    ("id_number", True): _("身份证号已登记：%(name)s（档案编号 %(record_no)s），请勿重复建档。"),
    ("id_number", False): _("该身份证号已在其他单位登记建档，请勿重复建档；如需迁入，请联系原单位办理档案迁移。"),
    ("strong_match", True): _("已有姓名、性别、出生日期都相同的档案：%(name)s（档案编号 %(record_no)s）。"
                              "如确认不是同一人，请勾选“确认不是同一人”后再提交。"),
    ("strong_match", False): _("其他单位已有姓名、性别、出生日期都相同的档案。如确认不是同一人，"
                               "请勾选“确认不是同一人”后再提交。"),
}


class OutOfScope(NotFound):
    """Absent or outside the caller's data-entry scope; the attempt is audited as ``not_found``.

    Rendered exactly like :class:`NotFound`. Raised inside a service's transaction, it is audited
    after the rollback (see ``services.audit_misses``) so that the audit entry survives.
    """

    def __init__(self, *, object_type: str, object_id: Any) -> None:
        self.object_type = object_type
        self.object_id = object_id
        super().__init__()
