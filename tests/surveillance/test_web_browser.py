"""A case reported from an encounter and a signal verified, in a real browser (Debian's Chromium
through Playwright).

(a) The county clinician (xianyi) opens a visit diagnosed with hand, foot and mouth disease (B08.4),
sees the 传染病报告 panel, opens the card, sees the 24-hour deadline on the form, fills the onset
date, files it, and lands on the card page: reported on time (及时).
(b) The county CDC (jikong) opens the signal queue that the daily run filled from cards filed
through the service, opens the HFMD cluster's signal, sees its chart drawn by Plotly, verifies it
with a note, and sees it 已核实.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser import RESULTS, login
from tests.surveillance.conftest import SurvCounty
from tests.surveillance.web_support import hfmd_encounter, signal_scene
from yigongti.surveillance.models import CaseCard, Signal

pytestmark = pytest.mark.browser

TODAY = dt.date(2026, 6, 15)
YESTERDAY = TODAY - dt.timedelta(days=1)  # the scene's reports lie before "now" whatever the time of day


@pytest.fixture
def scene(live_server: object, monkeypatch: pytest.MonkeyPatch, surv: SurvCounty) -> SurvCounty:
    monkeypatch.setenv("YGT_TODAY", TODAY.isoformat())  # the live server's thread reads the same clock
    return surv



def test_a_card_filed_from_an_encounter_is_on_time(live_server: object, scene: SurvCounty, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = str(live_server.url)  # type: ignore[attr-defined]
    RESULTS.mkdir(exist_ok=True)
    encounter = hfmd_encounter(scene, day=TODAY)

    login(page, base, "xianyi")
    page.goto(f"{base}/care/encounters/{encounter.pk}/")
    panel = page.locator("#notifiable-panel")
    expect(panel).to_contain_text("须在诊断后 24 小时内报告")
    page.click("#report-hfmd")
    expect(page.locator("h1")).to_contain_text("填写传染病报告卡")
    expect(page.locator("#id_record_no")).to_have_value(scene.resident.record_no)
    expect(page.locator("#id_icd10")).to_have_value("B08.4")
    expect(page.locator("#deadline-clock")).to_contain_text("报告时限：诊断后 24 小时")
    expect(page.locator("#deadline-clock")).to_contain_text("剩余")
    page.fill("#id_onset_date", (TODAY - dt.timedelta(days=2)).isoformat())
    page.screenshot(path=str(RESULTS / "surveillance-card-form.png"), full_page=True)
    page.click("#card-submit")
    card = CaseCard.objects.get()
    expect(page).to_have_url(f"{base}/surveillance/cards/{card.pk}/")
    expect(page.locator(".messages")).to_contain_text("及时")
    expect(page.locator("#timeliness-badge")).to_have_text("及时")
    expect(page.locator("#card-status")).to_contain_text("待审核")
    page.screenshot(path=str(RESULTS / "surveillance-card.png"), full_page=True)
    assert card.encounter_id == encounter.pk and card.on_time


def test_the_cdc_verifies_a_signal_from_its_chart(live_server: object, scene: SurvCounty, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = str(live_server.url)  # type: ignore[attr-defined]
    RESULTS.mkdir(exist_ok=True)
    signals = signal_scene(scene, YESTERDAY)

    login(page, base, "jikong")
    page.click("nav.nav a:has-text('传染病')")
    expect(page.locator("#count-signals")).to_have_text("2")
    page.click("#stat-signals")
    row = page.locator(f"#signal-{signals.hfmd.pk}")
    expect(row).to_contain_text("手足口病")
    expect(row).to_contain_text("EARS C3")
    page.screenshot(path=str(RESULTS / "surveillance-signals.png"), full_page=True)
    row.locator("a:has-text('查看')").click()
    expect(page).to_have_url(f"{base}/surveillance/signals/{signals.hfmd.pk}/")
    # Plotly drew the chart: its SVG with the three traces (bars, expected, threshold).
    expect(page.locator("#signal-chart .main-svg").first).to_be_visible()
    expect(page.locator("#signal-chart .legend .traces")).to_have_count(3)
    expect(page.locator("#signal-cases")).to_contain_text(signals.hfmd_cards[0].card_no)
    page.screenshot(path=str(RESULTS / "surveillance-signal.png"), full_page=True)
    page.fill("#id_verify-note", "电话核实：3 例均在镇1中心幼儿园，已通知园方晨检")
    page.click("#verify-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("信号已核实")
    expect(page.locator("#signal-status")).to_have_text("已核实")
    expect(page.locator("#signal-note")).to_contain_text("幼儿园")
    assert Signal.objects.get(pk=signals.hfmd.pk).status == "verified"
