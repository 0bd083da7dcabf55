"""Dispensing (发药) at zero mark-up: each line at its batches' price, the essential amount counted apart;
an item not on the institution tier's list or not in stock refused with nothing written; a prescription
dispensed once; returns go back into their batches and the amounts follow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.core import scope
from yigongti.core.models import AuditEntry
from yigongti.medicines import services, services_dispensing
from yigongti.medicines.errors import NotInCatalogue, OutOfStock, WrongStatus
from yigongti.medicines.models import Movement, Prescription


def _receive(med: Med, code: str, quantity: int, price: str, expiry_days: int, lot: str) -> object:
    item = services.ReceiptItem(medicine=code, lot=lot, quantity=quantity, unit_price=price,
                                expiry=DAY + dt.timedelta(days=expiry_days))
    (movement,) = services.receive(scope.SYSTEM, med.village_clinic, [item], day=DAY)
    return movement.batch


def test_price_is_the_batch_price_and_essential_amounts_apart(med: Med) -> None:
    """Two lots of amoxicillin bought at 4.00 and 4.50 (零差率: sold at what each cost), and a
    non-essential item at 5.00: 3 × 4.00 + 2 × 4.50 = 21.00 essential, + 4 × 5.00 = 41.00 in all."""
    med.item("NE01", essential=False)
    _receive(med, AMOX, 3, "4.00", 50, "A-CHEAP")
    _receive(med, AMOX, 10, "4.50", 300, "A-DEAR")
    med.stock(med.village_clinic, "NE01", 10)
    prescription = services_dispensing.dispense(med.county.village_doctor, med.prescription({AMOX: 5, "NE01": 4}).pk,
                                                day=DAY)
    assert prescription.status == "dispensed" and prescription.dispensed_by == med.county.village_doctor
    assert (prescription.amount, prescription.essential_amount) == (Decimal("41.00"), Decimal("21.00"))
    amounts = {line.medicine.code: line.amount for line in prescription.lines.select_related("medicine")}
    assert amounts == {AMOX: Decimal("21.00"), "NE01": Decimal("20.00")}
    assert sorted(Movement.objects.filter(document=prescription.number).values_list("unit_price", "quantity")) == [
        (Decimal("4.0000"), -3), (Decimal("4.5000"), -2), (Decimal("5.0000"), -4)]
    assert AuditEntry.objects.filter(object_type="medicines.prescription", object_id=str(prescription.pk),
                                     action="update").exists()
    assert services.ledger_check().ok


def test_an_item_not_on_the_village_list_is_refused(med: Med) -> None:
    """呋喃妥因 (XY0013) is on the county hospital's list only: prescribed at a village clinic it may not
    be dispensed there, and nothing of the prescription moves."""
    med.stock(med.village_clinic, AMOX, 10)
    prescription = med.prescription({AMOX: 1, "XY0013": 1})
    with pytest.raises(NotInCatalogue) as caught:
        services_dispensing.dispense(med.county.village_doctor, prescription.pk, day=DAY)
    assert caught.value.params["field"] == "items[1].medicine"
    assert not Movement.objects.filter(kind="dispense").exists()
    assert Prescription.objects.get(pk=prescription.pk).status == "open"


def test_not_in_stock_writes_nothing(med: Med) -> None:
    med.stock(med.village_clinic, AMOX, 10)
    prescription = med.prescription({AMOX: 2, NIFE: 1})  # no nifedipine at the clinic
    with pytest.raises(OutOfStock) as caught:
        services_dispensing.dispense(med.county.village_doctor, prescription.pk, day=DAY)
    assert caught.value.params["available"] == 0
    assert not Movement.objects.filter(kind="dispense").exists()
    assert med.balance(med.village_clinic) == 10


def test_dispensed_once_and_a_cancelled_one_never(med: Med) -> None:
    c = med.county
    med.stock(med.village_clinic, AMOX, 10)
    prescription = med.prescription({AMOX: 2})
    services_dispensing.dispense(c.village_doctor, prescription.pk, day=DAY)
    with pytest.raises(WrongStatus):
        services_dispensing.dispense(c.village_doctor, prescription.pk, day=DAY)
    with pytest.raises(WrongStatus):
        services_dispensing.prescription_cancel(c.village_doctor, prescription.pk)
    assert med.balance(med.village_clinic) == 8
    cancelled = services_dispensing.prescription_cancel(c.village_doctor, med.prescription({AMOX: 1}).pk)
    assert cancelled.status == "cancelled"
    with pytest.raises(WrongStatus):
        services_dispensing.dispense(c.village_doctor, cancelled.pk, day=DAY)
    assert med.balance(med.village_clinic) == 8


def test_return_then_rebalance(med: Med) -> None:
    """5 dispensed over two lots (3 of the early at 4.00, 2 of the late at 4.50); 3 come back, into the
    latest-expiring lot first (2 at 4.50, then 1 at 4.00): the prescription is then 2 × 4.00 = 8.00."""
    c = med.county
    early = _receive(med, AMOX, 3, "4.00", 50, "R-EARLY")
    late = _receive(med, AMOX, 10, "4.50", 300, "R-LATE")
    prescription = services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 5}).pk, day=DAY)
    line = prescription.lines.get()
    returned = services_dispensing.return_dispensed(c.village_doctor, line.pk, 3, day=DAY)
    assert [(m.batch_id, m.quantity, m.kind) for m in returned] == [(late.pk, 2, "return"), (early.pk, 1, "return")]
    prescription.refresh_from_db()
    assert (prescription.amount, prescription.essential_amount) == (Decimal("8.00"), Decimal("8.00"))
    assert (med.balance(med.village_clinic, early), med.balance(med.village_clinic, late)) == (1, 10)
    with pytest.raises(services.StockInputInvalid):
        services_dispensing.return_dispensed(c.village_doctor, line.pk, 3, day=DAY)  # only 2 are still out
    services_dispensing.return_dispensed(c.village_doctor, line.pk, 2, day=DAY)
    assert med.balance(med.village_clinic) == 13
    prescription.refresh_from_db()
    assert prescription.amount == 0
    assert services.ledger_check().ok


def test_who_may_dispense(med: Med) -> None:
    """The director of the village's township may act at its clinic; the other township's director does not
    even see the prescription (404); the health commission reads only (403)."""
    c = med.county
    med.stock(med.village_clinic, AMOX, 10)
    prescription = med.prescription({AMOX: 1})
    with pytest.raises(services.NotFound):
        services_dispensing.dispense(c.other_director, prescription.pk, day=DAY)
    with pytest.raises(services.PermissionDenied):
        services_dispensing.dispense(c.commission, prescription.pk, day=DAY)
    assert services_dispensing.dispense(c.director, prescription.pk, day=DAY).status == "dispensed"
