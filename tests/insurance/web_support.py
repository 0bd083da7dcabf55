"""The scenes of the insurance web, API and browser tests (:mod:`.test_web`, :mod:`.test_api`,
:mod:`.test_web_browser`), written through the services.

:func:`stay_scene`: a household of village A (township 1) enrolled for 2026, and a discharged stay
of its first member at the county hospital (recorded by the county clinician, xianyi) costing

- 西药费 6,000, 卫生材料费 2,000, 床位费 500, 挂号/诊查费 50 — total 8,550.00.

Under the yunxi-county-2026 policy (county hospital = level 2, in the county):

- catalogue: materials 2,000 × 15 % = 300.00 and bed 500 × 10 % = 50.00 self-paid first
  (category_share 350.00); registration excluded for inpatients (50.00);
- eligible = 8,550 − 350 − 50 = 8,150.00;
- basic fund: (8,150 − deductible 400) × 80 % = 6,200.00;
- 大病: the year's eligible self-pay 8,150 − 6,200 = 1,950 < threshold 15,000 → 0; no aid category → 0;
- fund 6,200.00, patient 8,550 − 6,200 = 2,350.00.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.test import Client

from tests.factories.accounts import PASSWORD
from tests.insurance.conftest import Ins
from yigongti.accounts.services import token_create
from yigongti.care.models import Encounter
from yigongti.insurance.models import HouseholdEnrolment
from yigongti.residents.models import Household, Resident

STAY_COSTS = {"drugs_western": "6000", "materials": "2000", "bed": "500", "registration": "50"}
TOTAL = Decimal("8550.00")
FUND = Decimal("6200.00")
PATIENT = Decimal("2350.00")


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def api_client(user: Any, **headers: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='t')}", **headers)


@dataclass
class StayScene:
    household: Household
    members: list[Resident]
    enrolment: HouseholdEnrolment
    stay: Encounter

    @property
    def person(self) -> Resident:
        return self.members[0]


def stay_scene(ins: Ins, *, size: int = 2, start: dt.date = dt.date(2026, 3, 2)) -> StayScene:
    household, members = ins.household(size=size)
    enrolment = ins.enrol(household)
    stay = ins.stay(members[0], costs=STAY_COSTS, start=start)
    return StayScene(household=household, members=members, enrolment=enrolment, stay=stay)


def other_township_stay(ins: Ins) -> tuple[Resident, Encounter]:
    """A stay of a resident of village C (township 2) at township 2's centre, recorded by its director."""
    household, (person,) = ins.household(village=ins.county.village_c, name="乙镇参保人")
    ins.enrol(household)
    return person, ins.stay(person, user=ins.county.other_director)
