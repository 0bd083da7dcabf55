"""The year of the ``medicines`` demo, day by day: opening stock, requisitions, consolidated orders,
deliveries, shipments and prescriptions, each step as its service would do it (see
:mod:`yigongti.demo.medicines` for the shape and :mod:`.medicines_ledger` for the rows).

Each day runs its steps in one order — deliveries, receipts of shipments, the clinics' requisitions,
the centres' decisions and shipments, the centres' requisitions, the hospital's decisions, the
consolidations, the hospital's shipments, then the day's prescriptions — so the rows are written in
the order a real county would have written them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from yigongti.core import clock
from yigongti.medicines.choices import MovementKind, OrderStatus, PrescriptionStatus, RequisitionStatus
from yigongti.medicines.models import (
    FormularyEntry,
    Medicine,
    Prescription,
    PrescriptionLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Requisition,
    RequisitionLine,
)
from yigongti.registry.choices import InstitutionType, Tier

from .context import weighted_choice
from .medicines_ledger import Ledger, Lot, Place, Row

OPENING_NOTE = "期初库存"
REJECT_NOTE = "卫生院库存不足，待县医院配送到货后再请领"
COMMON = ["XY0001", "XY0037", "XY0036", "XY0014", "XY0022", "XY0039"]
SHORT_WINDOW, DRAIN_WINDOW = 35, 14  # short clinics: no requisition in the last 35 days, drained in the last 14
CONSOLIDATE_DAY: dict[str, int] = {InstitutionType.COUNTY_HOSPITAL: 15, InstitutionType.TCM_HOSPITAL: 16,
                                   InstitutionType.MCH: 17}
SHIP_DAY = 24
PriceRow = tuple[dt.date, dt.date | None, Decimal, int]


def _rng(seed: int, *unit: object) -> random.Random:
    return random.Random(":".join(["yigongti.demo.medicines", str(seed), *(str(u) for u in unit)]))


@dataclass(eq=False)
class Doc:
    """A requisition or order in the simulation: its row, its lines and what moved for it."""

    row: Row
    place: Place
    supplier: Place | None = None
    lines: list[Row] = field(default_factory=list)
    shipped: list[tuple[Row, Lot, int]] = field(default_factory=list)
    direct: bool = False


class Flow:
    """The simulation of the year; rows go to ``ledger``, the planted cases are kept for the module."""

    def __init__(self, seed: int, today: dt.date, now: dt.datetime, places: Sequence[Place],
                 medicines: Mapping[int, Medicine], prices: Mapping[int, list[PriceRow]],
                 listed: Mapping[str, Mapping[int, FormularyEntry]], ledger: Ledger) -> None:
        self.seed, self.today, self.now, self.places, self.ledger = seed, today, now, list(places), ledger
        self.medicines, self.prices, self.listed = medicines, prices, listed
        self.by_id = {p.id: p for p in self.places}
        self.codes = {m.code: m.pk for m in medicines.values()}
        self.events: dict[dt.date, list[tuple[int, int, Callable[..., None], tuple[Any, ...]]]] = defaultdict(list)
        self.open: dict[int, list[Doc]] = defaultdict(list)  # approved requisitions to a county buyer, not ordered
        self.to_ship: dict[int, list[Doc]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        self.expired: list[tuple[Place, Lot]] = []
        villages = [p for p in self.places if p.tier == Tier.VILLAGE]
        self.short = sorted(_rng(seed, "short").sample(villages, min(len(villages), 4)), key=lambda p: p.code)
        self.drain: dict[int, list[int]] = {}
        for place in self.short:
            common = [self.codes[c] for c in COMMON if self.codes.get(c) in listed[place.tier]]
            self.drain[place.id] = _rng(seed, "drain", place.code).sample(common, min(3, len(common)))

    # ------------------------------------------------------------ helpers

    def at(self, day: dt.date, rng: random.Random) -> dt.datetime:
        minutes = rng.randint(8 * 60, 17 * 60 + 30)
        return min(dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=clock.LOCAL_TZ), self.now)

    def price(self, medicine_id: int, day: dt.date) -> tuple[Decimal, int] | None:
        """The contract price and supplier in force on ``day`` (as ``selectors.price_on``)."""
        for valid_from, valid_to, price, supplier in self.prices.get(medicine_id, []):  # latest first
            if valid_from <= day and (valid_to is None or valid_to >= day):
                return price, supplier
        return None

    def later(self, day: dt.date, phase: int, step: Callable[..., None], *args: Any) -> None:
        if day <= self.today:
            self.events[day].append((phase, len(self.events[day]), step, args))

    def wanted(self, place: Place, day: dt.date) -> dict[str, int]:
        """Items below their reorder level, up to the target (what a requisition asks for), by code."""
        found = {}
        for medicine_id, entry in sorted(self.listed[place.tier].items()):
            usable = self.ledger.usable(place.id, medicine_id, day)
            if usable < entry.reorder_level and entry.target_level > usable:
                found[self.medicines[medicine_id].code] = entry.target_level - usable
        return dict(sorted(found.items()))

    def receipt(self, place: Place, medicine_id: int, quantity: int, day: dt.date, expiry: dt.date, at: dt.datetime,
                rng: random.Random, **links: Any) -> Lot:
        price = self.price(medicine_id, day)
        assert price is not None, medicine_id
        unit_price = links.pop("unit_price", price[0])
        made = expiry - dt.timedelta(days=rng.choice([730, 1095]))
        lot = self.ledger.lot(medicine_id, expiry, unit_price, price[1], made)
        self.ledger.move(place, lot, MovementKind.RECEIPT, quantity, day, at, **links)
        return lot

    # ------------------------------------------------------------ opening stock and the planted lots

    def opening(self, start: dt.date) -> None:
        """Every listed item between its reorder and target level, in one or two lots (``services.receive``);
        planted: lots expiring within 30–90 days of today and lots already expired."""
        candidates = [p for p in self.places if p.tier != Tier.COUNTY]
        plant = _rng(self.seed, "plant")
        expiring = {p.id for p in plant.sample(candidates, min(8, len(candidates)))}
        expired = {p.id for p in plant.sample(candidates, min(4, len(candidates)))}
        for place in self.places:
            rng = _rng(self.seed, "opening", place.code)
            at = self.at(start, rng)
            for medicine_id, entry in sorted(self.listed[place.tier].items()):
                quantity = max(1, rng.randint(entry.reorder_level, entry.target_level))
                parts = [quantity] if quantity < 4 or rng.random() < 0.5 else [quantity // 2, quantity - quantity // 2]
                for part in parts:
                    expiry = start + dt.timedelta(days=rng.randint(480, 1000))
                    self.receipt(place, medicine_id, part, start, expiry, at, rng, note=OPENING_NOTE)
            slow = sorted(m for m in self.listed[place.tier] if self.medicines[m].code not in COMMON)
            for planted, days, key in ((expiring, (30, 90), "expiring"), (expired, (-60, -10), "expired")):
                if place.id in planted and slow:
                    medicine_id = rng.choice(slow)
                    expiry = self.today + dt.timedelta(days=rng.randint(*days))
                    if expiry <= start:
                        continue
                    lot = self.receipt(place, medicine_id, rng.randint(5, 12), start, expiry, at, rng,
                                       note=OPENING_NOTE)
                    self.counts[key] += 1
                    if key == "expired":
                        self.expired.append((place, lot))

    # ------------------------------------------------------------ the year

    def run(self, start: dt.date, encounters: Sequence[tuple[Any, ...]], rx_share: Mapping[str, float],
            dx_items: Mapping[str, list[str]], general: list[str], chronic: set[str],
            lines: Sequence[tuple[int, float]], usage: Mapping[str, str]) -> None:
        by_day: dict[dt.date, list[tuple[Any, ...]]] = defaultdict(list)
        for row in encounters:
            by_day[row[4]].append(row)
        month = start.replace(day=1)
        while month <= self.today:
            for place in self.places:
                rng = _rng(self.seed, "month", place.code, month)
                if place.tier == Tier.VILLAGE:
                    self.later(max(start, month + dt.timedelta(days=rng.randint(0, 4))), 2, self.village_submit,
                               place)
                elif place.tier == Tier.TOWNSHIP:
                    self.later(max(start, month + dt.timedelta(days=rng.randint(7, 9))), 4, self.township_submit,
                               place)
                elif place.type in CONSOLIDATE_DAY:
                    self.later(month.replace(day=CONSOLIDATE_DAY[place.type]), 6, self.consolidate, place)
                    self.later(month.replace(day=SHIP_DAY), 7, self.county_ship, place)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        self.rx = (rx_share, dx_items, general, chronic, lines, usage)
        drained: set[int] = set()
        day = start
        while day <= self.today:
            for _phase, _seq, step, args in sorted(self.events.pop(day, []), key=lambda e: (e[0], e[1])):
                step(*args, day)
            for row in by_day.get(day, []):
                self.prescription(row, drained)
            day += dt.timedelta(days=1)

    # ------------------------------------------------------------ requisitions

    def submit(self, place: Place, day: dt.date) -> Doc | None:
        """``services_flow.requisition_submit`` to the parent institution."""
        wanted = self.wanted(place, day)
        if not wanted or place.parent_id is None:
            return None
        supplier = self.by_id[place.parent_id]
        rng = _rng(self.seed, "requisition", place.code, day)
        row = self.ledger.document(Requisition, day, {
            "institution_id": place.id, "path": place.path, "supplier_id": supplier.id,
            "supplier_path": supplier.path, "status": RequisitionStatus.SUBMITTED, "note": "", "decision_note": "",
            "created_at": self.at(day, rng), "created_by_id": None})
        doc = Doc(row, place, supplier)
        for code, quantity in wanted.items():
            doc.lines.append(self.ledger.add(RequisitionLine, {
                "requisition_id": row, "medicine_id": self.codes[code], "quantity": quantity, "approved": None,
                "shipped": 0, "received": 0, "order_line_id": None}))
        return doc

    def decide(self, doc: Doc, day: dt.date, approved: list[int], note: str = "") -> None:
        at = self.at(day, _rng(self.seed, "decide", doc.place.code, day))
        if any(approved):
            for line, quantity in zip(doc.lines, approved, strict=True):
                line["approved"] = quantity
            doc.row["status"] = RequisitionStatus.APPROVED
        else:
            doc.row["status"] = RequisitionStatus.REJECTED
        doc.row.update(decision_note=note, decided_at=at, decided_by_id=None)

    def ship(self, doc: Doc, day: dt.date) -> bool:
        """``services_flow.requisition_ship`` (partial): FEFO transfers out of what the supplier holds."""
        assert doc.supplier is not None
        at = self.at(day, _rng(self.seed, "ship", doc.place.code, day))
        shipped = 0
        for line in doc.lines:
            wanted = (line["approved"] or 0) - line["shipped"]
            if wanted <= 0:
                continue
            take = min(wanted, self.ledger.usable(doc.supplier.id, line["medicine_id"], day))
            for lot, quantity in self.ledger.fefo(doc.supplier.id, line["medicine_id"], take, day):
                self.ledger.move(doc.supplier, lot, MovementKind.TRANSFER_OUT, -quantity, day, at,
                                 counterpart_id=doc.place.id, document=doc.row, requisition_line_id=line)
                doc.shipped.append((line, lot, quantity))
                line["shipped"] += quantity
                shipped += quantity
        if not shipped:
            return False
        doc.row.update(status=RequisitionStatus.SHIPPED, shipped_at=at, shipped_by_id=None)
        self.later(day + dt.timedelta(days=_rng(self.seed, "transit", doc.place.code, day).randint(1, 3)), 1,
                   self.receive, doc)
        return True

    def receive(self, doc: Doc, day: dt.date) -> None:
        """``services_flow.requisition_receive``: the same lots in (transfers in)."""
        assert doc.supplier is not None
        at = self.at(day, _rng(self.seed, "receive", doc.place.code, day))
        for line, lot, quantity in doc.shipped:
            self.ledger.move(doc.place, lot, MovementKind.TRANSFER_IN, quantity, day, at,
                             counterpart_id=doc.supplier.id, document=doc.row, requisition_line_id=line)
            line["received"] += quantity
        doc.row.update(status=RequisitionStatus.RECEIVED, received_at=at, received_by_id=None)

    def village_submit(self, place: Place, day: dt.date) -> None:
        if place in self.short and day > self.today - dt.timedelta(days=SHORT_WINDOW):
            return  # planted: the clinic has not asked (its requisition goes in through the services today)
        doc = self.submit(place, day)
        if doc is not None:
            self.later(day + dt.timedelta(days=1), 3, self.village_supply, doc)

    def village_supply(self, doc: Doc, day: dt.date) -> None:
        """The township centre approves what it can give and ships it the same day."""
        assert doc.supplier is not None
        approved = [min(line["quantity"], self.ledger.usable(doc.supplier.id, line["medicine_id"], day))
                    for line in doc.lines]
        self.decide(doc, day, approved, "" if any(approved) else REJECT_NOTE)
        if any(approved):
            self.ship(doc, day)

    def township_submit(self, place: Place, day: dt.date) -> None:
        doc = self.submit(place, day)
        if doc is not None:
            self.later(day + dt.timedelta(days=1), 5, self.county_decide, doc)

    def county_decide(self, doc: Doc, day: dt.date) -> None:
        """The county hospital approves in full; the order covers it (delivered directly for some)."""
        assert doc.supplier is not None
        self.decide(doc, day, [line["quantity"] for line in doc.lines])
        doc.direct = _rng(self.seed, "direct", doc.place.code, day).random() < 0.25
        self.open[doc.supplier.id].append(doc)

    def county_ship(self, buyer: Place, day: dt.date) -> None:
        waiting, self.to_ship[buyer.id] = self.to_ship[buyer.id], []
        for doc in waiting:
            if not self.ship(doc, day):
                self.to_ship[buyer.id].append(doc)  # nothing in stock yet: next month

    # ------------------------------------------------------------ procurement

    def consolidate(self, buyer: Place, day: dt.date) -> None:
        """``services_flow.consolidate`` (direct for the requisitions marked so): one order per supplier."""
        docs, self.open[buyer.id] = self.open[buyer.id], []
        needs: dict[tuple[int, int], int] = defaultdict(int)
        covers: dict[tuple[int, int], list[tuple[Doc, Row]]] = defaultdict(list)
        demand: dict[int, int] = defaultdict(int)
        for doc in docs:
            for line in doc.lines:
                if not line["approved"]:
                    continue
                target = doc.place.id if doc.direct else buyer.id
                if doc.direct:
                    needs[(line["medicine_id"], target)] += line["approved"]
                else:
                    demand[line["medicine_id"]] += line["approved"]
                covers[(line["medicine_id"], target)].append((doc, line))
        listed = self.listed[buyer.tier]
        for medicine_id in set(listed) | set(demand):
            entry = listed.get(medicine_id)
            reorder, target_level = (entry.reorder_level, entry.target_level) if entry else (0, 0)
            left = self.ledger.usable(buyer.id, medicine_id, day) - demand[medicine_id]
            if left < reorder or left < 0:
                need = max(0, target_level - left) if entry else -left
                if need:
                    needs[(medicine_id, buyer.id)] += need
        by_supplier: dict[int, list[tuple[int, int, int, Decimal]]] = defaultdict(list)
        for (medicine_id, target), quantity in sorted(needs.items()):
            price = self.price(medicine_id, day)
            if price is not None:
                by_supplier[price[1]].append((medicine_id, target, quantity, price[0]))
        rng = _rng(self.seed, "order", buyer.code, day)
        for supplier_id, rows in sorted(by_supplier.items()):
            created = self.at(day, rng)
            order = self.ledger.document(PurchaseOrder, day, {
                "buyer_id": buyer.id, "path": buyer.path, "supplier_id": supplier_id, "status": OrderStatus.APPROVED,
                "order_date": day, "total": Decimal("0"), "created_at": created, "created_by_id": None,
                "approved_at": min(created + dt.timedelta(hours=1), self.now), "approved_by_id": None})
            doc = Doc(order, buyer)
            for medicine_id, target, quantity, unit_price in rows:
                line = self.ledger.add(PurchaseOrderLine, {
                    "order_id": order, "medicine_id": medicine_id, "quantity": quantity, "unit_price": unit_price,
                    "deliver_to_id": target, "received": 0})
                doc.lines.append(line)
                order["total"] += (unit_price * quantity).quantize(Decimal("0.01"))
                line["_covers"] = covers.get((medicine_id, target), [])
                for _doc, covered in line["_covers"]:
                    covered["order_line_id"] = line
            self.counts["orders"] += 1
            self.later(day + dt.timedelta(days=rng.randint(3, 7)), 0, self.deliver, doc)
        for doc in docs:
            if doc.direct:
                self.counts["direct"] += 1
            else:
                self.to_ship[buyer.id].append(doc)

    def deliver(self, order: Doc, day: dt.date) -> None:
        """``services_flow.receive_order``: each line one lot, at the line's institution at the contract price; a
        direct delivery completes the centre's requisition lines it covers."""
        rng = _rng(self.seed, "delivery", order.row["buyer_id"], order.row["supplier_id"], day)
        at = self.at(day, rng)
        for line in order.lines:
            place = self.by_id[line["deliver_to_id"]]
            expiry = day + dt.timedelta(days=rng.randint(540, 1080))
            self.receipt(place, line["medicine_id"], line["quantity"], day, expiry, at, rng,
                         unit_price=line["unit_price"], order_line_id=line, document=order.row)
            line["received"] = line["quantity"]
        for line in order.lines:
            if line["deliver_to_id"] != order.place.id:
                self.complete_direct(line, at)
        order.row["status"] = OrderStatus.RECEIVED

    def complete_direct(self, order_line: Row, at: dt.datetime) -> None:
        """``services._complete_direct``: the covered lines filled oldest first; a requisition whose lines
        are all filled is received."""
        arrived = order_line["quantity"]
        touched: list[Doc] = []
        for doc, line in order_line["_covers"]:
            take = min(arrived, (line["approved"] or 0) - line["received"])
            if take <= 0:
                continue
            line["shipped"] += take
            line["received"] += take
            arrived -= take
            if doc not in touched:
                touched.append(doc)
        for doc in touched:
            if doc.row["status"] == RequisitionStatus.APPROVED and all(
                    line["received"] >= (line["approved"] or 0) for line in doc.lines):
                doc.row.update(status=RequisitionStatus.RECEIVED, received_at=at, received_by_id=None)

    # ------------------------------------------------------------ prescriptions

    def prescription(self, encounter: tuple[Any, ...], drained: set[int]) -> None:
        """``services_dispensing.prescribe`` + ``dispense`` for a share of the outpatient visits."""
        rx_share, dx_items, general, chronic, line_counts, usage = self.rx
        pk, resident_id, path, institution_id, day, clinician, dx = encounter
        place = self.by_id.get(institution_id)
        if place is None:
            return
        rng = _rng(self.seed, "rx", pk)
        if rng.random() >= rx_share.get(place.tier, 0):
            return
        listed = self.listed[place.tier]
        candidates = [self.codes[c] for c in dx_items.get(dx, general) if self.codes.get(c) in listed] or \
            [self.codes[c] for c in general if self.codes.get(c) in listed]
        picks = rng.sample(candidates, min(weighted_choice(rng, line_counts), len(candidates)))
        wanted: dict[int, tuple[int, int]] = {}
        for medicine_id in picks:
            long = dx in chronic
            wanted[medicine_id] = (rng.choice([2, 2, 3]) if long else 1 if rng.random() < 0.75 else 2,
                                   30 if long else rng.choice([3, 5, 7]))
        if place.id in self.drain and place.id not in drained and day >= self.today - dt.timedelta(days=DRAIN_WINDOW):
            drained.add(place.id)  # planted: a large supply empties the clinic's common items
            for index, medicine_id in enumerate(self.drain[place.id]):
                usable = self.ledger.usable(place.id, medicine_id, day)
                keep = 0 if index == 0 else rng.randint(1, max(1, listed[medicine_id].reorder_level - 1))
                if usable - keep > 0:
                    wanted[medicine_id] = (usable - keep, 90)
        available = {m: q for m, q in wanted.items() if self.ledger.usable(place.id, m, day) >= q[0]}
        status = PrescriptionStatus.DISPENSED if available else PrescriptionStatus.CANCELLED
        if not available:
            if rng.random() >= 0.3:
                return
            available = wanted
        created = self.at(day, rng)
        row = self.ledger.document(Prescription, day, {
            "encounter_id": pk, "resident_id": resident_id, "path": path, "institution_id": place.id,
            "institution_path": place.path, "prescribed_on": day, "prescriber": (clinician or "")[:50],
            "status": status, "amount": Decimal("0"), "essential_amount": Decimal("0"), "created_at": created,
            "created_by_id": None, "dispensed_at": None, "dispensed_by_id": None})
        for medicine_id, (quantity, days) in available.items():
            medicine = self.medicines[medicine_id]
            line = self.ledger.add(PrescriptionLine, {
                "prescription_id": row, "medicine_id": medicine_id, "quantity": quantity,
                "usage": usage.get(medicine.dosage_form, "口服，遵医嘱"), "days": days, "amount": Decimal("0")})
            if status != PrescriptionStatus.DISPENSED:
                continue
            for lot, taken in self.ledger.fefo(place.id, medicine_id, quantity, day):
                movement = self.ledger.move(place, lot, MovementKind.DISPENSE, -taken, day, created,
                                            document=row, prescription_line_id=line)
                line["amount"] -= movement["amount"]
            row["amount"] += line["amount"]
            if medicine.essential:
                row["essential_amount"] += line["amount"]
        if status == PrescriptionStatus.DISPENSED:
            row["dispensed_at"] = min(created + dt.timedelta(minutes=rng.randint(3, 20)), self.now)
        self.counts["prescriptions"] += 1
