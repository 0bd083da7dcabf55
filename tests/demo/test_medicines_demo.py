"""Demo module ``medicines`` on the small county (at half the care demo's visit rate to keep it quick):
sensible counts, a ledger that balances, the planted alerts, essential-medicine shares, the bulk rows
equal to what the services write (a sample deleted and written again through them), and the same
seed giving the same rows.

"Today" is frozen for the module (the build included).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F, Q

from yigongti.core import clock
from yigongti.core.scope import SYSTEM
from yigongti.demo import care as demo_care
from yigongti.demo import medicines as demo_medicines
from yigongti.demo.builder import BuildResult
from yigongti.demo.context import BuildContext
from yigongti.medicines import services, services_dispensing, services_flow
from yigongti.medicines.choices import MovementKind, OrderStatus, PrescriptionStatus, RequisitionStatus
from yigongti.medicines.models import (
    Batch,
    Holding,
    Medicine,
    MonthlyUse,
    Movement,
    Prescription,
    PrescriptionLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Requisition,
    RequisitionLine,
    StockTake,
    StockTakeLine,
)
from yigongti.medicines.selectors import alerts, essential_shares
from yigongti.registry.choices import Tier
from yigongti.registry.models import Institution

from .conftest import SEED

pytestmark = pytest.mark.django_db
DEMO_MODULES = "registry,accounts,residents,care,medicines"
TODAY = dt.date(2026, 6, 15)
START = TODAY - dt.timedelta(days=demo_medicines.DAYS - 1)


@pytest.fixture(scope="module", autouse=True)
def _today_and_half_the_visits() -> Iterator[None]:
    """Autouse and module-scoped: set up before the module's ``demo`` build."""
    with clock.frozen(TODAY), pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_care, "VISITS_PER_RESIDENT_YEAR", 3.0)
        yield


def test_counts_are_sensible_and_the_ledger_balances(demo: BuildResult) -> None:
    made = demo.counts
    assert made["处方"] > 10_000 and made["库存流水"] > made["处方"]
    kinds = Counter(Movement.objects.values_list("kind", flat=True))
    for kind in (MovementKind.RECEIPT, MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN, MovementKind.DISPENSE,
                 MovementKind.WRITE_OFF, MovementKind.ADJUSTMENT):
        assert kinds[kind] > 0, kind
    assert Movement.objects.filter(Q(moved_on__lt=START) | Q(moved_on__gt=TODAY)).count() == 0
    statuses = Counter(Requisition.objects.values_list("institution__tier", "status"))
    assert statuses[(Tier.VILLAGE, RequisitionStatus.RECEIVED)] > 500
    assert statuses[(Tier.TOWNSHIP, RequisitionStatus.RECEIVED)] > 50
    assert statuses[(Tier.VILLAGE, RequisitionStatus.SUBMITTED)] >= demo_medicines.SHORT_CLINICS
    orders = Counter(PurchaseOrder.objects.values_list("status", flat=True))
    assert orders[OrderStatus.RECEIVED] > 20 and set(orders) <= {OrderStatus.RECEIVED, OrderStatus.APPROVED}
    direct = PurchaseOrderLine.objects.exclude(deliver_to=F("order__buyer"))
    assert direct.exists() and not direct.exclude(deliver_to__tier=Tier.TOWNSHIP).exists()
    # Every township centre took stock once; every dispensed prescription's amount is its movements'.
    assert StockTake.objects.filter(status="posted").count() == Institution.objects.filter(
        tier=Tier.TOWNSHIP).count()
    rx = Prescription.objects.filter(status=PrescriptionStatus.DISPENSED).order_by("pk").first()
    assert rx is not None
    assert -sum(Movement.objects.filter(prescription_line__prescription=rx).values_list("amount", flat=True)) \
        == rx.amount > 0
    check = services.ledger_check()
    assert check.ok, (check.negative[:5], check.bad_amount[:5], check.unmatched_transfers[:5],
                      check.stale_balances[:5], check.stale_use[:5])


