"""The encounter page's 处方与发药 panel (registered into :mod:`yigongti.care.panels`): the encounter's
prescriptions (number, lines with the batches dispensed, amount, status) with 发药 / 作废 / 退药 for
those who may act at the encounter's institution, and the 开处方 form. Reads of the prescriptions are
audited; a user outside ``services.READ_ROLES`` sees no panel."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from yigongti.core import audit

from . import selectors, services
from .forms import PrescribeForm, ReturnForm
from .views_common import may_act
from .views_prescriptions import prescribe_medicines, prescription_rows


def prescription_panel(request: Any, encounter: Any) -> Any:
    """The panel's HTML, or ``None`` for a user who does not use the medicines pages."""
    user = request.user
    if not services.may_read(user):
        return None
    prescriptions = list(selectors.prescriptions_visible(user).filter(encounter_id=encounter.pk)
                         .order_by("created_at", "pk"))
    audit.read(user=user, objects=prescriptions, request=request)
    rows = prescription_rows(user, prescriptions)
    for row in rows:
        for line in row["lines"]:
            line["return_form"] = ReturnForm(prefix=f"return-{line['line'].pk}")
    can_prescribe = encounter.institution is not None and may_act(user, encounter.institution)
    return render_to_string("medicines/_encounter_panel.html", {
        "encounter": encounter, "rows": rows, "can_prescribe": can_prescribe,
        "form": PrescribeForm(medicines=prescribe_medicines(encounter)) if can_prescribe else None,
    }, request=request)
