"""plans_rebuild (bulk re-planning): the same plan as the engine run per enrolment, idempotent,
independent of batch size and worker processes; closed enrolments lose their pending rows."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.conftest import MiniCounty
from tests.factories.residents import ResidentFactory
from yigongti.programmes.bulk import (
    enrolments_bulk_create,
    plans_rebuild,
    visits_bulk_create,
)
from yigongti.programmes.choices import EnrolmentHow, EnrolmentStatus
from yigongti.programmes.engine import classify, plan, still_to_do
from yigongti.programmes.models import Enrolment, Programme, ScheduledVisit, Visit
from yigongti.programmes.services_plan import replan_batch, service_of
from yigongti.programmes.specs import spec_for

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 16)


@pytest.fixture
def enrolled(county: MiniCounty) -> list[int]:
    """A few residents under several programmes, with some history; their enrolment ids."""
    call_command("rules", "load", stdout=io.StringIO())
    ids = dict(Programme.objects.values_list("code", "id"))
    village = county.village_a
    child = ResidentFactory(village=village, birth_date=dt.date(2025, 5, 10), sex="F")
    toddler = ResidentFactory(village=village, birth_date=dt.date(2023, 1, 20), sex="M")
    patient = ResidentFactory(village=village, birth_date=dt.date(1958, 2, 1), sex="M")
    diabetic = ResidentFactory(village=county.village_b, birth_date=dt.date(1962, 7, 9), sex="F")
    elder = ResidentFactory(village=county.village_c, birth_date=dt.date(1950, 11, 3), sex="F")
    mother = ResidentFactory(village=village, birth_date=dt.date(1998, 4, 4), sex="F")

    def row(resident: Any, code: str, anchor: dt.date, **extra: Any) -> dict[str, Any]:
        return {"resident_id": resident.pk, "programme_id": ids[code], "path": resident.path,
                "anchor_date": anchor, "enrolled_on": anchor, "how": EnrolmentHow.AUTO, **extra}

    rows = [
        row(child, "immunisation", child.birth_date),
        row(child, "child", child.birth_date),
        row(toddler, "immunisation", toddler.birth_date, variant={"JE": "JE-I", "HepA": "HepA-I"}),
        row(toddler, "tcm", toddler.birth_date),
        row(patient, "hypertension", dt.date(2024, 6, 1), how=EnrolmentHow.MANUAL, diagnosis_code="I10"),
        row(diabetic, "diabetes", dt.date(2025, 9, 1), how=EnrolmentHow.MANUAL, diagnosis_code="E11"),
        row(elder, "elderly", dt.date(2020, 1, 1)),
        row(mother, "maternal", dt.date(2025, 10, 20)),
        row(patient, "elderly", dt.date(2026, 2, 1)),
    ]
    pks = enrolments_bulk_create(rows)
    assert len(pks) == len(rows) and len(set(pks)) == len(rows)
    by = dict(zip(((r["resident_id"], r["programme_id"]) for r in rows), pks, strict=True))

    def visit(resident: Any, code: str, item: str, on: dt.date, **values: Any) -> dict[str, Any]:
        return {"enrolment_id": by[resident.pk, ids[code]], "resident_id": resident.pk, "programme_id": ids[code],
                "path": resident.path, "item": item, "visit_date": on, **values}

    spec = spec_for("hypertension", AS_OF)
    follow = []
    previous: list[str] = []
    for on, sbp, dbp in [(dt.date(2025, 3, 2), 150, 95), (dt.date(2025, 3, 20), 136, 84),
                         (dt.date(2025, 6, 25), 158, 98), (dt.date(2025, 7, 8), 162, 99)]:
        result = classify(spec, item="followup", values={"sbp": sbp, "dbp": dbp}, previous=previous)
        code = result.code if result else ""
        previous.append(code)
        follow.append(visit(patient, "hypertension", "followup", on, sbp=sbp, dbp=dbp, classification=code,
                            refer=bool(result and result.refer)))
    visits_bulk_create([
        visit(child, "immunisation", "HepB-1", dt.date(2025, 5, 10), lot_no="L1"),
        visit(child, "immunisation", "BCG-1", dt.date(2025, 5, 11)),
        visit(child, "immunisation", "HepB-2", dt.date(2025, 6, 12)),
        visit(child, "child", "newborn", dt.date(2025, 5, 15), weight_kg="3.4"),
        visit(toddler, "immunisation", "HepB-1", dt.date(2023, 1, 20)),
        visit(toddler, "tcm", "tcm-6m", dt.date(2023, 7, 25)),
        *follow,
        visit(diabetic, "diabetes", "followup", dt.date(2025, 9, 1), fpg="8.4", classification=""),
        visit(elder, "elderly", "check", dt.date(2025, 4, 2), sbp=128, dbp=80),
        visit(mother, "maternal", "antenatal-1", dt.date(2025, 12, 20)),
    ])
    return pks


def stored() -> tuple[set[tuple[Any, ...]], dict[int, tuple[Any, ...]]]:
    rows = set(ScheduledVisit.objects.values_list("enrolment_id", "resident_id", "programme_id", "path", "item",
                                                  "due", "window_start", "window_end", "catch_up", "refer"))
    enrolments = {pk: tuple(rest) for pk, *rest in Enrolment.objects.values_list(
        "pk", "next_due", "classification", "refer", "last_visit_on", "planned_at")}
    return rows, enrolments


def test_same_plan_as_the_engine_per_enrolment(enrolled: list[int]) -> None:
    written = plans_rebuild(as_of=AS_OF)
    rows, enrolments = stored()
    assert written == len(rows) > 0
    expected: set[tuple[Any, ...]] = set()
    for enrolment in Enrolment.objects.select_related("programme"):
        spec = spec_for(enrolment.programme.code, AS_OF)
        history = [service_of(spec, v) for v in Visit.objects.filter(
            resident_id=enrolment.resident_id, programme_id=enrolment.programme_id).order_by("visit_date", "pk")]
        full = plan(spec, anchor=enrolment.anchor_date, history=history, as_of=AS_OF,
                    variant=enrolment.variant or None, horizon_days=365)
        pending = still_to_do(spec, full, as_of=AS_OF)
        expected |= {(enrolment.pk, enrolment.resident_id, enrolment.programme_id, enrolment.path, r.item, r.due,
                      r.window_start, r.window_end, r.catch_up, r.refer) for r in pending}
        next_due = min((r.due for r in pending), default=None)
        classified = [v for v in Visit.objects.filter(resident_id=enrolment.resident_id,
                                                      programme_id=enrolment.programme_id)
                      .order_by("visit_date", "pk") if v.classification]
        last = max((h.date for h in history), default=None)
        assert enrolments[enrolment.pk] == (
            next_due, classified[-1].classification if classified else "",
            classified[-1].refer if classified else False, last, AS_OF)
    assert rows == expected
    # the immunisation plan of the child holds the doses not yet given, not the given ones
    child_items = {r[4] for r in rows if r[0] == enrolled[0]}
    assert "HepB-3" in child_items and not {"HepB-1", "HepB-2", "BCG-1"} & child_items
    # the hypertension patient's classification is the last visit's
    assert enrolments[enrolled[4]][1] != ""


def test_same_as_the_services_replan(enrolled: list[int]) -> None:
    plans_rebuild(as_of=AS_OF)
    bulk = stored()
    ScheduledVisit.objects.all().delete()
    Enrolment.objects.update(next_due=None, classification="x", refer=False, last_visit_on=None, planned_at=None)
    replan_batch(list(Enrolment.objects.all()), as_of=AS_OF)
    assert stored() == bulk


def test_rerun_is_idempotent_and_batches_or_workers_change_nothing(enrolled: list[int]) -> None:
    first = plans_rebuild(as_of=AS_OF)
    once = stored()
    assert plans_rebuild(as_of=AS_OF) == first
    assert stored() == once
    assert plans_rebuild(as_of=AS_OF, batch=2) == first
    assert stored() == once
    assert plans_rebuild(as_of=AS_OF, batch=3, workers=2) == first
    assert stored() == once
    assert plans_rebuild(enrolled[:3], as_of=AS_OF) == sum(1 for r in once[0] if r[0] in enrolled[:3])
    assert stored() == once


def test_only_the_programme_asked_and_a_later_day_moves_the_plan(enrolled: list[int]) -> None:
    plans_rebuild(as_of=AS_OF)
    before = stored()
    later = AS_OF + dt.timedelta(days=400)
    plans_rebuild(as_of=later, programme_code="hypertension")
    rows, enrolments = stored()
    hypertension = Programme.objects.get(code="hypertension").pk
    assert {r for r in rows if r[2] != hypertension} == {r for r in before[0] if r[2] != hypertension}
    assert enrolments[enrolled[4]][-1] == later
    assert enrolments[enrolled[0]][-1] == AS_OF
    assert max(r[5] for r in rows if r[2] == hypertension) > max(r[5] for r in before[0] if r[2] == hypertension)


def test_closed_enrolment_loses_its_rows_and_history_of_an_earlier_enrolment_counts(enrolled: list[int]) -> None:
    plans_rebuild(as_of=AS_OF)
    child_immunisation = Enrolment.objects.get(pk=enrolled[0])
    Enrolment.objects.filter(pk=child_immunisation.pk).update(status=EnrolmentStatus.CLOSED, closed_on=AS_OF)
    again = enrolments_bulk_create([{
        "resident_id": child_immunisation.resident_id, "programme_id": child_immunisation.programme_id,
        "path": child_immunisation.path, "anchor_date": child_immunisation.anchor_date, "enrolled_on": AS_OF,
        "how": EnrolmentHow.MANUAL}])[0]
    plans_rebuild([child_immunisation.pk, again], as_of=AS_OF)
    assert not ScheduledVisit.objects.filter(enrolment_id=child_immunisation.pk).exists()
    items = set(ScheduledVisit.objects.filter(enrolment_id=again).values_list("item", flat=True))
    assert "HepB-3" in items and "HepB-1" not in items  # the doses of the closed enrolment still count


@pytest.mark.django_db(transaction=True)
def test_worker_processes_plan_the_same(enrolled: list[int], db_vendor: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a transaction on PostgreSQL, forked workers read and plan; the result is the same
    (SQLite, or inside a transaction: no workers)."""
    assert plans_rebuild(as_of=AS_OF, batch=2) > 0
    single = stored()
    ScheduledVisit.objects.all().delete()
    pools: list[int] = []
    real = multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context", lambda method=None: pools.append(1) or real(method))
    assert plans_rebuild(as_of=AS_OF, batch=2, workers=2) == len(single[0])
    assert stored() == single
    assert len(pools) == (1 if db_vendor == "postgresql" else 0)
    with transaction.atomic():
        assert plans_rebuild(as_of=AS_OF, batch=2, workers=2) == len(single[0])
    assert len(pools) == (1 if db_vendor == "postgresql" else 0)
    assert stored() == single
