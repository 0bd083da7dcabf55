"""The audit log: every read or change of a person's record leaves an entry.

- Changes: :func:`record` inside the service's transaction, so the entry and the change commit
  or roll back together.
- Reads through the web/API: :func:`read` collects entries on the request; the
  :class:`~yigongti.accounts.middleware.AuditReadMiddleware` writes them in one batch per request.
- Reads outside a request (CLI, jobs): :func:`read` with ``request=None`` writes at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from .models import AuditAction, AuditEntry, AuditOutcome

_PENDING = "_ygt_audit_reads"


def client_ip(request: Any) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def channel_of(request: Any) -> str:
    if request is None:
        return "cli"
    return "api" if request.path.startswith("/api/") else "web"


def _entry(user: Any, action: str, object_type: str, object_id: Any, path: str,
           outcome: str, request: Any, detail: dict[str, Any] | None) -> AuditEntry:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEntry(
        user=user if authenticated else None,
        username=(user.get_username() if authenticated else str(getattr(user, "username", "") or ""))[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        path=path,
        outcome=outcome,
        ip=client_ip(request),
        channel=channel_of(request),
        detail=detail or {},
    )


def record(*, user: Any, action: str, object_type: str = "", object_id: Any = "", path: str = "",
           outcome: str = AuditOutcome.OK, request: Any = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Write one entry now (call inside the transaction of the change it records)."""
    entry = _entry(user, action, object_type, object_id, path, outcome, request, detail)
    entry.save()
    return entry


def read(*, user: Any, objects: Iterable[models.Model], request: Any = None,
         outcome: str = AuditOutcome.OK, path_field: str = "path") -> None:
    """Log reads of person-level ``objects`` (batched per request when ``request`` is given)."""
    entries = [
        _entry(user, AuditAction.READ, obj._meta.label_lower, obj.pk, getattr(obj, path_field, ""),
               outcome, request, None)
        for obj in objects
    ]
    if not entries:
        return
    if request is not None:
        pending: list[AuditEntry] = getattr(request, _PENDING, None) or []
        pending.extend(entries)
        setattr(request, _PENDING, pending)
    else:
        AuditEntry.objects.bulk_create(entries)


def read_missed(*, user: Any, object_type: str, object_id: Any, request: Any = None) -> None:
    """Log an attempt to read a record that is absent or outside the caller's scope."""
    entry = _entry(user, AuditAction.READ, object_type, object_id, "", AuditOutcome.NOT_FOUND, request, None)
    if request is not None:
        pending: list[AuditEntry] = getattr(request, _PENDING, None) or []
        pending.append(entry)
        setattr(request, _PENDING, pending)
    else:
        entry.save()


def flush(request: Any) -> int:
    """Write the reads collected on ``request``; returns how many."""
    pending: list[AuditEntry] = getattr(request, _PENDING, None) or []
    if pending:
        AuditEntry.objects.bulk_create(pending)
        setattr(request, _PENDING, [])
    return len(pending)
