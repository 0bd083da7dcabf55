"""The insurance pages: the encounter panel, the settle form (a double submit of the same key
returns the first settlement; errors in the form, never a stack trace), the slip (audited, in
English too, its print layout), reversal and re-settlement, the list and its download, enrolment,
参合率 and the fund view — each for the users who use it, 403/404 for the others."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.factories.accounts import UserFactory
from tests.insurance.conftest import Ins
from tests.insurance.web_support import FUND, PATIENT, TOTAL, login, stay_scene
from yigongti.accounts.models import Role
from yigongti.care.models import EncounterCost
from yigongti.core.clock import frozen
from yigongti.core.models import AuditEntry
from yigongti.insurance import services
from yigongti.insurance.models import Coverage, HouseholdEnrolment, PolicyVersion, Settlement

PAGES = ("/insurance/", "/insurance/settlements/", "/insurance/enrolments/", "/insurance/coverage/")


def _settle_url(encounter_pk: int) -> str:
    return f"/insurance/encounters/{encounter_pk}/settle/"


def _slip(s: Settlement, action: str = "") -> str:
    return f"/insurance/settlements/{s.pk}/" + (f"{action}/" if action else "")


def _key(response: object) -> str:
    return str(response.context["form"]["idempotency_key"].value())  # type: ignore[attr-defined]


def _text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("username", ["cunyi", "yuanzhang", "xianyi", "weijian", "yibao"])
def test_every_page_opens_for_each_user(ins: Ins, username: str) -> None:
    stay_scene(ins)
    client = login(Client(), username)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    home = _text(client.get("/insurance/"))
    assert 'aria-current="page">医保</a>' in home  # the top navigation marks the section
    fund = client.get("/insurance/fund/")
    assert fund.status_code == (200 if username in ("weijian", "yibao") else 403)
    assert ('href="/insurance/fund/"' in home) == (username in ("weijian", "yibao"))


def test_the_cdc_does_not_use_insurance(ins: Ins) -> None:
    UserFactory(username="jikong", role=Role.CDC, entry_unit=ins.county.county, view_unit=ins.county.county)
    scene = stay_scene(ins)
    client = login(Client(), "jikong")
    assert ">医保</a>" not in _text(client.get("/"))
    for url in (*PAGES, "/insurance/fund/"):
        assert client.get(url).status_code == 403, url
    page = _text(client.get(f"/care/encounters/{scene.stay.pk}/"))
    assert 'id="settlement-panel"' not in page


def test_home_lists_the_discharges_awaiting_settlement(ins: Ins) -> None:
    scene = stay_scene(ins)
    home = _text(login(Client(), "xianyi").get("/insurance/"))
    assert f'id="awaiting-{scene.stay.pk}"' in home and 'id="count-waiting" class="bad-text">1<' in home
    assert f'id="awaiting-{scene.stay.pk}"' not in _text(login(Client(), "yuanzhang").get("/insurance/"))
    services.settle(ins.county.clinician, scene.stay.pk, key="home-1")
    home = _text(login(Client(), "xianyi").get("/insurance/"))
    assert f'id="awaiting-{scene.stay.pk}"' not in home and Settlement.objects.get().number in home


# ---------------------------------------------------------------- the encounter panel


def test_the_encounter_panel_offers_the_discharge_settlement(ins: Ins) -> None:
    scene = stay_scene(ins)
    url = f"/care/encounters/{scene.stay.pk}/"
    page = _text(login(Client(), "xianyi").get(url))
    assert 'id="settlement-panel"' in page and "2026 年度已参加城乡居民医保" in page
    assert f'id="settle-button" href="{_settle_url(scene.stay.pk)}">出院结算<' in page
    # The township director sees the encounter (his township's resident) but does not settle the county's stay.
    director = _text(login(Client(), "yuanzhang").get(url))
    assert 'id="settlement-panel"' in director and 'id="settle-button"' not in director
    settlement, _created = services.settle(ins.county.clinician, scene.stay.pk, key="panel-1")
    page = _text(login(Client(), "xianyi").get(url))
    assert 'id="settle-button"' not in page and f'href="{_slip(settlement)}"' in page
    assert 'id="panel-fund">6200.00<' in page and 'id="panel-patient">2350.00<' in page
    services.reverse(ins.county.clinician, settlement.pk, reason="费用录入错误")
    page = _text(login(Client(), "xianyi").get(url))
    assert 'id="settle-button"' in page and 'id="other-settlements"' in page and "费用录入错误" in page


def test_an_outpatient_visit_offers_the_outpatient_settlement_to_the_office(ins: Ins) -> None:
    household, (person,) = ins.household()
    ins.enrol(household)
    visit = ins.visit(person)
    page = _text(login(Client(), "yibao").get(f"/care/encounters/{visit.pk}/"))
    assert ">门诊结算<" in page


def test_a_stay_not_yet_discharged_offers_nothing(ins: Ins) -> None:
    _household, (person,) = ins.household()
    stay = ins.stay(person)
    stay.end_date = None
    stay.save(update_fields=["end_date"])
    page = _text(login(Client(), "xianyi").get(f"/care/encounters/{stay.pk}/"))
    assert 'id="not-discharged"' in page and 'id="settle-button"' not in page


# ---------------------------------------------------------------- the settle form


def test_settle_through_the_form_and_a_double_submit_returns_the_first(ins: Ins) -> None:
    scene = stay_scene(ins)
    client = login(Client(), "xianyi")
    form = client.get(_settle_url(scene.stay.pk))
    assert form.status_code == 200
    key = _key(form)
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert 'id="settle-total">8550.00<' in _text(form) and "云溪县 2026 年城乡居民基本医疗保险待遇" in _text(form)
    first = client.post(_settle_url(scene.stay.pk), {"idempotency_key": key})
    settlement = Settlement.objects.get()
    assert first.status_code == 302 and first["Location"] == _slip(settlement)
    assert (settlement.total, settlement.fund, settlement.patient) == (TOTAL, FUND, PATIENT)
    again = client.post(_settle_url(scene.stay.pk), {"idempotency_key": key}, follow=True)
    assert again.redirect_chain[-1][0] == _slip(settlement) and Settlement.objects.count() == 1
    assert "未重复结算" in _text(again)
    # The form opened again goes to the slip.
    assert client.get(_settle_url(scene.stay.pk))["Location"] == _slip(settlement)


def test_settle_with_an_amount_outside_the_catalogue(ins: Ins) -> None:
    """目录外 西药 1,000: eligible 8,150 − 1,000 = 7,150; basic (7,150 − 400) × 80 % = 5,400.00."""
    scene = stay_scene(ins)
    client = login(Client(), "xianyi")
    key = _key(client.get(_settle_url(scene.stay.pk)))
    too_much = client.post(_settle_url(scene.stay.pk), {"idempotency_key": key, "outside_drugs_western": "7000"})
    assert too_much.status_code == 422 and not Settlement.objects.exists()
    assert "超过该类费用" in str(too_much.context["form"].errors["outside_drugs_western"])
    done = client.post(_settle_url(scene.stay.pk), {"idempotency_key": key, "outside_drugs_western": "1000"})
    assert done.status_code == 302
    settlement = Settlement.objects.get()
    assert settlement.outside_catalogue == Decimal("1000.00") and settlement.basic == Decimal("5400.00")


def test_settle_errors_are_shown_in_the_form(ins: Ins) -> None:
    scene = stay_scene(ins)
    director = login(Client(), "yuanzhang")
    refused = director.get(_settle_url(scene.stay.pk))
    assert refused.status_code == 403 and "只有就诊机构的工作人员或医保局可以结算该就诊" in _text(refused)
    assert 'id="settle-submit"' not in _text(refused)
    assert director.post(_settle_url(scene.stay.pk), {"idempotency_key": "x"}).status_code == 403
    # Not yet discharged.
    scene.stay.end_date = None
    scene.stay.save(update_fields=["end_date"])
    client = login(Client(), "xianyi")
    response = client.post(_settle_url(scene.stay.pk), {"idempotency_key": "not-yet"})
    assert response.status_code == 422 and "患者尚未出院，出院后结算" in _text(response)
    assert "Traceback" not in _text(response)
    # No policy in force.
    scene.stay.end_date = dt.date(2026, 3, 7)
    scene.stay.save(update_fields=["end_date"])
    PolicyVersion.objects.all().delete()
    response = client.post(_settle_url(scene.stay.pk), {"idempotency_key": "no-policy"})
    assert response.status_code == 409 and "没有生效的医保政策" in _text(response)
    assert not Settlement.objects.exists()


def test_an_uncovered_person_settles_as_self_pay_with_the_reason(ins: Ins) -> None:
    _household, (person,) = ins.household()
    stay = ins.stay(person)
    client = login(Client(), "xianyi")
    form = client.get(_settle_url(stay.pk))
    assert "2026 年度未参保：将按自费结算" in _text(form)
    client.post(_settle_url(stay.pk), {"idempotency_key": _key(form)})
    settlement = Settlement.objects.get()
    assert not settlement.covered and settlement.fund == 0 and settlement.patient == Decimal("10000.00")
    slip = _text(client.get(_slip(settlement)))
    assert "2026 年度未参加城乡居民医保" in slip and 'id="slip-fund">0.00<' in slip


# ---------------------------------------------------------------- the slip


def test_the_slip_shows_every_amount_and_is_audited(ins: Ins) -> None:
    scene = stay_scene(ins)
    scene.person.id_number = "522399198005171234"
    scene.person.save(update_fields=["id_number"])
    settlement, _created = services.settle(ins.county.clinician, scene.stay.pk, key="slip-1")
    client = login(Client(), "xianyi")
    page = _text(client.get(_slip(settlement)))
    for element, value in (("slip-total", "8550.00"), ("slip-eligible", "8150.00"), ("slip-share", "350.00"),
                           ("slip-excluded", "50.00"), ("slip-basic", "6200.00"), ("slip-catastrophic", "0.00"),
                           ("slip-aid", "0.00"), ("slip-fund", "6200.00"), ("slip-patient", "2350.00")):
        assert f'id="{element}">{value}<' in page, element
    assert 'id="slip-id">522399********1234<' in page  # masked like the other pages
    assert "统筹基金支付（二级医院）7,750.00 元 × 80% = 6,200.00 元" in page
    assert 'id="slip-institution">云溪县人民医院' in page and "yunxi-county-2026" in page
    assert 'id="print-slip"' in page and "window.print()" in page
    assert AuditEntry.objects.filter(action="read", object_type="insurance.settlement",
                                     object_id=str(settlement.pk), user__username="xianyi").exists()
    printed = _text(client.get(_slip(settlement, "print")))
    assert 'class="top"' not in printed and 'id="slip-fund">6200.00<' in printed
    # Another township's director: not found.
    assert login(Client(), "yuanzhang2").get(_slip(settlement)).status_code == 404


def test_the_slip_in_english(ins: Ins) -> None:
    scene = stay_scene(ins)
    settlement, _created = services.settle(ins.county.clinician, scene.stay.pk, key="slip-en")
    client = login(Client(), "xianyi")
    client.cookies["django_language"] = "en"
    response = client.get(_slip(settlement))
    assert response["Content-Language"] == "en"
    page = _text(response)
    assert "Basic fund pays (level 2) 7,750.00 yuan × 80% = 6,200.00 yuan" in page
    assert "统筹基金支付（二级医院）" not in page
    assert "Yunxi County resident medical insurance benefits, 2026" in page


# ---------------------------------------------------------------- reversal and re-settlement


def test_reverse_from_the_slip(ins: Ins) -> None:
    scene = stay_scene(ins)
    settlement, _created = services.settle(ins.county.clinician, scene.stay.pk, key="rev-1")
    client = login(Client(), "xianyi")
    assert 'id="reverse-form"' in _text(client.get(_slip(settlement)))
    missing = client.post(_slip(settlement, "reverse"), {"reverse-reason": ""})
    assert missing.status_code == 422 and Settlement.objects.count() == 1
    done = client.post(_slip(settlement, "reverse"), {"reverse-reason": "费用录入错误"}, follow=True)
    reversal = Settlement.objects.get(kind="reversal")
    assert done.redirect_chain[-1][0] == _slip(reversal)
    page = _text(done)
    assert 'id="reversal-badge">冲销<' in page and f'id="reverses-link">{settlement.number}<' in page
    assert 'id="slip-total">-8550.00<' in page and 'id="reverse-form"' not in page
    original = _text(client.get(_slip(settlement)))
    assert f'id="reversal-link">{reversal.number}<' in original and 'id="reverse-form"' not in original
    # A reversal of a reversal, posted by hand: refused in place.
    refused = client.post(_slip(reversal, "reverse"), {"reverse-reason": "再冲"})
    assert refused.status_code == 409 and "冲销单不能再冲销" in _text(refused)
    assert services.ledger_check().ok
    # The township director may not reverse the county hospital's settlement.
    other = stay_scene(ins)
    second, _created = services.settle(ins.county.clinician, other.stay.pk, key="rev-2")
    director = login(Client(), "yuanzhang")
    assert 'id="reverse-form"' not in _text(director.get(_slip(second)))
    assert director.post(_slip(second, "reverse"), {"reverse-reason": "x"}).status_code == 403


def test_resettle_after_the_costs_were_corrected(ins: Ins) -> None:
    """西药 corrected 6,000 → 5,000: eligible 7,150; basic (7,150 − 400) × 80 % = 5,400.00; patient 7,550 − 5,400
    = 2,150.00."""
    scene = stay_scene(ins)
    settlement, _created = services.settle(ins.county.clinician, scene.stay.pk, key="re-1")
    EncounterCost.objects.filter(encounter=scene.stay, category="drugs_western").update(amount=Decimal("5000"))
    client = login(Client(), "xianyi")
    slip = client.get(_slip(settlement))
    key = slip.context["resettle_form"]["idempotency_key"].value()
    assert "合计 7550.00 元" in _text(slip)
    missing = client.post(_slip(settlement, "resettle"), {"resettle-idempotency_key": key})
    assert missing.status_code == 422 and Settlement.objects.count() == 1
    done = client.post(_slip(settlement, "resettle"), {"resettle-reason": "出院费用已更正",
                                                       "resettle-idempotency_key": key})
    fresh = Settlement.objects.get(status="settled")
    assert done.status_code == 302 and done["Location"] == _slip(fresh)
    assert (fresh.total, fresh.basic, fresh.patient) == (Decimal("7550.00"), Decimal("5400.00"), Decimal("2150.00"))
    assert Settlement.objects.get(pk=settlement.pk).status == "reversed"
    page = _text(client.get(_slip(fresh)))
    assert settlement.number in page.split('id="related"')[1]  # linked to the old one and its reversal
    assert services.ledger_check().ok


def test_resettle_with_the_costs_corrected_on_the_slip(ins: Ins) -> None:
    """The 重新结算 form carries every cost prefilled; 西药 changed 6,000 → 5,000 there: the same
    arithmetic as above (basic 5,400.00, patient 2,150.00) and the encounter's costs corrected."""
    scene = stay_scene(ins)
    settlement, _created = services.settle(ins.county.clinician, scene.stay.pk, key="re-2")
    client = login(Client(), "xianyi")
    form = client.get(_slip(settlement)).context["resettle_form"]
    data = {f"resettle-{name}": form[name].value() for name in form.fields if form[name].value() is not None}
    data["resettle-cost_drugs_western"] = "5000"
    data["resettle-reason"] = "西药费更正"
    done = client.post(_slip(settlement, "resettle"), data)
    fresh = Settlement.objects.get(status="settled")
    assert done.status_code == 302
    assert (fresh.total, fresh.basic, fresh.patient) == (Decimal("7550.00"), Decimal("5400.00"), Decimal("2150.00"))
    assert EncounterCost.objects.get(encounter=scene.stay, category="drugs_western").amount == Decimal("5000.00")
    assert services.ledger_check().ok


