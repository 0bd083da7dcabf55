"""Authentication of the JSON API and ``/api/v1/accounts/``.

Every route authenticates with an API token (``Authorization: Bearer ygt_…``, see ``ygt token
create``) or the browser session (Django's login; unsafe methods need the CSRF token, as in the
web UI). The authenticated user is ``request.auth``; the caller's scope follows from it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBearer, SessionAuth

from yigongti.core.api import PROBLEMS, caller

from .models import User
from .services import token_user


class BearerToken(HttpBearer):
    """``Authorization: Bearer ygt_…`` — an API token created with ``ygt token create``."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token:
            return None
        return token_user(token.strip())


class Session(SessionAuth):
    """The signed-in browser session (CSRF checked on unsafe methods)."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is no session to protect: answer 401, not a CSRF 403.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated and user.is_active else None


# Token first: a client that sends a token never needs a CSRF token.
API_AUTH = [BearerToken(), Session(csrf=True)]


class UnitOut(Schema):
    code: str
    name: str
    path: str


class InstitutionRefOut(Schema):
    code: str
    name: str


class MeOut(Schema):
    """The signed-in user, their role and the org units of their scope."""

    username: str
    full_name: str
    role: str
    role_label: str
    is_superuser: bool
    institution: InstitutionRefOut | None
    view_unit: UnitOut | None
    entry_unit: UnitOut | None

    @staticmethod
    def resolve_role_label(obj: User) -> str:
        return str(obj.get_role_display())


router = Router(tags=["accounts"])


@router.get("/me", response={200: MeOut, **PROBLEMS}, summary="The signed-in user and their scope")
def me(request: HttpRequest) -> User:
    """Who the request is authenticated as: role, institution, data-view and data-entry units."""
    return caller(request)
