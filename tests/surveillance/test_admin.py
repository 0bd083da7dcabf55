"""Admin screens of the surveillance app: the disease catalogue is edited with the loader's checks
(methods, parameters, deadline); cards, their history, signals and outbreaks are read-only, and a
card's screen is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from tests.factories.accounts import UserFactory
from tests.surveillance.conftest import SurvCounty
from tests.surveillance.web_support import signal_scene
from yigongti.core.models import AuditEntry
from yigongti.surveillance.models import Disease

TODAY = dt.date(2026, 6, 15)
YESTERDAY = TODAY - dt.timedelta(days=1)  # the scene's reports lie before "now" whatever the time of day


@pytest.fixture
def root(surv: SurvCounty) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


def _disease_form(disease: Disease, **changes: Any) -> dict[str, Any]:
    data = {"code": disease.code, "name": disease.name, "name_en": disease.name_en,
            "disease_class": disease.disease_class, "icd10": '["B08.4"]', "deadline_hours": disease.deadline_hours,
            "methods": '["percentile", "c3"]', "params": '{"percentile": 75, "min_cases": 2}',
            "episode_days": disease.episode_days, "position": disease.position, "source": disease.source,
            "effective_from": disease.effective_from.isoformat(), "effective_to": ""}
    data.update(changes)
    return data


def test_disease_list_and_search(root: Client) -> None:
    listed = root.get("/admin/surveillance/disease/", {"q": "手足口"})
    assert listed.status_code == 200 and "手足口病" in listed.content.decode()
    assert "鼠疫" not in listed.content.decode()
    assert root.get("/admin/surveillance/disease/", {"disease_class__exact": "A"}).status_code == 200


@pytest.mark.parametrize(("changes", "field", "text"), [
    ({"methods": '["percentile", "magic"]'}, "methods", "预警方法只能取"),
    ({"params": '{"percentile": 120}'}, "params", "应在 1–99 之间"),
    ({"params": '{"threshold": 3}'}, "params", "未知参数 threshold"),
    ({"deadline_hours": 12}, "deadline_hours", "2 或 24"),
    ({"single_case": "on"}, "methods", "单病例预警的病种不再设置其他预警方法"),
])
def test_a_bad_edit_is_refused(root: Client, changes: dict[str, Any], field: str, text: str) -> None:
    hfmd = Disease.objects.get(code="hfmd")
    response = root.post(f"/admin/surveillance/disease/{hfmd.pk}/change/", _disease_form(hfmd, **changes))
    assert response.status_code == 200  # the form again, with the error
    assert text in " ".join(response.context["adminform"].form.errors[field])
    hfmd.refresh_from_db()
    assert hfmd.params["percentile"] == 75 and hfmd.methods == ["percentile", "c3"]


def test_a_good_edit_is_saved(root: Client) -> None:
    hfmd = Disease.objects.get(code="hfmd")
    response = root.post(f"/admin/surveillance/disease/{hfmd.pk}/change/",
                         _disease_form(hfmd, params='{"percentile": 80, "min_cases": 3}'))
    assert response.status_code == 302
    hfmd.refresh_from_db()
    assert hfmd.params == {"percentile": 80.0, "min_cases": 3.0}


def test_records_are_read_only_and_cards_audited(surv: SurvCounty, root: Client) -> None:
    scene = signal_scene(surv, YESTERDAY)
    card = scene.hfmd_cards[0]
    for model in ("casecard", "cardevent", "signal", "outbreak"):
        assert root.get(f"/admin/surveillance/{model}/").status_code == 200, model
        assert root.get(f"/admin/surveillance/{model}/add/").status_code == 403, model
    assert root.get(f"/admin/surveillance/casecard/{card.pk}/change/").status_code == 200
    assert root.get(f"/admin/surveillance/signal/{scene.hfmd.pk}/change/").status_code == 200
    assert AuditEntry.objects.filter(action="read", object_type="surveillance.casecard",
                                     object_id=str(card.pk), channel="web").exists()
    assert root.post(f"/admin/surveillance/casecard/{card.pk}/delete/", {"post": "yes"}).status_code == 403
