"""The referral pages through Django's test client: a resident's referrals, the request form (with
results and a booked slot, and its errors in place), the desk and its boxes, the referral page
and every action on it (the conflicts and missing reasons shown in place), slots, teleconsultation
with files, statistics and their Excel download — and scope: another township's director gets 404."""

from __future__ import annotations

import copy
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import LazySettings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests.factories.accounts import PASSWORD
from tests.factories.referrals import SlotFactory, request_up, walk
from tests.referrals.conftest import ReferralCounty
from yigongti.care.models import Result, ResultItem
from yigongti.core.clock import today
from yigongti.programmes.models import CarePlan, Enrolment
from yigongti.referrals.models import Booking, Referral, Slot, Teleconsultation

pytestmark = pytest.mark.django_db

INVALID = "@@INVALID-TEMPLATE-VARIABLE(%s)@@"


@pytest.fixture(autouse=True)
def strict_templates(settings: LazySettings) -> Iterator[None]:
    """A template variable that does not resolve shows up in the page (and fails :func:`body`)."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = INVALID
    settings.TEMPLATES = templates
    yield


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def body(response: Any) -> str:
    html = response.content.decode()
    assert "@@INVALID-TEMPLATE-VARIABLE" not in html, html[html.index("@@INVALID"):][:200]
    return html


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def result(rules: ReferralCounty) -> Result:
    """A fasting glucose of the resident, done at the township centre."""
    item = ResultItem.objects.create(code="GLU", name="空腹血糖", name_en="Fasting glucose", kind="lab",
                                     unit="mmol/L", price=Decimal("8.00"))
    return Result.objects.create(resident=rules.resident, path=rules.resident.path, item=item, value=Decimal("9.1"),
                                 unit="mmol/L", flag="H", performed_by=rules.centres[0], performer_tier="township",
                                 reported_at=timezone.now() - dt.timedelta(days=3))


@pytest.fixture
def referral(rules: ReferralCounty) -> Referral:
    return request_up(rules.village_doctor, rules.resident, rules.hospital)


# ---------------------------------------------------------------- a resident's referrals and the request


def test_resident_page_lists_referrals_and_offers_the_buttons(rules: ReferralCounty, referral: Referral) -> None:
    response = login("cunyi").get(reverse("referrals:resident", args=[rules.resident.record_no]))
    assert response.status_code == 200
    html = body(response)
    assert rules.hospital.name in html and "待接收" in html and "上转" in html
    assert reverse("referrals:new", args=[rules.resident.record_no]) in html
    assert reverse("referrals:consult_new", args=[rules.resident.record_no]) in html
    assert reverse("referrals:detail", args=[referral.pk]) in html


def test_request_form_offers_sensible_institutions_results_and_slots(rules: ReferralCounty, result: Result) -> None:
    slot = SlotFactory(department=rules.department, capacity=2)
    response = login("cunyi").get(reverse("referrals:new", args=[rules.resident.record_no]))
    assert response.status_code == 200
    choices = dict(response.context["form"].fields["to_institution"].choices)
    assert {"H0001", "H0002", "H0003", rules.centres[0].code, rules.centres[1].code} <= set(choices)
    assert "C0001" not in choices  # the CDC sees no patients
    assert rules.clinic_a.code not in choices and rules.clinic_b.code not in choices
    html = body(response)
    assert "空腹血糖" in html and f'value="{result.pk}"' in html
    assert f'value="{slot.pk}"' in html and "内科" in html


def test_request_creates_the_referral_with_results_and_a_booking(rules: ReferralCounty, result: Result) -> None:
    slot = SlotFactory(department=rules.department, capacity=1)
    response = login("cunyi").post(reverse("referrals:new", args=[rules.resident.record_no]), {
        "to_institution": "H0001", "to_department": rules.department.pk, "kind": "outpatient", "urgency": "urgent",
        "reason": "血压控制不佳", "diagnosis_code": "i10", "diagnosis_name": "原发性高血压", "summary": "服药三种",
        "results": [result.pk], "slot": slot.pk, "idempotency_key": "k-1"})
    referral = Referral.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("referrals:detail", args=[referral.pk])
    assert referral.direction == "up" and referral.to_department == rules.department
    assert referral.diagnosis_code == "I10" and list(referral.results.all()) == [result]
    booking = Booking.objects.get()
    assert booking.referral == referral and Slot.objects.get(pk=slot.pk).booked == 1
    page = login("cunyi").get(response["Location"])
    assert "空腹血糖" in body(page) and "已预约" in body(page)
    resident = login("cunyi").get(reverse("referrals:resident", args=[rules.resident.record_no]))
    assert [b.pk for b in resident.context["bookings"]] == [booking.pk] and "内科" in body(resident)


def test_the_same_form_sent_twice_makes_one_referral_and_one_booking(rules: ReferralCounty) -> None:
    slot = SlotFactory(department=rules.department, capacity=3)
    client = login("cunyi")
    data = {"to_institution": "H0001", "kind": "outpatient", "urgency": "routine", "reason": "头晕",
            "slot": slot.pk, "idempotency_key": "same-key"}
    url = reverse("referrals:new", args=[rules.resident.record_no])
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert Referral.objects.count() == 1 and Booking.objects.count() == 1
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_a_refused_route_is_shown_on_the_institution_field(rules: ReferralCounty) -> None:
    response = login("cunyi").post(reverse("referrals:new", args=[rules.resident.record_no]), {
        "to_institution": rules.centres[0].code, "kind": "inpatient", "urgency": "routine", "reason": "住院",
        "idempotency_key": "k-2"})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "to_institution" in errors and rules.centres[0].name in errors["to_institution"][0]
    assert not Referral.objects.exists()


def test_a_full_slot_leaves_no_referral_behind(rules: ReferralCounty) -> None:
    slot = SlotFactory(department=rules.department, capacity=1)
    client = login("cunyi")
    url = reverse("referrals:new", args=[rules.resident.record_no])
    page = client.get(url)  # the slot is offered …
    assert f'value="{slot.pk}"' in body(page)
    Slot.objects.filter(pk=slot.pk).update(booked=1)  # … and taken by someone else meanwhile
    response = client.post(url, {"to_institution": "H0001", "kind": "outpatient", "urgency": "routine",
                                 "reason": "头晕", "slot": slot.pk, "idempotency_key": "k-3"})
    assert response.status_code == 422 and "slot" in response.context["form"].errors
    assert not Referral.objects.exists()


def test_missing_fields_are_shown_in_place(rules: ReferralCounty) -> None:
    response = login("cunyi").post(reverse("referrals:new", args=[rules.resident.record_no]),
                                   {"kind": "outpatient", "urgency": "routine", "idempotency_key": "k"})
    assert response.status_code == 422
    assert {"to_institution", "reason"} <= set(response.context["form"].errors)


# ---------------------------------------------------------------- the desk


def test_desk_shows_the_boxes_with_counts_and_overdue_in_red(rules: ReferralCounty, referral: Referral) -> None:
    late = request_up(rules.village_doctor, rules.resident, rules.hospital, kind="examination")
    Referral.objects.filter(pk=late.pk).update(respond_by=timezone.now() - dt.timedelta(hours=1))
    client = login("xianyi")
    response = client.get(reverse("referrals:desk"))
    assert response.status_code == 200
    counts = {b["key"]: b["count"] for b in response.context["boxes"]}
    assert counts == {"incoming": 2, "overdue": 1, "outgoing": 0, "done": 0}
    html = body(response)
    assert rules.resident.name in html and rules.resident.record_no in html
    overdue = client.get(reverse("referrals:desk") + "?box=overdue")
    assert [r.pk for r in overdue.context["rows"]] == [late.pk]
    assert "bad-text overdue" in body(overdue)
    outgoing = login("cunyi").get(reverse("referrals:desk") + "?box=outgoing")
    assert {r.pk for r in outgoing.context["rows"]} == {referral.pk, late.pk}


def test_an_escalated_referral_says_so(rules: ReferralCounty, referral: Referral) -> None:
    from yigongti.referrals import services

    assert services.referrals_escalate(at=referral.escalate_at + dt.timedelta(minutes=1)) == 1
    html = body(login("xianyi").get(reverse("referrals:detail", args=[referral.pk])))
    assert "已升级至医共体转诊中心" in html and "超时升级" in html and "系统" in html
    assert "已升级" in body(login("xianyi").get(reverse("referrals:desk")))


def test_desk_pages(rules: ReferralCounty, monkeypatch: pytest.MonkeyPatch) -> None:
    from yigongti.referrals import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    for kind in ("outpatient", "examination", "inpatient"):
        request_up(rules.village_doctor, rules.resident, rules.hospital, kind=kind)
    client = login("xianyi")
    first = client.get(reverse("referrals:desk"))
    assert len(first.context["rows"]) == 2 and first.context["pages"] == 2 and "page=2" in body(first)
    second = client.get(reverse("referrals:desk") + "?box=incoming&page=2")
    assert len(second.context["rows"]) == 1


def test_desk_without_an_institution_says_so(rules: ReferralCounty) -> None:
    response = login("weijian").get(reverse("referrals:desk"))
    assert response.status_code == 200 and "未关联机构" in body(response)


# ---------------------------------------------------------------- the referral and its actions


def test_detail_for_both_sides_and_404_for_another_township(rules: ReferralCounty, referral: Referral) -> None:
    url = reverse("referrals:detail", args=[referral.pk])
    for username in ("cunyi", "xianyi", "yuanzhang"):
        response = login(username).get(url)
        assert response.status_code == 200, username
        assert "血压控制不佳" in body(response)
    other = login("yuanzhang2")
    for name in ("detail", "accept", "reject", "cancel", "arrive", "complete", "down"):
        response = other.get(reverse(f"referrals:{name}", args=[referral.pk]))
        assert response.status_code == 404, name
        assert rules.resident.name not in body(response)
    response = other.post(reverse("referrals:accept", args=[referral.pk]), {"accept-note": "x"})
    assert response.status_code == 404
    assert login("yuanzhang2").get(reverse("referrals:resident", args=[rules.resident.record_no])).status_code == 404


def test_the_buttons_follow_the_side_and_the_status(rules: ReferralCounty, referral: Referral) -> None:
    url = reverse("referrals:detail", args=[referral.pk])
    assert login("xianyi").get(url).context["actions"] == {"accept", "reject"}
    assert login("cunyi").get(url).context["actions"] == {"cancel"}
    assert login("yuanzhang").get(url).context["actions"] == set()


def test_accept_arrive_complete_and_down_with_a_care_plan(rules: ReferralCounty, referral: Referral) -> None:
    slot = SlotFactory(department=rules.department, capacity=2)
    client = login("xianyi")
    response = client.post(reverse("referrals:accept", args=[referral.pk]),
                           {"accept-slot": slot.pk, "accept-note": "明早到内科"}, follow=True)
    assert response.status_code == 200 and "已接收转诊。" in messages_of(response)
    referral.refresh_from_db()
    assert referral.status == "accepted" and Booking.objects.get().slot == slot
    response = client.post(reverse("referrals:arrive", args=[referral.pk]), follow=True)
    assert "已登记到诊。" in messages_of(response)
    response = client.post(reverse("referrals:complete", args=[referral.pk]),
                           {"complete-feedback": "出院小结：血压已控制，继续服药"}, follow=True)
    referral.refresh_from_db()
    assert referral.status == "completed" and "血压已控制" in referral.feedback
    assert "down" in response.context["actions"]
    response = client.post(reverse("referrals:down", args=[referral.pk]), {
        "down-reason": "病情稳定，回基层管理", "down-summary": "氨氯地平 5mg qd", "down-programme": "hypertension",
        "down-follow_up_days": "14", "down-instructions": "两周内随访血压"})
    down = Referral.objects.get(parent=referral)
    assert response.status_code == 302 and response["Location"] == reverse("referrals:detail", args=[down.pk])
    assert down.direction == "down" and down.to_institution == rules.clinic_a
    assert down.care_plan["programme"] == "hypertension" and down.care_plan["follow_up_days"] == 14
    enrolment = Enrolment.objects.get(resident=rules.resident, programme__code="hypertension", status="active")
    assert CarePlan.objects.get(enrolment=enrolment).source == f"referral:{down.pk}"
    assert enrolment.next_due is not None and enrolment.next_due <= today() + dt.timedelta(days=14)
    page = login("cunyi").get(reverse("referrals:detail", args=[down.pk]))
    assert "两周内随访血压" in body(page) and "高血压" in body(page)
    timeline = login("cunyi").get(reverse("referrals:detail", args=[referral.pk]))
    assert [row["action"] for row in timeline.context["events"]][:2] == ["申请", "接收"]


def test_accepting_twice_shows_the_conflict(rules: ReferralCounty, referral: Referral) -> None:
    client = login("xianyi")
    url = reverse("referrals:accept", args=[referral.pk])
    assert client.post(url, {"accept-note": ""}).status_code == 302
    response = client.post(url, {"accept-note": ""})
    assert response.status_code == 409
    assert "转诊单当前为“已接收”，不能接收" in body(response)


def test_accepting_a_cancelled_referral_shows_the_conflict(rules: ReferralCounty, referral: Referral) -> None:
    assert login("cunyi").post(reverse("referrals:cancel", args=[referral.pk]),
                               {"cancel-reason": "患者改去省医院"}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == "cancelled" and referral.cancel_reason == "患者改去省医院"
    response = login("xianyi").post(reverse("referrals:accept", args=[referral.pk]), {"accept-note": ""})
    assert response.status_code == 409 and "转诊单当前为“已撤销”，不能接收" in body(response)


def test_reject_needs_a_reason(rules: ReferralCounty, referral: Referral) -> None:
    client = login("xianyi")
    response = client.post(reverse("referrals:reject", args=[referral.pk]), {"reject-reason": ""})
    assert response.status_code == 422 and "请填写原因。" in body(response)
    referral.refresh_from_db()
    assert referral.status == "requested"
    response = client.post(reverse("referrals:reject", args=[referral.pk]), {"reject-reason": "床位已满"},
                           follow=True)
    referral.refresh_from_db()
    assert referral.status == "rejected" and "已拒绝转诊。" in messages_of(response)
    assert "床位已满" in body(response)


def test_complete_needs_the_discharge_summary(rules: ReferralCounty, referral: Referral) -> None:
    walk(referral, receiver=rules.clinician, to="arrived")
    response = login("xianyi").post(reverse("referrals:complete", args=[referral.pk]), {"complete-feedback": " "})
    assert response.status_code == 422 and "请填写出院小结。" in body(response)


def test_the_sender_may_not_accept(rules: ReferralCounty, referral: Referral) -> None:
    response = login("cunyi").post(reverse("referrals:accept", args=[referral.pk]), {"accept-note": ""})
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.status == "requested"


def test_an_action_by_get_goes_back_to_the_referral(rules: ReferralCounty, referral: Referral) -> None:
    response = login("xianyi").get(reverse("referrals:arrive", args=[referral.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("referrals:detail", args=[referral.pk])


# ---------------------------------------------------------------- slots


def test_county_clinician_publishes_slots_and_sees_bookings(rules: ReferralCounty, referral: Referral) -> None:
    client = login("xianyi")
    day = today() + dt.timedelta(days=2)
    response = client.post(reverse("referrals:slots"), {
        "department": rules.department.pk, "date": day.isoformat(), "start_time": "08:00", "end_time": "11:30",
        "capacity": "5", "clinician_name": "孙内科"}, follow=True)
    assert response.status_code == 200 and Slot.objects.get().capacity == 5
    assert "0/5" in body(response)
    slot = Slot.objects.get()
    login("cunyi").get(reverse("referrals:detail", args=[referral.pk]))
    from yigongti.referrals import services

    services.slot_book(user=rules.village_doctor, slot=slot, resident=rules.resident, referral=referral)
    host = client.get(reverse("referrals:slots"))
    assert [b.pk for b in host.context["host_bookings"]] == [Booking.objects.get().pk]
    assert "1/5" in body(host)
    referrer = login("cunyi").get(reverse("referrals:slots"))
    assert referrer.context["form"] is None and len(referrer.context["referrer_bookings"]) == 1
    assert rules.resident.name in body(referrer)


def test_slot_errors_are_shown_in_place(rules: ReferralCounty) -> None:
    client = login("xianyi")
    data = {"department": rules.department.pk, "date": today().isoformat(), "start_time": "08:00",
            "end_time": "07:00", "capacity": "5"}
    response = client.post(reverse("referrals:slots"), data)
    assert response.status_code == 422 and "end_time" in response.context["form"].errors
    data["end_time"] = "09:00"
    assert client.post(reverse("referrals:slots"), data).status_code == 302
    again = client.post(reverse("referrals:slots"), data)
    assert again.status_code == 409 and "已发布" in body(again)
    assert login("cunyi").post(reverse("referrals:slots"), data).status_code == 404


def test_a_booking_is_cancelled_from_the_slots_page(rules: ReferralCounty, referral: Referral) -> None:
    from yigongti.referrals import services

    slot = SlotFactory(department=rules.department, capacity=2)
    booking = services.slot_book(user=rules.village_doctor, slot=slot, resident=rules.resident, referral=referral)
    assert login("yuanzhang2").post(reverse("referrals:booking_cancel", args=[booking.pk])).status_code == 404
    response = login("cunyi").post(reverse("referrals:booking_cancel", args=[booking.pk]), follow=True)
    assert "已取消预约。" in messages_of(response)
    assert Booking.objects.get().status == "cancelled" and Slot.objects.get(pk=slot.pk).booked == 0


# ---------------------------------------------------------------- teleconsultation


def test_teleconsultation_with_files_answered_by_the_specialist(rules: ReferralCounty, result: Result) -> None:
    director = login("yuanzhang")
    url = reverse("referrals:consult_new", args=[rules.resident.record_no])
    page = director.get(url)
    assert page.status_code == 200 and set(dict(page.context["form"].fields["specialist_institution"].choices)) == {
        "", "H0001", "H0002", "H0003"}
    ecg = SimpleUploadedFile("心电图.pdf", b"%PDF-1.4 ecg", content_type="application/pdf")
    response = director.post(url, {"specialist_institution": "H0001", "department": rules.department.pk,
                                   "question": "心电图ST段改变，是否需上转？", "results": [result.pk],
                                   "attachments": [ecg]})
    consult = Teleconsultation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("referrals:consult", args=[consult.pk])
    attachment = consult.attachments.get()
    specialist = login("xianyi")
    inbox = specialist.get(reverse("referrals:consults") + "?box=incoming")
    assert [c.pk for c in inbox.context["rows"]] == [consult.pk]
    detail = specialist.get(reverse("referrals:consult", args=[consult.pk]))
    assert detail.context["form"] is not None and "心电图.pdf" in body(detail) and "空腹血糖" in body(detail)
    download = specialist.get(reverse("referrals:attachment", args=[attachment.pk]))
    assert download.status_code == 200 and download.content == b"%PDF-1.4 ecg"
    assert download["Content-Disposition"].startswith("attachment;")
    empty = specialist.post(reverse("referrals:consult", args=[consult.pk]), {"answer": ""})
    assert empty.status_code == 422 and "请填写会诊意见。" in body(empty)
    answered = specialist.post(reverse("referrals:consult", args=[consult.pk]), {"answer": "建议上转心内科"},
                               follow=True)
    assert "建议上转心内科" in body(answered) and "已答复会诊。" in messages_of(answered)
    outbox = director.get(reverse("referrals:consults") + "?box=outgoing")
    assert [c.pk for c in outbox.context["rows"]] == [consult.pk]
    assert director.get(reverse("referrals:consult", args=[consult.pk])).context["form"] is None
    other = login("yuanzhang2")
    for name, pk in (("consult", consult.pk), ("attachment", attachment.pk)):
        assert other.get(reverse(f"referrals:{name}", args=[pk])).status_code == 404


def test_consult_needs_a_question(rules: ReferralCounty) -> None:
    response = login("yuanzhang").post(reverse("referrals:consult_new", args=[rules.resident.record_no]),
                                       {"specialist_institution": "H0001", "question": ""})
    assert response.status_code == 422 and "question" in response.context["form"].errors


# ---------------------------------------------------------------- statistics


def test_stats_by_institution_and_month_with_excel(rules: ReferralCounty, referral: Referral) -> None:
    year = timezone.localtime(referral.requested_at).year
    client = login("weijian")
    response = client.get(reverse("referrals:stats") + f"?org=522399&year={year}")
    assert response.status_code == 200
    assert response.context["totals"] == {"up_out": 1, "up_in": 1, "down_out": 0, "down_in": 0}
    assert rules.hospital.name in body(response)
    xlsx = client.get(reverse("referrals:stats") + f"?org=522399&year={year}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("机构代码", "机构", "月份") and len(rows) == 3


def test_stats_of_another_township_is_not_found(rules: ReferralCounty) -> None:
    response = login("yuanzhang").get(reverse("referrals:stats") + f"?org={rules.townships[1].code}")
    assert response.status_code == 404


def test_a_care_plan_the_programmes_refuse_is_shown_in_place(rules: ReferralCounty, referral: Referral) -> None:
    walk(referral, receiver=rules.clinician, to="completed")
    response = login("xianyi").post(reverse("referrals:down", args=[referral.pk]), {
        "down-reason": "回基层", "down-programme": "diabetes", "down-follow_up_days": "400"})
    assert response.status_code == 422 and "follow_up_days" in response.context["down_form"].errors
    response = login("xianyi").post(reverse("referrals:down", args=[referral.pk]), {
        "down-reason": "回基层", "down-programme": "tb", "down-follow_up_days": "14"})
    assert response.status_code == 422
    assert body(response).count("不符合“肺结核患者健康管理”的纳入条件") == 1
    assert not Referral.objects.filter(parent=referral).exists()


def test_the_pages_open_in_english(rules: ReferralCounty, referral: Referral) -> None:
    client = login("xianyi")
    client.cookies["django_language"] = "en"
    for url in (reverse("referrals:desk"), reverse("referrals:detail", args=[referral.pk]),
                reverse("referrals:resident", args=[rules.resident.record_no]), reverse("referrals:slots"),
                reverse("referrals:consults"), reverse("referrals:stats"),
                reverse("referrals:new", args=[rules.resident.record_no])):
        response = client.get(url)
        assert response.status_code == 200 and response.headers["Content-Language"] == "en", url
        body(response)
