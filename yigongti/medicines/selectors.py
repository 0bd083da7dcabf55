"""Reads of the medicines app: the catalogue on a day, balances (the sum of the movements), alerts,
consumption, stock-out days and the share of essential medicines.

Stock is institutional, not person-level: it is narrowed to the caller's subtree by the institution's
``path`` all the same (:func:`institutions_visible`). Prescriptions are person-level and reach a
caller only through :func:`prescriptions_visible` (the patient's village or the prescribing institution).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from yigongti.core import scope
from yigongti.registry.models import Institution

from .choices import MovementKind, PrescriptionStatus
from .models import (
    Batch,
    ContractPrice,
    FormularyEntry,
    Holding,
    Medicine,
    MonthlyUse,
    Movement,
    Prescription,
    PrescriptionLine,
)
from .sums import monthly_use

BOTH_PATHS = ("path", "institution_path")
EXPIRING_DAYS = 90  # 近效期: expiring within this many days (the default of the alerts)


def on_day(day: dt.date) -> Q:
    """Effective on ``day`` (``valid_from`` ≤ day, ``valid_to`` empty or ≥ day)."""
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))


def institutions_visible(user: Any) -> QuerySet[Institution]:
    """The institutions inside the caller's view scope (their stock, documents and reports)."""
    return scope.visible(user, Institution.objects.all())


def prescriptions_visible(user: Any) -> QuerySet[Prescription]:
    return scope.visible(user, Prescription.objects.all(), path_field=BOTH_PATHS)


def formulary(tier: str, day: dt.date) -> dict[int, FormularyEntry]:
    """The 医共体's list for an institution tier on a day: medicine id → its entry (levels)."""
    entries = (FormularyEntry.objects.filter(on_day(day), tier=tier).filter(
        Q(medicine__valid_from__lte=day) & (Q(medicine__valid_to__isnull=True) | Q(medicine__valid_to__gte=day)))
        .select_related("medicine"))
    return {entry.medicine_id: entry for entry in entries}


def price_on(medicine: Medicine, day: dt.date) -> ContractPrice | None:
    """The contracted supplier and unit price of the item in force on ``day``."""
    return (ContractPrice.objects.filter(on_day(day), medicine=medicine).select_related("supplier")
            .order_by("-valid_from").first())


def batch_balances(institution_id: int, *, medicine_ids: Iterable[int] | None = None,
                   until: dt.date | None = None) -> dict[int, int]:
    """Batch id → quantity on hand at the institution: the sum of its movements — as kept on its holdings
    (:attr:`Holding.quantity`), or added up from the movements up to ``until`` (a past day's balance)."""
    if until is None:
        holdings = Holding.objects.filter(institution_id=institution_id).exclude(quantity=0)
        if medicine_ids is not None:
            holdings = holdings.filter(medicine_id__in=list(medicine_ids))
        return dict(holdings.values_list("batch_id", "quantity"))
    movements = Movement.objects.filter(institution_id=institution_id)
    if medicine_ids is not None:
        movements = movements.filter(medicine_id__in=list(medicine_ids))
    if until is not None:
        movements = movements.filter(moved_on__lte=until)
    rows = movements.values_list("batch_id").annotate(quantity=Sum("quantity")).order_by()
    return {batch_id: quantity for batch_id, quantity in rows if quantity}


@dataclass
class StockLine:
    """An item at an institution: on hand, usable (not expired), its batches, levels and alerts."""

    medicine: Medicine
    on_hand: int = 0
    usable: int = 0
    expired: int = 0
    expiring: int = 0  # usable but expiring within the alert window
    value: Decimal = Decimal("0")
    nearest_expiry: dt.date | None = None
    reorder_level: int | None = None  # None: not on the institution's list
    target_level: int | None = None
    batches: list[tuple[Batch, int]] = field(default_factory=list)

    @property
    def listed(self) -> bool:
        return self.reorder_level is not None

    @property
    def out(self) -> bool:
        return self.listed and self.usable <= 0

    @property
    def low(self) -> bool:
        return self.listed and 0 < self.usable < (self.reorder_level or 0)

    @property
    def suggested(self) -> int:
        """What a requisition would ask for: up to the target level when below the reorder level."""
        if not self.listed or self.usable >= (self.reorder_level or 0):
            return 0
        return max(0, (self.target_level or 0) - self.usable)


