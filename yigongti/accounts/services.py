"""Writes of the accounts app: sign-in with lockout, users, API tokens."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from yigongti.core import audit
from yigongti.core.errors import DomainError
from yigongti.core.models import AuditAction, AuditOutcome

from .errors import AccountLocked, InvalidCredentials
from .models import ApiToken, User


def _minutes_left(user: User) -> int:
    assert user.locked_until is not None
    return max(1, math.ceil((user.locked_until - timezone.now()).total_seconds() / 60))


def user_authenticate(*, username: str, password: str, request: Any = None) -> User:
    """Check a password, counting failures; lock the account after ``YGT_LOGIN_MAX_FAILURES``.

    Guarantees: a locked account is refused even with the right password until the lock ends;
    every attempt leaves an audit entry; an unknown user and a wrong password give the same error.
    The failure count and the audit entry are committed even though the caller gets an error.
    """
    with transaction.atomic():
        user, error = _check_password(username=username, password=password, request=request)
    if error is not None:
        raise error
    assert user is not None
    return user


def _check_password(*, username: str, password: str, request: Any) -> tuple[User | None, DomainError | None]:
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None or not user.is_active:
        make_password(password)  # same cost as a real check: no timing oracle for user names
        audit.record(user=None, action=AuditAction.LOGIN_FAILED, object_type="accounts.user",
                     object_id=username, outcome=AuditOutcome.FAILED, request=request,
                     detail={"username": username})
        return None, InvalidCredentials()
    now = timezone.now()
    if user.locked_until and user.locked_until > now:
        audit.record(user=user, action=AuditAction.LOGIN_FAILED, object_type="accounts.user",
                     object_id=user.pk, outcome=AuditOutcome.DENIED, request=request,
                     detail={"reason": "locked"})
        return None, AccountLocked(minutes=_minutes_left(user))
    if not user.check_password(password):
        user.failed_logins += 1
        locked = user.failed_logins >= settings.YGT_LOGIN_MAX_FAILURES
        if locked:
            user.locked_until = now + dt.timedelta(minutes=settings.YGT_LOGIN_LOCKOUT_MINUTES)
            user.failed_logins = 0
        user.save(update_fields=["failed_logins", "locked_until"])
        audit.record(user=user, action=AuditAction.LOGIN_FAILED, object_type="accounts.user",
                     object_id=user.pk, outcome=AuditOutcome.FAILED, request=request,
                     detail={"locked": locked})
        if locked:
            return None, AccountLocked(minutes=settings.YGT_LOGIN_LOCKOUT_MINUTES)
        return None, InvalidCredentials()
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
        user.save(update_fields=["failed_logins", "locked_until"])
    audit.record(user=user, action=AuditAction.LOGIN, object_type="accounts.user", object_id=user.pk,
                 request=request)
    return user, None


def token_create(*, user: User, name: str, days: int | None = 365) -> str:
    """Create an API token and return its key — shown once; only its hash is stored."""
    key = "ygt_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, name=name, key_hash=ApiToken.hash_key(key), prefix=key[4:12],
        expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
    )
    return key


def token_user(key: str) -> User | None:
    """The active user behind a token key, or ``None``."""
    token = (ApiToken.objects.select_related("user", "user__view_unit", "user__entry_unit")
             .filter(key_hash=ApiToken.hash_key(key), revoked=False).first())
    now = timezone.now()
    if token is None or not token.user.is_active or (token.expires_at and token.expires_at <= now):
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
