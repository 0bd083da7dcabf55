"""Fixtures of the insurance tests: the MiniCounty with its policies stored, an insurance-office
user (``yibao``), and helpers to enrol a household and record a discharge with its costs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import MiniCounty
from tests.factories.accounts import UserFactory
from tests.factories.care import encounter as record_encounter
from tests.factories.residents import HouseholdFactory, ResidentFactory
from yigongti.accounts.models import Role
from yigongti.core.rule_fixtures import rules_load
from yigongti.insurance import services
from yigongti.insurance.models import HouseholdEnrolment, PolicyVersion
from yigongti.residents.models import Household, Resident


class Ins:
    """The MiniCounty plus what settlement needs."""

    def __init__(self, county: MiniCounty) -> None:
        self.county = county
        if not PolicyVersion.objects.exists():
            rules_load(kinds=["insurance.policy"])
        self.office = UserFactory(username="yibao", role=Role.INSURANCE, entry_unit=county.county,
                                  view_unit=county.county)

    def household(self, village: Any = None, size: int = 1, **fields: Any) -> tuple[Household, list[Resident]]:
        village = village or self.county.village_a
        household = HouseholdFactory(village=village)
        members = [ResidentFactory(village=village, household=household, **fields) for _ in range(size)]
        household.head = members[0]
        household.save(update_fields=["head"])
        return household, members

    def enrol(self, household: Household, year: int = 2026, members: dict[int, str] | None = None,
              **fields: Any) -> HouseholdEnrolment:
        fields.setdefault("paid_on", dt.date(year - 1, 12, 1))
        enrolment, _added = services.enrol_household(self.office, household.pk, year=year, members=members,
                                                     **fields)
        return enrolment

    def stay(self, resident: Resident, *, user: Any = None, costs: dict[str, str] | None = None,
             start: dt.date = dt.date(2026, 3, 2), days: int = 5, **fields: Any) -> Any:
        """A discharged inpatient stay (default: the county hospital's clinician, 10,000 of drugs)."""
        user = user or self.county.clinician
        amounts = {k: Decimal(v) for k, v in (costs or {"drugs_western": "10000"}).items()}
        return record_encounter(user, resident, kind="inpatient", start_date=start,
                                end_date=start + dt.timedelta(days=days), discharge_status="cured",
                                costs=amounts, **fields)

    def visit(self, resident: Resident, *, user: Any = None, costs: dict[str, str] | None = None,
              start: dt.date = dt.date(2026, 3, 2), **fields: Any) -> Any:
        user = user or self.county.village_doctor
        amounts = {k: Decimal(v) for k, v in (costs or {"drugs_western": "40"}).items()}
        return record_encounter(user, resident, kind="outpatient", start_date=start, costs=amounts, **fields)


@pytest.fixture
def ins(county: MiniCounty) -> Ins:
    return Ins(county)