def test_the_planted_alerts_exist(demo: BuildResult) -> None:
    short = demo_medicines_made(demo)
    found = alerts(Institution.objects.exclude(type="cdc").order_by("code"), TODAY, expiring_days=90)
    kinds = Counter(a.kind for a in found)
    assert kinds["out"] and kinds["low"] and kinds["expiring"] and kinds["expired"], kinds
    short_alerts = {(a.institution.code, a.kind) for a in found if a.institution.code in short}
    for code in short:
        assert (code, "out") in short_alerts or (code, "low") in short_alerts, code
    assert all(a.since is not None and a.since <= TODAY for a in found if a.kind == "out"
               and a.institution.code in short)
    expiring = [a for a in found if a.kind == "expiring"]
    assert any(30 <= (a.expiry - TODAY).days <= 90 for a in expiring if a.expiry)
    assert Movement.objects.filter(kind=MovementKind.WRITE_OFF, reason="expired").exists()
    pending = Requisition.objects.filter(institution__code__in=short, status=RequisitionStatus.SUBMITTED)
    assert pending.count() == len(short)


def demo_medicines_made(demo: BuildResult) -> list[str]:
    codes = list(Institution.objects.filter(
        pk__in=Requisition.objects.filter(note="库存不足，请尽快配送").values("institution_id"))
        .values_list("code", flat=True))
    assert len(codes) == demo_medicines.SHORT_CLINICS
    return codes


def test_essential_shares_are_within_zero_and_one(demo: BuildResult) -> None:
    shares = essential_shares(Institution.objects.all(), START, TODAY)
    assert len(shares) > 100
    for share in shares:
        assert share.line_share is not None and 0 < share.line_share <= 1, share
        assert share.amount_share is not None and 0 < share.amount_share <= 1, share
    # Village clinics and township centres use essential medicines only (or nearly); the county not.
    village = [s for s in shares if s.institution.tier == Tier.VILLAGE]
    county = [s for s in shares if s.institution.tier == Tier.COUNTY]
    assert all(s.line_share == 1 for s in village)
    assert county and min(s.line_share or 1 for s in county) < 1


# ---------------------------------------------------------------- the bulk rows are the services' rows

MOVEMENT = ("institution_id", "path", "batch_id", "medicine_id", "kind", "quantity", "unit_price", "amount",
            "moved_on", "counterpart_id", "order_line_id", "requisition_line_id", "stock_take_id", "reason", "note",
            "created_by_id")


def _movements(queryset: Any) -> list[tuple[Any, ...]]:
    rows = queryset.values(*MOVEMENT, "document", "prescription_line__medicine_id")
    return sorted((*(row[f] for f in MOVEMENT), row["document"][:6], row["prescription_line__medicine_id"])
                  for row in rows)


def _sums(institution_ids: list[int]) -> dict[str, list[tuple[Any, ...]]]:
    """The kept balances and monthly use of these institutions (the bulk writer keeps them as the services do)."""
    return {"balances": list(Holding.objects.filter(institution_id__in=institution_ids).order_by(
                "institution_id", "batch_id").values_list("institution_id", "batch_id", "quantity")),
            "use": list(MonthlyUse.objects.filter(institution_id__in=institution_ids).exclude(quantity=0, amount=0)
                        .order_by("institution_id", "medicine_id", "month").values_list(
                            "institution_id", "medicine_id", "month", "quantity", "amount"))}


def _last_prescriptions() -> list[Prescription]:
    """The last dispensed prescriptions of a few institutions (village, township, county) after which
    nothing else moved there: deleted and written again, the services see the same stock."""
    sample: list[Prescription] = []
    for tier in (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY):
        for institution in Institution.objects.filter(tier=tier).order_by("code"):
            last = list(Prescription.objects.filter(institution=institution, status=PrescriptionStatus.DISPENSED)
                        .order_by("-pk")[:3])
            if len(last) < 3:
                continue
            first = Movement.objects.filter(prescription_line__prescription__in=last).order_by("pk").first()
            after = Movement.objects.filter(institution=institution, pk__gte=first.pk if first else 0)
            if not after.exclude(prescription_line__prescription__in=last).exists():
                sample.extend(reversed(last))
                break
    return sample


