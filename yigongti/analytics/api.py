"""``/api/v1/indicators`` — stored indicator values and the catalogue of their definitions.

Reads only what the last ``ygt analytics refresh`` stored. Values are aggregates per org unit, but
a caller still sees only the units of their data-view subtree: a unit outside it is 404 like one
that does not exist. A period that does not exist is 422 with the accepted forms in ``detail``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from yigongti.core.api import PROBLEMS, Page, PageParams, caller, domain_problem, page_of
from yigongti.core.errors import DomainError

from . import selectors
from .board import value_rows
from .models import Indicator, OrgLevel
from .periods import parse

router = Router(tags=["indicators"])


class ValueOut(Schema):
    """One stored value: indicator × org unit × period. ``value`` is null when the denominator is 0
    (shown "—", never 0); ``denominator`` is null for an indicator without one (a count)."""

    indicator: str = Field(..., examples=["record_rate"])
    org: str = Field(..., description="division code of the org unit", examples=["522399"])
    period: str = Field(..., examples=["2025"])
    numerator: float
    denominator: float | None
    value: float | None


class ValueFilters(Schema):
    org: str | None = Field(None, description="division code; alone: that unit's values; with `level`: the units "
                                              "of that level inside it")
    period: str | None = Field(None, description="2025 (year), 2025Q1, 202503 (month) or 202503R12 (rolling)")
    indicator: list[str] | None = Field(None, description="indicator code(s): repeat the parameter or separate "
                                                          "with commas")
    level: OrgLevel | None = Field(None, description="county | township | village")


class CatalogueOut(Schema):
    code: str
    name: str
    name_en: str
    group: str
    unit: str
    factor: float
    decimals: int
    direction: str = Field(..., description="higher | lower | none: which way is better")
    periods: list[str] = Field(..., description="the period types the indicator is defined for")
    formula: str
    formula_en: str
    numerator_label: str
    numerator_label_en: str
    denominator_label: str = Field(..., description="empty for an indicator without a denominator")
    denominator_label_en: str
    source: str = Field(..., description="the norm or document the definition follows")
    target: float | None


def _codes(values: list[str] | None) -> list[str]:
    return [code.strip() for value in values or [] for code in value.replace("，", ",").split(",") if code.strip()]


@router.get("", response={200: Page[ValueOut], **PROBLEMS}, summary="Stored indicator values")
def value_index(request: HttpRequest, filters: Query[ValueFilters], page: Query[PageParams]) -> Any:
    """Values in catalogue order, then by org unit (tree order) and period, one page at a time."""
    user = caller(request)
    try:
        org = selectors.org_for(user=user, code=filters.org.strip()) if filters.org else None
        period = parse(filters.period) if filters.period else None
        codes = _codes(filters.indicator)
        for code in codes:  # an unknown code is 404 naming it, not an empty page
            selectors.indicator_get(code)
    except DomainError as exc:
        return domain_problem(exc)
    rows = value_rows(user=user, org=org, period=period, codes=codes,
                      level=filters.level.value if filters.level else None)
    result = page_of(rows, page)
    result["items"] = [{"indicator": row["indicator__code"], "org": row["org_code"], "period": row["period"],
                        "numerator": row["numerator"], "denominator": row["denominator"], "value": row["value"]}
                       for row in result["items"]]
    return result


@router.get("/catalogue", response={200: list[CatalogueOut], **PROBLEMS}, summary="The indicator definitions")
def catalogue(request: HttpRequest) -> list[Indicator]:
    """Every active indicator in catalogue order, with its formula, labels, source and target."""
    return selectors.indicators()
