"""The care pages through Django's test client: a resident's encounters and results, recording an
encounter (field errors from the service), the encounter page's order flow with mutual recognition
(offered → used, or ordered anyway, or ordered at once with the reason), recording a result (unit
prefilled, mismatch on the unit field), the statistics page with its XLSX — and scope on each."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests.care.web_support import CareScene, login
from tests.conftest import MiniCounty
from yigongti.care.choices import OrderStatus
from yigongti.care.models import Encounter, Order, Result

pytestmark = pytest.mark.django_db

INVALID = "@@INVALID-TEMPLATE-VARIABLE(%s)@@"


@pytest.fixture(autouse=True)
def strict_templates(settings: LazySettings) -> Iterator[None]:
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = INVALID
    settings.TEMPLATES = templates
    yield


@pytest.fixture
def scene(county: MiniCounty) -> CareScene:
    return CareScene(county)


def _page(response: Any) -> str:
    body = response.content.decode()
    assert INVALID.split("(")[0] not in body
    return body


def _field_block(body: str, name: str) -> str:
    match = re.search(rf'id="field-{name}">(.*?)</div>', body, re.S)
    assert match, f"no field {name}"
    return match.group(1)


def _director() -> Client:
    return login(Client(), "yuanzhang")


def _encounter_post(scene: CareScene, **changes: str) -> dict[str, str]:
    data = {"kind": "outpatient", "institution": scene.c.centres[0].code, "start_date": str(timezone.localdate()),
            "clinician_name": "李医生", "primary_code": "i10", "primary_name": "原发性高血压",
            "other_codes": "E11.9；J18.000", "cost_registration": "5", "cost_drugs_western": "20.50", "booked": "on"}
    data.update(changes)
    return data


# ---------------------------------------------------------------- a resident's care


def test_resident_page_lists_encounters_and_results(scene: CareScene) -> None:
    client = _director()
    body = _page(client.get(reverse("care:resident", args=[scene.patient.record_no])))
    encounters = body.split('id="encounters"')[1].split("</section>")[0]
    assert scene.c.centres[0].name in encounters and "E11.9" in encounters and "2型糖尿病" in encounters
    assert "37.50" in encounters  # the total cost
    assert reverse("care:encounter", args=[scene.visit.pk]) + "#order" in encounters and "开检查检验" in encounters
    results = body.split('id="results"')[1].split("</section>")[0]
    assert "空腹血糖" in results and "7.2" in results and "mmol/L" in results
    assert 'data-flag="H"' in results and "偏高" in results  # above 6.1: flagged, coloured
    assert scene.c.hospital.name in results
    assert reverse("care:encounter_new", args=[scene.patient.record_no]) in body and "登记就诊" in body
    assert reverse("care:result_new", args=[scene.patient.record_no]) in body
    # The record page links here (registered by the care app).
    detail = _page(client.get(reverse("residents:detail", args=[scene.patient.record_no])))
    assert reverse("care:resident", args=[scene.patient.record_no]) in detail


def test_every_page_is_404_for_another_townships_director(scene: CareScene) -> None:
    other = login(Client(), "yuanzhang2")
    record_no = scene.patient.record_no
    for url in (reverse("care:resident", args=[record_no]), reverse("care:encounter_new", args=[record_no]),
                reverse("care:result_new", args=[record_no]), reverse("care:encounter", args=[scene.visit.pk]),
                reverse("care:order", args=[scene.visit.pk])):
        response = other.get(url)
        assert response.status_code == 404, url
        assert "互认甲" not in response.content.decode()
    response = other.post(reverse("care:order", args=[scene.visit.pk]), {"item": "GLU", "decision": "order"})
    assert response.status_code == 404
    response = other.post(reverse("care:encounter_new", args=[record_no]), _encounter_post(scene))
    assert response.status_code == 404
    assert not Order.objects.exists() and Encounter.objects.count() == 1


def test_stats_of_another_township_is_404(scene: CareScene) -> None:
    client = _director()
    assert client.get(reverse("care:stats"), {"org": scene.c.townships[1].code}).status_code == 404
    assert client.get(reverse("care:stats"), {"org": scene.c.townships[1].code, "format": "xlsx"}).status_code == 404


# ---------------------------------------------------------------- recording an encounter


def test_encounter_form_renders_with_the_users_institution(scene: CareScene) -> None:
    body = _page(_director().get(reverse("care:encounter_new", args=[scene.patient.record_no])))
    institution = _field_block(body, "institution")
    assert f'<option value="{scene.c.centres[0].code}" selected>' in institution
    assert "县外" in institution
    assert "西药费" in body and "化验费" in body and 'name="cost_lab"' in body


def test_encounter_form_creates_an_encounter(scene: CareScene) -> None:
    client = _director()
    response = client.post(reverse("care:encounter_new", args=[scene.patient.record_no]), _encounter_post(scene))
    assert response.status_code == 302
    encounter = Encounter.objects.exclude(pk=scene.visit.pk).get()
    assert response["Location"] == reverse("care:encounter", args=[encounter.pk])
    assert encounter.institution == scene.c.centres[0] and encounter.booked and encounter.clinician_name == "李医生"
    assert [(d.code, d.is_primary) for d in encounter.diagnoses.order_by("position")] == [
        ("I10", True), ("E11.9", False), ("J18.000", False)]
    assert encounter.total_cost == Decimal("25.50")
    body = _page(client.get(response["Location"]))
    assert "原发性高血压" in body and "25.50" in body and "挂号/诊查费" in body


def test_encounter_outside_the_county(scene: CareScene) -> None:
    client = _director()
    response = client.post(reverse("care:encounter_new", args=[scene.patient.record_no]),
                           _encounter_post(scene, institution="outside", outside_institution="省人民医院",
                                           kind="inpatient", discharge_status="improved",
                                           end_date=str(timezone.localdate())))
    assert response.status_code == 302
    encounter = Encounter.objects.get(outside_institution="省人民医院")
    assert encounter.institution is None and not encounter.in_county and encounter.discharge_status == "improved"
    body = _page(client.get(response["Location"]))
    assert "省人民医院" in body and "县外" in body
    assert 'id="order-submit"' not in body  # no orders at an out-of-county encounter


def test_encounter_form_shows_a_bad_icd10_code_on_its_field(scene: CareScene) -> None:
    client = _director()
    url = reverse("care:encounter_new", args=[scene.patient.record_no])
    response = client.post(url, _encounter_post(scene, primary_code="XYZ"))
    assert response.status_code == 422
    body = _page(response)
    assert "ICD-10" in _field_block(body, "primary_code") and "XYZ" in _field_block(body, "primary_code")
    response = client.post(url, _encounter_post(scene, other_codes="E11.9;12AB"))
    assert response.status_code == 422
    assert "12AB" in _field_block(_page(response), "other_codes")
    assert Encounter.objects.count() == 1


def test_encounter_form_shows_a_negative_cost_on_its_field(scene: CareScene) -> None:
    response = _director().post(reverse("care:encounter_new", args=[scene.patient.record_no]),
                                _encounter_post(scene, cost_lab="-5"))
    assert response.status_code == 422
    body = _page(response)
    assert "负数" in _field_block(body, "cost_lab")
    assert 'value="-5"' in body  # the input is kept
    response = _director().post(reverse("care:encounter_new", args=[scene.patient.record_no]),
                                _encounter_post(scene, cost_bed="abc"))
    assert response.status_code == 422
    assert "errorlist" in _field_block(_page(response), "cost_bed")
    assert Encounter.objects.count() == 1


def test_encounter_form_department_of_another_institution(scene: CareScene) -> None:
    """The clinician sees the county hospital's 内科; choosing it for the township centre is refused."""
    client = login(Client(), "xianyi")
    url = reverse("care:encounter_new", args=[scene.patient.record_no])
    assert "内科" in _field_block(_page(client.get(url)), "department")
    response = client.post(url, _encounter_post(scene, department=str(scene.c.department.pk)))
    assert response.status_code == 422
    assert "科室" in _field_block(_page(response), "department")
    response = client.post(url, _encounter_post(scene, institution=scene.c.hospital.code,
                                                department=str(scene.c.department.pk)))
    assert response.status_code == 302
    assert Encounter.objects.get(institution=scene.c.hospital).department == scene.c.department