# ---------------------------------------------------------------- the list


def test_the_list_filters_and_downloads(ins: Ins) -> None:
    first = stay_scene(ins)
    second = stay_scene(ins)
    a, _created = services.settle(ins.county.clinician, first.stay.pk, key="list-1")
    b, _created = services.settle(ins.county.clinician, second.stay.pk, key="list-2")
    services.reverse(ins.county.clinician, b.pk, reason="错")
    client = login(Client(), "yibao")
    page = client.get("/insurance/settlements/", {"year": 2026, "status": "settled", "kind": "inpatient",
                                                  "institution": "H0001"})
    assert [s.pk for s in page.context["rows"]] == [a.pk]
    assert len(client.get("/insurance/settlements/").context["rows"]) == 3
    assert client.get("/insurance/settlements/", {"kind": "outpatient"}).context["rows"] == []
    download = client.get("/insurance/settlements/", {"status": "settled", "format": "xlsx"})
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][0] == "结算单号" and len(rows) == 2 and rows[1][0] == a.number
    assert float(rows[1][16]) == 6200.0  # 基金支付合计
    # The other township's director sees none of them.
    assert login(Client(), "yuanzhang2").get("/insurance/settlements/").context["rows"] == []


# ---------------------------------------------------------------- enrolment


def test_enrol_a_household_through_the_form(ins: Ins) -> None:
    """2026: individual 400, subsidy 730; 低保 exempt 70 %: aid pays 280, the household 120."""
    household, members = ins.household(size=3)
    client = login(Client(), "cunyi")
    found = client.get("/insurance/enrolments/", {"year": 2026, "q": household.code})
    assert f'id="enrol-{household.pk}"' in _text(found)
    by_name = client.get("/insurance/enrolments/", {"year": 2026, "q": members[1].name})
    assert f'id="household-{household.pk}"' in _text(by_name)
    url = f"/insurance/households/{household.pk}/enrol/"
    form = client.get(url, {"year": 2026})
    assert form.status_code == 200 and "个人缴费 400.00 元/人，财政补助 730.00 元/人" in _text(form)
    data = {"year": "2026", "paid_on": "2025-12-01", "receipt_no": "SJ-001",
            f"member_{members[0].pk}": "on", f"category_{members[0].pk}": "",
            f"member_{members[1].pk}": "on", f"category_{members[1].pk}": "dibao"}
    done = client.post(url, data, follow=True)
    enrolment = HouseholdEnrolment.objects.get()
    assert done.redirect_chain[-1][0] == f"/insurance/enrolments/{enrolment.pk}/"
    assert (enrolment.members, enrolment.contribution, enrolment.exempted, enrolment.subsidy) == (
        2, Decimal("520.00"), Decimal("280.00"), Decimal("1460.00"))
    page = _text(done)
    assert "已登记 2 人" in page and 'id="total-contribution">520.00<' in page and "低保" in page
    assert not Coverage.objects.filter(resident=members[2]).exists()
    # Again: the two are shown as covered (disabled); adding the third adds one.
    again = client.get(url, {"year": 2026})
    assert again.context["form"].fields[f"member_{members[0].pk}"].disabled
    client.post(url, {"year": "2026", "paid_on": "2025-12-01", f"member_{members[2].pk}": "on"})
    assert HouseholdEnrolment.objects.get().members == 3
    nothing = client.post(url, {"year": "2026", "paid_on": "2025-12-01"})
    assert nothing.status_code == 422 and "请至少勾选一名尚未参保的成员" in _text(nothing)
    listed = client.get("/insurance/enrolments/", {"year": 2026, "village": ins.county.village_a.code})
    assert [e.pk for e in listed.context["rows"]] == [enrolment.pk]


