"""Domain errors in the web UI become a friendly page with their status (STYLE.md habit 6).

A view (of any app) raises :class:`~yigongti.core.errors.DomainError`; this middleware renders it
as ``web/error.html`` (or the bare message for an htmx request, swapped in place) with the error's
HTTP status. The JSON API renders its own problem details, so ``/api/`` is left alone. No stack
trace ever reaches the user.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from yigongti.core.errors import DomainError


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        return render_domain_error(request, exception)


def render_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The page (or htmx fragment) that tells the user what went wrong, with the error's status."""
    template = "web/error_fragment.html" if getattr(request, "htmx", False) else "web/error.html"
    return render(request, template, {"error": error, "message": str(error), "status": error.status},
                  status=error.status)
