"""The indicator admin validates a changed definition and gives it a new digest (recomputed next refresh)."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from yigongti.analytics.models import Indicator
from yigongti.core.rule_fixtures import rules_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db: None) -> Client:
    from tests.factories.accounts import UserFactory

    user = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, indicator: Indicator, definition: dict) -> object:
    import json

    return client.post(f"/admin/analytics/indicator/{indicator.pk}/change/", {
        "name": indicator.name, "name_en": indicator.name_en, "group": indicator.group,
        "sort_order": indicator.sort_order, "unit": indicator.unit, "factor": indicator.factor,
        "decimals": indicator.decimals, "direction": indicator.direction, "target": indicator.target or "",
        "active": "on", "definition": json.dumps(definition, ensure_ascii=False),
    })


def test_unknown_field_refused_with_its_name(admin_client: Client) -> None:
    rules_load(kinds=["analytics.indicators"])
    indicator = Indicator.objects.get(code="in_county_rate")
    changed = copy.deepcopy(indicator.definition)
    changed["numerator"]["where"] = "inside_county"
    response = _post(admin_client, indicator, changed)
    assert response.status_code == 200  # the form again, with the error
    assert "inside_county" in response.content.decode()
    indicator.refresh_from_db()
    assert indicator.definition["numerator"]["where"] == "in_county"


def test_changed_definition_gets_a_new_digest(admin_client: Client) -> None:
    rules_load(kinds=["analytics.indicators"])
    indicator = Indicator.objects.get(code="in_county_rate")
    before = indicator.digest
    changed = copy.deepcopy(indicator.definition)
    changed["numerator"]["where"] = "in_county AND kind <> 'inpatient'"
    response = _post(admin_client, indicator, changed)
    assert response.status_code == 302
    indicator.refresh_from_db()
    assert indicator.digest != before
    assert indicator.definition["numerator"]["where"] == "in_county AND kind <> 'inpatient'"
