"""Concurrent settlements on PostgreSQL: each thread on its own connection, all released together by
a barrier (the pattern of ``tests/referrals/test_concurrency.py``).

- One person whose basic fund has 1,000 left of the year's 300,000 (Yunxi 2026): 8 big stays at the
  county hospital and the township centre settled at once → the fund pays exactly the 1,000 left,
  never more; the accumulator equals the sum of the settlements; the ledger balances.
- 8 clerks settling the same discharge with different keys → exactly one settlement, every clerk
  gets it; 8 retries with one key → one settlement, every caller gets it.

Skipped on SQLite: its in-memory test database (shared cache) makes concurrent writers fail with
"database table is locked" instead of waiting, which would test the test setup, not the services.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from tests.concurrency import race
from yigongti.insurance import services
from yigongti.insurance.models import Accumulator, LedgerEntry, Settlement

N = 8
D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pg_ins(request: pytest.FixtureRequest) -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (SQLite's shared-cache test database cannot run parallel writers)")
    return request.getfixturevalue("ins")



def _enrolled(ins: Any) -> Any:
    household, (person,) = ins.household()
    ins.enrol(household)
    return person


def test_two_institutions_settling_one_person_at_once_never_cross_the_cap(pg_ins: Any) -> None:
    """A first stay of 374,150: (374,150 − 400) × 80 % = 299,000 — 1,000 left of the 300,000 cap.
    Then 8 stays of 20,000 at once (4 at the county hospital: 15,680 wanted each; 4 at the township
    centre: (20,000 − 100) × 90 % = 17,910 wanted each): whichever settles first gets the 1,000,
    the others 0 — the fund pays 300,000 in the year, not a fen more."""
    ins = pg_ins
    person = _enrolled(ins)
    first, _created = services.settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "374150"},
                                                                     start=dt.date(2026, 1, 5)).pk, key="first")
    assert first.basic == D(299000)
    county, township = ins.county.clinician, ins.county.director
    jobs: list[tuple[Any, Any]] = []
    for i in range(N):
        user = county if i % 2 == 0 else township
        stay = ins.stay(person, user=user, costs={"drugs_western": "20000"}, start=dt.date(2026, 2, 1 + 2 * i),
                        days=1)
        jobs.append((user, stay))
    outcomes = race([lambda u=u, s=s: services.settle(u, s.pk, key=f"race-{s.pk}") for u, s in jobs])
    assert all(isinstance(o, tuple) and o[1] for o in outcomes), outcomes
    paid = sorted(o[0].basic for o in outcomes)
    assert paid == [D(0)] * (N - 1) + [D(1000)]
    live = Settlement.objects.filter(resident=person, year=2026, status="settled")
    assert live.count() == N + 1
    total = sum((s.basic for s in live), D(0))
    assert total == D(300000)
    acc = Accumulator.objects.get(resident=person, year=2026)
    assert acc.basic_paid == total and acc.settlements == N + 1
    assert acc.catastrophic_paid == sum((s.catastrophic for s in live), D(0))
    check = services.ledger_check()
    assert check.ok, check


def test_one_discharge_settled_by_eight_clerks_at_once(pg_ins: Any) -> None:
    """Different keys, one encounter: one settlement; the other seven get it back (created False)."""
    ins = pg_ins
    stay = ins.stay(_enrolled(ins))
    outcomes = race([lambda i=i: services.settle(ins.county.clinician, stay.pk, key=f"clerk-{i}")
                     for i in range(N)])
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sum(created for _s, created in outcomes) == 1
    assert {s.pk for s, _created in outcomes} == {Settlement.objects.get(encounter=stay).pk}
    assert LedgerEntry.objects.filter(source="settlement").values("posting").distinct().count() == 1
    assert Accumulator.objects.get(resident=stay.resident, year=2026).basic_paid == D(7680)
    assert services.ledger_check().ok


def test_one_key_sent_eight_times_at_once(pg_ins: Any) -> None:
    """A client retrying one request: one settlement, all eight callers get it."""
    ins = pg_ins
    stay = ins.stay(_enrolled(ins))
    outcomes = race([lambda: services.settle(ins.county.clinician, stay.pk, key="retry")] * N)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sum(created for _s, created in outcomes) == 1
    assert len({s.pk for s, _created in outcomes}) == 1
    assert Settlement.objects.filter(encounter=stay).count() == 1
    assert services.ledger_check().ok
