"""``/api/v1/surveillance``: the catalogue, filing a card (201; a duplicate 409 with the card to
merge into, then merged), reading and reviewing cards (refusals 403/409/422 as problem details),
scope (another township's card is 404), the signal queue with its series, the CDC's answers, and
timeliness."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tests.factories.residents import ResidentFactory
from tests.surveillance.conftest import SurvCounty, at
from tests.surveillance.web_support import api_client, hfmd_encounter, signal_scene
from yigongti.core.models import AuditEntry
from yigongti.surveillance.models import CaseCard, Outbreak

TODAY = dt.date(2026, 6, 15)
YESTERDAY = TODAY - dt.timedelta(days=1)  # reports of today could lie in the future early in the morning
BASE = "/api/v1/surveillance"


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def _body(surv: SurvCounty, **fields: Any) -> dict[str, Any]:
    return {"record_no": surv.resident.record_no, "icd10": "B08.4", "diagnosis_type": "clinical",
            "onset_date": "2026-06-13", "diagnosed_at": "2026-06-14T09:00:00+08:00",
            "reported_at": "2026-06-14T10:00:00+08:00", **fields}


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_the_catalogue(surv: SurvCounty) -> None:
    diseases = {d["code"]: d for d in api_client(surv.village_doctor).get(f"{BASE}/diseases").json()}
    assert diseases["cholera"]["deadline_hours"] == 2 and diseases["cholera"]["disease_class"] == "A"
    assert diseases["hfmd"]["methods"] == ["percentile", "c3"] and diseases["hfmd"]["params"]["percentile"] == 75
    assert diseases["measles"]["single_case"] is True


def test_file_read_and_list_a_card(surv: SurvCounty) -> None:
    doctor = api_client(surv.village_doctor)
    created = post(doctor, f"{BASE}/cards", _body(surv))
    assert created.status_code == 201, created.content
    card = created.json()
    assert card["disease"] == "hfmd" and card["institution"] == surv.clinic_a.code  # the caller's institution
    assert card["on_time"] is True and card["delay_hours"] == 1.0 and card["status"] == "reported"
    assert card["division"] == surv.village_a.code and card["township"] == surv.townships[0].code
    assert [e["action"] for e in card["events"]] == ["report"]
    one = doctor.get(f"{BASE}/cards/{card['id']}").json()
    assert one["card_no"] == card["card_no"] and one["record_no"] == surv.resident.record_no
    page = doctor.get(f"{BASE}/cards", {"disease": "hfmd", "status": "reported"}).json()
    assert page["count"] == 1 and page["items"][0]["id"] == card["id"]
    assert doctor.get(f"{BASE}/cards", {"disease": "measles"}).json()["count"] == 0
    reads = AuditEntry.objects.filter(object_type="surveillance.casecard", object_id=str(card["id"]), action="read",
                                      channel="api")
    assert reads.count() == 3  # after filing, the detail, the list


def test_a_card_from_an_encounter(surv: SurvCounty) -> None:
    encounter = hfmd_encounter(surv, day=TODAY)
    body = _body(surv, encounter_id=encounter.pk, clinician_name="李医生")
    created = post(api_client(surv.clinician), f"{BASE}/cards", body)
    assert created.status_code == 201, created.content
    assert created.json()["institution"] == "H0001" and created.json()["encounter_id"] == encounter.pk


def test_bad_cards_are_problems_naming_the_field(surv: SurvCounty) -> None:
    doctor = api_client(surv.village_doctor)
    assert _problem(post(doctor, f"{BASE}/cards", _body(surv, icd10="I10")), 422, "not_notifiable")["field"] == "icd10"
    late_onset = _body(surv, onset_date="2026-06-16")
    assert _problem(post(doctor, f"{BASE}/cards", late_onset), 422, "card_invalid")["field"] == "onset_date"
    assert _problem(post(doctor, f"{BASE}/cards", _body(surv, disease="nosuch")), 422,
                    "card_invalid")["field"] == "disease"
    assert _problem(post(doctor, f"{BASE}/cards", _body(surv, division="999")), 422,
                    "card_invalid")["field"] == "division"
    outsider = ResidentFactory(village=surv.village_c)
    _problem(post(doctor, f"{BASE}/cards", _body(surv, record_no=outsider.record_no)), 404, "not_found")
    # A county body with no institution of its own must name one.
    no_institution = api_client(surv.commission)
    assert _problem(post(no_institution, f"{BASE}/cards", _body(surv)), 422, "card_invalid")["field"] == "institution"
    assert not CaseCard.objects.exists()


def test_a_duplicate_is_409_then_merged(surv: SurvCounty) -> None:
    first = surv.report(diagnosis_type="suspected")
    doctor = api_client(surv.village_doctor)
    again = _body(surv, diagnosis_type="confirmed", diagnosed_at="2026-06-14T11:00:00+08:00",
                  reported_at="2026-06-14T11:30:00+08:00")
    problem = _problem(post(doctor, f"{BASE}/cards", again), 409, "duplicate_card")
    assert problem["card_id"] == first.pk and problem["card_no"] == first.card_no
    merged = post(doctor, f"{BASE}/cards", {**again, "merge_into": first.pk})
    assert merged.status_code == 201 and merged.json()["id"] == first.pk
    assert merged.json()["diagnosis_type"] == "confirmed" and CaseCard.objects.count() == 1


def test_review_over_the_api_with_its_refusals(surv: SurvCounty) -> None:
    card = surv.report()
    url = f"{BASE}/cards/{card.pk}"
    doctor, director, cdc = (api_client(u) for u in (surv.village_doctor, surv.director, surv.cdc_user))
    _problem(post(doctor, f"{url}/accept"), 403, "not_reviewer")
    assert post(director, f"{url}/accept").json()["status"] == "township_checked"
    _problem(post(director, f"{url}/accept"), 409, "illegal_review")
    assert _problem(post(cdc, f"{url}/return", {"reason": " "}), 422, "reason_required")["field"] == "reason"
    returned = post(cdc, f"{url}/return", {"reason": "发病日期有误"}).json()
    assert returned["status"] == "returned" and returned["return_reason"] == "发病日期有误"
    corrected = post(doctor, f"{url}/correct", {"onset_date": "2026-06-12"})
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["status"] == "reported" and corrected.json()["onset_date"] == "2026-06-12"
    assert corrected.json()["events"][-1]["changes"] == {"onset_date": ["2026-06-13", "2026-06-12"]}
    _problem(post(doctor, f"{url}/correct", {"onset_date": "2026-06-11"}), 409, "illegal_review")
    revised = post(cdc, f"{url}/revise", {"disease": "measles", "note": "实验室确诊为麻疹"}).json()
    assert revised["disease"] == "measles" and revised["events"][-1]["action"] == "revise"
    assert post(cdc, f"{url}/accept").json()["status"] == "accepted"
    other = surv.report(resident=ResidentFactory(village=surv.village_a))
    _problem(post(cdc, f"{BASE}/cards/{other.pk}/delete", {"reason": "重卡", "duplicate_of": "000"}), 404, "not_found")
    deleted = post(cdc, f"{BASE}/cards/{other.pk}/delete", {"reason": "重卡", "duplicate_of": card.card_no}).json()
    assert deleted["status"] == "deleted" and deleted["duplicate_of"] == card.card_no
    _problem(post(cdc, f"{BASE}/cards/{other.pk}/delete", {"reason": "再删"}), 409, "illegal_review")


def test_another_township_is_404(surv: SurvCounty) -> None:
    other = ResidentFactory(village=surv.village_c)
    card = surv.report(user=surv.other_director, institution=surv.clinic_c, resident=other)
    scene = signal_scene(surv, YESTERDAY)
    doctor = api_client(surv.village_doctor)
    for url in (f"{BASE}/cards/{card.pk}", f"{BASE}/signals/{scene.hfmd.pk}", f"{BASE}/cards/abc"):
        _problem(doctor.get(url), 404, "not_found")
    _problem(post(doctor, f"{BASE}/cards/{card.pk}/accept"), 404, "not_found")
    assert doctor.get(f"{BASE}/cards").json()["count"] == 5  # village A's: the scene's HFMD 1 + 3 and measles 1
    assert card.card_no not in doctor.get(f"{BASE}/cards").content.decode()
    assert doctor.get(f"{BASE}/signals").json()["count"] == 0
    _problem(api_client(surv.other_director).get(f"{BASE}/signals/{scene.hfmd.pk}"), 404, "not_found")


def test_signals_queue_series_and_answers(surv: SurvCounty) -> None:
    scene = signal_scene(surv, YESTERDAY)
    cdc = api_client(surv.cdc_user)
    queue = cdc.get(f"{BASE}/signals").json()
    assert {s["id"] for s in queue["items"]} == {scene.hfmd.pk, scene.measles.pk}
    hfmd = next(s for s in queue["items"] if s["id"] == scene.hfmd.pk)
    assert (hfmd["method"], hfmd["observed"], hfmd["expected"], hfmd["threshold"], hfmd["case_count"]) == (
        "c3", 3.0, 0.0, 2.96, 3)
    detail = cdc.get(f"{BASE}/signals/{scene.hfmd.pk}").json()
    day = next(row for row in detail["series"] if row["date"] == YESTERDAY.isoformat())
    assert day == {"date": "2026-06-14", "observed": 3.0, "expected": 0.0,
                   "upperbound": pytest.approx(2.96, abs=0.001), "alarm": True}  # 1 + z(0.025)
    assert detail["series"][0]["observed"] is None  # before the county's first card: missing
    assert sorted(detail["case_ids"]) == sorted(c.pk for c in scene.hfmd_cards)
    director = api_client(surv.director)
    assert director.get(f"{BASE}/signals/{scene.hfmd.pk}").status_code == 200  # the township sees its own
    _problem(post(director, f"{BASE}/signals/{scene.hfmd.pk}/verify", {"note": "x"}), 403, "not_reviewer")
    _problem(post(cdc, f"{BASE}/signals/{scene.hfmd.pk}/verify", {"note": ""}), 422, "reason_required")
    assert post(cdc, f"{BASE}/signals/{scene.hfmd.pk}/verify", {"note": "核实"}).json()["status"] == "verified"
    _problem(post(cdc, f"{BASE}/signals/{scene.hfmd.pk}/verify", {"note": "再核实"}), 409, "illegal_signal_action")
    opened = post(cdc, f"{BASE}/signals/{scene.hfmd.pk}/investigate",
                  {"title": "幼儿园聚集", "card_ids": [scene.hfmd_cards[0].pk]})
    assert opened.status_code == 201, opened.content
    assert opened.json()["case_ids"] == [scene.hfmd_cards[0].pk] and Outbreak.objects.get().title == "幼儿园聚集"
    dismissed = post(cdc, f"{BASE}/signals/{scene.measles.pk}/dismiss", {"note": "输入病例，已处置"}).json()
    assert dismissed["status"] == "dismissed"
    assert cdc.get(f"{BASE}/signals").json()["count"] == 0  # nothing waits
    assert cdc.get(f"{BASE}/signals", {"status": "all"}).json()["count"] == 2


def test_timeliness(surv: SurvCounty) -> None:
    """Clinic A: 1 h (on time) and 30 h (late) → 50 %, median (1 + 30) / 2 = 15.5 h."""
    kids = [ResidentFactory(village=surv.village_a) for _ in range(2)]
    surv.report(resident=kids[0], diagnosed=at(YESTERDAY, 1), reported=at(YESTERDAY, 2))
    surv.report(resident=kids[1], diagnosed=at(YESTERDAY - dt.timedelta(days=1), 2), reported=at(YESTERDAY, 8))
    rows = api_client(surv.cdc_user).get(f"{BASE}/timeliness", {"start": "2026-06-01", "end": "2026-06-30"}).json()
    assert rows == [{"institution": surv.clinic_a.code, "institution_name": surv.clinic_a.name, "reported": 2,
                     "on_time": 1, "rate": 50.0, "median_hours": 15.5}]
    july = {"start": "2026-07-01", "end": "2026-07-31"}
    assert api_client(surv.cdc_user).get(f"{BASE}/timeliness", july).json() == []
