"""``/api/v1/care`` and ``/api/v1/results/check``: 201 then 200 on replay, problem details naming
the field, scope (another township's director gets 404), the check's shape, orders and stats."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MiniCounty
from tests.factories.care import at, encounter, result
from yigongti.accounts.services import token_create
from yigongti.care.models import Encounter
from yigongti.residents.models import Resident

TODAY = dt.date(2026, 6, 15)
BASE = "/api/v1/care"


def client_for(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='t')}")


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def clinician(catalogue: MiniCounty) -> Client:
    return client_for(catalogue.clinician)


@pytest.fixture
def stranger(catalogue: MiniCounty) -> Client:
    return client_for(catalogue.other_director)


def test_encounter_create_replay_list_detail(catalogue: MiniCounty, clinician: Client, resident: Resident) -> None:
    body = {"resident": resident.record_no, "kind": "inpatient", "start_date": "2026-06-01", "end_date": "2026-06-08",
            "institution": "H0001", "department": "NK", "discharge_status": "improved",
            "diagnoses": [{"code": "j18.000", "name": "肺炎"}, {"code": "I10"}],
            "costs": {"drugs_western": "820.50", "bed": "350", "lab": "240"}, "source_no": "ZY-88"}
    created = post(clinician, f"{BASE}/encounters", body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["total_cost"] == "1410.50" and data["tier"] == "county" and data["department"] == "NK"
    assert data["diagnoses"][0] == {"code": "J18.000", "name": "肺炎", "primary": True}
    again = post(clinician, f"{BASE}/encounters", body)
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert Encounter.objects.count() == 1
    listed = clinician.get(f"{BASE}/encounters", {"resident": resident.record_no})
    assert [e["id"] for e in listed.json()] == [data["id"]]
    assert clinician.get(f"{BASE}/encounters/{data['id']}").json()["source_no"] == "ZY-88"


@pytest.mark.parametrize(("change", "field"), [
    ({"diagnoses": [{"code": "XYZ"}]}, "diagnoses"),
    ({"costs": {"bed": "-1"}}, "costs"),
    ({"start_date": "2026-06-16"}, "start_date"),
    ({"institution": "NOPE"}, "institution"),
    ({"department": "WK"}, "department"),
])
def test_encounter_problems_name_the_field(catalogue: MiniCounty, clinician: Client, resident: Resident,
                                           change: dict[str, Any], field: str) -> None:
    body = {"resident": resident.record_no, "kind": "outpatient", "start_date": "2026-06-01", "institution": "H0001",
            **change}
    answer = post(clinician, f"{BASE}/encounters", body)
    assert answer.status_code == 422 and answer.json()["field"] == field
    assert answer["Content-Type"].startswith("application/problem+json")


def test_scope_is_404(catalogue: MiniCounty, stranger: Client, resident: Resident) -> None:
    visit = encounter(catalogue.clinician, resident)
    done = result(catalogue.clinician, resident, "HGB", catalogue.hospital, at(dt.date(2026, 6, 12)))
    assert stranger.get(f"{BASE}/encounters", {"resident": resident.record_no}).status_code == 404
    assert stranger.get(f"{BASE}/encounters/{visit.pk}").status_code == 404
    assert stranger.get(f"{BASE}/results", {"resident": resident.record_no}).status_code == 404
    check = post(stranger, "/api/v1/results/check", {"resident": resident.record_no, "item": "HGB",
                                                      "institution": catalogue.centres[0].code})
    assert check.status_code == 404
    order = post(stranger, f"{BASE}/orders", {"encounter": visit.pk, "item": "HGB", "use_result": done.pk})
    assert order.status_code == 404
    recorded = post(stranger, f"{BASE}/encounters", {"resident": resident.record_no, "kind": "outpatient",
                                                     "start_date": "2026-06-01", "institution": "H0001"})
    assert recorded.status_code == 404


def test_results_check_and_order(catalogue: MiniCounty, clinician: Client, resident: Resident) -> None:
    body = {"resident": resident.record_no, "item": "HBA1C", "performed_by": "H0001",
            "reported_at": "2026-05-20T09:30:00+08:00", "value": "7.2", "unit": "%", "source_no": "LIS-7"}
    created = post(clinician, f"{BASE}/results", body)
    assert created.status_code == 201, created.content
    assert created.json()["flag"] == "H"
    assert post(clinician, f"{BASE}/results", body).status_code == 200
    wrong = post(clinician, f"{BASE}/results", {**body, "unit": "mmol/mol", "source_no": "LIS-8"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "unit" and wrong.json()["code"] == "unit_mismatch"

    check = post(clinician, "/api/v1/results/check", {"resident": resident.record_no, "item": "HBA1C",
                                                       "institution": "H0001"})
    assert check.status_code == 200
    answer = check.json()
    assert answer["recognisable"] is True and answer["saved"] == "50.00" and answer["valid_until"] == "2026-08-18"
    assert answer["result"]["id"] == created.json()["id"] and answer["rule"]["valid_days"] == 90
    assert "国卫医发" in answer["rule"]["source"] and answer["item"]["code"] == "HBA1C"
    none = post(clinician, "/api/v1/results/check", {"resident": resident.record_no, "item": "CRP",
                                                      "institution": "H0001"}).json()
    assert none["recognisable"] is False and none["result"] is None and none["saved"] == "0.00" and none["reason"]

    visit = encounter(catalogue.clinician, resident, start_date=TODAY)
    order = post(clinician, f"{BASE}/orders", {"encounter": visit.pk, "item": "HBA1C",
                                               "use_result": created.json()["id"]})
    assert order.status_code == 201 and order.json()["status"] == "recognised" and order.json()["saved"] == "50.00"
    stats = clinician.get(f"{BASE}/stats/recognition", {"org": "522399", "year": 2026}).json()
    assert stats == [{"institution": "H0001", "institution_name": "云溪县人民医院", "month": "2026-06",
                      "avoided": 1, "saved": "50.00"}]
    booked = clinician.get(f"{BASE}/stats/booked", {"year": 2026}).json()
    assert booked[0]["visits"] == 1 and booked[0]["rate"] == 0.0


def test_results_list_and_catalogue(catalogue: MiniCounty, clinician: Client, resident: Resident) -> None:
    result(catalogue.clinician, resident, "HGB", catalogue.hospital, at(dt.date(2026, 6, 12)))
    result(catalogue.clinician, resident, "PLT", catalogue.hospital, at(dt.date(2026, 6, 12)))
    rows = clinician.get(f"{BASE}/results", {"resident": resident.record_no, "item": "HGB"}).json()
    assert [r["item"] for r in rows] == ["HGB"]
    assert len(clinician.get(f"{BASE}/items").json()) >= 59
    missing = clinician.get(f"{BASE}/results")
    assert missing.status_code == 422 and missing.json()["field"] == "resident"


def test_a_centre_records_a_patient_from_another_township(catalogue: MiniCounty, stranger: Client,
                                                          resident: Resident) -> None:
    """Outside the caller's view scope, but seen at the caller's own centre: allowed (and 404 at ours)."""
    body = {"resident": resident.record_no, "kind": "outpatient", "start_date": "2026-06-01",
            "institution": catalogue.centres[1].code, "diagnoses": [{"code": "I10"}]}
    answer = post(stranger, f"{BASE}/encounters", body)
    assert answer.status_code == 201, answer.content
    check = post(stranger, "/api/v1/results/check", {"resident": resident.record_no, "item": "HGB",
                                                      "institution": catalogue.centres[1].code})
    assert check.status_code == 200 and check.json()["recognisable"] is False
