"""Helpers shared by the insurance pages (医保): who uses them, paging, a service's error onto a
form, the year in the query string, amounts for display and download."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import get_language

from yigongti.accounts.models import Role
from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound, PermissionDenied

from . import services

# Who uses the insurance pages: everyone who treats, enrols or pays (the CDC does none of it).
USER_ROLES = (Role.VILLAGE_DOCTOR, Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR, Role.COUNTY_CLINICIAN,
              Role.HEALTH_COMMISSION, Role.INSURANCE, Role.ADMIN)
# Who reads the fund (income, payouts, the ledger): the insurance office and the health commission.
FUND_ROLES = (Role.INSURANCE, Role.HEALTH_COMMISSION, Role.ADMIN)
FIRST_YEAR = 2000


def may_use(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or getattr(user, "role", "") in USER_ROLES


def require_user(user: Any) -> None:
    if not may_use(user):
        raise PermissionDenied()


def may_read_fund(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or getattr(user, "role", "") in FUND_ROLES


def may_enrol(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or getattr(user, "role", "") in services.ENROLLING_ROLES


def may_settle(user: Any, encounter: Any) -> bool:
    """Whether the caller may settle (or reverse) the encounter's settlement (the service checks again)."""
    try:
        services.check_may_settle(user, encounter)
    except DomainError:
        return False
    return True


def default_enrol_year() -> int:
    """The year enrolment is collected for: next year from September (征缴期), else this year."""
    day = today()
    return day.year + 1 if (day.month, day.day) >= (9, 1) else day.year


def year_of(request: HttpRequest, default: int | None = None) -> int:
    """``?year=`` within 2000 … next year, else ``default`` (this year)."""
    fallback = default if default is not None else today().year
    raw = request.GET.get("year") or ""
    if raw.isascii() and raw.isdigit() and FIRST_YEAR <= int(raw) <= today().year + 1:
        return int(raw)
    return fallback


def year_choices(around: int | None = None) -> list[int]:
    """Years to pick from: next year back to five years ago (and ``around`` if older)."""
    this = today().year
    years = list(range(this + 1, this - 6, -1))
    if around is not None and around not in years:
        years.append(around)
    return years


def english() -> bool:
    return (get_language() or "").startswith("en")


def line_text(line: dict[str, Any]) -> str:
    """An explanation line in the active language (both are stored on every line)."""
    return str(line.get("en") if english() and line.get("en") else line.get("zh", ""))


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0))





def put_error(form: forms.Form, error: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """A service's error under the field it names (``outside_catalogue.bed`` → ``outside_bed``),
    else above the form. Out of scope stays 404."""
    if isinstance(error, NotFound):
        raise error
    field = str(error.params.get("field") or "")
    if field.startswith("outside_catalogue."):
        field = "outside_" + field.split(".", 1)[1]
    field = (aliases or {}).get(field, field)
    form.add_error(field if field in form.fields else None, str(error))


def settlement_get(user: Any, pk: int, request: Any = None) -> Any:
    """One settlement in the caller's scope (seen from the patient's village or the institution),
    its read audited; else :class:`NotFound` (audited as a miss)."""
    queryset = services.settlements_visible(user).select_related(
        "resident", "institution", "encounter", "reverses", "reversal", "settled_by")
    settlement = queryset.filter(pk=pk).first()
    if settlement is None:
        audit.read_missed(user=user, object_type=services.SETTLEMENT, object_id=pk, request=request)
        raise NotFound()
    audit.read(user=user, objects=[settlement], request=request)
    return settlement
