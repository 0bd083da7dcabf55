"""Walk every route as a user of another unit: each parameterised page and endpoint answers 404.

New routes join the walk by themselves (URL resolver and OpenAPI document), so a route that
forgets to scope its reads fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from tests.factories.programmes import enrol, load_programmes
from tests.factories.registry import StaffMemberFactory
from tests.factories.residents import ResidentFactory
from yigongti.accounts.services import token_create
from yigongti.programmes.models import Enrolment, Visit
from yigongti.residents.models import Resident

# Routes that take no scoped object, or belong to Django's own admin/i18n.
SKIP_PREFIXES = ("admin/", "api/", "i18n/")


def _web_patterns(resolvers: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for entry in resolvers:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _web_patterns(entry.url_patterns, route)
        elif "<" in route and not route.startswith(SKIP_PREFIXES):
            yield route


def _fill(route: str, values: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


def _walk_ids(client: Client, routes: list[str], pks: list[int], hidden_name: str) -> None:
    """GET and POST every ``routes`` × ``pks``: 404 (or 405 for a method the route does not take,
    but 404 at least once), and the other village's resident never named in the answer."""
    for route in routes:
        for pk in pks:
            url = _fill(route, {"pk": str(pk)})
            codes = []
            for method in (client.get, client.post):
                response = method(url)
                codes.append(response.status_code)  # 405: the route does not take that method at all
                assert response.status_code in (404, 405), (url, method.__name__, response.status_code)
                assert hidden_name not in response.content.decode()
            assert 404 in codes, (url, codes)


@pytest.fixture
def other_village(county: MiniCounty) -> dict[str, str]:
    """Codes of things in village B, which the village doctor of village A must never see."""
    clinic_b = county.clinics[county.village_b.code]
    member = StaffMemberFactory(institution=clinic_b)
    resident = ResidentFactory(village=county.village_b)
    return {"division": county.village_b.code, "institution": clinic_b.code, "staff": str(member.pk),
            "resident": resident.record_no, "name": clinic_b.name, "resident_name": resident.name}


def test_every_web_route_hides_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    routes = sorted(set(_web_patterns(get_resolver().url_patterns)))
    assert routes, "no parameterised web route found"
    client = Client()
    assert client.login(username="cunyi", password=PASSWORD)
    for route in routes:
        for key in ("division", "institution", "staff", "resident"):
            value = other_village[key]
            url = _fill(route, {"code": value, "pk": value, "programme": "hypertension", "indicator": "record_rate"})
            response = client.get(url)
            assert response.status_code == 404, (url, response.status_code)
            body = response.content.decode()
            assert other_village["name"] not in body and other_village["resident_name"] not in body


# Pages that take the scoped object in the query string rather than the path.
QUERY_ROUTES = ("/programmes/due/?record_no={resident}", "/programmes/worklist/?org={division}",
                "/programmes/worklist/?org={division}&format=csv", "/programmes/worklist/?org={division}&format=xlsx")


def test_query_routes_hide_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    client = Client()
    assert client.login(username="cunyi", password=PASSWORD)
    for template in QUERY_ROUTES:
        url = template.format(**other_village)
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        body = response.content.decode()
        assert other_village["name"] not in body and other_village["resident_name"] not in body


def test_every_api_route_hides_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=county.village_doctor, name='walk')}")
    spec = json.loads(client.get("/api/v1/openapi.json").content)
    templated = [path for path, ops in spec["paths"].items() if "{" in path and "get" in ops]
    assert templated, "no parameterised API route found"
    for path in templated:
        for key in ("division", "institution", "staff", "resident"):
            value = other_village[key]
            url = re.sub(r"\{\w+\}", value, path)
            response = client.get(url)
            assert response.status_code == 404, (url, response.status_code)
            assert response["Content-Type"].startswith("application/problem+json")
    # Lists never show it either.
    for path in [p for p, ops in spec["paths"].items() if "{" not in p and "get" in ops]:
        body = client.get(path).content.decode()
        assert other_village["name"] not in body and other_village["resident_name"] not in body, path


