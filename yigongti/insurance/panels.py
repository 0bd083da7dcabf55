"""The encounter page's 医保结算 panel (registered into :mod:`yigongti.care.panels`): the live
settlement of the encounter (number, what the funds and the patient paid, a link to the slip), or
for a discharged stay / an outpatient visit without one the 出院结算 / 门诊结算 button to those who
may settle it; reversed settlements and reversals are listed under it."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from yigongti.care.choices import EncounterKind
from yigongti.core import audit

from . import services
from .models import Coverage, SettlementKind, SettlementStatus
from .views_common import may_settle, may_use


def settlement_panel(request: Any, encounter: Any) -> Any:
    """The panel's HTML, or ``None`` for a user who does not use insurance (the CDC). A stay outside
    the county (no institution) is settled by the insurance office (手工报销)."""
    user = request.user
    if not may_use(user):
        return None
    settlements = list(services.settlements_visible(user).filter(encounter_id=encounter.pk)
                       .select_related("reverses").order_by("settled_at", "pk"))
    audit.read(user=user, objects=settlements, request=request)
    live = next((s for s in settlements if s.status == SettlementStatus.SETTLED), None)
    inpatient = encounter.kind == EncounterKind.INPATIENT
    discharged = not inpatient or encounter.end_date is not None
    can_settle = live is None and discharged and may_settle(user, encounter)
    coverage = None
    if live is None and discharged:
        year = (encounter.end_date or encounter.start_date).year
        coverage = Coverage.objects.filter(resident_id=encounter.resident_id, year=year).first()
        if coverage is not None:
            audit.read(user=user, objects=[coverage], request=request)
    return render_to_string("insurance/_encounter_panel.html", {
        "encounter": encounter, "live": live, "inpatient": inpatient, "discharged": discharged,
        "can_settle": can_settle, "coverage": coverage,
        "year": (encounter.end_date or encounter.start_date).year,
        "others": [s for s in settlements if s is not live], "reversal": SettlementKind.REVERSAL,
    }, request=request)