def test_bulk_prescriptions_equal_those_of_prescribe_and_dispense(demo: BuildResult) -> None:
    sample = _last_prescriptions()
    tiers = {rx.institution.tier for rx in sample}
    assert Tier.VILLAGE in tiers and len(tiers) >= 2, tiers
    fields = ("encounter_id", "resident_id", "path", "institution_id", "institution_path", "prescribed_on",
              "prescriber", "status", "amount", "essential_amount", "created_by_id", "dispensed_by_id")

    def snapshot() -> dict[str, Any]:
        # Per institution in the order written: the replay writes institution after institution, while
        # the demo's ids interleave institutions.
        mine = Prescription.objects.filter(encounter_id__in=[rx.encounter_id for rx in sample]).order_by(
            "institution_id", "pk")
        return {"prescriptions": [tuple(row[f] for f in fields) for row in mine.values(*fields)],
                "numbers": [n[:6] for n in mine.values_list("number", flat=True)],
                "lines": list(PrescriptionLine.objects.filter(prescription__in=mine).order_by(
                    "prescription__institution_id", "prescription_id", "pk").values_list(
                    "medicine_id", "quantity", "usage", "days", "amount")),
                "movements": _movements(Movement.objects.filter(prescription_line__prescription__in=mine)),
                **_sums(places)}

    places = sorted({rx.institution_id for rx in sample})
    with transaction.atomic():
        before = snapshot()
        assert before["movements"]
        replay = [(rx.encounter_id, rx.prescribed_on, list(rx.lines.order_by("pk").values_list(
            "medicine__code", "quantity", "usage", "days"))) for rx in sample]
        mine = Prescription.objects.filter(pk__in=[rx.pk for rx in sample])
        Movement.objects.filter(prescription_line__prescription__in=mine).delete()
        PrescriptionLine.objects.filter(prescription__in=mine).delete()
        mine.delete()
        services.rebuild_sums(places)  # the sums of what is left, as the services found them before
        for encounter_id, day, lines in replay:
            rx = services_dispensing.prescribe(SYSTEM, encounter_id, [
                services_dispensing.PrescribedItem(medicine=code, quantity=quantity, usage=usage, days=days)
                for code, quantity, usage, days in lines])
            services_dispensing.dispense(SYSTEM, rx.pk, day=day)
        assert snapshot() == before
        transaction.set_rollback(True)


