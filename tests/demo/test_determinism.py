"""The same seed gives the same county; another seed another one."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import transaction

from yigongti.demo import builder
from yigongti.demo.builder import county_build
from yigongti.demo.people import PersonMaker
from yigongti.registry.models import Division, Institution, StaffMember

pytestmark = pytest.mark.django_db


def _snapshot(seed: int) -> dict[str, Any]:
    """Build the small county in a savepoint, read what identifies it, roll it back."""
    with transaction.atomic():
        assert county_build(seed=seed, scale="small").built
        snapshot = {
            "divisions": list(Division.objects.order_by("code").values_list("code", "name")),
            "institutions": list(Institution.objects.order_by("code").values_list("code", "name")),
            "staff": list(StaffMember.objects.order_by("institution__code", "id_number")
                          .values_list("institution__code", "id_number", "name")),
        }
        transaction.set_rollback(True)
    assert not Division.objects.exists()
    return snapshot


def test_same_seed_same_county_other_seed_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    # What identifies the county is its registry: build that (and the users) only, three times.
    # The later modules check their own determinism (tests/demo/test_demo_care.py, test_residents.py …).
    monkeypatch.setattr(builder, "MODULES", [m for m in builder.MODULES if m[0] in ("registry", "accounts")])
    first, second, other = _snapshot(7), _snapshot(7), _snapshot(8)
    assert first == second
    assert first["divisions"] != other["divisions"]
    assert first["institutions"] != other["institutions"]
    assert {row[1] for row in first["staff"]} != {row[1] for row in other["staff"]}
    # the structure (codes) is the same whatever the seed — the planted shortfalls rely on it
    assert [code for code, _ in first["institutions"]][:30] == [code for code, _ in other["institutions"]][:30]


def test_person_maker_never_repeats_an_id() -> None:
    maker = PersonMaker(random.Random(1))
    ids = [maker.make(born_from=dt.date(1990, 1, 1), born_to=dt.date(1990, 1, 3), sex="F").id_number
           for _ in range(600)]
    assert len(set(ids)) == len(ids)
    assert all(int(i[16]) % 2 == 0 for i in ids)
