"""Paging of the HTML lists: one page of a queryset and the query string the pager links keep
(``core/_pager.html`` renders it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

PER_PAGE = 50


def page_number(request: HttpRequest) -> int:
    """``?page=N`` (1 when absent or not a positive number)."""
    raw = request.GET.get("page") or "1"
    return max(int(raw), 1) if raw.isascii() and raw.isdigit() else 1


def query_without(request: HttpRequest, *names: str) -> str:
    """The request's query string without ``names`` (the filters a pager or a sort link keeps)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def paged(request: HttpRequest, queryset: Any, per_page: int = PER_PAGE) -> dict[str, Any]:
    """One page of ``queryset`` as ``core/_pager.html`` reads it (``rows``, ``number``, ``pages`` …)."""
    total = queryset.count()
    pages = max((total + per_page - 1) // per_page, 1)
    number = min(page_number(request), pages)
    rows = list(queryset[(number - 1) * per_page: number * per_page])
    return {"rows": rows, "total": total, "number": number, "pages": pages, "has_previous": number > 1,
            "has_next": number < pages, "query": query_without(request, "page")}
