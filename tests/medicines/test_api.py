"""``/api/v1/medicines``: every route once with its answer, scope (another township's documents and
institutions are 404), who may act (403), and problem details with the field named."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tests.factories.accounts import UserFactory
from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.accounts.models import Role
from yigongti.accounts.services import token_create
from yigongti.core import clock
from yigongti.core.models import AuditEntry
from yigongti.medicines import services_dispensing

BASE = "/api/v1/medicines"


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with clock.frozen(DAY):
        yield


def client(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='t')}")


def post(c: Client, url: str, body: Any = None) -> Any:
    return c.post(url, data=json.dumps(body if body is not None else {}), content_type="application/json")


def problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body


def test_catalogue_stock_movements_alerts(med: Med) -> None:
    doctor = client(med.county.village_doctor)
    items = doctor.get(f"{BASE}/catalogue?tier=village").json()
    amox = next(i for i in items if i["code"] == AMOX)
    assert amox["tiers"]["village"] == [10, 40] and amox["unit_price"] == "4.2000" and amox["supplier"] == "S01"
    assert "XY0013" not in {i["code"] for i in items}
    problem(doctor.get(f"{BASE}/catalogue?tier=hospital"), 422, "validation_failed", "tier")
    med.stock(med.village_clinic, AMOX, 4, expiry=DAY + dt.timedelta(days=30))
    stock = doctor.get(f"{BASE}/stock").json()  # default: the caller's institution
    assert stock["org"] == med.village_clinic.code
    line = next(row for row in stock["lines"] if row["medicine"] == AMOX)
    assert (line["usable"], line["status"], line["suggested"], line["expiring"], line["value"]) == (
        4, "low", 36, 4, "16.80")
    assert line["batches"][0]["quantity"] == 4
    problem(doctor.get(f"{BASE}/stock?org={med.county.centres[1].code}"), 404, "not_found")
    page = doctor.get(f"{BASE}/movements?medicine={AMOX}&since=2026-03-01&until=2026-03-31&limit=1").json()
    assert page["count"] == 1 and page["items"][0]["kind"] == "receipt" and page["items"][0]["amount"] == "16.80"
    assert doctor.get(f"{BASE}/movements?since=2026-04-01").json()["count"] == 0
    problem(doctor.get(f"{BASE}/movements?medicine=NOPE"), 422, "validation_failed", "medicine")
    kinds = {(a["kind"], a["medicine"]) for a in doctor.get(f"{BASE}/alerts?days=60").json()}
    assert ("low", AMOX) in kinds and ("expiring", AMOX) in kinds and ("out", NIFE) in kinds
    assert ("expiring", AMOX) not in {(a["kind"], a["medicine"]) for a in doctor.get(f"{BASE}/alerts?days=10").json()}
    problem(client(med.county.commission).get(f"{BASE}/stock"), 422, "validation_failed", "org")


def test_the_requisition_flow(med: Med) -> None:
    c = med.county
    med.stock(med.centre, AMOX, 50)
    doctor, director = client(c.village_doctor), client(c.director)
    created = post(doctor, f"{BASE}/requisitions", {"lines": {AMOX: 20}, "note": "月度请领"})
    assert created.status_code == 201, created.content
    req = created.json()
    assert (req["status"], req["supplier"], req["lines"][0]["quantity"]) == ("submitted", med.centre.code, 20)
    url = f"{BASE}/requisitions/{req['id']}"
    problem(post(doctor, f"{url}/approve"), 403, "permission_denied")
    problem(client(c.other_director).get(url), 404, "not_found")
    problem(post(client(c.other_director), f"{url}/approve"), 404, "not_found")
    problem(post(director, f"{url}/reject", {"note": ""}), 422, "medicines_input_invalid", "note")
    problem(post(director, f"{url}/ship"), 409, "medicines_wrong_status")
    line_id = req["lines"][0]["id"]
    approved = post(director, f"{url}/approve", {"approved": {str(line_id): 15}}).json()
    assert (approved["status"], approved["lines"][0]["approved"]) == ("approved", 15)
    assert post(director, f"{url}/ship", {"partial": False}).json()["status"] == "shipped"
    received = post(doctor, f"{url}/receive").json()
    assert (received["status"], received["lines"][0]["received"]) == ("received", 15)
    listed = director.get(f"{BASE}/requisitions?status=received").json()
    assert [r["id"] for r in listed["items"]] == [req["id"]]
    assert client(c.other_director).get(f"{BASE}/requisitions").json()["count"] == 0
    problem(director.get(f"{BASE}/requisitions?status=lost"), 422, "validation_failed", "status")
    other = post(doctor, f"{BASE}/requisitions", {"lines": {NIFE: 5}}).json()
    assert post(doctor, f"{BASE}/requisitions/{other['id']}/cancel").json()["status"] == "cancelled"
    problem(post(doctor, f"{BASE}/requisitions", {"lines": {"XY0013": 1}}), 422, "medicines_not_in_catalogue")
    problem(doctor.get(f"{BASE}/requisitions/abc"), 404, "not_found")


def test_orders(med: Med) -> None:
    c = med.county
    county = client(c.clinician)
    req = post(client(c.director), f"{BASE}/requisitions", {"lines": {AMOX: 60}}).json()
    post(county, f"{BASE}/requisitions/{req['id']}/approve")
    made = post(county, f"{BASE}/orders/consolidate", {"direct": True})
    assert made.status_code == 201, made.content
    orders = made.json()["orders"]
    order = next(o for o in orders if any(line["deliver_to"] == med.centre.code for line in o["lines"]))
    line = next(line for line in order["lines"] if line["deliver_to"] == med.centre.code)
    assert (line["medicine"], line["quantity"], line["amount"]) == (AMOX, 60, "252.00")
    # The county hospital sits above the township's scope (404); a centre does not buy (422).
    problem(post(client(c.director), f"{BASE}/orders/consolidate", {"org": med.hospital.code}), 404, "not_found")
    problem(post(client(c.director), f"{BASE}/orders/consolidate"), 422, "medicines_input_invalid", "buyer")
    assert county.get(f"{BASE}/orders?status=draft").json()["count"] == len(orders)
    assert client(c.director).get(f"{BASE}/orders/{order['id']}").status_code == 404  # the county's document
    url = f"{BASE}/orders/{order['id']}"
    assert post(county, f"{url}/approve").json()["status"] == "approved"
    problem(post(county, f"{url}/receive", {"deliveries": [{"line_id": line["id"], "lot": "A1", "expiry": "2020-01-01",
                                                             "quantity": 60}]}), 422, "medicines_input_invalid",
            "deliveries[0].expiry")
    done = post(county, f"{url}/receive", {"deliveries": [{"line_id": line["id"], "lot": "A1", "expiry": "2028-01-01",
                                                            "quantity": 60}]}).json()
    assert next(li for li in done["lines"] if li["id"] == line["id"])["received"] == 60
    assert county.get(f"{BASE}/requisitions/{req['id']}").json()["status"] == "received"
    other = next(o for o in orders if o["id"] != order["id"])
    assert post(county, f"{BASE}/orders/{other['id']}/cancel").json()["status"] == "cancelled"
    problem(post(county, f"{BASE}/orders/{other['id']}/approve"), 409, "medicines_wrong_status")


def test_prescriptions(med: Med) -> None:
    c = med.county
    doctor = client(c.village_doctor)
    med.stock(med.village_clinic, AMOX, 3)
    encounter = med.visit()
    created = post(doctor, f"{BASE}/prescriptions", {"encounter_id": encounter.pk,
                                                     "items": [{"medicine": AMOX, "quantity": 2, "usage": "tid"}]})
    assert created.status_code == 201, created.content
    rx = created.json()
    assert rx["status"] == "open" and rx["org"] == med.village_clinic.code
    url = f"{BASE}/prescriptions/{rx['id']}"
    reads = AuditEntry.objects.filter(object_type="medicines.prescription", object_id=str(rx["id"]), action="read")
    before = reads.count()
    assert doctor.get(url).json()["number"] == rx["number"]
    assert reads.count() == before + 1
    problem(client(c.other_director).get(url), 404, "not_found")
    problem(post(client(c.commission), f"{url}/dispense"), 403, "permission_denied")
    dispensed = post(doctor, f"{url}/dispense").json()
    assert (dispensed["status"], dispensed["amount"], dispensed["essential_amount"]) == ("dispensed", "8.40", "8.40")
    problem(post(doctor, f"{url}/dispense"), 409, "medicines_wrong_status")
    line_id = dispensed["lines"][0]["id"]
    back = post(doctor, f"{url}/return", {"line_id": line_id, "quantity": 1}).json()
    assert back["amount"] == "4.20"
    problem(post(doctor, f"{url}/return", {"line_id": line_id + 999, "quantity": 1}), 422, "validation_failed",
            "line_id")
    second = post(doctor, f"{BASE}/prescriptions", {"encounter_id": encounter.pk,
                                                    "items": [{"medicine": AMOX, "quantity": 5}]}).json()
    problem(post(doctor, f"{BASE}/prescriptions/{second['id']}/dispense"), 409, "medicines_out_of_stock",
            f"medicine:{AMOX}")
    assert post(doctor, f"{BASE}/prescriptions/{second['id']}/cancel").json()["status"] == "cancelled"
    problem(post(doctor, f"{BASE}/prescriptions", {"encounter_id": encounter.pk,
                                                   "items": [{"medicine": AMOX, "quantity": -1}]}),
            422, "medicines_input_invalid", "items[0].quantity")


def test_reports(med: Med) -> None:
    c = med.county
    med.item("NE01", essential=False)
    med.stock(med.village_clinic, AMOX, 10)
    med.stock(med.village_clinic, "NE01", 10)
    services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 2, "NE01": 1}).pk, day=DAY)
    county = client(c.clinician)
    rows = county.get(f"{BASE}/reports/consumption?year=2026").json()
    assert {(r["month"], r["org"], r["medicine"], r["quantity"], r["amount"]) for r in rows} == {
        ("2026-03", med.village_clinic.code, AMOX, 2, "8.40"), ("2026-03", med.village_clinic.code, "NE01", 1, "5.00")}
    shares = county.get(f"{BASE}/reports/essential?year=2026&org={med.centre.code}").json()
    assert shares == [{"org": med.village_clinic.code, "org_name": med.village_clinic.name, "prescriptions": 1,
                       "lines": 2, "essential_lines": 1, "line_share": 0.5, "amount": "13.40",
                       "essential_amount": "8.40", "amount_share": 0.6269}]
    assert client(c.other_director).get(f"{BASE}/reports/essential?year=2026").json() == []
    problem(county.get(f"{BASE}/reports/consumption?year=1999"), 422, "validation_failed", "year")
    problem(client(c.other_director).get(f"{BASE}/reports/consumption?org={med.centre.code}"), 404, "not_found")


def test_authentication_and_readers(med: Med) -> None:
    problem(Client().get(f"{BASE}/catalogue"), 401, "not_authenticated")
    cdc = UserFactory(username="cdc1", role=Role.CDC, entry_unit=med.county.county, view_unit=med.county.county)
    problem(client(cdc).get(f"{BASE}/stock?org={med.hospital.code}"), 403, "permission_denied")
