from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from yigongti.core.errors import DomainError

from .services import user_authenticate


class LockoutModelBackend(ModelBackend):
    """Django's model backend with failure counting, lockout and audit.

    The domain error (wrong password / locked) is left on ``request.ygt_auth_error`` so the login
    form can say exactly why.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> Any:
        if username is None or password is None:
            return None
        try:
            user = user_authenticate(username=username, password=password, request=request)
        except DomainError as error:
            if request is not None:
                request.ygt_auth_error = error  # type: ignore[attr-defined]
            return None
        return user if self.user_can_authenticate(user) else None