def test_enrol_errors_and_refusals(ins: Ins) -> None:
    household, (member,) = ins.household()
    url = f"/insurance/households/{household.pk}/enrol/"
    client = login(Client(), "cunyi")
    future = client.post(url, {"year": "2026", "paid_on": "2099-01-01", f"member_{member.pk}": "on"})
    assert future.status_code == 422 and "缴费日期不能晚于今天" in str(future.context["form"].errors["paid_on"])
    assert login(Client(), "weijian").get(url).status_code == 403  # the health commission does not enrol
    assert login(Client(), "yuanzhang2").get(url).status_code == 404  # another township
    assert login(Client(), "yuanzhang2").post(url, {"year": "2026"}).status_code == 404
    assert not HouseholdEnrolment.objects.exists()


def test_the_enrolment_year_follows_the_collection_season() -> None:
    from yigongti.insurance.views_common import default_enrol_year

    with frozen(dt.date(2026, 8, 31)):
        assert default_enrol_year() == 2026
    with frozen(dt.date(2026, 9, 1)):
        assert default_enrol_year() == 2027


# ---------------------------------------------------------------- 参合率 and the fund


def test_coverage_rates_per_township_and_village(ins: Ins) -> None:
    """Township 1: village A 3 residents (2 enrolled), village B 1 (0); township 2: village C 1 (1)."""
    household, _members = ins.household(size=2)
    ins.enrol(household)
    ins.household(size=1)
    ins.household(village=ins.county.village_b)
    other, _ = ins.household(village=ins.county.village_c)
    ins.enrol(other)
    client = login(Client(), "yibao")
    page = client.get("/insurance/coverage/", {"year": 2026})
    rows = {item["row"].code: item for item in page.context["rows"]}
    t1, t2 = (t.code for t in ins.county.townships)
    assert (rows[t1]["row"].eligible, rows[t1]["row"].enrolled, rows[t1]["rate"]) == (4, 2, 50.0)
    assert (rows[t2]["row"].eligible, rows[t2]["row"].enrolled, rows[t2]["rate"]) == (1, 1, 100.0)
    assert page.context["total_rate"] == 60.0 and rows[t1]["drill"]
    township = ins.county.townships[0]
    drilled = client.get("/insurance/coverage/", {"year": 2026, "under": township.path})
    villages = {item["row"].code: item["rate"] for item in drilled.context["rows"]}
    assert villages == {ins.county.village_a.code: 66.7, ins.county.village_b.code: 0.0}
    assert client.get("/insurance/coverage/", {"year": 2026, "under": township.code}).status_code == 200
    download = client.get("/insurance/coverage/", {"year": 2026, "format": "xlsx"})
    rows_x = [[c.value for c in r] for r in load_workbook(io.BytesIO(download.content)).active.iter_rows()]
    assert rows_x[0][-1] == "参合率（%）" and rows_x[-1][1:] == ["合计", 5, 3, 0, 60.0]
    # Township 2's director may not open township 1.
    assert login(Client(), "yuanzhang2").get("/insurance/coverage/", {"under": township.path}).status_code == 404