def test_pages_open_in_chinese_whatever_the_browser_asks(county: MiniCounty) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    response = client.get("/login/")
    assert response.headers["Content-Language"] == "zh-hans"
    client.cookies["django_language"] = "en"
    assert client.get("/login/").headers["Content-Language"] == "en"


def test_programme_writes_hide_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    """The POST routes of /api/v1/programmes answer 404 for a resident or enrolment of village B."""
    load_programmes()
    other = Resident.objects.get(record_no=other_village["resident"])
    enrolment = enrol(county.director, other, "hypertension", enrolled_on=other.birth_date.replace(year=2020))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=county.village_doctor, name='walk')}")
    writes = [
        (f"/api/v1/programmes/residents/{other.record_no}/enrolments",
         {"programme": "diabetes", "diagnosis_code": "E11", "confirmed": True}),
        (f"/api/v1/programmes/enrolments/{enrolment.pk}/close", {"reason": "other"}),
        ("/api/v1/programmes/visits", {"record_no": other.record_no, "programme": "hypertension", "item": "followup",
                                       "visit_date": dt.date.today().isoformat(), "values": {"sbp": 120, "dbp": 80}}),
    ]
    for url, body in writes:
        response = client.post(url, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 404, (url, response.status_code, response.content)
        assert other_village["resident_name"] not in response.content.decode()
    assert Enrolment.objects.get(pk=enrolment.pk).status == "active" and not Visit.objects.exists()


# Pages that take the scoped object in the query string rather than the path (care and referrals).
QUERY_ROUTES_CARE = ("/care/stats/?org={division}", "/care/stats/?org={division}&format=xlsx",
                     "/referrals/stats/?org={division}", "/referrals/stats/?org={division}&format=xlsx")


def test_care_query_routes_hide_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    client = Client()
    assert client.login(username="cunyi", password=PASSWORD)
    for template in QUERY_ROUTES_CARE:
        url = template.format(**other_village)
        assert client.get(url).status_code == 404, url


def _village_b_care(county: MiniCounty, other_village: dict[str, str]) -> list[int]:
    """An encounter, result, order, referral, booking and consultation (with a file) of village B,
    whose referral goes to township 1's centre — no path of theirs lies in village A."""
    from django.utils import timezone

    from yigongti.care.models import Encounter, Order, Result, ResultItem
    from yigongti.referrals.models import Booking, ConsultAttachment, Referral, Slot, Teleconsultation

    other = Resident.objects.get(record_no=other_village["resident"])
    clinic_b = county.clinics[county.village_b.code]
    centre = county.centres[0]
    now = timezone.now()
    encounter = Encounter.objects.create(resident=other, path=other.path, kind="outpatient", institution=clinic_b,
                                         institution_path=clinic_b.path,
                                         tier="village", start_date=dt.date(2026, 1, 5))
    item = ResultItem.objects.create(code="GLU", name="血糖", name_en="Glucose", kind="lab", unit="mmol/L", price=8)
    result = Result.objects.create(resident=other, path=other.path, item=item, encounter=encounter, value=5,
                                   unit="mmol/L", performed_by=clinic_b, performer_tier="village", reported_at=now)
    order = Order.objects.create(encounter=encounter, path=other.path, resident=other, institution=clinic_b,
                                 item=item, ordered_on=dt.date(2026, 1, 5))
    referral = Referral.objects.create(
        resident=other, path=other.path, direction="up", kind="outpatient", from_institution=clinic_b,
        to_institution=centre, from_path=clinic_b.path, to_path=centre.path, reason="头晕", requested_at=now,
        respond_by=now, escalate_at=now)
    slot = Slot.objects.create(institution=county.hospital, department=county.department, date=dt.date(2030, 1, 2),
                               start_time=dt.time(8), end_time=dt.time(9), capacity=3, booked=1)
    booking = Booking.objects.create(slot=slot, resident=other, path=other.path, referral=referral, booked_at=now,
                                     booked_from=clinic_b)
    consult = Teleconsultation.objects.create(
        resident=other, path=other.path, requesting_institution=clinic_b, specialist_institution=centre,
        from_path=clinic_b.path, to_path=centre.path, question="血压难控制", requested_at=now)
    attachment = ConsultAttachment.objects.create(consultation=consult, name="ecg.pdf", content_type="application/pdf",
                                                  size=3, content=b"pdf")
    return sorted({encounter.pk, result.pk, order.pk, referral.pk, booking.pk, consult.pk, attachment.pk})


def test_care_and_referral_objects_hide_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    """Every care/referrals page and API route with an id answers 404 for village B's objects
    (GET and POST), and writes nothing."""
    from yigongti.referrals.models import Referral

    pks = _village_b_care(county, other_village)
    routes = sorted(r for r in set(_web_patterns(get_resolver().url_patterns))
                    if r.startswith(("care/", "referrals/")) and "pk>" in r)
    assert routes, "no care/referrals route with an id"
    client = Client()
    assert client.login(username="cunyi", password=PASSWORD)
    _walk_ids(client, routes, pks, other_village["resident_name"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=county.village_doctor, name='walk')}")
    spec = json.loads(api.get("/api/v1/openapi.json").content)
    paths = [(p, ops) for p, ops in spec["paths"].items()
             if p.startswith(("/api/v1/care", "/api/v1/referrals", "/api/v1/results")) and "{" in p]
    assert paths, "no care/referrals API route with an id"
    for path, ops in paths:
        for pk in pks:
            url = re.sub(r"\{\w+\}", str(pk), path)
            for verb in ("get", "post"):
                if verb not in ops:
                    continue
                if verb == "get":
                    response = api.get(url)
                    assert response.status_code == 404, (url, verb, response.status_code, response.content[:200])
                else:  # an empty body may be refused (422) before the lookup; it never succeeds
                    response = api.post(url, data="{}", content_type="application/json")
                    assert response.status_code in (404, 422), (url, verb, response.status_code)
                assert other_village["resident_name"] not in response.content.decode()
    assert Referral.objects.get().status == "requested"


def test_analytics_routes_hide_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    """With values stored for every unit, the village doctor of village A gets 404 for every
    indicator page, partial, download and API filter of village B (and of the township and county
    above), and no list shows their values."""
    from tests.analytics.conftest import store_values

    stored = store_values(county)
    hidden = [stored.b, stored.t1, stored.county, stored.d]
    routes = sorted(r for r in set(_web_patterns(get_resolver().url_patterns)) if r.startswith("analytics/"))
    assert len(routes) >= 4, routes
    client = Client()
    assert client.login(username="cunyi", password=PASSWORD)
    for route in routes:
        for division in hidden:
            url = _fill(route, {"code": division.code, "indicator": "record_rate"})
            for query, headers in (("?period=2025", {}), ("?period=2025&format=xlsx", {}),
                                   ("?period=2025&depth=2", {"HX-Request": "true"})):
                response = client.get(url + query, headers=headers)
                assert response.status_code == 404, (url + query, response.status_code)
                assert stored.b.name not in response.content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=county.village_doctor, name='walk')}")
    for division in hidden:
        response = api.get("/api/v1/indicators", {"org": division.code})
        assert response.status_code == 404 and response["Content-Type"].startswith("application/problem+json")
    for params in ({}, {"level": "village"}, {"level": "township"}, {"period": "2025"}):
        items = json.loads(api.get("/api/v1/indicators", {**params, "limit": 500}).content)["items"]
        assert {item["org"] for item in items} <= {county.village_a.code}, params


