from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import audit


class AuditReadMiddleware:
    """Writes the person-record reads collected during a request in one batch."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        audit.flush(request)
        return response
