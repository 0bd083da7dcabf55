"""The scene of the care web tests (:mod:`tests.care.test_web`, :mod:`tests.care.test_web_browser`).

:class:`CareScene`: the MiniCounty with a small catalogue of its own — fasting glucose (recognised
from county-level labs at every tier for 30 days) and a chest X-ray (no rule), so that the pages'
tests do not depend on the catalogue fixture's numbers — a resident of village A with a glucose
result done at the county hospital five days ago, and an outpatient visit at the township centre
today (where the recognition check is asked). Written through the services.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from tests.factories.residents import ResidentFactory
from yigongti.care import services
from yigongti.care.choices import EncounterKind, ResultKind
from yigongti.care.models import Encounter, RecognitionRule, Result, ResultItem
from yigongti.core.clock import today


class CareScene:
    def __init__(self, county: MiniCounty) -> None:
        self.c = county
        self.glucose = ResultItem.objects.create(
            code="GLU", name="空腹血糖", name_en="Fasting glucose", kind=ResultKind.LAB, unit="mmol/L",
            unit_aliases=["mmol/l"], ref_low=Decimal("3.9"), ref_high=Decimal("6.1"), price=Decimal("8.00"))
        self.xray = ResultItem.objects.create(
            code="CXR", name="胸部X线", name_en="Chest X-ray", kind=ResultKind.IMAGING, price=Decimal("60.00"))
        RecognitionRule.objects.create(item=self.glucose, performed_tiers=["county"],
                                       ordering_tiers=["county", "township", "village"], valid_days=30,
                                       source="test", effective_from=dt.date(2020, 1, 1))
        self.patient = ResidentFactory(village=county.village_a, name="互认甲", birth_date=dt.date(1960, 3, 4))
        self.result: Result = services.result_record(
            user=county.clinician, resident=self.patient, item_code="GLU", performed_by=county.hospital,
            reported_at=timezone.now() - dt.timedelta(days=5), value=Decimal("7.2"))
        self.visit: Encounter = services.encounter_record(
            user=county.director, resident=self.patient, kind=EncounterKind.OUTPATIENT,
            institution=county.centres[0], start_date=today(), clinician_name="张医生",
            diagnoses=[services.DiagnosisIn(code="E11.9", name="2型糖尿病", primary=True)],
            costs={"registration": Decimal("5.00"), "drugs_western": Decimal("32.50")})


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client
