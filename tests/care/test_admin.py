"""Admin screens of the care app: the catalogue and rules open; encounters read-only and audited."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import MiniCounty
from tests.factories.accounts import UserFactory
from tests.factories.care import encounter
from yigongti.care.models import RecognitionRule, ResultItem
from yigongti.core.models import AuditEntry
from yigongti.residents.models import Resident


@pytest.fixture
def admin_client_(catalogue: MiniCounty) -> Client:
    user = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def test_catalogue_screens(admin_client_: Client) -> None:
    assert admin_client_.get("/admin/care/resultitem/").status_code == 200
    item = ResultItem.objects.get(code="HGB")
    assert admin_client_.get(f"/admin/care/resultitem/{item.pk}/change/").status_code == 200
    rule = RecognitionRule.objects.get(item=item)
    assert admin_client_.get(f"/admin/care/recognitionrule/{rule.pk}/change/").status_code == 200
    assert admin_client_.get("/admin/care/recognitionrule/").status_code == 200


def test_encounters_read_only_and_audited(catalogue: MiniCounty, admin_client_: Client, resident: Resident) -> None:
    visit = encounter(catalogue.clinician, resident)
    assert admin_client_.get("/admin/care/encounter/").status_code == 200
    assert admin_client_.get(f"/admin/care/encounter/{visit.pk}/change/").status_code == 200
    assert AuditEntry.objects.filter(action="read", object_type="care.encounter", object_id=str(visit.pk)).exists()
    assert admin_client_.get("/admin/care/encounter/add/").status_code == 403