def _village_b_surveillance(county: MiniCounty, other_village: dict[str, str]) -> tuple[list[int], int]:
    """A case card of a village B resident (reported by village B's clinic through the township 1
    director), a signal of township 1 counting it and an outbreak linking it, and an encounter of
    village B: nothing of theirs lies in village A. Returns their ids and the encounter's."""
    from yigongti.care.models import Encounter
    from yigongti.core.clock import now
    from yigongti.core.rule_fixtures import rules_load
    from yigongti.surveillance.alerts import outbreak_link
    from yigongti.surveillance.models import Outbreak, Signal
    from yigongti.surveillance.services import CardInput, card_report

    rules_load(kinds=["surveillance.diseases"])
    other = Resident.objects.get(record_no=other_village["resident"])
    clinic_b = county.clinics[county.village_b.code]
    diagnosed = now() - dt.timedelta(hours=2)
    card = card_report(user=county.director, data=CardInput(
        institution=clinic_b, diagnosis_type="clinical", onset_date=diagnosed.date(), diagnosed_at=diagnosed,
        icd10="B05.9", resident=other))
    township = county.townships[0]
    signal = Signal.objects.create(township=township, path=township.path, disease=card.disease, date=diagnosed.date(),
                                   method="single", observed=1, expected=0, threshold=0,
                                   window_start=diagnosed.date())
    signal.cases.add(card)
    outbreak = Outbreak.objects.create(code="OB-WALK", disease=card.disease, township=township, path=township.path,
                                       title="walk", opened_at=now())
    outbreak_link(user=_cdc(county), outbreak=outbreak, card_ids=[card.pk])
    encounter = Encounter.objects.create(resident=other, path=other.path, kind="outpatient", institution=clinic_b,
                                         institution_path=clinic_b.path, tier="village", start_date=diagnosed.date())
    return sorted({card.pk, signal.pk, outbreak.pk}), encounter.pk


