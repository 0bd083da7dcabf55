"""The two sums kept beside the stock ledger: a batch's balance at an institution
(:attr:`~.models.Holding.quantity`) and an institution's monthly use of an item (:class:`~.models.MonthlyUse`).

Neither is ever set by hand. ``services._move`` adds each movement to them in the same transaction as it
writes the movement; :func:`rebuild` recomputes them from the movements — after rows were written in
bulk (the demo, a benchmark, a migration) — and takes the model classes as arguments so that a data
migration can call it with its historical models. The ledger check compares both with the movements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

# Dispensing and its returns are what an institution uses (消耗); transfers, write-offs and adjustments are not.
USE_KINDS = ("dispense", "return")


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def monthly_use(movements: Any) -> Iterator[tuple[dt.date, int, int, int, Decimal]]:
    """(month, institution, item, quantity, amount) used — dispensed net of returns, positive — of these
    movements, one row per month, institution and item: what :class:`MonthlyUse` keeps."""
    rows = (movements.filter(kind__in=USE_KINDS).annotate(month=TruncMonth("moved_on"))
            .values_list("month", "institution_id", "medicine_id")
            .annotate(quantity=Sum("quantity"), amount=Sum("amount")).order_by())
    for month, institution, medicine, quantity, amount in rows.iterator(chunk_size=20_000):
        yield as_date(month), institution, medicine, -quantity, -amount


def use_add(use_model: Any, institution_id: int, medicine_id: int, day: dt.date, quantity: int,
            amount: Decimal) -> None:
    """Add a dispensing (positive ``quantity``) or a return (negative) to its month, in one statement
    that also creates the month's row: two writers of a new month never collide on its unique key."""
    table = connection.ops.quote_name(use_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (institution_id, medicine_id, month, quantity, amount) VALUES (%s, %s, %s, %s, %s) "
            f"ON CONFLICT (institution_id, medicine_id, month) DO UPDATE SET "
            f"quantity = {table}.quantity + excluded.quantity, amount = {table}.amount + excluded.amount",
            [institution_id, medicine_id, month_of(day), quantity, amount])


def rebuild(holding_model: Any, movement_model: Any, use_model: Any,
            institution_ids: Iterable[int] | None = None) -> None:
    """Recompute both sums from the movements (of these institutions, or everywhere)."""
    holdings = holding_model.objects.all()
    movements = movement_model.objects.all()
    uses = use_model.objects.all()
    if institution_ids is not None:
        ids = list(institution_ids)
        holdings, movements, uses = (q.filter(institution_id__in=ids) for q in (holdings, movements, uses))
    balance = (movement_model.objects.filter(institution_id=OuterRef("institution_id"), batch_id=OuterRef("batch_id"))
               .order_by().values("batch_id").annotate(total=Sum("quantity")).values("total"))
    holdings.update(quantity=Coalesce(Subquery(balance), Value(0)))
    uses.delete()
    use_model.objects.bulk_create(
        (use_model(institution_id=institution, medicine_id=medicine, month=month, quantity=quantity, amount=amount)
         for month, institution, medicine, quantity, amount in monthly_use(movements)),
        batch_size=5_000)


def as_date(value: Any) -> dt.date:
    """A date from what a database's month truncation returns (a datetime on some backends)."""
    return value.date() if isinstance(value, dt.datetime) else value