# ---------------------------------------------------------------- the order flow (互认)


def test_order_offers_a_recognisable_result_and_using_it_saves_the_fee(scene: CareScene) -> None:
    client = _director()
    url = reverse("care:order", args=[scene.visit.pk])
    response = client.post(url, {"item": "GLU"})
    assert response.status_code == 200
    body = _page(response)
    offer = body.split('id="offer"')[1].split("</form>")[0]
    assert "已有可互认结果" in body
    assert "7.2" in offer and "mmol/L" in offer and "偏高" in offer and scene.c.hospital.name in offer
    assert "¥8" in offer and "互认有效期至" in offer
    assert "采用该结果（免检）" in offer and "仍然开单" in offer
    assert f'name="result" value="{scene.result.pk}"' in offer
    assert not Order.objects.exists()  # nothing ordered until the user decides

    response = client.post(url, {"item": "GLU", "result": scene.result.pk, "decision": "use"})
    assert response.status_code == 302 and response["Location"] == reverse("care:encounter", args=[scene.visit.pk])
    order = Order.objects.get()
    assert order.status == OrderStatus.RECOGNISED and order.recognised_result == scene.result
    assert order.saved == Decimal("8.00") and order.institution == scene.c.centres[0]
    body = _page(client.get(response["Location"]))
    orders = body.split('class="orders"')[1].split("</table>")[0]
    assert "互认免检" in orders and "8.00" in orders
    assert "已采用互认结果" in body