def _cdc(county: MiniCounty) -> object:
    from tests.factories.accounts import UserFactory
    from yigongti.accounts.models import Role

    return UserFactory(username="jikong-walk", role=Role.CDC, entry_unit=county.county, view_unit=county.county)


def test_surveillance_objects_hide_another_village(county: MiniCounty, other_village: dict[str, str]) -> None:
    """Every surveillance page and API route with an id answers 404 for village B's card, township 1's
    signal and outbreak (GET and POST) to the village doctor of village A, and writes nothing; so does
    the card form opened from village B's encounter; no list shows them."""
    from yigongti.surveillance.models import CaseCard, Signal

    pks, encounter_pk = _village_b_surveillance(county, other_village)
    card = CaseCard.objects.get()
    routes = sorted(r for r in set(_web_patterns(get_resolver().url_patterns))
                    if r.startswith("surveillance/") and "pk>" in r)
    assert len(routes) >= 10, routes
    client = Client()
    assert client.login(username="cunyi", password=PASSWORD)
    _walk_ids(client, routes, pks, other_village["resident_name"])
    for url in (f"/surveillance/cards/new/?encounter={encounter_pk}&disease=measles", "/surveillance/",
                "/surveillance/cards/", "/surveillance/signals/", "/surveillance/outbreaks/",
                "/surveillance/cards/?format=csv", "/surveillance/timeliness/"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert other_village["resident_name"] not in response.content.decode() and card.card_no not in (
            response.content.decode()), url
    assert client.get(f"/surveillance/cards/new/?encounter={encounter_pk}").status_code == 404
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=county.village_doctor, name='walk')}")
    spec = json.loads(api.get("/api/v1/openapi.json").content)
    paths = [(p, ops) for p, ops in spec["paths"].items() if p.startswith("/api/v1/surveillance") and "{" in p]
    assert len(paths) >= 8, paths
    for path, ops in paths:
        for pk in pks:
            url = re.sub(r"\{\w+\}", str(pk), path)
            if "get" in ops:
                assert api.get(url).status_code == 404, url
            if "post" in ops:  # an empty body may be refused (422) before the lookup; it never succeeds
                response = api.post(url, data="{}", content_type="application/json")
                assert response.status_code in (404, 422), (url, response.status_code)
                assert other_village["resident_name"] not in response.content.decode()
    card.refresh_from_db()
    assert card.status == "reported" and Signal.objects.get().status == "new"


