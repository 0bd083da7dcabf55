"""A discharge settled at the bedside and its slip printed, in a real browser (Debian's Chromium
through Playwright).

The county clinician (xianyi) opens the discharged stay of an enrolled resident (village A, county
hospital, 2026; the scene of :func:`tests.insurance.web_support.stay_scene`), sees the 医保结算 panel,
clicks 出院结算, checks the costs, settles, and lands on the slip with the amounts of the
yunxi-county-2026 policy:

- total 8,550.00 = 西药 6,000 + 卫生材料 2,000 + 床位 500 + 挂号 50;
- 先行自付 materials 2,000 × 15 % = 300 + bed 500 × 10 % = 50; registration excluded for inpatients (50);
- eligible 8,550 − 350 − 50 = 8,150; basic fund (8,150 − deductible 400) × 80 % = 6,200.00;
- 大病: 1,950 of the year's eligible self-pay < threshold 15,000 → 0; no aid category → 0;
- fund 6,200.00; the patient 8,550 − 6,200 = 2,350.00.

Then 打印结算单: ``window.print`` is stubbed to record the call, and the slip is printed for real
under print media (``page.pdf``): the navigation and the buttons are hidden, the amounts are not.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import RESULTS, login
from tests.insurance.conftest import Ins
from tests.insurance.web_support import stay_scene
from yigongti.insurance.models import Settlement

pytestmark = pytest.mark.browser



def test_a_discharge_is_settled_and_its_slip_printed(live_server: object, ins: Ins, page: object,
                                                     tmp_path: Any) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = str(live_server.url)  # type: ignore[attr-defined]
    RESULTS.mkdir(exist_ok=True)
    scene = stay_scene(ins)

    login(page, base, "xianyi")
    page.goto(f"{base}/care/encounters/{scene.stay.pk}/")
    panel = page.locator("#settlement-panel")
    expect(panel).to_contain_text("2026 年度已参加城乡居民医保")
    page.click("#settle-button")
    expect(page.locator("h1")).to_contain_text("出院结算")
    expect(page.locator("#settle-total")).to_have_text("8550.00")
    expect(page.locator("#coverage-status")).to_contain_text("2026 年度已参保")
    page.screenshot(path=str(RESULTS / "insurance-settle.png"), full_page=True)
    page.click("#settle-submit")

    settlement = Settlement.objects.get()
    expect(page).to_have_url(f"{base}/insurance/settlements/{settlement.pk}/")
    expect(page.locator(".messages")).to_contain_text(f"结算成功：结算单 {settlement.number}")
    expect(page.locator("#slip-total")).to_have_text("8550.00")
    expect(page.locator("#slip-eligible")).to_have_text("8150.00")
    expect(page.locator("#slip-basic")).to_have_text("6200.00")
    expect(page.locator("#slip-fund")).to_have_text("6200.00")
    expect(page.locator("#slip-patient")).to_have_text("2350.00")
    expect(page.locator("#lines-table")).to_contain_text("统筹基金支付（二级医院）7,750.00 元 × 80% = 6,200.00 元")
    page.screenshot(path=str(RESULTS / "insurance-slip.png"), full_page=True)

    # 打印结算单: the button calls window.print (stubbed here: a headless browser has no print dialog).
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.click("#print-slip")
    assert page.evaluate("() => window.printed") == 1

    # The printed slip: under print media the navigation and the buttons go, the slip stays.
    page.emulate_media(media="print")
    expect(page.locator("header.top nav.nav")).to_be_hidden()
    expect(page.locator("#insurance-nav, .crumbs").first).to_be_hidden()
    expect(page.locator("#print-slip")).to_be_hidden()
    expect(page.locator("#reverse-form")).to_be_hidden()
    expect(page.locator("#slip-fund")).to_be_visible()
    expect(page.locator("#slip-title")).to_be_visible()
    page.screenshot(path=str(RESULTS / "insurance-slip-print.png"), full_page=True)
    pdf = tmp_path / "slip.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    (RESULTS / "insurance-slip.pdf").write_bytes(data)
    assert Settlement.objects.count() == 1 and settlement.fund == 6200 and settlement.patient == 2350
