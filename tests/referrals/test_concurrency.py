"""Concurrency on PostgreSQL: parallel transactions, each thread on its own connection, released
together by a barrier. N clerks booking the last place → exactly one Booking, the rest SlotFull;
two clerks accepting one referral → one wins, the other gets 409.

Skipped on SQLite: the test database there is in-memory with a shared cache, where concurrent
writers fail with "database table is locked" instead of waiting, so the test would measure the
test setup, not the services (on a file database the IMMEDIATE transactions serialise writers).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.concurrency import race
from tests.conftest import MiniCounty
from tests.factories.referrals import SlotFactory, request_up
from tests.factories.residents import ResidentFactory
from tests.referrals.conftest import make_referral_county
from yigongti.referrals import services
from yigongti.referrals.errors import IllegalTransition, SlotFull
from yigongti.referrals.models import Booking, Referral, ReferralEvent, Slot

N = 8


@pytest.fixture
def postgres_county(transactional_db: None) -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (SQLite's shared-cache test database cannot run parallel writers)")
    return make_referral_county(MiniCounty())



def test_n_clerks_book_the_last_place(postgres_county: Any) -> None:
    rules = postgres_county
    slot = SlotFactory(department=rules.department, capacity=3, booked=2)
    people = [ResidentFactory(village=rules.village_a) for _ in range(N)]
    outcomes = race([lambda p=p: services.slot_book(user=rules.village_doctor, slot=slot, resident=p)
                     for p in people])
    winners = [o for o in outcomes if isinstance(o, Booking)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, SlotFull) for o in outcomes if not isinstance(o, Booking)), outcomes
    assert Booking.objects.filter(slot=slot).count() == 1
    assert Slot.objects.get(pk=slot.pk).booked == 3


def test_two_accepts_at_once(postgres_county: Any) -> None:
    rules = postgres_county
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    outcomes = race([lambda: services.referral_accept(user=rules.clinician, referral=referral)] * 2)
    assert sum(isinstance(o, Referral) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, IllegalTransition) for o in outcomes) == 1, outcomes
    assert Referral.objects.get(pk=referral.pk).status == "accepted"
    assert ReferralEvent.objects.filter(referral=referral, action="accept").count() == 1
