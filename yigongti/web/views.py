"""The UI shell: sign-in with the exact reason for a refusal, and a home page per role.

Views stay thin: every read goes through ``registry.selectors`` (scoped to the caller) and the
standards check; the templates only lay the data out.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from yigongti.accounts.models import Role
from yigongti.core.clock import today
from yigongti.programmes import selectors as programme_selectors
from yigongti.programmes.views_common import item_labels, specs_on
from yigongti.referrals import selectors as referral_selectors
from yigongti.registry import selectors
from yigongti.registry.choices import InstitutionType, QualificationKind, Tier
from yigongti.registry.views import findings_for_page
from yigongti.residents import selectors as resident_selectors

from .forms import LoginForm

# Rows of the worklist card on the home page (the full list is one click away).
WORKLIST_CARD_ROWS = 10
COUNTY_ROLES = frozenset({Role.HEALTH_COMMISSION, Role.CDC, Role.INSURANCE, Role.COUNTY_CLINICIAN, Role.ADMIN})
TOWNSHIP_ROLES = frozenset({Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR})


class LoginView(auth_views.LoginView):
    """登录 — Django's login view with the form that names the reason of a refusal."""

    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "max_failures": settings.YGT_LOGIN_MAX_FAILURES}


class LogoutView(auth_views.LogoutView):
    """退出 — POST only (Django 5), then back to the login page."""


def home_kind(user: Any) -> str:
    """Which home page a user gets: ``county``, ``township`` or ``village``."""
    if user.is_superuser or user.role in COUNTY_ROLES:
        return "county"
    if user.role in TOWNSHIP_ROLES:
        return "township"
    return "village"


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    root = selectors.division_root_for(user)
    if root is None:
        return render(request, "web/home_unscoped.html")
    kind = home_kind(user)
    contents = selectors.division_contents(user=user, code=root.code)
    findings, rules_missing = findings_for_page(user)
    context: dict[str, Any] = {
        "kind": kind,
        "contents": contents,
        "findings": findings,
        "finding_groups": selectors.findings_by_category(findings),
        "rules_missing": rules_missing,
        "n_residents": resident_selectors.resident_search(user=user).count(),
        "n_review": resident_selectors.review_queue(user=user).count(),
    }
    if kind in ("village", "township"):
        context.update(_worklist_card(request, root.code))
    institution = getattr(user, "institution", None)
    if institution is not None:
        context.update(_referral_card(request, institution))
    if kind == "village":
        clinic = selectors.user_institution(user=user)
        if clinic is None and contents.institutions:
            clinic = contents.institutions[0]
        context.update(clinic=clinic,
                       clinic_staff=selectors.staff_count(user=user, institution=clinic) if clinic else 0)
    elif kind == "township":
        institutions = list(selectors.institutions_with_staff_counts(user=user))
        context.update(institutions=institutions, n_staff=selectors.staff_count(user=user),
                       n_villages=len(contents.children))
    else:
        context.update(
            institution_counts=_with_labels(selectors.institution_counts(user=user)),
            qualification_counts=[
                {"kind": row["kind"], "label": QualificationKind(row["kind"]).label, "n": row["n"]}
                for row in selectors.staff_by_qualification(user=user)
            ],
            n_staff=selectors.staff_count(user=user),
        )
    return render(request, f"web/home_{kind}.html", context)


def _worklist_card(request: HttpRequest, org_code: str) -> dict[str, Any]:
    """The home page's worklist card: the three counts and the most urgent rows (overdue first)."""
    day = today()
    # Only the rows shown are read; the counts stay exact (each full section is counted).
    worklist = programme_selectors.worklist_for_org(user=request.user, org_code=org_code, on=day, request=request,
                                                    limit=WORKLIST_CARD_ROWS)
    labels = item_labels(specs_on(day))
    urgent = [{"row": row, "item_label": labels.get(row.programme_code, {}).get(row.item, row.item)}
              for row in [*worklist.overdue, *worklist.due][:WORKLIST_CARD_ROWS]]
    return {"worklist": worklist, "worklist_urgent": urgent}


def _referral_card(request: HttpRequest, institution: Any) -> dict[str, Any]:
    """The home page's referral card: how many referrals wait at the caller's institution's desk."""
    counts = referral_selectors.referral_desk_counts(user=request.user, institution=institution)
    return {"referral_counts": counts, "referral_institution": institution}


def _with_labels(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Institution counts with the labels of their type and tier, for the county overview."""
    return [{**row, "type_label": InstitutionType(row["type"]).label, "tier_label": Tier(row["tier"]).label}
            for row in rows]