def test_bulk_receipts_of_shipments_and_orders_equal_those_of_the_services(demo: BuildResult) -> None:
    """A received village requisition and a received order with direct deliveries: their receipts deleted,
    the documents put back to shipped / approved, and received again through the services."""
    requisition = Requisition.objects.filter(institution__tier=Tier.VILLAGE, status=RequisitionStatus.RECEIVED) \
        .order_by("pk").first()
    order = PurchaseOrder.objects.filter(status=OrderStatus.RECEIVED, lines__deliver_to__tier=Tier.TOWNSHIP) \
        .order_by("pk").first()
    assert requisition is not None and order is not None
    covered = RequisitionLine.objects.filter(order_line__order=order, order_line__deliver_to__tier=Tier.TOWNSHIP)
    direct = Requisition.objects.filter(lines__in=covered).distinct()

    def snapshot() -> dict[str, Any]:
        return {
            "in": _movements(Movement.objects.filter(requisition_line__requisition=requisition)),
            "requisition": list(Requisition.objects.filter(Q(pk=requisition.pk) | Q(pk__in=direct.values("pk")))
                                .order_by("pk").values_list("status", "decision_note")),
            "lines": list(RequisitionLine.objects.filter(Q(requisition=requisition) | Q(pk__in=covered))
                          .order_by("pk").values_list("medicine_id", "quantity", "approved", "shipped", "received",
                                                      "order_line_id")),
            "order": list(PurchaseOrder.objects.filter(pk=order.pk).values_list("status", "total", "supplier_id")),
            "order_lines": list(order.lines.order_by("pk").values_list("medicine_id", "quantity", "unit_price",
                                                                       "deliver_to_id", "received")),
            "receipts": _movements(Movement.objects.filter(order_line__order=order)),
            **_sums(places)}

    places = sorted({requisition.institution_id, order.buyer_id,
                     *order.lines.exclude(deliver_to=None).values_list("deliver_to_id", flat=True)})

    with transaction.atomic():
        before = snapshot()
        assert before["in"] and before["receipts"] and covered.exists()
        received_on = Movement.objects.filter(requisition_line__requisition=requisition,
                                              kind=MovementKind.TRANSFER_IN).values_list("moved_on", flat=True)[0]
        Movement.objects.filter(requisition_line__requisition=requisition, kind=MovementKind.TRANSFER_IN).delete()
        requisition.lines.update(received=0)
        Requisition.objects.filter(pk=requisition.pk).update(status=RequisitionStatus.SHIPPED)
        services_flow.requisition_receive(SYSTEM, requisition.pk, day=received_on)

        receipts = list(Movement.objects.filter(order_line__order=order).order_by("pk").values_list(
            "order_line_id", "batch__lot", "batch__expiry", "quantity", "moved_on"))
        Movement.objects.filter(order_line__order=order).delete()
        order.lines.update(received=0)
        covered.update(shipped=0, received=0)
        direct.update(status=RequisitionStatus.APPROVED)
        PurchaseOrder.objects.filter(pk=order.pk).update(status=OrderStatus.APPROVED)
        services_flow.receive_order(SYSTEM, order.pk, [services_flow.Delivery(line_id=line, lot=lot, expiry=expiry,
                                                                              quantity=quantity)
                                                       for line, lot, expiry, quantity, _day in receipts],
                                    day=receipts[0][4])
        # Without their receipts the lots dispensed since would stand below zero, which the kept balances
        # refuse: the sums are recomputed after the replay, and must equal what the bulk writer kept.
        services.rebuild_sums(places)
        assert snapshot() == before
        transaction.set_rollback(True)


# ---------------------------------------------------------------- the same seed, the same rows


def _fingerprint() -> dict[str, Any]:
    return {
        "movements": sorted(Movement.objects.values_list("institution__code", "batch__medicine__code",
                                                         "batch__lot", "kind", "quantity", "moved_on")),
        "prescriptions": sorted(Prescription.objects.values_list("encounter_id", "status", "amount")),
        "requisitions": sorted(Requisition.objects.values_list("institution__code", "status", "created_at")),
        "balances": sorted(Holding.objects.values_list("institution__code", "batch__medicine__code", "batch__lot",
                                                       "quantity")),
        "use": sorted(MonthlyUse.objects.values_list("institution__code", "medicine__code", "month", "quantity")),
    }


def test_same_seed_same_rows_other_seed_differs(demo: BuildResult) -> None:
    """The module's rows deleted and built again with the same seed: the same rows. Another seed (its
    opening stock and planted cases, drawn in memory only — a whole build is slow) differs."""
    built = _fingerprint()
    with transaction.atomic():
        for model in (Movement, MonthlyUse, StockTakeLine, StockTake, Holding, RequisitionLine, Requisition,
                      PrescriptionLine, Prescription, PurchaseOrderLine, PurchaseOrder, Batch):
            model.objects.all().delete()
        demo_medicines.build(BuildContext.create(seed=SEED, scale="small"))
        assert _fingerprint() == built
        transaction.set_rollback(True)

    def opening(seed: int) -> tuple[Any, ...]:
        flow = demo_medicines.flow_for(seed, TODAY)
        flow.opening(START)
        return ([p.code for p in flow.short], sorted((m["institution_id"], m["quantity"], m["moved_on"])
                                                      for m in flow.ledger.rows[Movement]))

    assert opening(SEED) == opening(SEED) != opening(SEED + 1)
    assert Medicine.objects.count() >= 60
