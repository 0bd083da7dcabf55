"""Factories of the programmes app: the real programme rules loaded, and enrolments / visits made
through the services (eligibility, plan, audit) with sensible defaults."""

from __future__ import annotations

import datetime as dt
from typing import Any

from yigongti.core.rule_fixtures import rules_load
from yigongti.programmes.models import Enrolment, Programme
from yigongti.programmes.services import VisitOutcome, enrolment_create, visit_record
from yigongti.residents.models import Resident

# Confirmed diagnoses that satisfy each diagnosis-based programme's eligibility (ICD-10).
DIAGNOSES = {"hypertension": "I10", "diabetes": "E11", "mental": "F20", "tb": "A15"}


def load_programmes() -> None:
    """Load the programme fixtures (``ygt rules load``) unless they are loaded already."""
    if not Programme.objects.exists():
        rules_load(kinds=["programmes.programme"])


def enrol(user: Any, resident: Resident, programme: str, **fields: Any) -> Enrolment:
    """Enrol through :func:`enrolment_create` (a confirmed diagnosis for the chronic programmes)."""
    if programme in DIAGNOSES:
        fields.setdefault("diagnosis_code", DIAGNOSES[programme])
        fields.setdefault("confirmed", True)
    return enrolment_create(user=user, resident=resident, programme_code=programme, **fields)


def record(user: Any, resident: Resident, programme: str, item: str, day: dt.date, **values: Any) -> VisitOutcome:
    """Record a visit through :func:`visit_record`."""
    key = values.pop("idempotency_key", None)
    return visit_record(user=user, resident=resident, programme_code=programme, item=item, visit_date=day,
                        values=values, idempotency_key=key)
