"""Two imports of the same HIS number at once: one encounter, both callers get it (PostgreSQL —
SQLite serialises writers, so there is no race to test there)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, connections

from tests.conftest import MiniCounty
from tests.factories.residents import ResidentFactory
from yigongti.care.models import Encounter
from yigongti.care.services import DiagnosisIn, encounter_record


@pytest.mark.django_db(transaction=True)
def test_same_his_number_concurrently_gives_one_encounter(county: MiniCounty) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    resident = ResidentFactory(village=county.village_a, birth_date=dt.date(1960, 1, 1))
    barrier = threading.Barrier(4)
    found: list[Any] = []
    errors: list[BaseException] = []

    def record() -> None:
        try:
            barrier.wait()
            encounter = encounter_record(user=county.clinician, resident=resident, kind="outpatient",
                                         start_date=dt.date(2026, 3, 2), institution=county.hospital,
                                         diagnoses=[DiagnosisIn("I10")], source_no="MZ-RACE")
            found.append(encounter.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(found)) == 1 and len(found) == 4
    assert Encounter.objects.filter(source_no="MZ-RACE").count() == 1
