"""The small demo county, built once per test module and rolled back at its end."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from yigongti.demo.builder import BuildResult, county_build

SEED = 12345


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest, django_db_setup: Any, django_db_blocker: Any) -> Iterator[BuildResult]:
    """The small county with the rule fixtures loaded. Tests using it also take ``db``: each test
    runs in a savepoint inside this module's transaction, which is rolled back at the end.

    A test module that declares ``DEMO_MODULES`` (e.g. ``"registry,accounts"``) gets only those
    demo modules built — what it checks — instead of the whole county."""
    modules = [m for m in getattr(request.module, "DEMO_MODULES", "").split(",") if m]
    with django_db_blocker.unblock(), override_settings(YGT_DEMO_MODULES=modules):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("rules", "load", stdout=io.StringIO())
            yield county_build(seed=SEED, scale="small")
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
