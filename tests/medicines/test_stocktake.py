"""盘点: a take lists what the ledger holds when it begins; posting writes each difference as an
adjustment (the balance is still the sum of the movements); every line must be counted first; one open
take per institution."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.medicines import services, services_dispensing
from yigongti.medicines.errors import StockInputInvalid, WrongStatus
from yigongti.medicines.models import Movement, StockTake


def test_differences_are_posted_as_adjustments(med: Med) -> None:
    c = med.county
    amox = med.stock(med.village_clinic, AMOX, 10)
    nife = med.stock(med.village_clinic, NIFE, 6)
    take = services.stocktake_start(c.village_doctor, med.village_clinic, day=DAY)
    lines = {line.batch_id: line for line in take.lines.all()}
    assert {b: line.expected for b, line in lines.items()} == {amox.pk: 10, nife.pk: 6}
    services.stocktake_count(c.village_doctor, take.pk, {lines[amox.pk].pk: 8, str(lines[nife.pk].pk): "7"})
    take = services.stocktake_post(c.village_doctor, take.pk)
    assert take.status == "posted" and take.posted_by == c.village_doctor
    adjustments = dict(Movement.objects.filter(stock_take=take).values_list("batch_id", "quantity"))
    assert adjustments == {amox.pk: -2, nife.pk: 1}
    assert (med.balance(med.village_clinic, amox), med.balance(med.village_clinic, nife)) == (8, 7)
    with pytest.raises(WrongStatus):
        services.stocktake_post(c.village_doctor, take.pk)
    assert services.ledger_check().ok


def test_an_uncounted_line_is_refused(med: Med) -> None:
    c = med.county
    med.stock(med.village_clinic, AMOX, 10)
    med.stock(med.village_clinic, NIFE, 6)
    take = services.stocktake_start(c.village_doctor, med.village_clinic, day=DAY)
    first, second = take.lines.order_by("pk")
    services.stocktake_count(c.village_doctor, take.pk, {first.pk: 10, second.pk: ""})
    with pytest.raises(StockInputInvalid) as caught:
        services.stocktake_post(c.village_doctor, take.pk)
    assert caught.value.params["field"] == f"counts[{second.pk}]"
    assert not Movement.objects.filter(kind="adjustment").exists()
    with pytest.raises(StockInputInvalid):
        services.stocktake_count(c.village_doctor, take.pk, {first.pk: -1})
    with pytest.raises(StockInputInvalid):
        services.stocktake_count(c.village_doctor, take.pk, {999999: 1})


def test_one_open_take_per_institution(med: Med) -> None:
    c = med.county
    med.stock(med.village_clinic, AMOX, 3)
    take = services.stocktake_start(c.village_doctor, med.village_clinic, day=DAY)
    with pytest.raises(WrongStatus):
        services.stocktake_start(c.village_doctor, med.village_clinic, day=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the rule too
        StockTake.objects.create(number="PD-X", institution=med.village_clinic, path=med.village_clinic.path,
                                 taken_on=DAY)
    assert services.stocktake_start(c.director, med.centre, day=DAY).status == "open"  # another institution
    services.stocktake_count(c.village_doctor, take.pk, {take.lines.get().pk: 3})
    services.stocktake_post(c.village_doctor, take.pk)
    assert not Movement.objects.filter(kind="adjustment").exists()  # counted as held: nothing to post
    assert services.stocktake_start(c.village_doctor, med.village_clinic, day=DAY).status == "open"


def test_a_dispensing_during_the_take_is_not_undone(med: Med) -> None:
    """Counted 10 of the 10 expected, but 4 were dispensed meanwhile: the difference is against the
    expected quantity (0), so the dispensing stands and the balance is 6 — never below zero."""
    c = med.county
    batch = med.stock(med.village_clinic, AMOX, 10)
    take = services.stocktake_start(c.village_doctor, med.village_clinic, day=DAY)
    services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 4}).pk, day=DAY)
    services.stocktake_count(c.village_doctor, take.pk, {take.lines.get().pk: 0})
    with pytest.raises(services.OutOfStock):  # 6 held − 10 would be −4
        services.stocktake_post(c.village_doctor, take.pk)
    assert med.balance(med.village_clinic, batch) == 6
