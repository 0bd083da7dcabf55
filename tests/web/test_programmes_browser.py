"""A village doctor's follow-up in a real browser: the worklist shows an overdue hypertensive
patient, the doctor records a follow-up (150/95 mmHg → 控制不满意, next in 14 days, shown at once)
and the worklist changes. Drives Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser import RESULTS
from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from tests.factories.residents import ResidentFactory
from yigongti.core.rule_fixtures import rules_load
from yigongti.programmes import services
from yigongti.programmes.models import Enrolment, Visit

pytestmark = pytest.mark.browser

DAY = dt.date(2026, 6, 15)
DIAGNOSED = DAY - dt.timedelta(days=120)


class Hypertensive:
    """The MiniCounty (committed, for the live server's thread), the programmes loaded, and 高血压甲
    of village A enrolled in hypertension management 120 days ago and never followed up since."""

    def __init__(self) -> None:
        self.c = MiniCounty()
        rules_load(kinds=["programmes.programme"])
        self.patient = ResidentFactory(village=self.c.village_a, name="高血压甲", birth_date=dt.date(1958, 4, 2))
        self.enrolment = services.enrolment_create(
            user=self.c.village_doctor, resident=self.patient, programme_code="hypertension", anchor_date=DIAGNOSED,
            enrolled_on=DIAGNOSED, diagnosis_code="I10", confirmed=True)


@pytest.fixture
def hypertensive(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Hypertensive:
    monkeypatch.setenv("YGT_TODAY", DAY.isoformat())  # the live server's thread reads the same clock
    return Hypertensive()


def test_village_doctor_records_a_followup_and_the_worklist_changes(live_server: object, hypertensive: Hypertensive,
                                                                     page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = str(live_server.url)  # type: ignore[attr-defined]
    patient = hypertensive.patient
    RESULTS.mkdir(exist_ok=True)

    # Sign in; the home page's worklist card already names the patient.
    page.goto(f"{base}/login/")
    page.fill("#id_username", "cunyi")
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("#worklist-card")).to_contain_text("高血压甲")

    # The worklist: the patient is overdue for the first follow-up (due at diagnosis, window 2 weeks).
    page.click("nav.nav a:has-text('公共卫生服务')")
    expect(page).to_have_url(f"{base}/programmes/worklist/")
    overdue = page.locator("#section-overdue")
    expect(overdue).to_contain_text("高血压甲")
    expect(overdue).to_contain_text("高血压患者健康管理")
    expect(page.locator("#count-overdue")).to_have_text("1")
    page.screenshot(path=str(RESULTS / "programmes-worklist-before.png"), full_page=True)
    # Printable: no navigation, no filters, no buttons; the table fits the A4 page's width.
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("form.search")).to_be_hidden()
    expect(page.locator("#export-csv")).to_be_hidden()
    a4_landscape_printable_px = round((297 - 2 * 12) / 25.4 * 96)  # @page margin 12 mm
    page.set_viewport_size({"width": a4_landscape_printable_px, "height": 768})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.pdf(path=str(RESULTS / "programmes-worklist.pdf"), format="A4", landscape=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.emulate_media(media="screen")

    # The resident's programmes: the plan with the overdue follow-up and a button to record it.
    overdue.locator("a:has-text('高血压甲')").click()
    expect(page).to_have_url(f"{base}/programmes/residents/{patient.record_no}/")
    card = page.locator("#enrolment-hypertension")
    followup = card.locator("table.plan tr[data-item=followup]").first
    expect(followup.locator(".status")).to_have_text("已逾期")
    page.screenshot(path=str(RESULTS / "programmes-resident.png"), full_page=True)
    followup.locator("a:has-text('记录')").click()

    # The follow-up form: 150/95 mmHg, taking the drugs regularly.
    expect(page.locator("h1")).to_contain_text("面对面随访")
    expect(page.locator("#id_visit_date")).to_have_value(DAY.isoformat())
    page.fill("#id_sbp", "150")
    page.fill("#id_dbp", "95")
    page.fill("#id_heart_rate", "76")
    page.select_option("#id_adherence", "regular")
    page.screenshot(path=str(RESULTS / "programmes-visit-form.png"), full_page=True)
    page.click("form.visit-form button[type=submit]")

    # The result at once: not controlled, next follow-up within two weeks.
    result = page.locator("#visit-result")
    expect(result.locator("#classification")).to_have_text("控制不满意")
    next_due = DAY + dt.timedelta(days=14)
    expect(result.locator("#next-due")).to_contain_text(next_due.isoformat())
    expect(result.locator("#next-due")).to_contain_text("14 天后")
    expect(result).to_contain_text("血压未达标")
    page.screenshot(path=str(RESULTS / "programmes-visit-result.png"), full_page=True)
    visit = Visit.objects.get(resident=patient)
    assert (visit.sbp, visit.dbp, visit.classification, visit.next_due) == (150, 95, "unsatisfactory", next_due)

    # Back on the resident's page the follow-up is done and the next one planned.
    page.click("#back-to-resident")
    card = page.locator("#enrolment-hypertension")
    expect(card.locator("table.plan tr.st-done[data-item=followup]")).to_contain_text(DAY.isoformat())
    expect(card.locator("table.plan tr[data-item=followup]:not(.st-done)").first).to_contain_text(next_due.isoformat())
    expect(card.locator("table.visits")).to_contain_text("控制不满意")

    # The worklist changed: nothing overdue any more, and the next follow-up (in 14 days) is not
    # due this week, so the patient has left both lists.
    page.click("nav.nav a:has-text('公共卫生服务')")
    expect(page.locator("#count-overdue")).to_have_text("0")
    expect(page.locator("#section-overdue")).not_to_contain_text("高血压甲")
    row = page.locator(f"tr.wl-row[data-record='{patient.record_no}'][data-programme=hypertension][data-item=followup]")
    expect(row).to_have_count(0)
    page.screenshot(path=str(RESULTS / "programmes-worklist-after.png"), full_page=True)
    enrolment = Enrolment.objects.get(pk=hypertensive.enrolment.pk)
    assert enrolment.classification == "unsatisfactory"
