"""Factories of the care app: the real catalogue and recognition rules loaded, and encounters /
results written through the services (validation, scope, audit) with sensible defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from yigongti.care.models import Encounter, RecognitionRule, Result, ResultItem
from yigongti.care.services import DiagnosisIn, encounter_record, result_record
from yigongti.core.clock import LOCAL_TZ
from yigongti.core.rule_fixtures import rules_load
from yigongti.registry.models import Institution
from yigongti.residents.models import Resident


def load_care_rules() -> None:
    """Load the item catalogue and recognition rules (``ygt rules load``) unless loaded already."""
    if not RecognitionRule.objects.exists():
        rules_load(kinds=["care.result_items", "care.recognition"])


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    """An aware local (Asia/Shanghai) timestamp on ``day``."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


_USER_INSTITUTION: Any = object()


def encounter(user: Any, resident: Resident, *, institution: Any = _USER_INSTITUTION,
              start_date: dt.date = dt.date(2026, 3, 2), **fields: Any) -> Encounter:
    """Record an outpatient visit through :func:`encounter_record` (default: I10, 25 yuan; at the
    user's institution unless ``institution`` or ``outside_institution`` is given)."""
    fields.setdefault("kind", "outpatient")
    fields.setdefault("diagnoses", [DiagnosisIn(code="I10", name="原发性高血压")])
    fields.setdefault("costs", {"drugs_western": Decimal("15.00"), "registration": Decimal("10.00")})
    if institution is _USER_INSTITUTION:
        institution = None if fields.get("outside_institution") else getattr(user, "institution", None)
    return encounter_record(user=user, resident=resident, institution=institution, start_date=start_date, **fields)


def result(user: Any, resident: Resident, item_code: str, performed_by: Institution, reported_at: dt.datetime,
           **fields: Any) -> Result:
    """Record a result through :func:`result_record` (default value 5.0 in the item's unit)."""
    item = ResultItem.objects.get(code=item_code)
    if item.kind == "lab":
        fields.setdefault("value", Decimal("5.0") if item.unit else None)
        if fields["value"] is None:
            fields.setdefault("value_text", "阴性")
    else:
        fields.setdefault("report", "未见明显异常。")
    return result_record(user=user, resident=resident, item_code=item_code, performed_by=performed_by,
                         reported_at=reported_at, **fields)