def test_order_anyway_orders_the_test(scene: CareScene) -> None:
    client = _director()
    response = client.post(reverse("care:order", args=[scene.visit.pk]),
                           {"item": "GLU", "result": scene.result.pk, "decision": "order"})
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.status == OrderStatus.ORDERED and order.saved == 0 and order.recognised_result is None


def test_order_without_a_recognisable_result_orders_at_once_and_says_why(scene: CareScene) -> None:
    client = _director()
    response = client.post(reverse("care:order", args=[scene.visit.pk]), {"item": "CXR"}, follow=True)
    assert response.status_code == 200
    body = _page(response)
    assert "已开单：胸部X线" in body and "未能采用既往结果" in body and "不属于互认项目" in body
    assert Order.objects.get().status == OrderStatus.ORDERED


def test_using_a_result_that_is_not_the_one_offered_is_refused(scene: CareScene) -> None:
    client = _director()
    response = client.post(reverse("care:order", args=[scene.visit.pk]),
                           {"item": "GLU", "result": scene.result.pk + 999, "decision": "use"})
    assert response.status_code == 409
    assert "不能互认" in _page(response)
    assert not Order.objects.exists()


def test_order_form_needs_an_item(scene: CareScene) -> None:
    response = _director().post(reverse("care:order", args=[scene.visit.pk]), {"item": "NOPE"})
    assert response.status_code == 422
    assert "errorlist" in _page(response)
    assert not Order.objects.exists()


# ---------------------------------------------------------------- recording a result


def test_result_form_prefills_the_unit_and_records_a_result(scene: CareScene) -> None:
    client = _director()
    url = reverse("care:result_new", args=[scene.patient.record_no])
    body = _page(client.get(url))
    assert "空腹血糖" in body and "胸部X线" in body and scene.c.centres[0].name in body
    assert 'hx-get="' + url + '"' in body
    body = _page(client.get(url, {"item": "GLU"}))
    assert 'value="mmol/L"' in _field_block(body, "unit") and 'value="3.9-6.1"' in _field_block(body, "ref_range")
    response = client.post(url, {"item": "GLU", "value": "5.1", "unit": "mmol/l", "ref_range": "3.9-6.1",
                                 "reported_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    assert response["Location"] == reverse("care:resident", args=[scene.patient.record_no])
    result = Result.objects.get(performed_by=scene.c.centres[0])
    assert result.value == Decimal("5.1") and result.unit == "mmol/L" and result.flag == "N"


def test_result_form_shows_a_unit_mismatch_on_the_unit_field(scene: CareScene) -> None:
    response = _director().post(reverse("care:result_new", args=[scene.patient.record_no]), {
        "item": "GLU", "value": "100", "unit": "mg/dL",
        "reported_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 422
    unit = _field_block(_page(response), "unit")
    assert "mg/dL" in unit and "mmol/L" in unit
    assert Result.objects.count() == 1


def test_result_form_for_a_user_without_an_institution_is_refused(scene: CareScene) -> None:
    response = login(Client(), "weijian").get(reverse("care:result_new", args=[scene.patient.record_no]))
    assert response.status_code == 403


# ---------------------------------------------------------------- statistics


def test_stats_page_and_xlsx(scene: CareScene) -> None:
    client = _director()
    client.post(reverse("care:order", args=[scene.visit.pk]),
                {"item": "GLU", "result": scene.result.pk, "decision": "use"})
    year = timezone.localdate().year
    month = timezone.localdate().strftime("%Y-%m")
    body = _page(client.get(reverse("care:stats"), {"org": scene.c.townships[0].code, "year": year}))
    recognition = body.split('id="recognition"')[1].split("</section>")[0]
    assert scene.c.centres[0].name in recognition and month in recognition
    assert re.search(r'id="avoided-total">1<', recognition) and "8.00" in recognition
    booked = body.split('id="booked"')[1].split("</section>")[0]
    assert scene.c.centres[0].name in booked and "预约诊疗率" in booked
    assert 'id="booked-rate">0.0%<' in booked  # one visit, not booked
    assert "format=xlsx" in body

    response = client.get(reverse("care:stats"), {"org": scene.c.townships[0].code, "year": year, "format": "xlsx"})
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["检查检验结果互认", "预约诊疗率"]
    rows = [list(r) for r in book["检查检验结果互认"].iter_rows(values_only=True)]
    assert rows[0] == ["机构代码", "机构", "月份", "互认免检项次", "节省费用（元）"]
    assert rows[1] == [scene.c.centres[0].code, scene.c.centres[0].name, month, 1, 8.0]
    rows = [list(r) for r in book["预约诊疗率"].iter_rows(values_only=True)]
    assert rows[1][:5] == [scene.c.centres[0].code, scene.c.centres[0].name, month, 1, 0]


def test_stats_page_defaults_to_the_users_unit_and_this_year(scene: CareScene) -> None:
    body = _page(login(Client(), "weijian").get(reverse("care:stats")))
    assert str(timezone.localdate().year) in body
    assert scene.c.centres[0].name in body.split('id="booked"')[1]
