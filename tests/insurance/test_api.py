"""``/api/v1/insurance``: settling (201; a replay with the same key, or a second settlement of the
encounter, 200 with the first), reading (scoped, audited), reversal and re-settlement (409 when
refused), enrolment (201, 200 when nothing new), 参合率, the fund (403 for others), the pure
adjudication; every refusal a problem with its status and, for bad input, the field named."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from tests.insurance.conftest import Ins
from tests.insurance.web_support import FUND, PATIENT, api_client, other_township_stay, stay_scene
from yigongti.core.models import AuditEntry
from yigongti.insurance.models import Coverage, HouseholdEnrolment, PolicyVersion, Settlement

BASE = "/api/v1/insurance"


def post(client: Client, url: str, body: Any = None, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(body if body is not None else {}), content_type="application/json",
                       **headers)


def _problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body


# ---------------------------------------------------------------- settlements


def test_settle_and_replay(ins: Ins) -> None:
    scene = stay_scene(ins)
    clinician = api_client(ins.county.clinician)
    created = post(clinician, f"{BASE}/settlements", {"encounter_id": scene.stay.pk, "idempotency_key": "api-1"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["total"], body["eligible"], body["basic"], body["fund"], body["patient"]) == (
        "8550.00", "8150.00", "6200.00", str(FUND), str(PATIENT))
    assert body["number"].startswith("JS2026") and body["record_no"] == scene.person.record_no
    assert body["institution"] == "H0001" and body["status"] == "settled" and body["policy"] == "yunxi-county-2026"
    assert body["lines"][-1] == {"rule": "patient", "zh": "个人负担 2,350.00 元",
                                 "en": "The patient pays 2,350.00 yuan", "amount": "2350.00"}
    assert body["ytd_after"]["basic_paid"] == "6200.00"
    replay = post(clinician, f"{BASE}/settlements", {"encounter_id": scene.stay.pk, "idempotency_key": "api-1"})
    assert replay.status_code == 200 and replay.json()["id"] == body["id"]
    by_header = post(clinician, f"{BASE}/settlements", {"encounter_id": scene.stay.pk},
                     HTTP_IDEMPOTENCY_KEY="api-2")
    assert by_header.status_code == 200 and by_header.json()["id"] == body["id"]  # already settled: the first
    assert Settlement.objects.count() == 1
    other = stay_scene(ins)
    reused = post(clinician, f"{BASE}/settlements", {"encounter_id": other.stay.pk, "idempotency_key": "api-1"})
    _problem(reused, 409, "insurance_idempotency_key_reused")
    header = post(clinician, f"{BASE}/settlements", {"encounter_id": other.stay.pk},
                  HTTP_IDEMPOTENCY_KEY="api-3")
    assert header.status_code == 201


def test_settle_refusals(ins: Ins) -> None:
    scene = stay_scene(ins)
    clinician = api_client(ins.county.clinician)
    url = f"{BASE}/settlements"
    _problem(post(clinician, url, {"encounter_id": scene.stay.pk}), 422, "validation_failed", "idempotency_key")
    _problem(post(clinician, url, {"encounter_id": scene.stay.pk, "idempotency_key": "k",
                                   "outside_catalogue": {"caviar": "1"}}),
             422, "insurance_not_settleable", "outside_catalogue.caviar")
    _problem(post(clinician, url, {"encounter_id": scene.stay.pk, "idempotency_key": "k",
                                   "outside_catalogue": {"bed": "501"}}),
             422, "insurance_not_settleable", "outside_catalogue.bed")
    invalid = post(clinician, url, {"encounter_id": "abc", "idempotency_key": "k"})
    body = _problem(invalid, 422, "validation_failed")
    assert body["errors"][0]["loc"][-1] == "encounter_id"
    _problem(post(api_client(ins.county.director), url, {"encounter_id": scene.stay.pk, "idempotency_key": "k"}),
             403, "permission_denied")
    _problem(post(api_client(ins.county.other_director), url, {"encounter_id": scene.stay.pk,
                                                               "idempotency_key": "k"}), 404, "not_found")
    scene.stay.end_date = None
    scene.stay.save(update_fields=["end_date"])
    _problem(post(clinician, url, {"encounter_id": scene.stay.pk, "idempotency_key": "k"}),
             422, "insurance_not_settleable", "end_date")
    assert not Settlement.objects.exists()


def test_read_and_list_settlements(ins: Ins) -> None:
    scene = stay_scene(ins)
    _person, stay = other_township_stay(ins)
    office = api_client(ins.office)
    first = post(office, f"{BASE}/settlements", {"encounter_id": scene.stay.pk, "idempotency_key": "r-1"}).json()
    second = post(office, f"{BASE}/settlements", {"encounter_id": stay.pk, "idempotency_key": "r-2"}).json()
    listed = office.get(f"{BASE}/settlements", {"year": 2026, "status": "settled", "kind": "inpatient"}).json()
    assert listed["count"] == 2 and {s["id"] for s in listed["items"]} == {first["id"], second["id"]}
    assert office.get(f"{BASE}/settlements", {"kind": "outpatient"}).json()["count"] == 0
    assert office.get(f"{BASE}/settlements", {"limit": 1}).json()["items"][0]["id"] == second["id"]  # newest first
    township1 = api_client(ins.county.director)
    assert [s["id"] for s in township1.get(f"{BASE}/settlements").json()["items"]] == [first["id"]]
    one = township1.get(f"{BASE}/settlements/{first['id']}")
    assert one.status_code == 200 and one.json()["number"] == first["number"]
    _problem(township1.get(f"{BASE}/settlements/{second['id']}"), 404, "not_found")
    _problem(township1.get(f"{BASE}/settlements/nope"), 404, "not_found")
    assert AuditEntry.objects.filter(action="read", object_type="insurance.settlement", object_id=str(first["id"]),
                                     user=ins.county.director).exists()
    assert AuditEntry.objects.filter(action="read", object_id=str(second["id"]), outcome="not_found").exists()


def test_reverse_and_resettle(ins: Ins) -> None:
    scene = stay_scene(ins)
    clinician = api_client(ins.county.clinician)
    first = post(clinician, f"{BASE}/settlements", {"encounter_id": scene.stay.pk, "idempotency_key": "rv-1"}).json()
    url = f"{BASE}/settlements/{first['id']}"
    _problem(post(clinician, f"{url}/reverse", {"reason": "  "}), 422, "validation_failed", "reason")
    _problem(post(clinician, f"{url}/reverse", {}), 422, "validation_failed")
    _problem(post(api_client(ins.county.director), f"{url}/reverse", {"reason": "x"}), 403, "permission_denied")
    reversal = post(clinician, f"{url}/reverse", {"reason": "费用录入错误"})
    assert reversal.status_code == 201, reversal.content
    body = reversal.json()
    assert body["kind"] == "reversal" and body["total"] == "-8550.00" and body["reverses"] == first["number"]
    assert clinician.get(url).json()["reversed_by"] == body["number"]
    _problem(post(clinician, f"{url}/reverse", {"reason": "again"}), 409, "insurance_reversal_refused")
    _problem(post(clinician, f"{BASE}/settlements/{body['id']}/reverse", {"reason": "again"}), 409,
             "insurance_reversal_refused")
    # Settled again, then re-settled in one call after a 目录外 correction: 西药 1,000 outside the catalogue,
    # eligible 7,150, basic (7,150 − 400) × 80 % = 5,400.00.
    second = post(clinician, f"{BASE}/settlements", {"encounter_id": scene.stay.pk, "idempotency_key": "rv-2"})
    assert second.status_code == 201
    again = f"{BASE}/settlements/{second.json()['id']}/resettle"
    _problem(post(clinician, again, {"reason": "更正"}), 422, "validation_failed", "idempotency_key")
    assert Settlement.objects.filter(status="settled").count() == 1  # nothing reversed
    done = post(clinician, again, {"reason": "更正目录外", "outside_catalogue": {"drugs_western": "1000"}},
                HTTP_IDEMPOTENCY_KEY="rv-3")
    assert done.status_code == 201, done.content
    result = done.json()
    assert result["reversal"]["reverses"] == second.json()["number"]
    assert result["settlement"]["basic"] == "5400.00" and result["settlement"]["outside_catalogue"] == "1000.00"
    assert Settlement.objects.filter(status="settled").count() == 1


# ---------------------------------------------------------------- enrolment


def test_enrol_a_household(ins: Ins) -> None:
    """2026, 特困 (wubao) exempt 100 %: the household pays 0 for them, 400 for the other member."""
    household, members = ins.household(size=2)
    doctor = api_client(ins.county.village_doctor)
    body = {"household_id": household.pk, "year": 2026, "paid_on": "2025-12-01", "receipt_no": "R1",
            "members": {str(members[0].pk): "", str(members[1].pk): "wubao"}}
    created = post(doctor, f"{BASE}/enrolments", body)
    assert created.status_code == 201, created.content
    out = created.json()
    assert (out["members"], out["contribution"], out["exempted"], out["subsidy"], out["added"]) == (
        2, "400.00", "400.00", "1460.00", 2)
    assert {c["category"]: c["contribution"] for c in out["coverages"]} == {"": "400.00", "wubao": "0.00"}
    again = post(doctor, f"{BASE}/enrolments", body)
    assert again.status_code == 200 and again.json()["added"] == 0
    listed = doctor.get(f"{BASE}/enrolments", {"year": 2026, "village": ins.county.village_a.code}).json()
    assert [e["id"] for e in listed["items"]] == [out["id"]]
    assert doctor.get(f"{BASE}/enrolments/{out['id']}").json()["household"] == household.code
    _problem(api_client(ins.county.other_director).get(f"{BASE}/enrolments/{out['id']}"), 404, "not_found")


def test_enrol_refusals(ins: Ins) -> None:
    household, (member,) = ins.household()
    doctor = api_client(ins.county.village_doctor)
    url = f"{BASE}/enrolments"
    _problem(post(doctor, url, {"household_id": household.pk, "year": 2026, "paid_on": "2025-12-01",
                                "members": {str(member.pk): "rich"}}),
             422, "insurance_member_invalid", f"members.{member.pk}")
    _problem(post(doctor, url, {"household_id": household.pk, "year": 1999}), 422, "validation_failed", "year")
    _problem(post(api_client(ins.county.commission), url, {"household_id": household.pk, "year": 2026}),
             403, "permission_denied")
    _problem(post(api_client(ins.county.other_director), url, {"household_id": household.pk, "year": 2026}),
             404, "not_found")
    assert not HouseholdEnrolment.objects.exists() and not Coverage.objects.exists()


# ---------------------------------------------------------------- 参合率, the fund


def test_coverage_rates(ins: Ins) -> None:
    household, _members = ins.household(size=2)
    ins.enrol(household)
    ins.household(village=ins.county.village_b)
    office = api_client(ins.office)
    rates = office.get(f"{BASE}/coverage", {"year": 2026}).json()
    t1 = next(r for r in rates["rows"] if r["code"] == ins.county.townships[0].code)
    assert (t1["eligible"], t1["enrolled"], t1["rate"]) == (3, 2, 0.6667)
    assert rates["total"]["enrolled"] == 2
    villages = office.get(f"{BASE}/coverage", {"year": 2026, "under": ins.county.townships[0].code}).json()
    assert {r["code"]: r["enrolled"] for r in villages["rows"]} == {ins.county.village_a.code: 2,
                                                                    ins.county.village_b.code: 0}
    _problem(api_client(ins.county.other_director).get(f"{BASE}/coverage", {"under": ins.county.townships[0].path}),
             404, "not_found")
    _problem(office.get(f"{BASE}/coverage", {"year": 1990}), 422, "validation_failed", "year")


def test_the_fund(ins: Ins) -> None:
    scene = stay_scene(ins)
    post(api_client(ins.county.clinician), f"{BASE}/settlements", {"encounter_id": scene.stay.pk,
                                                                   "idempotency_key": "f-1"})
    fund = api_client(ins.office).get(f"{BASE}/fund", {"year": 2026})
    assert fund.status_code == 200
    body = fund.json()
    assert (body["income"], body["per_capita"], body["basic"], body["patient"]) == (
        "2260.00", "1130.00", "6200.00", "2350.00")
    assert body["in_county_share"] == 1.0 and body["reimbursement_ratio"] == 0.7251
    assert body["ledger"]["ok"] is True and body["ledger"]["total"] == "0.00"
    assert body["by_institution"][0]["institution__code"] == "H0001" and body["by_institution"][0]["fund"] == "6200.00"
    _problem(api_client(ins.county.clinician).get(f"{BASE}/fund"), 403, "permission_denied")


# ---------------------------------------------------------------- the pure adjudication


CASE = {"date": "2026-03-07", "county": "522399", "kind": "inpatient", "level": "county",
        "costs": {"drugs_western": 10000}}


def test_adjudicate_writes_nothing(ins: Ins) -> None:
    """yunxi-county-2026, level 2: (10,000 − 400) × 80 % = 7,680.00; the patient 2,320.00."""
    client = api_client(ins.county.clinician)
    response = post(client, f"{BASE}/adjudicate", CASE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["policy"] == "yunxi-county-2026" and body["layers"]["basic"] == "7680.00"
    assert body["patient"] == "2320.00" and body["lines"][0]["rule"] == "costs.total"
    city = post(client, f"{BASE}/adjudicate", {**CASE, "policy": "example-city"}).json()
    assert city["policy"] == "example-city"
    assert not Settlement.objects.exists()


def test_adjudicate_refusals(ins: Ins) -> None:
    client = api_client(ins.county.clinician)
    url = f"{BASE}/adjudicate"
    _problem(post(client, url, {**CASE, "policy": "nope"}), 422, "insurance_case_invalid", "policy")
    _problem(post(client, url, {**CASE, "costs": {"drugs_western": -5}}), 422, "insurance_case_invalid",
             "costs.drugs_western")
    _problem(post(client, url, {**CASE, "level": "moon"}), 422, "insurance_case_invalid", "level")
    _problem(post(client, url, {k: v for k, v in CASE.items() if k != "date"}), 422, "insurance_case_invalid", "date")
    bad = client.post(url, data="{not json", content_type="application/json")
    _problem(bad, 422, "insurance_case_invalid", "/")
    _problem(post(client, url, {**CASE, "date": "2010-01-01"}), 409, "insurance_no_policy")
    PolicyVersion.objects.all().delete()
    _problem(post(client, url, CASE), 409, "insurance_no_policy")
