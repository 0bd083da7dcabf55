"""Concurrent dispensing on PostgreSQL (each thread its own connection, released together): two
dispensings of the last box → one wins, the other is told OutOfStock, the balance is 0, not −1; eight
dispensings of one box each from five → exactly five succeed. Without the holding lock the same race
still dispenses five: the holding's balance may not fall below zero (a database check), the second guard.

Skipped on SQLite (its shared-cache test database fails concurrent writers instead of queueing them)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.concurrency import race
from tests.medicines.conftest import AMOX, DAY, Med
from yigongti.medicines import services, services_dispensing
from yigongti.medicines.errors import OutOfStock
from yigongti.medicines.models import Prescription

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pg_med(request: pytest.FixtureRequest) -> Med:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (SQLite's shared-cache test database cannot run parallel writers)")
    med: Med = request.getfixturevalue("med")
    return med


def _race(med: Med, boxes: int, dispensings: int) -> list[Any]:
    med.stock(med.village_clinic, AMOX, boxes)
    prescriptions = [med.prescription({AMOX: 1}) for _ in range(dispensings)]
    doctor = med.county.village_doctor
    return race([lambda p=p: services_dispensing.dispense(doctor, p.pk, day=DAY) for p in prescriptions])


def test_two_dispensings_of_the_last_box(pg_med: Med) -> None:
    outcomes = _race(pg_med, 1, 2)
    assert sum(isinstance(o, Prescription) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, OutOfStock) for o in outcomes) == 1, outcomes
    assert pg_med.balance(pg_med.village_clinic) == 0
    assert services.ledger_check().ok


def test_eight_dispensings_from_five_boxes(pg_med: Med) -> None:
    outcomes = _race(pg_med, 5, 8)
    assert sum(isinstance(o, Prescription) for o in outcomes) == 5, outcomes
    assert all(isinstance(o, Prescription | OutOfStock) for o in outcomes), outcomes
    assert pg_med.balance(pg_med.village_clinic) == 0
    assert Prescription.objects.filter(status="dispensed").count() == 5
    assert services.ledger_check().ok


def test_without_the_lock_the_database_still_refuses_the_sixth_box(pg_med: Med,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Take ``_lock`` away and let every dispenser read the balance before any writes (a barrier inside
    FEFO): all eight see the five boxes and go on to write, yet the holding's balance may not fall below
    zero (a database check), so exactly five are dispensed and the other three are told OutOfStock."""
    import threading

    barrier = threading.Barrier(8, timeout=30)
    real_fefo = services.fefo
    seen: list[int] = []

    def slow_fefo(*args: Any, **kwargs: Any) -> Any:
        taken = real_fefo(*args, **kwargs)
        seen.append(sum(quantity for _batch, quantity in taken))
        barrier.wait()
        return taken

    monkeypatch.setattr(services_dispensing, "_lock", lambda institution, medicine_ids: None)
    monkeypatch.setattr(services_dispensing, "fefo", slow_fefo)
    outcomes = _race(pg_med, 5, 8)
    assert seen == [1] * 8  # every dispenser found a box before any took one
    assert sum(isinstance(o, Prescription) for o in outcomes) == 5, outcomes
    assert sum(isinstance(o, OutOfStock) for o in outcomes) == 3, outcomes
    assert pg_med.balance(pg_med.village_clinic) == 0
    assert services.ledger_check().ok
