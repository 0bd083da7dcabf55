"""Fixtures of the referrals tests.

A module that declares ``TODAY`` runs with "today" frozen at that date. ``rules`` is the
MiniCounty with the programme and referral fixtures loaded (a down-referral's care plan enrols
the patient in a programme), a TCM hospital, an MCH hospital and a CDC beside the county
hospital, and a resident of village A with hypertension age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import MiniCounty
from tests.factories.programmes import load_programmes
from tests.factories.referrals import load_referral_rules
from tests.factories.registry import InstitutionFactory
from tests.factories.residents import ResidentFactory
from yigongti.core.clock import frozen
from yigongti.registry.choices import InstitutionType

DEFAULT_TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _today(request: pytest.FixtureRequest) -> Iterator[None]:
    with frozen(getattr(request.module, "TODAY", DEFAULT_TODAY)):
        yield


@dataclass
class ReferralCounty:
    county: MiniCounty
    tcm: Any
    mch: Any
    cdc: Any
    resident: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.county, name)

    @property
    def clinic_a(self) -> Any:
        return self.county.clinics[self.county.village_a.code]

    @property
    def clinic_b(self) -> Any:
        return self.county.clinics[self.county.village_b.code]


def make_referral_county(county: MiniCounty) -> ReferralCounty:
    load_programmes()
    load_referral_rules()
    tcm = InstitutionFactory(code="H0002", name="云溪县中医院", type=InstitutionType.TCM_HOSPITAL,
                             division=county.county)
    mch = InstitutionFactory(code="H0003", name="云溪县妇幼保健院", type=InstitutionType.MCH, division=county.county)
    cdc = InstitutionFactory(code="C0001", name="云溪县疾控中心", type=InstitutionType.CDC, division=county.county)
    resident = ResidentFactory(village=county.village_a, birth_date=dt.date(1960, 1, 1), name="李高压")
    return ReferralCounty(county=county, tcm=tcm, mch=mch, cdc=cdc, resident=resident)


@pytest.fixture
def rules(county: MiniCounty) -> ReferralCounty:
    return make_referral_county(county)
