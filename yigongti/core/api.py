"""Reusable parts of the JSON API (every app's router uses them; ``yigongti/api.py`` installs them).

- Errors as RFC 9457 problem details (``application/problem+json``)::

      {"type": "urn:ygt:error:not_found", "title": "未找到", "status": 404,
       "code": "not_found", "detail": "未找到。"}

  ``detail`` is in the caller's language (``Accept-Language``, zh-hans by default, through
  Django's ``LocaleMiddleware``). :func:`install_problem_handlers` maps :class:`DomainError` (its
  code and status), ninja's validation errors (422 with ``errors``), authentication (401),
  ``Http404`` and any unexpected exception (500, logged with its traceback, never shown).
- :class:`Problem` and :data:`PROBLEMS` document those answers in the OpenAPI: declare
  ``response={200: Out, **PROBLEMS}`` on a route.
- :class:`PageParams` / :func:`page_of`: ``limit``/``offset`` pagination with a total ``count``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Generic, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from .errors import DomainError

logger = logging.getLogger("yigongti.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:ygt:error:"

# Short titles per status, in the caller's language (``detail`` says the specific problem).
TITLES: dict[int, Any] = {
    400: gettext_lazy("请求有误"),
    401: gettext_lazy("未认证"),
    403: gettext_lazy("禁止访问"),
    404: gettext_lazy("未找到"),
    405: gettext_lazy("不支持的请求方法"),
    409: gettext_lazy("冲突"),
    422: gettext_lazy("输入有误"),
    423: gettext_lazy("已锁定"),
    429: gettext_lazy("请求过于频繁"),
    500: gettext_lazy("服务器内部错误"),
}


class ProblemItem(Schema):
    """One problem in the input: where (``loc``) and what (``msg``)."""

    loc: list[str | int] = Field(default_factory=list)
    msg: str
    type: str = ""


class Problem(Schema):
    """An error as problem details (RFC 9457)."""

    type: str = Field(..., examples=["urn:ygt:error:not_found"])
    title: str
    status: int
    code: str
    detail: str
    errors: list[Any] | None = None


# Declare on a route: ``@router.get("/x", response={200: XOut, **PROBLEMS})``.
PROBLEMS: dict[int, type[Problem]] = {401: Problem, 404: Problem, 422: Problem}
# Routes that write can also conflict with the stored state (duplicate, already enrolled …).
WRITE_PROBLEMS: dict[int, type[Problem]] = {**PROBLEMS, 409: Problem}


def problem_response(*, status: int, code: str, detail: Any, title: Any = None,
                     errors: list[Any] | None = None, headers: dict[str, str] | None = None,
                     extra: dict[str, Any] | None = None) -> HttpResponse:
    """A problem-details response; ``detail``/``title`` are rendered in the active language now;
    ``extra`` adds members of the problem type (``field``, ``existing`` …)."""
    if title is None:
        title = TITLES.get(status) or HTTPStatus(status).phrase
    body: dict[str, Any] = {"type": TYPE_PREFIX + code, "title": str(title), "status": status,
                            "code": code, "detail": str(detail)}
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    response = HttpResponse(json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder), status=status,
                            content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _jsonable(item: Any) -> Any:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {key: str(value) if not isinstance(value, int) else value
                for key, value in dataclasses.asdict(item).items()}
    return str(item)


def domain_problem(exc: DomainError, *, errors: list[Any] | None = None,
                   extra: dict[str, Any] | None = None) -> HttpResponse:
    """Problem details of a service's error as a route answers it: with the ``field`` the error
    names (so a form can show it in place), ``errors`` and any ``extra`` members."""
    members = {"field": exc.params["field"]} if "field" in exc.params else {}
    return problem_response(status=exc.status, code=exc.code, detail=exc, errors=errors,
                            extra={**members, **(extra or {})})


def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = getattr(exc, "errors", None)
    return problem_response(status=exc.status, code=exc.code, detail=exc,
                            errors=[_jsonable(e) for e in errors] if errors else None)


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"loc": [str(part) if not isinstance(part, int) else part for part in e.get("loc", ())],
         "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors
    ]
    return problem_response(status=422, code="validation_failed", detail=_("请求参数有误，请检查 errors。"),
                            errors=errors)


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(status=401, code="not_authenticated",
                            detail=_("需要登录，或在 Authorization 头中提供有效的 API 令牌（Bearer ygt_…）。"),
                            headers={"WWW-Authenticate": 'Bearer realm="yigongti"'})


def on_authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return problem_response(status=403, code="permission_denied", detail=_("您没有执行此操作的权限。"))


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    if status == 403 and "CSRF" in exc.message:
        return problem_response(status=403, code="csrf_failed",
                                detail=_("CSRF 校验失败：请刷新页面后重试，或改用 API 令牌。"))
    code = {429: "throttled", 405: "method_not_allowed"}.get(status, f"http_{status}")
    return problem_response(status=status, code=code, detail=TITLES.get(status) or exc.message)


def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(status=404, code="not_found", detail=_("未找到。"))


def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return problem_response(status=500, code="internal_error",
                            detail=_("服务器内部错误，请稍后再试；问题已记录。"))


def install_problem_handlers(api: NinjaAPI) -> None:
    """Render every error of ``api`` as problem details (replaces ninja's default handlers)."""
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (DomainError, on_domain_error),
        (ValidationError, on_validation_error),
        (AuthenticationError, on_authentication_error),
        (AuthorizationError, on_authorization_error),
        (HttpError, on_http_error),
        (Http404, on_not_found),
        (Exception, on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def caller(request: HttpRequest) -> Any:
    """The user a request is authenticated as (``request.auth``, set by the API's auth classes)."""
    return request.auth  # type: ignore[attr-defined]


# ---------------------------------------------------------------- pagination

T = TypeVar("T")
MAX_LIMIT = 500


class PageParams(Schema):
    """``limit`` (1–500, default 100) and ``offset`` query parameters; use with ``Query[PageParams]``."""

    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="rows per page (1–500)")
    offset: int = Field(0, ge=0, description="rows to skip")


class Page(Schema, Generic[T]):
    """One page of a list, with the total ``count`` of rows matching the filters."""

    count: int
    limit: int
    offset: int
    items: list[T]


def page_of(queryset: QuerySet[Any], params: PageParams) -> dict[str, Any]:
    """The slice of ``queryset`` that ``params`` ask for, with the total count (two queries)."""
    return {"count": queryset.count(), "limit": params.limit, "offset": params.offset,
            "items": list(queryset[params.offset:params.offset + params.limit])}
