"""The stock ledger: the balance is the sum of the movements, every movement has the sign of its kind
and its amount = quantity × the batch's price; ``ledger_check`` finds a negative running balance, a
wrong amount and a transfer received that differs from what was shipped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.core import scope
from yigongti.medicines import services, services_dispensing, services_flow
from yigongti.medicines.models import Holding, MonthlyUse, Movement, RequisitionLine
from yigongti.medicines.selectors import batch_balances


def test_balance_is_the_sum_of_movements(med: Med) -> None:
    batch = med.stock(med.centre, AMOX, 50)
    services.write_off(scope.SYSTEM, med.centre, batch.pk, 3, reason="damaged", day=DAY)
    nife = med.stock(med.centre, NIFE, 7)
    balances = batch_balances(med.centre.pk)
    assert balances == {batch.pk: 47, nife.pk: 7}
    for batch_id, quantity in balances.items():
        assert Movement.objects.filter(institution=med.centre, batch_id=batch_id).aggregate(
            q=Sum("quantity"))["q"] == quantity
    receipt = Movement.objects.get(batch=batch, kind="receipt")
    assert (receipt.quantity, receipt.unit_price, receipt.amount) == (50, Decimal("4.2000"), Decimal("210.00"))
    write_off = Movement.objects.get(batch=batch, kind="write_off")
    assert (write_off.quantity, write_off.amount, write_off.reason) == (-3, Decimal("-12.60"), "damaged")
    assert Holding.objects.filter(institution=med.centre).count() == 2  # one lockable row per batch held
    assert batch_balances(med.centre.pk, until=DAY - dt.timedelta(days=1)) == {}
    assert services.ledger_check().ok


def test_the_database_refuses_a_movement_of_the_wrong_sign(med: Med) -> None:
    batch = med.stock(med.centre, AMOX, 5)
    for kind, quantity in (("receipt", -1), ("dispense", 2), ("write_off", 1), ("adjustment", 0)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Movement.objects.create(institution=med.centre, path=med.centre.path, batch=batch, medicine=batch.medicine,
                                    kind=kind, quantity=quantity, unit_price=batch.unit_price, amount=0, moved_on=DAY)
    assert med.balance(med.centre, batch) == 5


def test_ledger_check_finds_a_negative_balance_and_a_wrong_amount(med: Med) -> None:
    batch = med.stock(med.centre, AMOX, 5)
    receipt = Movement.objects.get(batch=batch)
    # Written behind the services' back: a dispensing of 6 out of 5, and an amount off by a fen.
    bad = Movement.objects.create(institution=med.centre, path=med.centre.path, batch=batch, medicine=batch.medicine,
                                  kind="dispense", quantity=-6, unit_price=batch.unit_price,
                                  amount=Decimal("-25.21"), moved_on=DAY)
    check = services.ledger_check()
    assert not check.ok
    assert check.negative == [(med.centre.pk, batch.pk, -1)]
    assert check.bad_amount == [bad.pk] and receipt.pk not in check.bad_amount


def test_ledger_check_finds_a_transfer_received_short(med: Med) -> None:
    c = med.county
    med.stock(med.centre, AMOX, 30)
    requisition = services_flow.requisition_submit(c.village_doctor, med.village_clinic, {AMOX: 12}, day=DAY)
    services_flow.requisition_decide(c.director, requisition.pk, approve=True)
    services_flow.requisition_ship(c.director, requisition.pk, day=DAY)
    services_flow.requisition_receive(c.village_doctor, requisition.pk, day=DAY)
    assert services.ledger_check().ok
    line = RequisitionLine.objects.get(requisition=requisition)
    incoming = Movement.objects.get(requisition_line=line, kind="transfer_in")
    Movement.objects.filter(pk=incoming.pk).update(quantity=11, amount=incoming.unit_price * 11)
    check = services.ledger_check()
    assert check.unmatched_transfers == [line.pk] and not check.ok


def test_the_database_refuses_a_holding_below_zero(med: Med) -> None:
    batch = med.stock(med.centre, AMOX, 5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Holding.objects.filter(institution=med.centre, batch=batch).update(quantity=-1)
    assert med.balance(med.centre, batch) == 5


def test_kept_balances_and_monthly_use_follow_every_movement(med: Med) -> None:
    """Receipt 10, dispense 3 in March and 2 in April, return 1 in April, write-off 1: the holding keeps
    10 − 3 − 2 + 1 − 1 = 5 and the months keep 3 (12.60) and 2 − 1 = 1 (4.20) — the movements' sums."""
    c = med.county
    batch = med.stock(med.village_clinic, AMOX, 10)
    services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 3}).pk, day=DAY)
    april = dt.date(2026, 4, 8)
    rx = services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 2}, day=april).pk, day=april)
    services_dispensing.return_dispensed(c.village_doctor, rx.lines.get().pk, 1, day=april)
    services.write_off(c.village_doctor, med.village_clinic, batch.pk, 1, reason="damaged", day=april)
    assert Holding.objects.get(institution=med.village_clinic, batch=batch).quantity == 5
    assert sorted(MonthlyUse.objects.filter(institution=med.village_clinic).values_list(
        "month", "quantity", "amount")) == [(dt.date(2026, 3, 1), 3, Decimal("12.60")),
                                            (dt.date(2026, 4, 1), 1, Decimal("4.20"))]
    assert services.ledger_check().ok


def test_ledger_check_finds_kept_sums_that_differ_and_rebuild_restores_them(med: Med) -> None:
    c = med.county
    batch = med.stock(med.village_clinic, AMOX, 10)
    services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 3}).pk, day=DAY)
    # Changed behind the services' back: a balance and a month's use no longer the movements' sums.
    Holding.objects.filter(institution=med.village_clinic, batch=batch).update(quantity=9)
    MonthlyUse.objects.filter(institution=med.village_clinic).update(quantity=4)
    check = services.ledger_check()
    assert not check.ok
    assert check.stale_balances == [(med.village_clinic.pk, batch.pk, 9, 7)]
    assert check.stale_use == [(med.village_clinic.pk, batch.medicine_id, dt.date(2026, 3, 1))]
    assert (check.negative, check.bad_amount) == ([], [])
    services.rebuild_sums([med.village_clinic.pk])
    assert services.ledger_check().ok
    assert med.balance(med.village_clinic, batch) == 7


def test_an_amount_rounded_either_way_at_half_a_fen_is_not_flagged(med: Med) -> None:
    """3 × 0.0050 = 0.015: 0.01 (to even) and 0.02 (half up) are both the product to the fen; 0.03 is not."""
    medicine = med.item("HF01", price="0.0050")
    batch = med.stock(med.centre, medicine.code, 30)
    rows = [Movement.objects.create(institution=med.centre, path=med.centre.path, batch=batch, medicine=medicine,
                                    kind="write_off", quantity=-3, unit_price=batch.unit_price, amount=amount,
                                    moved_on=DAY) for amount in (Decimal("-0.01"), Decimal("-0.02"), Decimal("-0.03"))]
    services.rebuild_sums([med.centre.pk])
    assert services.ledger_check().bad_amount == [rows[2].pk]
