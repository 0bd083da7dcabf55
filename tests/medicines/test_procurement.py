"""统一采购: the county consolidates the approved requisitions made to it and its own shortfall into one
draft order per contracted supplier. Amoxicillin at the county: reorder 100, target 400, S01 at 4.20."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.medicines.conftest import AMOX, DAY, Med
from yigongti.core.errors import PermissionDenied
from yigongti.medicines import services, services_flow
from yigongti.medicines.errors import StockInputInvalid, WrongStatus
from yigongti.medicines.models import PurchaseOrderLine, RequisitionLine
from yigongti.medicines.selectors import formulary, price_on


def _approved(med: Med, quantity: int = 60) -> Any:
    c = med.county
    req = services_flow.requisition_submit(c.director, med.centre, {AMOX: quantity}, day=DAY)
    return services_flow.requisition_decide(c.clinician, req.pk, approve=True)


def _lines(result: services_flow.Consolidation) -> dict[tuple[str, str], PurchaseOrderLine]:
    return {(line.medicine.code, line.deliver_to.code): line for order in result.orders
            for line in order.lines.select_related("medicine", "deliver_to")}


def test_consolidation_maths_and_grouping(med: Med) -> None:
    """The county holds 150 usable and 30 expired; the centre asked for 60: 150 − 60 = 90 left, below the
    reorder level of 100, so it orders up to the target: 400 − 90 = 310. An item it holds nothing of is
    ordered at its target; every order goes to one supplier, at the contract price."""
    c = med.county
    med.stock(med.hospital, AMOX, 150)
    med.stock(med.hospital, AMOX, 30, expiry=DAY + dt.timedelta(days=3), day=DAY - dt.timedelta(days=10))
    req = _approved(med)
    result = services_flow.consolidate(c.clinician, med.hospital, day=DAY + dt.timedelta(days=5))
    lines = _lines(result)
    amox = lines[(AMOX, med.hospital.code)]
    assert (amox.quantity, amox.unit_price) == (310, Decimal("4.2000"))
    assert RequisitionLine.objects.get(requisition=req).order_line == amox
    listed = formulary("county", DAY)
    assert lines[("XY0013", med.hospital.code)].quantity == listed[
        lines[("XY0013", med.hospital.code)].medicine_id].target_level
    for order in result.orders:
        assert order.status == "draft" and order.number.startswith("PO2026")
        assert order.total == sum((line.unit_price * line.quantity).quantize(Decimal("0.01"))
                                  for line in order.lines.all())
        for line in order.lines.select_related("medicine"):
            price = price_on(line.medicine, DAY)
            assert price is not None and price.supplier_id == order.supplier_id
    assert len({order.supplier_id for order in result.orders}) == len(result.orders)
    assert not result.no_contract


def test_nothing_ordered_above_the_reorder_level_and_no_contract_reported(med: Med) -> None:
    med.item("NC01", tiers={"county": (5, 20)}, price=None)
    med.stock(med.hospital, AMOX, 100)  # exactly the reorder level: not below it
    result = services_flow.consolidate(med.county.clinician, med.hospital, day=DAY)
    assert (AMOX, med.hospital.code) not in _lines(result)
    assert [m.code for m in result.no_contract] == ["NC01"]


def test_only_the_county_buys(med: Med) -> None:
    with pytest.raises(PermissionDenied):
        services_flow.consolidate(med.county.director, med.hospital, day=DAY)
    with pytest.raises(StockInputInvalid):
        services_flow.consolidate(med.county.director, med.centre, day=DAY)


def test_direct_delivery_completes_the_requisition(med: Med) -> None:
    """直送: the centre's 60 are ordered for delivery to the centre; on receipt there the requisition is
    received without a transfer, and the county's own stock is untouched. The county's pharmacy or the
    centre itself records the acceptance (the centre sees the order because a line is delivered to it)."""
    c = med.county
    med.stock(med.hospital, AMOX, 300)
    req = _approved(med)
    result = services_flow.consolidate(c.clinician, med.hospital, direct=True, day=DAY)
    line = _lines(result)[(AMOX, med.centre.code)]
    assert line.quantity == 60 and (AMOX, med.hospital.code) not in _lines(result)
    order = services_flow.order_decide(c.clinician, line.order_id, approve=True)
    with pytest.raises(StockInputInvalid) as caught:  # over-delivery refused, nothing received
        services_flow.receive_order(c.clinician, order.pk,
                                    [services_flow.Delivery(line.pk, "D1", DAY + dt.timedelta(days=400), 61)], day=DAY)
    assert caught.value.params["field"] == "deliveries[0].quantity"
    assert med.balance(med.centre) == 0
    order = services_flow.receive_order(c.clinician, order.pk, [
        services_flow.Delivery(line.pk, "D1", DAY + dt.timedelta(days=400), 40)], day=DAY)
    assert order.status == "partly_received"
    req.refresh_from_db()
    assert req.status == "approved"
    assert services_flow.orders_visible(c.other_director).filter(pk=order.pk).count() == 0
    services_flow.receive_order(c.director, order.pk,
                                [services_flow.Delivery(line.pk, "D2", DAY + dt.timedelta(days=500), 20)], day=DAY)
    req.refresh_from_db()
    assert req.status == "received" and req.lines.get().received == 60
    assert (med.balance(med.centre), med.balance(med.hospital)) == (60, 300)
    assert services.ledger_check().ok


def test_receipt_at_the_county_then_shipped_down(med: Med) -> None:
    c = med.county
    req = _approved(med)
    result = services_flow.consolidate(c.clinician, med.hospital, day=DAY)
    line = _lines(result)[(AMOX, med.hospital.code)]
    assert line.quantity == 400 + 60
    services_flow.order_decide(c.clinician, line.order_id, approve=True)
    order = services_flow.receive_order(c.clinician, line.order_id, [
        services_flow.Delivery(line.pk, "C1", DAY + dt.timedelta(days=700), 460)], day=DAY)
    assert order.status in ("partly_received", "received")
    services_flow.requisition_ship(c.clinician, req.pk, day=DAY)
    services_flow.requisition_receive(c.director, req.pk, day=DAY)
    assert (med.balance(med.hospital), med.balance(med.centre)) == (400, 60)


def test_cancel_frees_the_lines(med: Med) -> None:
    c = med.county
    req = _approved(med)
    first = services_flow.consolidate(c.clinician, med.hospital, day=DAY)
    amox = _lines(first)[(AMOX, med.hospital.code)]
    cancelled = services_flow.order_decide(c.clinician, amox.order_id, approve=False)
    assert cancelled.status == "cancelled"
    assert RequisitionLine.objects.get(requisition=req).order_line is None
    with pytest.raises(WrongStatus):
        services_flow.order_decide(c.clinician, amox.order_id, approve=True)
    with pytest.raises(WrongStatus):
        services_flow.receive_order(c.clinician, amox.order_id, [services_flow.Delivery(amox.pk, "X", "2030-01-01", 1)],
                                    day=DAY)
    again = _lines(services_flow.consolidate(c.clinician, med.hospital, day=DAY))[(AMOX, med.hospital.code)]
    assert again.order_id != amox.order_id
    assert RequisitionLine.objects.get(requisition=req).order_line == again
