"""Panels that higher apps add to an encounter's page (就诊详情的扩展面板).

The care app sits below the apps that act on an encounter (surveillance offers a 传染病报告卡 for a
notifiable diagnosis), so it must not import them. A higher app registers a panel function here
from its ``AppConfig.ready()``; ``care/encounter.html`` renders what each returns for the request
and the encounter (HTML, or ``None`` for nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EncounterPanel = Callable[[Any, Any], Any]  # (request, encounter) -> SafeString | None

ENCOUNTER_PANELS: list[EncounterPanel] = []


def encounter_panel_register(panel: EncounterPanel) -> None:
    """Show ``panel(request, encounter)`` on every encounter page (registering twice keeps one)."""
    if panel not in ENCOUNTER_PANELS:
        ENCOUNTER_PANELS.append(panel)


def encounter_panels(request: Any, encounter: Any) -> list[Any]:
    """The HTML of every registered panel for this encounter, in registration order."""
    return [html for html in (panel(request, encounter) for panel in ENCOUNTER_PANELS) if html]