def stock(institution: Institution, day: dt.date, *, expiring_days: int = EXPIRING_DAYS,
          listed_only: bool = False, until: dt.date | None = None) -> list[StockLine]:
    """Every item the institution holds or should hold (its tier's list), with batches FEFO-ordered
    (``until``: the balances of the movements up to that day, as a report of a past day needs)."""
    balances = batch_balances(institution.pk, until=until)
    listed = formulary(institution.tier, day)
    batches = Batch.objects.filter(pk__in=balances).select_related("medicine").order_by("expiry", "pk")
    lines: dict[int, StockLine] = {}
    for entry in listed.values():
        lines[entry.medicine_id] = StockLine(medicine=entry.medicine, reorder_level=entry.reorder_level,
                                             target_level=entry.target_level)
    horizon = day + dt.timedelta(days=expiring_days)
    for batch in batches:
        quantity = balances[batch.pk]
        line = lines.get(batch.medicine_id)
        if line is None:
            line = lines[batch.medicine_id] = StockLine(medicine=batch.medicine)
        line.batches.append((batch, quantity))
        line.on_hand += quantity
        line.value += batch.unit_price * quantity
        if batch.expiry < day:
            line.expired += quantity
        else:
            line.usable += quantity
            if batch.expiry <= horizon:
                line.expiring += quantity
            if quantity > 0 and (line.nearest_expiry is None or batch.expiry < line.nearest_expiry):
                line.nearest_expiry = batch.expiry
    result = sorted(lines.values(), key=lambda line: line.medicine.code)
    return [line for line in result if line.listed] if listed_only else result


@dataclass(frozen=True)
class Alert:
    """One thing to act on: ``kind`` (out, low, expiring, expired), the institution, item and numbers."""

    kind: str
    institution: Institution
    medicine: Medicine
    quantity: int
    level: int | None = None
    expiry: dt.date | None = None
    lot: str = ""
    since: dt.date | None = None  # out of stock since (the day of the movement that emptied it)


ALERT_ORDER = {"expired": 0, "out": 1, "low": 2, "expiring": 3}


def alerts(institutions: Iterable[Institution], day: dt.date, *,
           expiring_days: int = EXPIRING_DAYS) -> list[Alert]:
    """Out of stock, below the reorder level, expiring within ``expiring_days`` and expired, per institution."""
    found: list[Alert] = []
    for institution in institutions:
        for line in stock(institution, day, expiring_days=expiring_days):
            if line.out:
                found.append(Alert("out", institution, line.medicine, line.usable, line.reorder_level,
                                   since=stockout_since(institution.pk, line.medicine.pk, day)))
            elif line.low:
                found.append(Alert("low", institution, line.medicine, line.usable, line.reorder_level))
            for batch, quantity in line.batches:
                if quantity <= 0:
                    continue
                if batch.expiry < day:
                    found.append(Alert("expired", institution, line.medicine, quantity, expiry=batch.expiry,
                                       lot=batch.lot))
                elif batch.expiry <= day + dt.timedelta(days=expiring_days):
                    found.append(Alert("expiring", institution, line.medicine, quantity, expiry=batch.expiry,
                                       lot=batch.lot))
    found.sort(key=lambda a: (ALERT_ORDER[a.kind], a.institution.path, a.institution.code, a.medicine.code,
                              a.expiry or day))
    return found


def _daily(institution_id: int, medicine_id: int, until: dt.date) -> list[tuple[dt.date, int]]:
    """(day, net quantity moved that day) of the item at the institution, in date order."""
    rows = (Movement.objects.filter(institution_id=institution_id, medicine_id=medicine_id, moved_on__lte=until)
            .values_list("moved_on").annotate(quantity=Sum("quantity")).order_by("moved_on"))
    return list(rows)


def stockout_since(institution_id: int, medicine_id: int, day: dt.date) -> dt.date | None:
    """The day the item's balance last fell to zero (None when it never held any)."""
    balance, since = 0, None
    for moved_on, quantity in _daily(institution_id, medicine_id, day):
        balance += quantity
        if balance <= 0 and since is None:
            since = moved_on
        elif balance > 0:
            since = None
    return since


def stockout_days(institution_id: int, medicine_id: int, start: dt.date, end: dt.date) -> int:
    """Days in [start, end] whose closing balance of the item at the institution was zero (断货天数),
    counted from its first movement (before that it was not stocked, not out)."""
    rows = _daily(institution_id, medicine_id, end)
    days, balance = 0, 0
    for index, (moved_on, quantity) in enumerate(rows):
        balance += quantity
        following = rows[index + 1][0] if index + 1 < len(rows) else end + dt.timedelta(days=1)
        if balance <= 0:
            days += _overlap(moved_on, following, start, end)
    return days


