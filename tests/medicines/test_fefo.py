"""First expiry, first out: the earliest usable batch goes first, an expired batch is never taken, equal
expiries go by batch id, and one dispensing spans batches when the first does not hold enough."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.medicines.conftest import AMOX, DAY, Med
from yigongti.medicines import services, services_dispensing
from yigongti.medicines.errors import OutOfStock
from yigongti.medicines.models import Medicine, Movement


def _amox() -> Medicine:
    return Medicine.objects.get(code=AMOX)


def test_earliest_expiry_first_whatever_the_order_received(med: Med) -> None:
    late = med.stock(med.centre, quantity=10, expiry=DAY + dt.timedelta(days=300))
    early = med.stock(med.centre, quantity=10, expiry=DAY + dt.timedelta(days=30))
    middle = med.stock(med.centre, quantity=10, expiry=DAY + dt.timedelta(days=100))
    assert services.fefo(med.centre, _amox(), 4, DAY) == [(early, 4)]
    assert services.fefo(med.centre, _amox(), 25, DAY) == [(early, 10), (middle, 10), (late, 5)]


def test_expired_batches_are_skipped(med: Med) -> None:
    expiring = med.stock(med.centre, quantity=10, expiry=DAY + dt.timedelta(days=5), day=DAY - dt.timedelta(days=30))
    fresh = med.stock(med.centre, quantity=10, expiry=DAY + dt.timedelta(days=200))
    later = DAY + dt.timedelta(days=6)  # the first batch expired the day before
    assert services.fefo(med.centre, _amox(), 3, later) == [(fresh, 3)]
    # Expiring *on* the day is still usable (expiry ≥ day).
    assert services.fefo(med.centre, _amox(), 3, DAY + dt.timedelta(days=5)) == [(expiring, 3)]
    with pytest.raises(OutOfStock) as caught:
        services.fefo(med.centre, _amox(), 11, later)
    assert (caught.value.params["wanted"], caught.value.params["available"]) == (11, 10)


def test_equal_expiries_go_by_batch_id(med: Med) -> None:
    expiry = DAY + dt.timedelta(days=90)
    first = med.stock(med.centre, quantity=5, expiry=expiry, lot="Z-LAST-ALPHABETICALLY")
    second = med.stock(med.centre, quantity=5, expiry=expiry, lot="A-FIRST-ALPHABETICALLY")
    assert first.pk < second.pk
    assert services.fefo(med.centre, _amox(), 7, DAY) == [(first, 5), (second, 2)]


def test_a_dispensing_spans_batches_and_empties_the_earliest(med: Med) -> None:
    early = med.stock(med.village_clinic, quantity=3, expiry=DAY + dt.timedelta(days=20))
    late = med.stock(med.village_clinic, quantity=10, expiry=DAY + dt.timedelta(days=400))
    prescription = med.prescription({AMOX: 5})
    services_dispensing.dispense(med.county.village_doctor, prescription.pk, day=DAY)
    taken = sorted(Movement.objects.filter(document=prescription.number).values_list("batch_id", "quantity"))
    assert taken == sorted([(early.pk, -3), (late.pk, -2)])
    assert (med.balance(med.village_clinic, early), med.balance(med.village_clinic, late)) == (0, 8)
    # Emptied batches are not offered again.
    assert services.fefo(med.village_clinic, _amox(), 8, DAY) == [(late, 8)]
