"""The stock ledger of the ``medicines`` demo, simulated in memory and written in bulk.

:class:`Ledger` keeps every institution's batches and balances while the demo walks its year day by
day, and builds exactly the rows the services write — :func:`~yigongti.medicines.services.receive`,
``requisition_*``, ``consolidate`` / ``receive_order`` and ``prescribe`` / ``dispense`` (first expiry
first out at the batch's price, 零差率) — as plain dicts. A row names the rows it refers to by the
dict itself; :meth:`Ledger.flush` draws the ids in the order the rows were made (so a movement's pk
follows the simulation and the running balance in pk order never goes below zero), numbers the
documents as the services do (``RQ2026000123``) and writes every table with COPY / executemany.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models

from yigongti.medicines.choices import MovementKind
from yigongti.medicines.models import (
    Batch,
    Holding,
    MonthlyUse,
    Movement,
    Prescription,
    PrescriptionLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Requisition,
    RequisitionLine,
)
from yigongti.medicines.services import CENT, DOCUMENTS
from yigongti.medicines.sums import USE_KINDS, month_of

from .bulk_rows import ids_draw, table_insert

Row = dict[str, Any]
# Parents before children: a row's references are resolved when its table is written.
TABLES: list[type[models.Model]] = [Batch, PurchaseOrder, PurchaseOrderLine, Requisition, RequisitionLine,
                                    Prescription, PrescriptionLine, Holding, Movement, MonthlyUse]


@dataclass(frozen=True)
class Place:
    """A stock-keeping institution as the demo reads it."""

    id: int
    code: str
    path: str
    tier: str
    parent_id: int | None
    type: str


@dataclass(eq=False)
class Lot:
    """A batch in the simulation (hashed by identity): its row, and what FEFO orders by."""

    row: Row
    index: int  # creation order = pk order
    medicine_id: int
    expiry: dt.date
    price: Decimal


@dataclass
class Ledger:
    """Balances per institution, item and lot, and the rows written so far, per table."""

    rows: dict[type[models.Model], list[Row]] = field(default_factory=lambda: defaultdict(list))
    stock: dict[int, dict[int, dict[Lot, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict)))
    holdings: dict[tuple[int, int], Row] = field(default_factory=dict)  # (place, lot index) → its Holding row
    uses: dict[tuple[int, int, dt.date], Row] = field(default_factory=dict)  # (place, item, month) → MonthlyUse row
    lots: list[Lot] = field(default_factory=list)
    lot_numbers: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, model: type[models.Model], row: Row) -> Row:
        self.rows[model].append(row)
        return row

    # ------------------------------------------------------------ reading the balances

    def usable(self, place_id: int, medicine_id: int, day: dt.date) -> int:
        """Units of unexpired lots (expiry on or after ``day``) — what FEFO may take."""
        return sum(q for lot, q in self.stock[place_id][medicine_id].items() if q > 0 and lot.expiry >= day)

    def fefo(self, place_id: int, medicine_id: int, quantity: int, day: dt.date) -> list[tuple[Lot, int]]:
        """Up to ``quantity`` first-expiry-first-out (as ``services.fefo``; the caller checked the total)."""
        taken: list[tuple[Lot, int]] = []
        held = self.stock[place_id][medicine_id]
        for lot in sorted((lot for lot, q in held.items() if q > 0 and lot.expiry >= day),
                          key=lambda lot: (lot.expiry, lot.index)):
            if quantity == 0:
                break
            take = min(quantity, held[lot])
            taken.append((lot, take))
            quantity -= take
        return taken

    def held(self, place_id: int) -> Iterator[tuple[Lot, int]]:
        for lots in self.stock[place_id].values():
            yield from ((lot, q) for lot, q in lots.items() if q)

    # ------------------------------------------------------------ writing

    def lot(self, medicine_id: int, expiry: dt.date, price: Decimal, supplier_id: int | None, made: dt.date,
            manufacturer: str = "") -> Lot:
        """A new batch (lot numbers as manufacturers print them: production date and a serial)."""
        self.lot_numbers[medicine_id] += 1
        row = self.add(Batch, {"medicine_id": medicine_id, "lot": f"{made:%y%m%d}{self.lot_numbers[medicine_id]:03d}",
                               "expiry": expiry, "unit_price": price, "manufacturer": manufacturer,
                               "supplier_id": supplier_id})
        lot = Lot(row, len(self.lots), medicine_id, expiry, price)
        self.lots.append(lot)
        return lot

    def move(self, place: Place, lot: Lot, kind: str, quantity: int, day: dt.date, at: dt.datetime,
             **links: Any) -> Row:
        """One movement, as ``services._move`` writes it: its holding (the first time) and the holding's
        balance, and for dispensing and returns the month's use."""
        assert quantity and (kind == MovementKind.ADJUSTMENT or (quantity > 0) == (kind in (
            MovementKind.RECEIPT, MovementKind.TRANSFER_IN, MovementKind.RETURN))), (kind, quantity)
        held = self.stock[place.id][lot.medicine_id]
        held[lot] = held.get(lot, 0) + quantity
        assert held[lot] >= 0, (place.code, lot.row["lot"], held[lot])
        holding = self.holdings.get((place.id, lot.index))
        if holding is None:
            holding = self.holdings[(place.id, lot.index)] = self.add(Holding, {
                "institution_id": place.id, "batch_id": lot.row, "medicine_id": lot.medicine_id, "path": place.path,
                "quantity": 0})
        holding["quantity"] = held[lot]
        amount = (lot.price * quantity).quantize(CENT)
        if kind in USE_KINDS:
            use = self.uses.get((place.id, lot.medicine_id, month_of(day)))
            if use is None:
                use = self.uses[(place.id, lot.medicine_id, month_of(day))] = self.add(MonthlyUse, {
                    "institution_id": place.id, "medicine_id": lot.medicine_id, "month": month_of(day),
                    "quantity": 0, "amount": Decimal("0")})
            use["quantity"] -= quantity
            use["amount"] -= amount
        return self.add(Movement, {
            "institution_id": place.id, "path": place.path, "batch_id": lot.row, "medicine_id": lot.medicine_id,
            "kind": kind, "quantity": quantity, "unit_price": lot.price, "amount": amount, "moved_on": day,
            "created_at": at, "created_by_id": None, **links})

    def document(self, model: type[models.Model], day: dt.date, row: Row) -> Row:
        """A document row; its number (prefix, year, id) is given when its id is drawn."""
        row["_number"] = (DOCUMENTS[model._meta.label_lower], day.year)
        return self.add(model, row)

    def flush(self) -> dict[str, int]:
        """Draw the ids in creation order, resolve the references, number the documents, write."""
        written: dict[str, int] = {}
        for model in TABLES:
            rows = self.rows.get(model, [])
            for pk, row in zip(sorted(ids_draw(model, len(rows))), rows, strict=True):
                row["id"] = pk
                if "_number" in row:
                    prefix, year = row["_number"]
                    row["number"] = f"{prefix}{year}{pk:06d}"
            for row in rows:
                for key, value in row.items():
                    if isinstance(value, dict):
                        row[key] = value["number"] if key == "document" else value["id"]
            written[model._meta.model_name or ""] = table_insert(model, rows)
        self.rows.clear()
        return written
