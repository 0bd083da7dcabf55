"""The scenes of the surveillance web, API and browser tests (:mod:`.test_web`, :mod:`.test_api`,
:mod:`.test_web_browser`), written through the services.

- :func:`hfmd_encounter`: an outpatient visit of the surveillance resident (village A) at the county
  hospital with a primary diagnosis of hand, foot and mouth disease (B08.4).
- :func:`signal_scene`: cards filed through the service and the daily run over them, so the queue
  holds a single-case measles signal and an EARS C3 HFMD signal in township 1 on ``day`` (a day
  before today: its cards are reported up to 11:00 that day, which must not lie in the future):

  * measles (B05) is a single-case disease: its one card is a signal by itself;
  * HFMD: one card 20 days before ``day`` (the county's data start there, so the days before are
    missing, not zero) and three on ``day``. C2 on ``day`` = (3 − 0) / max(sd 0, min_sigma 1.0) = 3
    over a baseline of zeros, C2 on the two days before = 0, so C3 = max(0, 3 − 1) = 2 > z(α 0.025)
    = 1.96: an alarm, with 3 ≥ min_cases 2 cases. The moving percentile has no 3-year baseline and
    says so instead of alarming.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.test import Client

from tests.factories.accounts import PASSWORD
from tests.factories.residents import ResidentFactory
from tests.surveillance.conftest import SurvCounty, at
from yigongti.accounts.services import token_create
from yigongti.care.models import Encounter
from yigongti.care.services import DiagnosisIn, encounter_record
from yigongti.surveillance.alerts import alerts_run
from yigongti.surveillance.models import CaseCard, Signal


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def api_client(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='t')}")


def hfmd_encounter(surv: SurvCounty, *, day: dt.date, resident: Any = None, code: str = "B08.4") -> Encounter:
    """An outpatient visit at the county hospital on ``day`` diagnosed with ``code`` (HFMD by default)."""
    return encounter_record(
        user=surv.clinician, resident=resident or surv.resident, kind="outpatient", institution=surv.hospital,
        start_date=day, clinician_name="李医生",
        diagnoses=[DiagnosisIn(code=code, name="手足口病", primary=True)],
        costs={"registration": Decimal("5.00")})


@dataclass
class SignalScene:
    measles: Signal
    hfmd: Signal
    measles_card: CaseCard
    hfmd_cards: list[CaseCard]  # the three of ``day``


def signal_scene(surv: SurvCounty, day: dt.date) -> SignalScene:
    children = [ResidentFactory(village=surv.village_a, birth_date=dt.date(2021, 5, i + 1)) for i in range(4)]
    surv.report(resident=children[3], diagnosed=at(day - dt.timedelta(days=20)))
    cards = [surv.report(resident=child, diagnosed=at(day, 8 + i)) for i, child in enumerate(children[:3])]
    measles = surv.report(resident=surv.resident, icd10="B05.9", diagnosed=at(day, 7))
    alerts_run(day=day)
    return SignalScene(
        measles=Signal.objects.get(disease__code="measles", date=day, method="single"),
        hfmd=Signal.objects.get(disease__code="hfmd", date=day, method="c3"),
        measles_card=measles, hfmd_cards=cards)
