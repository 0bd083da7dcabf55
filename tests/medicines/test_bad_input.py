"""The issue's bad input, each refused with the field named and nothing written: dispensing more than a
batch holds, a negative quantity, a receipt of an item not in the catalogue, an expiry in the past on
receipt (and a few more shapes of the same mistakes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.core import scope
from yigongti.core.errors import DomainError
from yigongti.medicines import services, services_dispensing, services_flow
from yigongti.medicines.errors import NotInCatalogue, OutOfStock, StockInputInvalid
from yigongti.medicines.models import Batch, Medicine, Movement, Prescription, Requisition

SYSTEM = scope.SYSTEM


def _state() -> tuple[list[Any], int, int, int]:
    return (sorted(Movement.objects.values_list("pk", "quantity")), Batch.objects.count(),
            Prescription.objects.filter(status="dispensed").count(), Requisition.objects.count())


def _refused(error: type[DomainError], field: str, call: Callable[[], Any]) -> DomainError:
    before = _state()
    with pytest.raises(error) as caught:
        call()
    assert caught.value.params.get("field") == field, caught.value.params
    assert str(caught.value) and "%(" not in str(caught.value)  # a readable message, every value filled in
    assert _state() == before
    return caught.value


def _receipt(medicine: str = AMOX, quantity: Any = 5, expiry: Any = DAY + dt.timedelta(days=100),
             lot: str = "NEW1") -> list[services.ReceiptItem]:
    return [services.ReceiptItem(medicine=AMOX, lot="OK1", quantity=1, expiry=DAY + dt.timedelta(days=100)),
            services.ReceiptItem(medicine=medicine, lot=lot, quantity=quantity, expiry=expiry)]


def test_writing_off_more_than_the_batch_holds(med: Med) -> None:
    batch = med.stock(med.centre, AMOX, 4)
    error = _refused(OutOfStock, "quantity", lambda: services.write_off(SYSTEM, med.centre, batch.pk, 5,
                                                                         reason="damaged", day=DAY))
    assert (error.params["wanted"], error.params["available"]) == (5, 4)


def test_dispensing_more_than_is_held(med: Med) -> None:
    med.stock(med.village_clinic, AMOX, 4)
    med.stock(med.village_clinic, NIFE, 9)
    prescription = med.prescription({NIFE: 2, AMOX: 5})  # the second line fails: the first is not written either
    error = _refused(OutOfStock, f"medicine:{AMOX}",
                     lambda: services_dispensing.dispense(med.county.village_doctor, prescription.pk, day=DAY))
    assert (error.params["wanted"], error.params["available"]) == (5, 4)
    assert Prescription.objects.get(pk=prescription.pk).status == "open"


@pytest.mark.parametrize("quantity", [-3, "-1", 0, "2.5", "abc", True, 10_000_001])
def test_a_bad_quantity_on_receipt(med: Med, quantity: Any) -> None:
    _refused(StockInputInvalid, "items[1].quantity",
             lambda: services.receive(SYSTEM, med.centre, _receipt(quantity=quantity), day=DAY))


def test_a_negative_quantity_everywhere_else(med: Med) -> None:
    c = med.county
    batch = med.stock(med.centre, AMOX, 10)
    _refused(StockInputInvalid, "quantity",
             lambda: services.write_off(SYSTEM, med.centre, batch.pk, -2, reason="damaged", day=DAY))
    _refused(StockInputInvalid, f"lines[{AMOX}]",
             lambda: services_flow.requisition_submit(c.village_doctor, med.village_clinic, {AMOX: -4}, day=DAY))
    encounter = med.visit()
    _refused(StockInputInvalid, "items[0].quantity", lambda: services_dispensing.prescribe(
        c.village_doctor, encounter.pk, [services_dispensing.PrescribedItem(medicine=AMOX, quantity=-1)]))


def test_a_receipt_of_an_item_not_in_the_catalogue(med: Med) -> None:
    _refused(NotInCatalogue, "items[1].medicine",
             lambda: services.receive(SYSTEM, med.centre, _receipt(medicine="NOPE-999"), day=DAY))
    med.item("OLD1", price="1.00")
    Medicine.objects.filter(code="OLD1").update(valid_to=DAY - dt.timedelta(days=1))  # delisted yesterday
    _refused(NotInCatalogue, "items[1].medicine",
             lambda: services.receive(SYSTEM, med.centre, _receipt(medicine="OLD1"), day=DAY))


def test_a_receipt_of_an_item_not_on_the_tiers_list(med: Med) -> None:
    _refused(NotInCatalogue, "items[1].medicine",
             lambda: services.receive(SYSTEM, med.village_clinic, _receipt(medicine="XY0013"), day=DAY))


@pytest.mark.parametrize("expiry", [DAY - dt.timedelta(days=1), DAY, "2020-01-01", "2026-02-30", "soon"])
def test_an_expiry_in_the_past_or_not_a_date(med: Med, expiry: Any) -> None:
    _refused(StockInputInvalid, "items[1].expiry",
             lambda: services.receive(SYSTEM, med.centre, _receipt(expiry=expiry), day=DAY))


def test_a_known_lot_with_another_expiry(med: Med) -> None:
    med.stock(med.centre, AMOX, 5, lot="L-KNOWN", expiry=DAY + dt.timedelta(days=100))
    _refused(StockInputInvalid, "items[1].expiry", lambda: services.receive(
        SYSTEM, med.centre, _receipt(lot="L-KNOWN", expiry=DAY + dt.timedelta(days=101)), day=DAY))


def test_a_missing_lot(med: Med) -> None:
    _refused(StockInputInvalid, "items[1].lot",
             lambda: services.receive(SYSTEM, med.centre, _receipt(lot="  "), day=DAY))
