"""Fixtures of the care tests.

A test module that declares ``TODAY`` runs with "today" frozen at that date (date checks, the
recognition check's default moment and the order date all read :func:`yigongti.core.clock.today`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.conftest import MiniCounty
from tests.factories.care import load_care_rules
from tests.factories.residents import ResidentFactory
from yigongti.core.clock import frozen
from yigongti.residents.models import Resident


@pytest.fixture(autouse=True)
def _today(request: pytest.FixtureRequest) -> Iterator[None]:
    day = getattr(request.module, "TODAY", None)
    if day is None:
        yield
        return
    with frozen(day):
        yield


@pytest.fixture
def catalogue(county: MiniCounty) -> MiniCounty:
    """The MiniCounty with the care catalogue and recognition rules loaded."""
    load_care_rules()
    return county


@pytest.fixture
def resident(county: MiniCounty) -> Resident:
    """A resident of village A (township 1)."""
    return ResidentFactory(village=county.village_a, birth_date=dt.date(1960, 1, 1))
