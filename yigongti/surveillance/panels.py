"""The encounter page's 传染病报告 panel (registered into :mod:`yigongti.care.panels`): a notifiable
diagnosis offers the card at once, with the reporting deadline; a card already filed shows its
number, status and whether it was on time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.template.loader import render_to_string

from yigongti.core.scope import covers

from .selectors import cards_for_encounter
from .services import notifiable_diagnoses


def notifiable_panel(request: Any, encounter: Any) -> Any:
    """The panel's HTML, or ``None`` when the encounter has no notifiable diagnosis and no card."""
    found = notifiable_diagnoses(encounter)
    cards = cards_for_encounter(user=request.user, encounter_id=encounter.pk)
    if not found and not cards:
        return None
    filed = {card.disease_id for card in cards}
    offers = []
    for diagnosis, disease in found:
        if disease.pk in filed:
            continue
        # The encounter has a date, not a time: the deadline runs from the end of that day at the latest.
        diagnosed = dt.datetime.combine(encounter.start_date, dt.time(23, 59))
        offers.append({"diagnosis": diagnosis, "disease": disease,
                       "deadline": diagnosed + dt.timedelta(hours=disease.deadline_hours)})
    can_report = encounter.institution_id is not None and (
        getattr(request.user, "institution_id", None) == encounter.institution_id
        or covers(request.user, encounter.institution_path, mode="entry"))
    return render_to_string("surveillance/_encounter_panel.html", {
        "encounter": encounter, "offers": offers, "cards": cards, "can_report": can_report}, request=request)
