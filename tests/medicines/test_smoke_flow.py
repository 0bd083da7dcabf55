"""The whole chain once: stock at the county, a village requisition through the township, a
prescription dispensed FEFO at the village clinic, the ledger checked."""

from __future__ import annotations

import datetime as dt

from tests.medicines.conftest import AMOX, DAY, Med
from yigongti.core import scope
from yigongti.medicines import services, services_dispensing, services_flow
from yigongti.medicines.choices import PrescriptionStatus, RequisitionStatus


def test_village_to_township_to_patient(med: Med) -> None:
    c = med.county
    early = med.stock(med.centre, AMOX, 30, expiry=DAY + dt.timedelta(days=100))
    late = med.stock(med.centre, AMOX, 30, expiry=DAY + dt.timedelta(days=400))
    req = services_flow.requisition_submit(c.village_doctor, med.village_clinic, {AMOX: 40}, day=DAY)
    assert req.supplier == med.centre and req.number.startswith("RQ2026")
    services_flow.requisition_decide(c.director, req.pk, approve=True)
    services_flow.requisition_ship(c.director, req.pk, day=DAY)
    assert (med.balance(med.centre, early), med.balance(med.centre, late)) == (0, 20)
    req = services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)
    assert req.status == RequisitionStatus.RECEIVED
    assert (med.balance(med.village_clinic, early), med.balance(med.village_clinic, late)) == (30, 10)
    rx = med.prescription({AMOX: 32})
    rx = services_dispensing.dispense(c.village_doctor, rx.pk, day=DAY)
    assert rx.status == PrescriptionStatus.DISPENSED
    assert (med.balance(med.village_clinic, early), med.balance(med.village_clinic, late)) == (0, 8)
    assert rx.amount == rx.essential_amount == 32 * early.unit_price
    assert services.ledger_check().ok
    orders = services_flow.consolidate(scope.SYSTEM, med.hospital, day=DAY)
    assert orders.orders and not orders.no_contract
