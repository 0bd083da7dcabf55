"""``/api/v1/programmes``: catalogue, enrolments, plan, visits (idempotent), worklist; scope = 404."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MiniCounty
from tests.factories.programmes import enrol
from tests.factories.residents import ResidentFactory
from yigongti.accounts.services import token_create
from yigongti.programmes.models import Enrolment, Visit

TODAY = dt.date(2026, 6, 15)
BASE = "/api/v1/programmes"




@pytest.fixture
def client(rules: MiniCounty) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=rules.village_doctor, name='t')}")


def post(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def resident(rules: MiniCounty) -> Any:
    return ResidentFactory(village=rules.village_a, birth_date=dt.date(1960, 1, 1))


def test_catalogue(client: Client) -> None:
    codes = [p["code"] for p in client.get(f"{BASE}/programmes").json()]
    assert {"hypertension", "diabetes", "immunisation"} <= set(codes)


def test_enrol_list_plan_and_close(client: Client, resident: Any) -> None:
    url = f"{BASE}/residents/{resident.record_no}/enrolments"
    refused = post(client, url, {"programme": "hypertension", "diagnosis_code": "I10"})
    assert refused.status_code == 422 and refused.json()["code"] == "not_eligible"
    assert refused.json()["field"] == "confirmed"
    created = post(client, url, {"programme": "hypertension", "diagnosis_code": "I10", "confirmed": True,
                                 "enrolled_on": "2026-01-05"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["programme"] == "hypertension" and body["status"] == "active" and body["next_due"]
    again = post(client, url, {"programme": "hypertension", "diagnosis_code": "I10", "confirmed": True})
    assert again.status_code == 409 and again.json()["code"] == "already_enrolled"
    assert [e["programme"] for e in client.get(url).json()] == ["hypertension"]

    plan = client.get(f"{BASE}/residents/{resident.record_no}/plan", {"programme": "hypertension",
                                                                      "as_of": "2026-06-15"})
    assert plan.status_code == 200
    rows = plan.json()["rows"]
    assert rows and {"item", "due", "window_start", "window_end", "status"} <= set(rows[0])
    missing = client.get(f"{BASE}/residents/{resident.record_no}/plan")
    assert missing.status_code == 422 and missing.json()["field"] == "programme"

    closed = post(client, f"{BASE}/enrolments/{body['id']}/close", {"reason": "refused", "note": "拒绝"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert post(client, f"{BASE}/enrolments/{body['id']}/close", {"reason": "refused"}).status_code == 409
    assert post(client, f"{BASE}/enrolments/abc/close", {"reason": "refused"}).status_code == 404


def test_record_a_visit_and_replay_it(client: Client, rules: MiniCounty, resident: Any) -> None:
    enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    body = {"record_no": resident.record_no, "programme": "hypertension", "item": "followup",
            "visit_date": "2026-06-10", "values": {"sbp": "156", "dbp": 96}}
    first = post(client, f"{BASE}/visits", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    out = first.json()
    assert out["created"] and out["classification"]["code"] == "unsatisfactory" and out["classification"]["label"]
    assert out["next_due"] == "2026-06-24" and out["refer"] is False
    replay = post(client, f"{BASE}/visits", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 200 and replay.json()["id"] == out["id"] and not replay.json()["created"]
    assert replay.json()["classification"] == out["classification"]
    assert Visit.objects.count() == 1


def test_visit_errors_are_problem_details(client: Client, rules: MiniCounty, resident: Any) -> None:
    body = {"record_no": resident.record_no, "programme": "hypertension", "item": "followup",
            "visit_date": "2026-06-10", "values": {"sbp": 400, "dbp": 20}}
    not_enrolled = post(client, f"{BASE}/visits", body)
    assert not_enrolled.status_code == 422 and not_enrolled.json()["code"] == "not_enrolled"
    enrol(rules.village_doctor, resident, "hypertension")
    bad = post(client, f"{BASE}/visits", body)
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert {e["loc"][0] for e in bad.json()["errors"]} >= {"sbp", "dbp"}
    future = post(client, f"{BASE}/visits", {**body, "visit_date": "2026-07-01", "values": {"sbp": 120, "dbp": 80}})
    assert future.status_code == 422 and future.json()["field"] == "visit_date"
    assert not Visit.objects.exists()


def test_worklist(client: Client, rules: MiniCounty, resident: Any) -> None:
    enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    response = client.get(f"{BASE}/worklist", {"org": rules.village_a.code, "date": "2026-06-15"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["org"] == rules.village_a.code and body["week_end"] == "2026-06-21"
    assert resident.record_no in {r["record_no"] for r in body["unseen"]}
    assert body["counts"]["unseen"] == len(body["unseen"])
    assert client.get(f"{BASE}/worklist", {"org": rules.village_b.code}).status_code == 404
    assert client.get(f"{BASE}/worklist").status_code == 422


def test_another_village_is_not_found_on_every_route(client: Client, rules: MiniCounty) -> None:
    other = ResidentFactory(village=rules.village_b, birth_date=dt.date(1960, 1, 1))
    enrolment = enrol(rules.director, other, "hypertension")
    assert client.get(f"{BASE}/residents/{other.record_no}/enrolments").status_code == 404
    assert client.get(f"{BASE}/residents/{other.record_no}/plan", {"programme": "hypertension"}).status_code == 404
    assert post(client, f"{BASE}/residents/{other.record_no}/enrolments",
                {"programme": "diabetes", "diagnosis_code": "E11", "confirmed": True}).status_code == 404
    assert post(client, f"{BASE}/enrolments/{enrolment.pk}/close", {"reason": "other"}).status_code == 404
    visit = post(client, f"{BASE}/visits", {"record_no": other.record_no, "programme": "hypertension",
                                            "item": "followup", "visit_date": "2026-06-10",
                                            "values": {"sbp": 120, "dbp": 80}})
    assert visit.status_code == 404
    assert Enrolment.objects.get(pk=enrolment.pk).status == "active" and not Visit.objects.exists()


def test_errors_name_the_programme_in_the_reader_language(rules: MiniCounty, client: Client) -> None:
    resident = ResidentFactory(village=rules.village_a, birth_date=dt.date(1960, 1, 1))
    client.force_login(rules.village_doctor)
    body = {"record_no": resident.record_no, "programme": "hypertension", "item": "followup",
            "visit_date": TODAY.isoformat(), "values": {"sbp": 130, "dbp": 80}}
    english = client.post("/api/v1/programmes/visits", body, content_type="application/json",
                          headers={"accept-language": "en"})
    chinese = client.post("/api/v1/programmes/visits", body, content_type="application/json")
    assert english.status_code == chinese.status_code == 422
    assert "Hypertension management" in english.json()["detail"]
    assert "高血压患者健康管理" in chinese.json()["detail"]
