"""A referral up and back down in a real browser (Debian's Chromium through Playwright).

The village doctor (cunyi) sends a hypertensive patient of village A up to the county hospital;
the county clinician (xianyi) finds it on the desk, accepts, marks the patient arrived, completes
with a discharge summary and sends the patient down with a care plan "hypertension, follow-up
within 14 days"; the village doctor sees the down-referral, and on the patient's programmes page
the next follow-up is now within two weeks — earlier than the one planned before the referral.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.browser import RESULTS, login
from tests.conftest import MiniCounty
from tests.factories.referrals import load_referral_rules
from tests.factories.residents import ResidentFactory
from yigongti.core.rule_fixtures import rules_load
from yigongti.programmes import services as programme_services
from yigongti.programmes.models import Enrolment
from yigongti.referrals.models import Referral

pytestmark = pytest.mark.browser

DAY = dt.date(2026, 6, 15)
DIAGNOSED = LAST_VISIT = DAY - dt.timedelta(days=10)


class ControlledPatient:
    """The MiniCounty (committed, for the live server's thread), programme and referral rules loaded,
    and 高血压甲 of village A diagnosed, enrolled and followed up 10 days ago with a controlled blood
    pressure — so the next follow-up is months ahead."""

    def __init__(self) -> None:
        self.c = MiniCounty()
        rules_load(kinds=["programmes.programme"])
        load_referral_rules()
        self.patient = ResidentFactory(village=self.c.village_a, name="高血压甲", birth_date=dt.date(1958, 4, 2))
        self.enrolment = programme_services.enrolment_create(
            user=self.c.village_doctor, resident=self.patient, programme_code="hypertension", anchor_date=DIAGNOSED,
            enrolled_on=DIAGNOSED, diagnosis_code="I10", confirmed=True)
        programme_services.visit_record(
            user=self.c.village_doctor, resident=self.patient, programme_code="hypertension", item="followup",
            visit_date=LAST_VISIT, values={"sbp": 128, "dbp": 78, "heart_rate": 72, "adherence": "regular"})


@pytest.fixture
def patient(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> ControlledPatient:
    monkeypatch.setenv("YGT_TODAY", DAY.isoformat())  # the live server's thread reads the same clock
    return ControlledPatient()





def _logout(page: Any) -> None:
    page.click("form.logout button[type=submit]")


def _next_followup(page: Any, base: str, record_no: str) -> dt.date:
    """The due date of the next hypertension follow-up in the plan on the resident's programmes page."""
    page.goto(f"{base}/programmes/residents/{record_no}/")
    row = page.locator("#enrolment-hypertension table.plan tr[data-item=followup]:not(.st-done)").first
    return dt.date.fromisoformat(row.locator("td").nth(1).inner_text().strip())


def test_a_referral_goes_up_and_comes_back_down_with_a_care_plan(live_server: object, patient: ControlledPatient,
                                                                  page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = str(live_server.url)  # type: ignore[attr-defined]
    record_no = patient.patient.record_no
    RESULTS.mkdir(exist_ok=True)

    # The village doctor: the next follow-up before the referral is months ahead.
    login(page, base, "cunyi")
    before = _next_followup(page, base, record_no)
    assert before > DAY + dt.timedelta(days=30), before

    # The resident's referrals page → 发起转诊 → up to the county hospital.
    page.goto(f"{base}/referrals/residents/{record_no}/")
    expect(page.locator("#referrals")).to_contain_text("尚无转诊记录")
    page.click("#referral-new")
    expect(page.locator("h1")).to_contain_text("发起转诊")
    page.select_option("#id_to_institution", "H0001")
    page.select_option("#id_kind", "outpatient")
    page.select_option("#id_urgency", "urgent")
    page.fill("#id_reason", "血压波动，头晕加重，请上级医院调整用药")
    page.fill("#id_diagnosis_code", "I10")
    page.fill("#id_diagnosis_name", "原发性高血压")
    page.fill("#id_summary", "服用氨氯地平 5mg qd，近一周血压 170/100 mmHg")
    page.screenshot(path=str(RESULTS / "referrals-request-form.png"), full_page=True)
    page.click("#referral-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("转诊申请已发送至云溪县人民医院")
    expect(page.locator("#referral-status")).to_contain_text("待接收")
    up = Referral.objects.get(direction="up")
    _logout(page)

    # The county clinician: the referral is on the desk; accept, arrived, complete.
    login(page, base, "xianyi")
    page.goto(f"{base}/referrals/desk/")
    expect(page.locator("#count-incoming")).to_have_text("1")
    row = page.locator(f"#referral-{up.pk}")
    expect(row).to_contain_text("高血压甲")
    expect(row).to_contain_text("加急")
    page.screenshot(path=str(RESULTS / "referrals-desk.png"), full_page=True)
    row.locator("a:has-text('查看')").click()
    expect(page).to_have_url(f"{base}/referrals/{up.pk}/")
    page.fill("#id_accept-note", "明日上午内科门诊")
    page.click("#accept-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("已接收转诊")
    expect(page.locator("#referral-status")).to_contain_text("已接收")
    page.click("#arrive-form button[type=submit]")
    expect(page.locator("#referral-status")).to_contain_text("已到诊")
    page.fill("#id_complete-feedback", "出院小结：调整为氨氯地平 5mg + 缬沙坦 80mg，血压 132/82 mmHg，回基层随访")
    page.click("#complete-form button[type=submit]")
    expect(page.locator("#referral-status")).to_contain_text("已完成")
    expect(page.locator("#feedback")).to_contain_text("缬沙坦")

    # … and send the patient down with the care plan.
    down_form = page.locator("#down-form")
    expect(down_form).to_be_visible()
    page.fill("#id_down-reason", "病情稳定，转回村卫生室管理")
    page.fill("#id_down-summary", "继续两药联合，低盐饮食")
    page.select_option("#id_down-programme", "hypertension")
    expect(page.locator("#id_down-follow_up_days")).to_have_value("14")
    page.fill("#id_down-instructions", "两周内随访血压，记录家庭血压")
    page.screenshot(path=str(RESULTS / "referrals-down-form.png"), full_page=True)
    down_form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("已下转")
    expect(page.locator("#care-plan")).to_contain_text("14 天内")
    down = Referral.objects.get(direction="down")
    assert down.parent_id == up.pk and down.to_institution == patient.c.clinics[patient.c.village_a.code]
    _logout(page)

    # The village doctor: the down-referral is on the desk, and the follow-up moved up.
    login(page, base, "cunyi")
    page.goto(f"{base}/referrals/desk/")
    expect(page.locator(f"#referral-{down.pk}")).to_contain_text("下转")
    page.goto(f"{base}/referrals/residents/{record_no}/")
    expect(page.locator("#referrals")).to_contain_text("下转")
    expect(page.locator("#referrals")).to_contain_text("已完成")
    page.screenshot(path=str(RESULTS / "referrals-resident.png"), full_page=True)
    after = _next_followup(page, base, record_no)
    page.screenshot(path=str(RESULTS / "referrals-programmes-after.png"), full_page=True)
    assert after < before, (before, after)
    assert DAY <= after <= DAY + dt.timedelta(days=14), after
    enrolment = Enrolment.objects.get(pk=patient.enrolment.pk)
    assert enrolment.next_due is not None and enrolment.next_due <= after