def test_the_fund_view_and_its_ledger_check(ins: Ins) -> None:
    """Enrolment 2026 of 2 people: contributions 800, subsidy 1,460, income 2,260, per capita 1,130;
    one stay: basic 6,200 at the county hospital (in the county: share 100 %), ratio 6,200 / 8,550 = 72.5 %."""
    scene = stay_scene(ins)
    services.settle(ins.county.clinician, scene.stay.pk, key="fund-1")
    client = login(Client(), "weijian")
    page = client.get("/insurance/fund/", {"year": 2026})
    text = _text(page)
    assert 'id="income-contributions">800.00<' in text and 'id="income-subsidy">1460.00<' in text
    assert 'id="income-per-capita">1130.00<' in text and 'id="stat-fund">6200.00<' in text
    assert 'id="stat-in-county">100.0%<' in text and 'id="stat-ratio">72.5%<' in text
    assert 'id="ledger-ok"' in text and 'id="ledger-total">0.00<' in text
    download = client.get("/insurance/fund/", {"year": 2026, "format": "xlsx"})
    book = load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["汇总", "按机构", "按月份", "按就诊类型", "账户平衡"]
    ledger = [[c.value for c in r] for r in book["账户平衡"].iter_rows()]
    assert ledger[-1][0] == "合计（应为 0）" and float(ledger[-1][1]) == 0
    assert login(Client(), "xianyi").get("/insurance/fund/").status_code == 403


