"""Registry pages: the org tree (expanded row by row with htmx), an institution, the standards check.

Thin views: reads go through :mod:`.selectors` (scoped to the caller; staff reads audited) and
:func:`.standards.standards_findings_for`. A :class:`~yigongti.core.errors.NotFound` raised there
(absent or outside scope) becomes a 404 page in the web layer's error middleware.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from yigongti.core.clock import today

from . import selectors
from .models import StandardCategory
from .standards import Finding, StandardRulesMissing, standards_findings_for

CSV_COLUMNS: list[tuple[str, Any]] = [
    ("category_label", _("类别")), ("rule", _("规则")), ("title", _("标准")), ("division_code", _("区划代码")),
    ("division_name", _("区划")), ("institution_code", _("机构代码")), ("institution_name", _("机构")),
    ("reason", _("原因")),
]


def findings_for_page(user: Any) -> tuple[list[Finding], str | None]:
    """The caller's standards findings, or none and the reason when no rule is loaded yet.

    A page that merely shows findings beside other data says so instead of failing as a whole.
    """
    try:
        return standards_findings_for(user=user), None
    except StandardRulesMissing as error:
        return [], str(error)


@require_GET
@login_required
def tree(request: HttpRequest) -> HttpResponse:
    """机构树 — the county tree from the caller's data-view unit down; the root row open."""
    root = selectors.division_root_for(request.user)
    contents = selectors.division_contents(user=request.user, code=root.code) if root else None
    return render(request, "registry/tree.html", {"contents": contents})


@require_GET
@login_required
def division(request: HttpRequest, code: str) -> HttpResponse:
    """One division's children and institutions: an htmx partial, or a full page without JS."""
    contents = selectors.division_contents(user=request.user, code=code)
    template = "registry/_division_contents.html" if request.htmx else "registry/division.html"  # type: ignore[attr-defined]
    return render(request, template, {"contents": contents})


@require_GET
@login_required
def institution_detail(request: HttpRequest, code: str) -> HttpResponse:
    """机构详情 — placement, capacities, departments, staff (audited reads) and standards findings."""
    institution = selectors.institution_get(user=request.user, code=code, request=request)
    staff = selectors.staff_for_institution(user=request.user, institution=institution, request=request)
    day = today()
    findings, rules_missing = findings_for_page(request.user)
    return render(request, "registry/institution_detail.html", {
        "institution": institution,
        "ancestors": selectors.division_trail(user=request.user, path=institution.division.path),
        "staff_rows": [(member, selectors.qualifications_current(member, day)) for member in staff],
        "findings": [f for f in findings if f.institution_code == institution.code],
        "rules_missing": rules_missing,
    })


@require_GET
@login_required
def standards(request: HttpRequest) -> HttpResponse:
    """达标检查 — 三建成 / 三合格 / 三达标 shortfalls in the caller's scope; ``?format=csv`` downloads."""
    category = request.GET.get("category") or None
    if category not in StandardCategory.values:
        category = None
    if request.GET.get("format") == "csv":
        # A download with no rule loaded is refused (409 page) rather than an empty file.
        findings = standards_findings_for(user=request.user)
        return _findings_csv([f for f in findings if category in (None, f.category)], category)
    findings, rules_missing = findings_for_page(request.user)
    counts = {g.category: len(g.findings) for g in selectors.findings_by_category(findings)}
    groups = selectors.findings_by_category(findings, category)
    return render(request, "registry/standards.html", {
        "groups": groups,
        "categories": [(code, label, counts.get(code, 0)) for code, label in StandardCategory.choices],
        "category": category,
        "total": sum(len(g.findings) for g in groups),
        "rules_missing": rules_missing,
    })


def _findings_csv(findings: list[Any], category: str | None) -> HttpResponse:
    """UTF-8 with a BOM, so that Excel on a Chinese Windows PC opens it without mojibake."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"standards-{category or 'all'}-{today():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([str(label) for _attr, label in CSV_COLUMNS])
    for finding in findings:
        writer.writerow([_csv_cell(getattr(finding, attr)) for attr, _label in CSV_COLUMNS])
    return response


def _csv_cell(value: Any) -> str:
    """A cell Excel shows as text: a leading ``= + - @`` would make it a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
