"""``/api/v1/residents/``: register (201 / 409 with ``existing`` / 422 with ``field``), read, change,
transfer, the review queue and undoing a merge — and 404 on every route for another village."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import assert_problem
from tests.conftest import MiniCounty
from tests.factories.accounts import UserFactory
from tests.factories.residents import register, resident_id
from yigongti.accounts.models import User
from yigongti.accounts.services import token_create
from yigongti.core.models import AuditEntry
from yigongti.residents.models import DedupeRun, MatchPair, Resident, ResidentMerge

API = "/api/v1/residents"


class Api:
    def __init__(self, user: User) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='test')}")

    def get(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.get(API + path, data)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(API + path, json.dumps(body or {}), content_type="application/json")

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(API + path, json.dumps(body), content_type="application/json")


@pytest.fixture
def doctor(county: MiniCounty) -> Api:
    return Api(county.village_doctor)


@pytest.fixture
def other(county: MiniCounty) -> Api:
    """The village doctor of village B."""
    return Api(UserFactory(username="cunyi_b", institution=county.clinics[county.village_b.code],
                           entry_unit=county.village_b, view_unit=county.village_b))


ID = resident_id(dt.date(1980, 5, 17), "M")


def _body(county: MiniCounty, **fields: Any) -> dict[str, Any]:
    body = {"name": "张三", "sex": "M", "birth_date": "1980-05-17", "village_code": county.village_a.code,
            "id_number": ID}
    body.update(fields)
    return body


def test_register_read_and_change(county: MiniCounty, doctor: Api) -> None:
    response = doctor.post("", _body(county, blood_type="A", allergies=["penicillin"],
                                     past_history=[{"condition": "hypertension", "diagnosed": "2019-03-01"}],
                                     family_history={"father": ["diabetes"]}))
    assert response.status_code == 201, response.content
    record = response.json()
    assert record["record_no"] == f"{county.village_a.code}00001" and record["village_name"] == county.village_a.name
    assert record["clinic_code"] == county.clinics[county.village_a.code].code
    assert record["past_history"] == [{"condition": "hypertension", "diagnosed": "2019-03-01"}]
    assert record["family_history"]["father"] == ["diabetes"]
    detail = doctor.get(f"/{record['record_no']}").json()
    assert detail["name"] == "张三" and detail["allergies"] == ["penicillin"]
    changed = doctor.patch(f"/{record['record_no']}", {"phone": "13800000000", "toilet": "sanitary"})
    assert changed.status_code == 200 and changed.json()["phone"] == "13800000000"
    assert changed.json()["toilet"] == "sanitary" and changed.json()["blood_type"] == "A"
    listing = doctor.get("", {"q": "zhangsan"}).json()
    assert listing["count"] == 1 and listing["items"][0]["record_no"] == record["record_no"]


def test_register_errors(county: MiniCounty, doctor: Api, other: Api) -> None:
    first = doctor.post("", _body(county)).json()
    duplicate = assert_problem(doctor.post("", _body(county, name="张山")), 409, "duplicate_resident")
    assert duplicate["basis"] == "id_number"
    assert duplicate["existing"] == {"record_no": first["record_no"], "name": "张三",
                                     "village": {"code": county.village_a.code, "name": county.village_a.name}}
    hidden = assert_problem(other.post("", _body(county, village_code=county.village_b.code)), 409,
                            "duplicate_resident")
    assert hidden["existing"] is None and "张三" not in json.dumps(hidden, ensure_ascii=False)
    strong = assert_problem(doctor.post("", _body(county, name="章三", id_number="")), 409, "duplicate_resident")
    assert strong["basis"] == "strong_match" and strong["existing"]["record_no"] == first["record_no"]
    assert doctor.post("", _body(county, name="章三", id_number="", confirm_distinct=True)).status_code == 201
    bad = assert_problem(doctor.post("", _body(county, birth_date="1980-05-18")), 422, "validation_failed")
    assert bad["field"] == "id_number"
    assert assert_problem(doctor.post("", _body(county, village_code="999")), 422,
                          "validation_failed")["field"] == "village_code"
    assert_problem(doctor.post("", _body(county, sex="X")), 422, "validation_failed")  # schema
    assert_problem(doctor.post("", _body(county, village_code=county.village_b.code, id_number="")), 404,
                   "not_found")
    assert Resident.objects.count() == 2


def test_every_route_is_404_for_another_village(county: MiniCounty, doctor: Api, other: Api) -> None:
    record_no = doctor.post("", _body(county)).json()["record_no"]
    twin = register(county.village_doctor, county.village_a, name="章三", id_number="", confirm_distinct=True)
    pair = MatchPair.objects.create(run=DedupeRun.objects.create(review_threshold=0.5, auto_threshold=0.99),
                                    left=Resident.objects.get(record_no=record_no), right=twin, probability=0.9,
                                    match_weight=3, path=twin.path)
    calls = [
        other.get(f"/{record_no}"),
        other.get(f"/{record_no}/history"),
        other.patch(f"/{record_no}", {"phone": "1"}),
        other.post(f"/{record_no}/transfer", {"to_village_code": county.village_b.code}),
        other.post(f"/review/{pair.pk}", {"decision": "distinct"}),
    ]
    for response in calls:
        assert_problem(response, 404, "not_found")
    assert other.get("/review").json()["count"] == 0
    assert other.get("", {"q": "张三"}).json()["count"] == 0
    merged = doctor.post(f"/review/{pair.pk}", {"decision": "merge", "survivor": record_no})
    assert merged.status_code == 200 and merged.json()["status"] == "merged"
    merge = ResidentMerge.objects.get()
    assert_problem(other.get(f"/merges/{merge.pk}"), 404, "not_found")
    assert_problem(other.post(f"/merges/{merge.pk}/undo"), 404, "not_found")
    assert ResidentMerge.objects.get().undone_at is None
    assert AuditEntry.objects.filter(outcome="not_found", object_id=record_no).count() >= 4
    # … and exactly the same answer as a record that does not exist.
    assert other.get(f"/{record_no}").json() == other.get("/52239910120199999").json()


def test_transfer_review_and_undo(county: MiniCounty, doctor: Api, other: Api) -> None:
    record_no = doctor.post("", _body(county)).json()["record_no"]
    twin = register(county.village_doctor, county.village_a, name="章三", id_number="", confirm_distinct=True)
    pair = MatchPair.objects.create(run=DedupeRun.objects.create(review_threshold=0.5, auto_threshold=0.99),
                                    left=twin, right=Resident.objects.get(record_no=record_no), probability=0.9,
                                    match_weight=3, path=twin.path)
    queue = doctor.get("/review").json()
    assert queue["count"] == 1 and queue["items"][0]["left"]["record_no"] == twin.record_no
    bad = assert_problem(doctor.post(f"/review/{pair.pk}", {"decision": "merge", "survivor": "x"}), 404, "not_found")
    assert bad["code"] == "not_found"
    assert doctor.post(f"/review/{pair.pk}", {"decision": "merge", "survivor": record_no}).status_code == 200
    merge = ResidentMerge.objects.get()
    assert doctor.get(f"/merges/{merge.pk}").json()["merged"] == twin.record_no
    undone = doctor.post(f"/merges/{merge.pk}/undo")
    assert undone.status_code == 200 and undone.json()["record_no"] == twin.record_no
    assert undone.json()["status"] == "active"
    assert_problem(doctor.post(f"/merges/{merge.pk}/undo"), 409, "conflict")

    moved = doctor.post(f"/{record_no}/transfer", {"to_village_code": county.village_b.code, "reason": "迁居"})
    assert moved.status_code == 201 and moved.json()["to_village_code"] == county.village_b.code
    assert_problem(doctor.get(f"/{record_no}"), 404, "not_found")
    history = other.get(f"/{record_no}/history").json()
    assert [t["from_village_code"] for t in history["transfers"]] == [county.village_a.code]
    assert [m["merged"] for m in history["merges"]] == [twin.record_no]
    bad_move = assert_problem(other.post(f"/{record_no}/transfer", {"to_village_code": county.village_b.code}),
                              422, "validation_failed")
    assert bad_move["field"] == "to_village_code"