# ---------------------------------------------------------------- admin


def test_admin_screens_are_read_only_scoped_and_audited(ins: Ins) -> None:
    scene = stay_scene(ins)
    settlement, _created = services.settle(ins.county.clinician, scene.stay.pk, key="admin-1")
    root = Client()
    root.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    for model in ("policyversion", "householdenrolment", "coverage", "accumulator", "settlement", "ledgerentry"):
        assert root.get(f"/admin/insurance/{model}/").status_code == 200, model
    assert settlement.number in _text(root.get("/admin/insurance/settlement/"))
    assert root.get(f"/admin/insurance/settlement/{settlement.pk}/change/").status_code == 200
    assert AuditEntry.objects.filter(action="read", object_type="insurance.settlement", object_id=str(settlement.pk),
                                     user__username="root").exists()
    assert root.get("/admin/insurance/settlement/add/").status_code == 403
    assert root.post(f"/admin/insurance/settlement/{settlement.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Settlement.objects.filter(pk=settlement.pk).exists()


def test_a_stay_outside_the_county_is_settled_by_the_office(ins: Ins) -> None:
    """县外 stay of 10,000 (yunxi-county-2026 out_of_county: deductible 1,200, 55 %): basic (10,000 − 1,200)
    × 55 % = 4,840.00."""
    household, (person,) = ins.household()
    ins.enrol(household)
    stay = ins.stay(person, outside_institution="贵阳市第一人民医院")
    url = f"/care/encounters/{stay.pk}/"
    assert 'id="settle-button"' not in _text(login(Client(), "xianyi").get(url))
    office = login(Client(), "yibao")
    assert 'id="settle-button"' in _text(office.get(url))
    assert f'id="awaiting-{stay.pk}"' in _text(office.get("/insurance/"))
    key = _key(office.get(_settle_url(stay.pk)))
    assert office.post(_settle_url(stay.pk), {"idempotency_key": key}).status_code == 302
    settlement = Settlement.objects.get()
    assert not settlement.in_county and settlement.basic == Decimal("4840.00")
    assert "贵阳市第一人民医院" in _text(office.get(_slip(settlement)))
