"""The encounter page's 处方与发药 panel (registered into :mod:`yigongti.care.panels`)."""

from __future__ import annotations

from typing import Any


def prescription_panel(request: Any, encounter: Any) -> Any:
    return None
