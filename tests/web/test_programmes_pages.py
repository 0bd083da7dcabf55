"""The programmes pages through Django's test client: the worklist and its exports, a resident's
programmes, the visit form (field errors, classification, idempotency), enrol and close, "what
is this child due for?", the catalogue and the home page card — and scope on every one of them."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories.residents import ResidentFactory
from tests.web.conftest import StaffedCounty, login
from yigongti.core import clock
from yigongti.core.rule_fixtures import rules_load
from yigongti.programmes import services
from yigongti.programmes.models import Enrolment, Visit
from yigongti.programmes.views import EXPORT_COLUMNS
from yigongti.residents.models import Resident

pytestmark = pytest.mark.django_db

INVALID = "@@INVALID-TEMPLATE-VARIABLE(%s)@@"
DAY = dt.date(2026, 6, 15)
DIAGNOSED = DAY - dt.timedelta(days=120)


@pytest.fixture
def strict_templates(settings: LazySettings) -> Iterator[None]:
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = INVALID
    settings.TEMPLATES = templates
    yield


class Patients:
    """Two hypertensive patients enrolled months ago and never followed up since: 高血压甲 in the
    village doctor's village A, 高血压乙 in village B (same township)."""

    def __init__(self, staffed: StaffedCounty) -> None:
        rules_load(kinds=["programmes.programme"])
        self.s = staffed
        c = staffed.c
        self.a = ResidentFactory(village=c.village_a, name="高血压甲", birth_date=dt.date(1958, 4, 2))
        self.b = ResidentFactory(village=c.village_b, name="高血压乙", birth_date=dt.date(1957, 8, 9))
        self.enrolment_a = self._enrol(c.village_doctor, self.a)
        self.enrolment_b = self._enrol(c.director, self.b)

    @staticmethod
    def _enrol(user: Any, resident: Resident) -> Enrolment:
        return services.enrolment_create(user=user, resident=resident, programme_code="hypertension",
                                         anchor_date=DIAGNOSED, enrolled_on=DIAGNOSED, diagnosis_code="I10",
                                         confirmed=True)


@pytest.fixture
def patients(staffed: StaffedCounty, strict_templates: None) -> Iterator[Patients]:
    with clock.frozen(DAY):
        yield Patients(staffed)


def _doctor(patients: Patients) -> Client:
    return login(Client(), "cunyi")


def _page(response: Any) -> str:
    body = response.content.decode()
    assert INVALID.split("(")[0] not in body
    return body


def _field_block(body: str, code: str) -> str:
    match = re.search(rf'id="field-{code}">(.*?)</div>', body, re.S)
    assert match, f"no field {code}"
    return match.group(1)


# ---------------------------------------------------------------- worklist


def test_worklist_shows_the_overdue_patient_of_the_village(patients: Patients) -> None:
    client = _doctor(patients)
    response = client.get(reverse("programmes:worklist"))
    assert response.status_code == 200
    body = _page(response)
    assert "高血压甲" in body and patients.a.record_no in body
    assert "高血压乙" not in body  # village B is not the village doctor's
    assert reverse("programmes:resident", args=[patients.a.record_no]) in body
    overdue = body.split('id="section-overdue"')[1].split("</section>")[0]
    due = body.split('id="section-due"')[1].split("</section>")[0]
    assert "高血压甲" in overdue + due


def test_worklist_of_a_township_for_its_director_and_404_for_another_village(patients: Patients) -> None:
    c = patients.s.c
    director = login(Client(), "yuanzhang")
    body = _page(director.get(reverse("programmes:worklist"), {"org": c.townships[0].code}))
    assert "高血压甲" in body and "高血压乙" in body
    doctor = _doctor(patients)
    assert doctor.get(reverse("programmes:worklist"), {"org": c.village_b.code}).status_code == 404
    assert doctor.get(reverse("programmes:worklist"), {"org": c.townships[0].code}).status_code == 404
    other = login(Client(), "yuanzhang2")
    assert "高血压甲" not in _page(other.get(reverse("programmes:worklist")))