def _overlap(first: dt.date, stop: dt.date, start: dt.date, end: dt.date) -> int:
    """Days of [first, stop) inside [start, end]."""
    low, high = max(first, start), min(stop, end + dt.timedelta(days=1))
    return max(0, (high - low).days)


@dataclass(frozen=True)
class ConsumptionRow:
    month: dt.date
    institution_id: int
    medicine_id: int
    quantity: int
    amount: Decimal


def consumption(institutions: QuerySet[Institution], start: dt.date, end: dt.date) -> list[ConsumptionRow]:
    """Dispensed (net of returns) quantity and amount per month, institution and item (月消耗): whole
    months from :class:`MonthlyUse`, the days of a month the range cuts from the movements."""
    first = start if start.day == 1 else _month_after(start)  # the whole months are [first, after)
    after = _month_after(end) if _month_after(end) - dt.timedelta(days=1) == end else end.replace(day=1)
    found: dict[tuple[dt.date, int, int], list[Any]] = defaultdict(lambda: [0, Decimal("0")])
    parts = [(start, end)]
    if first < after:
        for month, inst, med, quantity, amount in MonthlyUse.objects.filter(
                institution__in=institutions, month__gte=first, month__lt=after).values_list(
                "month", "institution_id", "medicine_id", "quantity", "amount"):
            found[(month, inst, med)] = [quantity, amount]
        parts = [(start, first - dt.timedelta(days=1)), (after, end)]
    for low, high in parts:
        if low > high:
            continue
        for month, inst, med, quantity, amount in monthly_use(
                Movement.objects.filter(institution__in=institutions, moved_on__gte=low, moved_on__lte=high)):
            row = found[(month, inst, med)]
            row[0] += quantity
            row[1] += amount
    return [ConsumptionRow(month, inst, med, quantity, amount)
            for (month, inst, med), (quantity, amount) in sorted(found.items()) if quantity]


def _month_after(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


@dataclass
class EssentialShare:
    """基本药物使用占比 of an institution: prescription lines and drug income (dispensed, 零差率)."""

    institution: Institution
    prescriptions: int = 0
    lines: int = 0
    essential_lines: int = 0
    amount: Decimal = Decimal("0")
    essential_amount: Decimal = Decimal("0")

    @property
    def line_share(self) -> float | None:
        return self.essential_lines / self.lines if self.lines else None

    @property
    def amount_share(self) -> float | None:
        return float(self.essential_amount / self.amount) if self.amount else None


def essential_shares(institutions: QuerySet[Institution], start: dt.date, end: dt.date) -> list[EssentialShare]:
    """Per institution: dispensed prescriptions, the share of their lines that are essential medicines
    (品种占比) and the share of drug income from essential medicines (金额占比)."""
    dispensed = Prescription.objects.filter(institution__in=institutions, status=PrescriptionStatus.DISPENSED,
                                            prescribed_on__gte=start, prescribed_on__lte=end)
    shares: dict[int, EssentialShare] = {}
    by_id = {inst.pk: inst for inst in institutions}
    for inst_id, count, amount, essential in (dispensed.values_list("institution_id").annotate(
            Count("pk"), Sum("amount"), Sum("essential_amount")).order_by()):
        shares[inst_id] = EssentialShare(by_id[inst_id], prescriptions=count, amount=amount or Decimal("0"),
                                         essential_amount=essential or Decimal("0"))
    lines = (PrescriptionLine.objects.filter(prescription__in=dispensed)
             .values_list("prescription__institution_id")
             .annotate(n=Count("pk"), essential=Count("pk", filter=Q(medicine__essential=True))).order_by())
    for inst_id, count, essential in lines:
        share = shares.setdefault(inst_id, EssentialShare(by_id[inst_id]))
        share.lines, share.essential_lines = count, essential
    return sorted(shares.values(), key=lambda s: (s.institution.path, s.institution.code))


def in_transit() -> dict[int, int]:
    """Batch id → quantity shipped down but not yet received (transfers out minus transfers in)."""
    totals: dict[int, int] = defaultdict(int)
    rows = (Movement.objects.filter(kind__in=[MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN])
            .values_list("batch_id").annotate(quantity=Sum("quantity")).order_by())
    for batch_id, quantity in rows:
        if quantity:
            totals[batch_id] = -quantity
    return dict(totals)
