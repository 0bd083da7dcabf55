"""A patient seen at a township centre of another township: the centre records the visit, reads it
back by id and orders on it; the patient's own village still sees it; a third unit does not."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import MiniCounty
from tests.factories.care import encounter
from yigongti.care.selectors import encounter_get
from yigongti.care.services import order_create
from yigongti.core.errors import NotFound
from yigongti.residents.models import Resident

TODAY = dt.date(2026, 3, 10)


def test_the_centre_that_saw_a_visiting_patient_sees_the_visit(catalogue: MiniCounty, resident: Resident) -> None:
    centre_2 = catalogue.centres[1]  # township 2; the resident lives in village A of township 1
    visit = encounter(catalogue.other_director, resident, institution=centre_2, start_date=TODAY)
    assert visit.institution_path == centre_2.path
    assert encounter_get(user=catalogue.other_director, pk=visit.pk).pk == visit.pk
    order = order_create(user=catalogue.other_director, encounter=visit, item_code="FPG")
    assert order.status == "ordered"
    assert encounter_get(user=catalogue.village_doctor, pk=visit.pk).pk == visit.pk  # the patient's village
    visit_c = encounter(catalogue.director, resident, institution=catalogue.centres[0], start_date=TODAY)
    with pytest.raises(NotFound):  # township 2 sees its own visit, not the patient's other care
        encounter_get(user=catalogue.other_director, pk=visit_c.pk)