def test_worklist_filters_by_programme(patients: Patients) -> None:
    client = _doctor(patients)
    assert "高血压甲" not in _page(client.get(reverse("programmes:worklist"), {"programme": "diabetes"}))
    assert "高血压甲" in _page(client.get(reverse("programmes:worklist"), {"programme": "hypertension"}))


def test_worklist_csv_and_xlsx_have_the_same_columns_and_rows(patients: Patients) -> None:
    client = _doctor(patients)
    response = client.get(reverse("programmes:worklist"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = [str(label) for _attr, label in EXPORT_COLUMNS]
    assert rows[0] == header
    assert header[:5] == ["类别", "项目", "服务项", "档案编号", "姓名"]
    mine = [row for row in rows[1:] if row[3] == patients.a.record_no]
    assert mine and mine[0][4] == "高血压甲" and mine[0][1] == "高血压患者健康管理"
    assert ["已逾期", "面对面随访"] == [mine[0][0], mine[0][2]]  # the most urgent first
    assert not [row for row in rows[1:] if row[3] == patients.b.record_no]

    response = client.get(reverse("programmes:worklist"), {"format": "xlsx"})
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [str(v) for v in values[0]] == header
    assert len(values) == len(rows)
    assert next(v for v in values[1:] if v[3] == patients.a.record_no)[4] == "高血压甲"


# ---------------------------------------------------------------- a resident's programmes


def test_resident_page_shows_enrolment_plan_and_links(patients: Patients) -> None:
    client = _doctor(patients)
    body = _page(client.get(reverse("programmes:resident", args=[patients.a.record_no])))
    assert "高血压" in body and 'id="enrolment-hypertension"' in body
    assert reverse("programmes:visit", args=[patients.a.record_no, "hypertension"]) + "?item=followup" in body
    assert "纳入管理" in body and "结案" in body
    # The record page links here (the residents app's hook, registered by the programmes app).
    detail = _page(client.get(reverse("residents:detail", args=[patients.a.record_no])))
    assert reverse("programmes:resident", args=[patients.a.record_no]) in detail
    assert "公共卫生服务" in detail


def test_resident_pages_404_for_another_village(patients: Patients) -> None:
    client = _doctor(patients)
    b = patients.b.record_no
    for url in (reverse("programmes:resident", args=[b]),
                reverse("programmes:visit", args=[b, "hypertension"]) + "?item=followup",
                reverse("programmes:enrol", args=[b]),
                reverse("programmes:close", args=[b, patients.enrolment_b.pk]),
                reverse("programmes:due") + f"?record_no={b}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "高血压乙" not in response.content.decode()
    # Closing another village's enrolment through one's own resident is refused too.
    response = client.post(reverse("programmes:close", args=[patients.a.record_no, patients.enrolment_b.pk]),
                           {f"close{patients.enrolment_b.pk}-reason": "moved"})
    assert response.status_code == 404
    assert Enrolment.objects.get(pk=patients.enrolment_b.pk).status == "active"


def test_enrol_and_close(patients: Patients) -> None:
    client = _doctor(patients)
    url = reverse("programmes:enrol", args=[patients.a.record_no])
    response = client.post(url, {"programme": "diabetes", "anchor_date": "2026-05-01", "diagnosis_code": "e11.9",
                                 "confirmed": "on"})
    assert response.status_code == 302
    enrolment = Enrolment.objects.get(resident=patients.a, programme__code="diabetes")
    assert enrolment.diagnosis_code == "E11.9" and enrolment.anchor_date == dt.date(2026, 5, 1)
    # The same again: refused with a message on the form, nothing doubled.
    response = client.post(url, {"programme": "diabetes", "anchor_date": "2026-05-01", "diagnosis_code": "E11",
                                 "confirmed": "on"})
    assert response.status_code in (409, 422)
    assert "errorlist" in _page(response)
    assert Enrolment.objects.filter(resident=patients.a, programme__code="diabetes").count() == 1

    close = reverse("programmes:close", args=[patients.a.record_no, enrolment.pk])
    response = client.post(close, {f"close{enrolment.pk}-reason": "refused", f"close{enrolment.pk}-note": "本人拒绝"})
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == "closed" and enrolment.close_reason == "refused"


# ---------------------------------------------------------------- the visit form


def _visit_url(patients: Patients) -> str:
    return reverse("programmes:visit", args=[patients.a.record_no, "hypertension"]) + "?item=followup"


def _key(body: str) -> str:
    match = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', body)
    assert match
    return match.group(1)


def test_visit_form_has_the_fields_of_the_spec(patients: Patients) -> None:
    body = _page(_doctor(patients).get(_visit_url(patients)))
    for code in ("visit_date", "sbp", "dbp"):
        assert f'name="{code}"' in body
    assert 'value="2026-06-15"' in body  # the visit date defaults to today
    assert "mmHg" in body


def test_bp_400_over_20_is_refused_with_errors_under_both_fields(patients: Patients) -> None:
    client = _doctor(patients)
    body = _page(client.get(_visit_url(patients)))
    response = client.post(_visit_url(patients), {"visit_date": "2026-06-15", "sbp": "400", "dbp": "20",
                                                  "idempotency_key": _key(body)})
    assert response.status_code == 422
    page = _page(response)
    assert "field-error" in _field_block(page, "sbp")
    assert "field-error" in _field_block(page, "dbp")
    assert 'value="400"' in page  # what was typed stays
    assert not Visit.objects.filter(resident=patients.a).exists()


def test_visit_in_the_future_is_refused_under_the_date(patients: Patients) -> None:
    client = _doctor(patients)
    key = _key(_page(client.get(_visit_url(patients))))
    response = client.post(_visit_url(patients), {"visit_date": "2026-06-16", "sbp": "130", "dbp": "80",
                                                  "idempotency_key": key})
    assert response.status_code == 422
    assert "field-error" in _field_block(_page(response), "visit_date")


def test_unsatisfactory_visit_shows_classification_and_next_due_at_once(patients: Patients) -> None:
    client = _doctor(patients)
    key = _key(_page(client.get(_visit_url(patients))))
    data = {"visit_date": "2026-06-15", "sbp": "150", "dbp": "95", "idempotency_key": key}
    response = client.post(_visit_url(patients), data)
    assert response.status_code == 200
    body = _page(response)
    assert 'id="visit-result"' in body
    assert re.search(r'id="classification">[^<]*不满意', body)
    next_due = (DAY + dt.timedelta(days=14)).isoformat()
    assert next_due in body.split('id="next-due"')[1].split("</dd>")[0]
    visit = Visit.objects.get(resident=patients.a)
    assert (visit.sbp, visit.dbp, visit.classification) == (150, 95, "unsatisfactory")
    # Sending the same form again records nothing more.
    again = client.post(_visit_url(patients), data)
    assert again.status_code == 200
    assert "未重复记录" in _page(again)
    assert re.search(r'id="classification">[^<]*不满意', _page(again))
    assert Visit.objects.filter(resident=patients.a).count() == 1


def test_visit_for_an_unknown_item_or_programme_is_404(patients: Patients) -> None:
    client = _doctor(patients)
    url = reverse("programmes:visit", args=[patients.a.record_no, "hypertension"])
    assert client.get(url + "?item=HepB-1").status_code == 404
    assert client.get(reverse("programmes:visit", args=[patients.a.record_no, "nosuch"])).status_code == 404


# ---------------------------------------------------------------- due, catalogue, home


def test_due_page_from_a_birth_date_and_doses_given(patients: Patients) -> None:
    client = _doctor(patients)
    body = _page(client.get(reverse("programmes:due")))
    assert 'name="birth_date"' in body
    response = client.get(reverse("programmes:due"), {
        "birth_date": "2026-01-10", "history": "HepB-1 2026-01-10\nBCG-1 2026-01-11\nHepB-2 2026-02-10"})
    assert response.status_code == 200
    body = _page(response)
    table = body.split('id="due-immunisation"')[1].split("</section>")[0]
    done = re.findall(r'<tr class="st-done" data-item="([^"]+)"', table)
    assert set(done) == {"HepB-1", "BCG-1", "HepB-2"}
    assert 'data-item="MMR-1"' in table and 'data-item="JE-L-1"' in table and 'data-item="JE-I-1"' not in table
    assert 'id="due-child"' in body
    # The inactivated JE variant plans the four JE-I doses instead.
    body = _page(client.get(reverse("programmes:due"), {"birth_date": "2026-01-10", "je": "JE-I"}))
    assert 'data-item="JE-I-1"' in body and 'data-item="JE-L-1"' not in body


def test_due_page_of_a_child_resident_is_audited_and_linked_only_for_children(patients: Patients) -> None:
    from yigongti.core.models import AuditEntry

    child = ResidentFactory(village=patients.s.c.village_a, name="小宝", birth_date=dt.date(2026, 1, 10))
    client = _doctor(patients)
    assert 'id="due-link"' in _page(client.get(reverse("programmes:resident", args=[child.record_no])))
    assert 'id="due-link"' not in _page(client.get(reverse("programmes:resident", args=[patients.a.record_no])))
    before = AuditEntry.objects.filter(object_id=str(child.pk)).count()
    body = _page(client.get(reverse("programmes:due"), {"record_no": child.record_no}))
    assert "小宝" in body and 'id="due-immunisation"' in body and 'id="due-child"' in body
    assert 'data-item="HepB-1"' in body
    assert AuditEntry.objects.filter(object_id=str(child.pk)).count() > before


def test_due_page_refuses_unreadable_history(patients: Patients) -> None:
    client = _doctor(patients)
    response = client.get(reverse("programmes:due"), {"birth_date": "2026-01-10", "history": "HepB-1 yesterday"})
    assert response.status_code == 422
    assert "field-error" in _field_block(_page(response), "history")


def test_catalogue_lists_every_programme_with_its_rules(patients: Patients) -> None:
    body = _page(_doctor(patients).get(reverse("programmes:catalogue")))
    for code in ("hypertension", "diabetes", "elderly", "child", "maternal", "mental", "tb", "tcm", "immunisation"):
        assert f'id="programme-{code}"' in body
    hypertension = body.split('id="programme-hypertension"')[1].split("</section>")[0]
    assert "收缩压" in hypertension and "分类规则" in hypertension


def test_home_page_of_the_village_doctor_has_the_worklist_card(patients: Patients) -> None:
    body = _page(_doctor(patients).get(reverse("home")))
    card = body.split('id="worklist-card"')[1].split("</section>")[0]
    assert "高血压甲" in card and "高血压乙" not in card
    assert reverse("programmes:worklist") in card
    director = _page(login(Client(), "yuanzhang").get(reverse("home")))
    assert "高血压乙" in director.split('id="worklist-card"')[1].split("</section>")[0]


# ---------------------------------------------------------------- administrators edit the rules


def test_admin_refuses_an_invalid_definition_and_replans_on_a_change(patients: Patients) -> None:
    from tests.factories.accounts import UserFactory
    from yigongti.programmes.models import ProgrammeVersion, ScheduledVisit

    UserFactory(username="root", is_superuser=True, is_staff=True)
    client = login(Client(), "root")
    version = ProgrammeVersion.objects.get(programme__code="hypertension")
    url = reverse("admin:programmes_programmeversion_change", args=[version.pk])
    assert client.get(url).status_code == 200
    broken = {k: v for k, v in version.definition.items() if k != "schedule"}
    response = client.post(url, {"programme": version.programme_id, "definition": json.dumps(broken)})
    assert response.status_code == 200  # the form again, with the engine's message
    assert "schedule" in response.content.decode() and "errorlist" in response.content.decode()
    version.refresh_from_db()
    assert "schedule" in version.definition

    def first_window_end() -> dt.date:
        row = ScheduledVisit.objects.get(enrolment=patients.enrolment_a, item="followup", due=DIAGNOSED)
        return row.window_end

    assert first_window_end() == DIAGNOSED + dt.timedelta(days=14)
    changed = copy.deepcopy(version.definition)
    changed["schedule"]["followup"]["first_window"] = [0, 30]
    response = client.post(url, {"programme": version.programme_id, "definition": json.dumps(changed)})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.definition["schedule"]["followup"]["first_window"] == [0, 30]
    assert first_window_end() == DIAGNOSED + dt.timedelta(days=30)  # every enrolment re-planned
