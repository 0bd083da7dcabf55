"""Domain errors (STYLE.md habit 6).

Every error a user can cause subclasses :class:`DomainError`: it carries a stable ``code``, an
HTTP ``status`` and a translatable message. The API renders it as JSON problem details, the CLI
as one line on stderr with a non-zero exit, the UI as a message. Never a stack trace to a user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base of every user-facing error. Subclasses set ``code``, ``status`` and ``message``."""

    code: str = "error"
    status: int = 400
    message: Any = _("请求无法完成。")

    def __init__(self, message: Any = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(str(self))

    def __str__(self) -> str:
        text = str(self.message)
        try:
            return text % self.params if self.params else text
        except (KeyError, TypeError, ValueError):
            return text


class NotFound(DomainError):
    """Absent or outside the caller's scope — the two are indistinguishable on purpose."""

    code = "not_found"
    status = 404
    message = _("未找到。")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    message = _("您没有执行此操作的权限。")


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422
    message = _("输入有误：%(reason)s")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    message = _("与现有数据冲突：%(reason)s")


@dataclass(frozen=True)
class RowError:
    """One problem in one row of an imported file (row numbers count the header as row 1)."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return str(_("第 %(row)s 行，列“%(column)s”：%(reason)s") % {
            "row": self.row, "column": self.column, "reason": self.reason})


class ImportRejected(DomainError):
    """A whole file rejected: nothing was written. ``errors`` names every bad row."""

    code = "import_rejected"
    status = 422
    message = _("文件有 %(count)s 处错误，未写入任何数据。")

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = list(errors)
        super().__init__(count=len(self.errors))
