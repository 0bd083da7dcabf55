from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

from . import audit


class AuditReadMiddleware:
    """Writes the person-record reads collected during a request in one batch."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        audit.flush(request)
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """简体中文 by default for the UI; English only when the user switches (the language cookie).

    The browser's Accept-Language is ignored for pages — a clinic PC with an English Windows must
    still open in Chinese — but honoured by the API, whose callers ask for the language of error
    messages explicitly.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        translation.activate(chosen if chosen in supported else settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
