"""Login security: Argon2, lockout after repeated failures, audit of every attempt, session timeout."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from yigongti.accounts.errors import AccountLocked, InvalidCredentials
from yigongti.accounts.models import User
from yigongti.accounts.services import user_authenticate
from yigongti.core.models import AuditAction, AuditEntry, AuditOutcome


def test_passwords_are_hashed_with_argon2(county: MiniCounty) -> None:
    user = User.objects.get(username="cunyi")
    assert user.password.startswith("argon2$")
    assert PASSWORD not in user.password


def test_wrong_password_is_refused_and_audited(county: MiniCounty) -> None:
    with pytest.raises(InvalidCredentials):
        user_authenticate(username="cunyi", password="wrong")
    entry = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).get()
    assert entry.username == "cunyi"
    assert entry.outcome == AuditOutcome.FAILED
    assert User.objects.get(username="cunyi").failed_logins == 1


def test_unknown_user_gets_the_same_error(county: MiniCounty) -> None:
    with pytest.raises(InvalidCredentials):
        user_authenticate(username="nobody", password="x")
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, object_id="nobody").exists()


def test_lockout_after_repeated_failures_even_with_right_password(county: MiniCounty) -> None:
    for _ in range(settings.YGT_LOGIN_MAX_FAILURES - 1):
        with pytest.raises(InvalidCredentials):
            user_authenticate(username="cunyi", password="wrong")
    with pytest.raises(AccountLocked):
        user_authenticate(username="cunyi", password="wrong")
    user = User.objects.get(username="cunyi")
    assert user.locked_until is not None and user.locked_until > timezone.now()
    with pytest.raises(AccountLocked) as info:
        user_authenticate(username="cunyi", password=PASSWORD)
    assert str(settings.YGT_LOGIN_LOCKOUT_MINUTES) in str(info.value)
    assert AuditEntry.objects.filter(outcome=AuditOutcome.DENIED, username="cunyi").count() == 1


def test_lock_expires_and_success_resets_the_count(county: MiniCounty) -> None:
    User.objects.filter(username="cunyi").update(
        failed_logins=3, locked_until=timezone.now() - dt.timedelta(seconds=1))
    user = user_authenticate(username="cunyi", password=PASSWORD)
    user.refresh_from_db()
    assert user.failed_logins == 0 and user.locked_until is None
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, username="cunyi").exists()


def test_session_times_out_when_idle() -> None:
    assert settings.SESSION_COOKIE_AGE <= 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
