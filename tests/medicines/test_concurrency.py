"""Concurrent dispensing on PostgreSQL (each thread its own connection, released together): two
dispensings of the last box → one wins, the other is told OutOfStock, the balance is 0, not −1; eight
dispensings of one box each from five → exactly five succeed. Without the holding lock the same race
over-dispenses — the lock is what keeps the ledger from going negative.

Skipped on SQLite (its shared-cache test database fails concurrent writers instead of queueing them)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.concurrency import race
from tests.medicines.conftest import AMOX, DAY, Med
from yigongti.medicines import services
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
    return race([lambda p=p: services.dispense(doctor, p.pk, day=DAY) for p in prescriptions])


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


def test_without_the_lock_the_race_goes_negative(pg_med: Med, monkeypatch: pytest.MonkeyPatch) -> None:
    """Take ``_lock`` away and let every dispenser read the balance before any writes (a barrier inside
    FEFO): all eight see the five boxes, more than five are dispensed and the ledger check fails."""
    import threading

    barrier = threading.Barrier(8, timeout=30)
    real_fefo = services.fefo

    def slow_fefo(*args: Any, **kwargs: Any) -> Any:
        taken = real_fefo(*args, **kwargs)
        barrier.wait()
        return taken

    monkeypatch.setattr(services, "_lock", lambda institution, medicine_ids: None)
    monkeypatch.setattr(services, "fefo", slow_fefo)
    outcomes = _race(pg_med, 5, 8)
    assert sum(isinstance(o, Prescription) for o in outcomes) > 5, outcomes
    assert pg_med.balance(pg_med.village_clinic) < 0
    assert not services.ledger_check().ok
