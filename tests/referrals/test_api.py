"""``/api/v1/referrals``: status codes, idempotent request, transitions, desk, stats, slots,
consults, and problem details (scope = 404, illegal transition = 409, bad route = 422 with field)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.factories.referrals import SlotFactory
from tests.referrals.conftest import ReferralCounty
from yigongti.accounts.services import token_create

BASE = "/api/v1/referrals"


def client_for(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='t')}")


def post(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def doctor(rules: ReferralCounty) -> Client:
    return client_for(rules.village_doctor)


@pytest.fixture
def hospital(rules: ReferralCounty) -> Client:
    return client_for(rules.clinician)


def _request(client: Client, rules: ReferralCounty, **body: Any) -> Any:
    payload = {"record_no": rules.resident.record_no, "to_institution": rules.hospital.code, "kind": "outpatient",
               "reason": "血压控制不佳", "diagnosis_code": "I10", **body}
    return post(client, BASE, payload)


def test_walk_up_and_down_over_the_api(rules: ReferralCounty, doctor: Client, hospital: Client) -> None:
    created = post(doctor, BASE, {"record_no": rules.resident.record_no, "to_institution": rules.hospital.code,
                                  "kind": "outpatient", "reason": "血压控制不佳", "diagnosis_code": "I10"},
                   HTTP_IDEMPOTENCY_KEY="req-1")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "requested" and body["direction"] == "up"
    replay = post(doctor, BASE, {"record_no": rules.resident.record_no, "to_institution": rules.hospital.code,
                                 "kind": "outpatient", "reason": "血压控制不佳"}, HTTP_IDEMPOTENCY_KEY="req-1")
    assert replay.status_code == 200 and replay.json()["id"] == body["id"]
    rid = body["id"]
    slot = SlotFactory(department=rules.department)
    accepted = post(hospital, f"{BASE}/{rid}/accept", {"note": "明早来", "slot_id": slot.pk})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert len(accepted.json()["bookings"]) == 1
    again = post(hospital, f"{BASE}/{rid}/accept", {})
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    assert again.headers["Content-Type"].startswith("application/problem+json")
    assert post(doctor, f"{BASE}/{rid}/arrive", {}).status_code == 403
    assert post(hospital, f"{BASE}/{rid}/arrive", {}).status_code == 200
    done = post(hospital, f"{BASE}/{rid}/complete", {"feedback": "好转出院"})
    assert done.status_code == 200 and [e["action"] for e in done.json()["events"]] == [
        "request", "accept", "arrive", "complete"]
    down = post(hospital, f"{BASE}/{rid}/down", {"reason": "回村管理", "care_plan": {
        "programme": "hypertension", "follow_up_days": 14, "instructions": "监测血压"}})
    assert down.status_code == 201, down.content
    assert down.json()["direction"] == "down" and down.json()["parent"] == rid
    desk = doctor.get(f"{BASE}/desk", {"institution": rules.clinic_a.code, "box": "incoming"})
    assert desk.status_code == 200 and [r["id"] for r in desk.json()["items"]] == [down.json()["id"]]
    out = doctor.get(f"{BASE}/desk", {"institution": rules.clinic_a.code, "box": "outgoing"})
    assert out.json()["total"] == 1
    stats = hospital.get(f"{BASE}/stats", {"year": 2026})
    assert stats.status_code == 200
    rows = {r["institution"]: r for r in stats.json()}
    assert rows[rules.hospital.code]["up_in"] == 1 and rows[rules.hospital.code]["down_out"] == 1
    assert rows[rules.clinic_a.code]["up_out"] == 1 and rows[rules.clinic_a.code]["down_in"] == 1


def test_problems(rules: ReferralCounty, doctor: Client) -> None:
    refused = _request(doctor, rules, to_institution=rules.cdc.code)
    assert refused.status_code == 422 and refused.json()["code"] == "route_refused"
    assert refused.json()["field"] == "to_institution"
    unknown = _request(doctor, rules, to_institution="NOPE")
    assert unknown.status_code == 422 and unknown.json()["field"] == "to_institution"
    assert _request(doctor, rules, reason="").json()["field"] == "reason"
    assert doctor.get(f"{BASE}/abc").status_code == 404
    assert doctor.get(f"{BASE}/999999").status_code == 404
    assert doctor.get(f"{BASE}/desk", {"institution": rules.clinic_a.code, "box": "nope"}).status_code == 422
    assert Client().get(f"{BASE}/desk", {"institution": rules.clinic_a.code}).status_code == 401


def test_another_township_gets_404(rules: ReferralCounty, doctor: Client) -> None:
    rid = _request(doctor, rules).json()["id"]
    other = client_for(rules.other_director)
    assert other.get(f"{BASE}/{rid}").status_code == 404
    assert post(other, f"{BASE}/{rid}/cancel", {"reason": "x"}).status_code == 404
    assert other.get(f"{BASE}/desk", {"institution": rules.clinic_a.code}).status_code == 404
    assert client_for(rules.director).get(f"{BASE}/{rid}").status_code == 200


def test_slots_and_bookings(rules: ReferralCounty, doctor: Client, hospital: Client) -> None:
    made = post(hospital, f"{BASE}/slots", {"institution": rules.hospital.code, "department": "NK",
                                            "date": "2026-06-16", "start_time": "08:00", "end_time": "09:00",
                                            "capacity": 1})
    assert made.status_code == 201, made.content
    sid = made.json()["id"]
    assert post(doctor, f"{BASE}/slots", {"institution": rules.hospital.code, "department": "NK",
                                          "date": "2026-06-16", "start_time": "10:00", "end_time": "11:00",
                                          "capacity": 1}).status_code == 403
    listed = doctor.get(f"{BASE}/slots", {"institution": rules.hospital.code})
    assert [s["id"] for s in listed.json()] == [sid] and listed.json()[0]["available"] == 1
    booked = post(doctor, f"{BASE}/slots/{sid}/book", {"record_no": rules.resident.record_no})
    assert booked.status_code == 201
    full = post(hospital, f"{BASE}/slots/{sid}/book", {"record_no": rules.resident.record_no})
    assert full.status_code == 409
    cancelled = post(doctor, f"{BASE}/bookings/{booked.json()['id']}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert post(doctor, f"{BASE}/bookings/{booked.json()['id']}/cancel", {}).status_code == 409


def test_consults(rules: ReferralCounty, hospital: Client) -> None:
    director = client_for(rules.director)
    upload = SimpleUploadedFile("xray.png", b"\x89PNG....", content_type="image/png")
    made = director.post(f"{BASE}/consults", {"record_no": rules.resident.record_no,
                                              "specialist_institution": rules.hospital.code,
                                              "question": "胸片阴影性质？", "files": [upload]})
    assert made.status_code == 201, made.content
    cid = made.json()["id"]
    assert made.json()["attachments"][0]["name"] == "xray.png"
    answered = post(hospital, f"{BASE}/consults/{cid}/answer", {"answer": "考虑炎症，建议抗感染后复查"})
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert post(hospital, f"{BASE}/consults/{cid}/answer", {"answer": "again"}).status_code == 409
    assert client_for(rules.other_director).get(f"{BASE}/consults/{cid}").status_code == 404
    assert director.get(f"{BASE}/consults/{cid}").json()["answer"].startswith("考虑炎症")
