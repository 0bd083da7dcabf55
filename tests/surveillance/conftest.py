"""Fixtures of the surveillance tests.

A module that declares ``TODAY`` runs with "today" frozen at that date (default 2026-06-15).
``surv`` is the MiniCounty with the disease catalogue loaded, a county CDC institution and a CDC
user (``jikong``, county scope), a resident of village A, and :meth:`SurvCounty.report` to file a
card through the service (the only way cards are made in tests, so every test goes through the
same validation the UI and API use).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import MiniCounty
from tests.factories.accounts import UserFactory
from tests.factories.registry import InstitutionFactory
from tests.factories.residents import ResidentFactory
from yigongti.accounts.models import Role
from yigongti.core.clock import LOCAL_TZ, frozen
from yigongti.core.rule_fixtures import rules_load
from yigongti.registry.choices import InstitutionType

DEFAULT_TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _today(request: pytest.FixtureRequest) -> Iterator[None]:
    with frozen(getattr(request.module, "TODAY", DEFAULT_TODAY)):
        yield


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    """An aware local (Asia/Shanghai) datetime."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


@dataclass
class SurvCounty:
    county: MiniCounty
    cdc: Any  # the CDC institution
    cdc_user: Any  # "jikong", role cdc, county scope
    resident: Any  # of village A

    def __getattr__(self, name: str) -> Any:
        return getattr(self.county, name)

    @property
    def clinic_a(self) -> Any:
        return self.county.clinics[self.county.village_a.code]

    @property
    def clinic_c(self) -> Any:
        return self.county.clinics[self.county.village_c.code]

    def report(self, *, user: Any = None, institution: Any = None, icd10: str = "B08.4",
               diagnosed: dt.datetime | None = None, reported: dt.datetime | None = None,
               onset: dt.date | None = None, diagnosis_type: str = "clinical", merge_into: int | None = None,
               **fields: Any) -> Any:
        """File a card through :func:`card_report` (defaults: the village doctor of village A reports
        HFMD of ``resident``, diagnosed 09:00 yesterday, reported at 10:00, onset the day before).
        Yesterday, not today: "now" is the frozen date at the real time of day, and a test run before
        10:00 Shanghai time would otherwise report in the future."""
        from yigongti.core.clock import today
        from yigongti.surveillance.services import CardInput, card_report

        diagnosed = diagnosed or at(today() - dt.timedelta(days=1))
        fields.setdefault("resident", self.resident if "patient_name" not in fields else None)
        data = CardInput(institution=institution or self.clinic_a, diagnosis_type=diagnosis_type,
                         onset_date=onset or (diagnosed.date() - dt.timedelta(days=1)), diagnosed_at=diagnosed,
                         icd10=icd10, reported_at=reported or diagnosed + dt.timedelta(hours=1), **fields)
        return card_report(user=user or self.county.village_doctor, data=data, merge_into=merge_into)


def make_surv_county(county: MiniCounty) -> SurvCounty:
    rules_load(kinds=["surveillance.diseases"])
    cdc = InstitutionFactory(code="C0001", name="云溪县疾病预防控制中心", type=InstitutionType.CDC,
                             division=county.county)
    cdc_user = UserFactory(username="jikong", role=Role.CDC, institution=cdc, entry_unit=county.county,
                           view_unit=county.county)
    resident = ResidentFactory(village=county.village_a, birth_date=dt.date(2021, 3, 1))
    return SurvCounty(county, cdc, cdc_user, resident)


@pytest.fixture
def surv(county: MiniCounty) -> SurvCounty:
    return make_surv_county(county)
