"""Fixtures of the programmes tests.

A test module that declares ``TODAY`` runs with "today" frozen at that date (the plans, worklists
and date checks all read :func:`yigongti.core.clock.today`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import MiniCounty
from tests.factories.programmes import load_programmes
from yigongti.core.clock import frozen


@pytest.fixture(autouse=True)
def _today(request: pytest.FixtureRequest) -> Iterator[None]:
    day = getattr(request.module, "TODAY", None)
    if day is None:
        yield
        return
    with frozen(day):
        yield


@pytest.fixture
def rules(county: MiniCounty) -> MiniCounty:
    """The MiniCounty with the programme fixtures loaded."""
    load_programmes()
    return county