def _township_1_insurance(county: MiniCounty) -> tuple[list[int], dict[str, int], str]:
    """A household of village A enrolled for 2026, its member's discharged stay at the county hospital
    settled, reversed and settled again: nothing of theirs lies in township 2. Returns every id, the
    ids by kind, and the member's name."""
    from tests.insurance.conftest import Ins
    from yigongti.insurance import services

    ins = Ins(county)
    household, (person,) = ins.household(name="甲镇参保人")
    enrolment = ins.enrol(household)
    stay = ins.stay(person)
    first, _created = services.settle(county.clinician, stay.pk, key="walk-1")
    reversal = services.reverse(county.clinician, first.pk, reason="walk")
    live, _created = services.settle(county.clinician, stay.pk, key="walk-2")
    ids = {"household": household.pk, "enrolment": enrolment.pk, "encounter": stay.pk, "settlement": live.pk,
           "reversal": reversal.pk, "first": first.pk}
    return sorted(set(ids.values())), ids, person.name


def test_insurance_objects_hide_another_township(county: MiniCounty) -> None:
    """Every insurance page and API route with an id answers 404 to township 2's director for township 1's
    household, enrolment, stay and settlements (GET and POST) and writes nothing; the query routes naming
    township 1 answer 404; no list shows the member."""
    from io import BytesIO

    from openpyxl import load_workbook

    from yigongti.insurance.models import HouseholdEnrolment, Settlement

    pks, ids, name = _township_1_insurance(county)
    before = (Settlement.objects.count(), HouseholdEnrolment.objects.get().members)
    routes = sorted(r for r in set(_web_patterns(get_resolver().url_patterns))
                    if r.startswith("insurance/") and "pk>" in r)
    assert len(routes) >= 7, routes
    client = Client()
    assert client.login(username="yuanzhang2", password=PASSWORD)
    _walk_ids(client, routes, pks, name)
    township = county.townships[0]
    for url in (f"/insurance/coverage/?under={township.path}", f"/insurance/coverage/?under={township.code}",
                f"/insurance/coverage/?under={township.code}&format=xlsx",
                f"/insurance/enrolments/?village={county.village_a.code}"):
        assert client.get(url).status_code == 404, url
    download = client.get("/insurance/settlements/?format=xlsx")
    assert download.status_code == 200 and load_workbook(BytesIO(download.content)).active.max_row == 1
    for url in ("/insurance/", "/insurance/settlements/", "/insurance/enrolments/?year=2026",
                "/insurance/coverage/?year=2026", f"/care/encounters/{ids['encounter']}/"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert name not in response.content.decode(), url
    searched = client.get("/insurance/enrolments/", {"year": 2026, "q": name}).content.decode()  # the name typed
    assert 'id="found"' in searched and f'id="household-{ids["household"]}"' not in searched
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=county.other_director, name='walk')}")
    spec = json.loads(api.get("/api/v1/openapi.json").content)
    paths = [(p, ops) for p, ops in spec["paths"].items() if p.startswith("/api/v1/insurance") and "{" in p]
    assert len(paths) >= 4, paths
    for path, ops in paths:
        for pk in pks:
            url = re.sub(r"\{\w+\}", str(pk), path)
            if "get" in ops:
                assert api.get(url).status_code == 404, url
            if "post" in ops:  # an empty body may be refused (422) before the lookup; it never succeeds
                response = api.post(url, data=json.dumps({"reason": "walk", "idempotency_key": "walk-x"}),
                                    content_type="application/json")
                assert response.status_code == 404, (url, response.status_code)
                assert name not in response.content.decode()
    for url, body in (("/api/v1/insurance/settlements", {"encounter_id": ids["encounter"], "idempotency_key": "w"}),
                      ("/api/v1/insurance/enrolments", {"household_id": ids["household"], "year": 2026})):
        response = api.post(url, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 404, (url, response.content)
    for url in ("/api/v1/insurance/settlements", "/api/v1/insurance/enrolments", "/api/v1/insurance/coverage"):
        assert name not in api.get(url).content.decode(), url
    assert api.get("/api/v1/insurance/coverage", {"under": township.code}).status_code == 404
    assert (Settlement.objects.count(), HouseholdEnrolment.objects.get().members) == before


def _township_1_medicines(county: MiniCounty) -> tuple[list[int], dict[str, int], str]:
    """Stock at township 1's centre, a requisition of village A's clinic shipped to it, a stock take at
    the centre, a dispensed prescription of a village A resident, and the county's purchase order: nothing
    of theirs lies in township 2. Returns every id, the ids by kind, and the patient's name."""
    from tests.medicines.conftest import AMOX, Med
    from yigongti.core import scope as core_scope
    from yigongti.medicines import services, services_dispensing, services_flow

    med = Med(county)
    med.stock(med.centre, AMOX, 40)
    requisition = services_flow.requisition_submit(county.village_doctor, med.village_clinic, {AMOX: 20})
    services_flow.requisition_decide(county.director, requisition.pk, approve=True)
    services_flow.requisition_ship(county.director, requisition.pk)
    services_flow.requisition_receive(county.village_doctor, requisition.pk)
    take = services.stocktake_start(county.director, med.centre)
    patient = ResidentFactory(village=county.village_a, name="甲镇取药人")
    prescription = med.prescription({AMOX: 2}, encounter=med.visit(patient))
    services_dispensing.dispense(county.village_doctor, prescription.pk)
    (order, *_rest) = services_flow.consolidate(core_scope.SYSTEM, med.hospital).orders
    ids = {"requisition": requisition.pk, "stocktake": take.pk, "prescription": prescription.pk,
           "line": prescription.lines.get().pk, "order": order.pk, "encounter": prescription.encounter_id}
    return sorted(set(ids.values())), ids, patient.name


def test_medicines_objects_hide_another_township(county: MiniCounty) -> None:
    """Every medicines page with an id answers 404 to township 2's director for township 1's requisition,
    stock take, prescription and the county's purchase order (GET and POST) and writes nothing; the query
    routes naming township 1's institutions answer 404; no list names them."""
    from yigongti.medicines.models import Movement, Prescription, PurchaseOrder, Requisition
    from yigongti.registry.models import Institution

    pks, ids, name = _township_1_medicines(county)
    before = (Movement.objects.count(), list(Requisition.objects.values_list("status", flat=True)),
              list(Prescription.objects.values_list("status", flat=True)),
              list(PurchaseOrder.objects.values_list("status", flat=True)))
    routes = sorted(r for r in set(_web_patterns(get_resolver().url_patterns))
                    if r.startswith("medicines/") and "pk>" in r)
    assert len(routes) >= 13, routes
    client = Client()
    assert client.login(username="yuanzhang2", password=PASSWORD)
    _walk_ids(client, routes, pks, name)
    centre, clinic = county.centres[0], county.clinics[county.village_a.code]
    for institution in (centre, clinic, county.hospital):
        for url in ("/medicines/?org={}", "/medicines/?org={}&format=xlsx", "/medicines/card/?org={}&item=1",
                    "/medicines/receive/?org={}", "/medicines/requisitions/new/?org={}",
                    "/medicines/reports/consumption/?org={}", "/medicines/reports/essential/?org={}",
                    "/medicines/reports/stockouts/?org={}"):
            assert client.get(url.format(institution.pk)).status_code == 404, url
        assert client.post("/medicines/stocktakes/start/", {"org": institution.pk}).status_code == 404
    for url in ("/medicines/", "/medicines/alerts/", "/medicines/requisitions/", "/medicines/orders/",
                "/medicines/reports/consumption/", "/medicines/reports/essential/", "/medicines/reports/stockouts/",
                f"/care/encounters/{ids['encounter']}/"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        body = response.content.decode()
        assert name not in body and centre.name not in body and clinic.name not in body, url
    assert client.post("/medicines/orders/consolidate/").status_code == 403
    after = (Movement.objects.count(), list(Requisition.objects.values_list("status", flat=True)),
             list(Prescription.objects.values_list("status", flat=True)),
             list(PurchaseOrder.objects.values_list("status", flat=True)))
    assert after == before and Institution.objects.count() >= 7
