"""Reads of the insurance app: stored policies, coverage rates (参合率), the fund view.

Person-level rows only through :func:`yigongti.core.scope.visible`; the aggregates here (rates per
village, fund totals) carry no person and are narrowed to the caller's subtree all the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractMonth

from yigongti.core import scope
from yigongti.core.errors import NotFound
from yigongti.core.tree import subtree_q
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

from .errors import NoPolicy
from .models import Account, Coverage, HouseholdEnrolment, LedgerEntry, PolicyVersion, Settlement, SettlementStatus
from .money import ZERO, quantize
from .policy import Policy, check_policies, policy_for, policy_from_mapping

_CACHE: dict[tuple[str, str], Policy] = {}


def stored_policies(*, fresh: bool = False) -> list[Policy]:
    """Every stored policy, parsed (cached per code and load time), checked for overlaps."""
    keys = [(code, loaded_at.isoformat() if loaded_at else "")
            for code, loaded_at in PolicyVersion.objects.values_list("code", "loaded_at")]
    missing = [code for code, stamp in keys if fresh or (code, stamp) not in _CACHE]
    if missing:  # only the documents not parsed yet are read (a settlement usually reads none)
        for code, document in PolicyVersion.objects.filter(code__in=missing).values_list("code", "document"):
            stamp = dict(keys)[code]
            _CACHE[(code, stamp)] = policy_from_mapping(document, name=code)
    policies = [_CACHE[key] for key in keys]
    check_policies(policies)
    return policies


def policy_on(county: str | None, on: dt.date) -> Policy:
    """The stored policy in force for ``county`` on ``on`` (:class:`NoPolicy` when none)."""
    return policy_for(stored_policies(), county=county, on=on)


def county_of(path: str) -> str | None:
    """The 6-digit county code on a division path (``52/5223/522399/…``), or ``None``."""
    for code in (path or "").split("/"):
        if len(code) == 6 and code.isdigit():
            return code
    return None


def policy_or_none(county: str | None, on: dt.date) -> Policy | None:
    try:
        return policy_on(county, on)
    except NoPolicy:
        return None


# ---------------------------------------------------------------- 参合率


@dataclass
class RateRow:
    """参合率 of one unit (township or village): enrolled ÷ eligible (在册居民)."""

    code: str
    name: str
    path: str
    eligible: int = 0
    enrolled: int = 0
    exempted: int = 0  # covered with an exemption (资助参保)

    @property
    def rate(self) -> float | None:
        return None if not self.eligible else self.enrolled / self.eligible


def eligible_residents(year: int) -> QuerySet[Resident]:
    """Residents who should be insured in ``year``: in the register (在册), born before the year ends.

    Residents who died or moved out count in the year it happened (they were insured until then)."""
    start = dt.date(year, 1, 1)
    return Resident.objects.filter(birth_date__lt=dt.date(year + 1, 1, 1)).filter(
        Q(status=RecordStatus.ACTIVE)
        | Q(status__in=(RecordStatus.DECEASED, RecordStatus.MOVED_OUT), status_date__gte=start))


def coverage_rates(user: Any, year: int, *, under: str | None = None) -> tuple[list[RateRow], RateRow]:
    """参合率 per unit one level below ``under`` (the caller's unit when not given), and the total.

    Counts only; the residents are narrowed to the caller's scope first."""
    residents = scope.visible(user, eligible_residents(year))
    coverages = scope.visible(user, Coverage.objects.filter(year=year))
    if under and not scope.covers(user, under):
        raise NotFound()
    if under:
        residents = residents.filter(subtree_q(under, "path"))
        coverages = coverages.filter(subtree_q(under, "path"))
    own = under if under is not None else (scope.scope_path(user) or "")
    if not own:  # the whole tree: rows per township of the county
        county = Division.objects.filter(level=DivisionLevel.COUNTY).order_by("path").first()
        own = county.path if county is not None else ""
    depth = len(own.split("/")) + 1 if own else 1
    units = Division.objects.filter(subtree_q(own, "path")) if own else Division.objects.all()
    rows: dict[str, RateRow] = {}
    for unit in units.order_by("path"):
        if len(unit.path.split("/")) == depth:
            rows[unit.path] = RateRow(code=unit.code, name=unit.name, path=unit.path)
    total = RateRow(code="", name="", path=own)

    def row_of(path: str) -> RateRow | None:
        return rows.get("/".join(path.split("/")[:depth]))

    for path, n in residents.values_list("path").annotate(n=Count("id")).order_by():
        total.eligible += n
        if (row := row_of(path)) is not None:
            row.eligible += n
    for path, n, exempt in coverages.values_list("path").annotate(
            n=Count("id"), exempt=Count("id", filter=~Q(category=""))).order_by():
        total.enrolled += n
        total.exempted += exempt
        if (row := row_of(path)) is not None:
            row.enrolled += n
            row.exempted += exempt
    return list(rows.values()), total


# ---------------------------------------------------------------- fund view


@dataclass
class FundReport:
    """The year's fund: income, payouts by layer, by institution and by month, the in-county share."""

    year: int
    enrolled: int = 0
    households: int = 0
    contributions: Decimal = ZERO
    exempted: Decimal = ZERO
    subsidy: Decimal = ZERO
    settlements: int = 0
    total: Decimal = ZERO
    basic: Decimal = ZERO
    catastrophic: Decimal = ZERO
    aid: Decimal = ZERO
    patient: Decimal = ZERO
    in_county_fund: Decimal = ZERO
    by_institution: list[dict[str, Any]] = field(default_factory=list)
    by_month: list[dict[str, Any]] = field(default_factory=list)
    by_kind: list[dict[str, Any]] = field(default_factory=list)

    @property
    def income(self) -> Decimal:
        return self.contributions + self.exempted + self.subsidy

    @property
    def fund(self) -> Decimal:
        return self.basic + self.catastrophic + self.aid

    @property
    def per_capita(self) -> Decimal | None:
        """人均筹资 (yuan per insured person)."""
        return None if not self.enrolled else (self.income / self.enrolled).quantize(Decimal("0.01"))

    @property
    def in_county_share(self) -> float | None:
        """医保县域内支出占比: the funds' payouts to in-county institutions ÷ all payouts."""
        return None if not self.fund else float(self.in_county_fund / self.fund)

    @property
    def reimbursement_ratio(self) -> float | None:
        """实际报销比: the funds' payouts ÷ the total cost of the settled encounters."""
        return None if not self.total else float(self.fund / self.total)


_LAYERS = ("total", "basic", "catastrophic", "aid", "patient")


def fen(value: Any) -> Decimal:
    """A sum of money from the database, to the fen (``None`` → 0). SQLite sums decimals as binary
    floating point (``7680.000000000001``); every amount summed is whole fen, so rounding the sum to
    the fen gives the exact total on both databases."""
    return ZERO if value is None else quantize(Decimal(value))


def _sums(queryset: QuerySet[Settlement]) -> dict[str, Decimal]:
    found = queryset.aggregate(**{name: Sum(name) for name in _LAYERS})
    return {name: fen(found[name]) for name in _LAYERS}


def fund_report(user: Any, year: int) -> FundReport:
    """The fund view of ``year`` within the caller's scope (settlements net of reversals: a
    reversal carries the negated amounts, so sums over both kinds are the net)."""
    report = FundReport(year=year)
    enrolments = scope.visible(user, HouseholdEnrolment.objects.filter(year=year))
    found = enrolments.aggregate(households=Count("id"), enrolled=Sum("members"), contributions=Sum("contribution"),
                                 exempted=Sum("exempted"), subsidy=Sum("subsidy"))
    report.households = found["households"] or 0
    report.enrolled = found["enrolled"] or 0
    report.contributions = fen(found["contributions"])
    report.exempted = fen(found["exempted"])
    report.subsidy = fen(found["subsidy"])
    settlements = scope.visible(user, Settlement.objects.filter(year=year), path_field=("path", "institution_path"))
    for name, value in _sums(settlements).items():
        setattr(report, name, value)
    report.settlements = settlements.filter(status=SettlementStatus.SETTLED).count()
    in_county = _sums(settlements.filter(in_county=True))
    report.in_county_fund = in_county["basic"] + in_county["catastrophic"] + in_county["aid"]
    rows = (settlements.values("institution__code", "institution__name", "in_county")
            .annotate(n=Count("id", filter=Q(status=SettlementStatus.SETTLED)),
                      **{name: Sum(name) for name in _LAYERS}).order_by("-in_county", "institution__code"))
    report.by_institution = [_row(row) for row in rows]
    months = (settlements.annotate(month=ExtractMonth("service_date")).values("month")
              .annotate(n=Count("id", filter=Q(status=SettlementStatus.SETTLED)),
                        **{name: Sum(name) for name in _LAYERS}).order_by("month"))
    report.by_month = [_row(row) for row in months]
    kinds = (settlements.values("encounter_kind")
             .annotate(n=Count("id", filter=Q(status=SettlementStatus.SETTLED)),
                       **{name: Sum(name) for name in _LAYERS}).order_by("encounter_kind"))
    report.by_kind = [_row(row) for row in kinds]
    return report


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    for name in _LAYERS:
        out[name] = fen(out.get(name))
    out["fund"] = out["basic"] + out["catastrophic"] + out["aid"]
    return out


def account_balances(year: int | None = None) -> dict[str, Decimal]:
    """The balance of every ledger account (all years, or one)."""
    entries = LedgerEntry.objects.all() if year is None else LedgerEntry.objects.filter(year=year)
    balances = {account: ZERO for account in Account.values}
    for account, total in entries.values_list("account").annotate(total=Sum("amount")).order_by():
        balances[account] = fen(total)
    return balances


HALF_FEN = Decimal("0.005")


def unbalanced_postings(limit: int = 20) -> list[tuple[str, Decimal]]:
    """Postings whose entries do not sum to zero (there should be none). Every entry is whole fen,
    so a posting is off by at least a fen; half a fen either side of zero absorbs SQLite's floating
    point sums."""
    rows = (LedgerEntry.objects.values_list("posting").annotate(total=Sum("amount"))
            .filter(Q(total__gte=HALF_FEN) | Q(total__lte=-HALF_FEN)).order_by("posting")[:limit])
    return [(posting, fen(total)) for posting, total in rows]

