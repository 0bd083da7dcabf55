"""The county health commission in a real browser: open 指标, drill down county → township →
village through 下级单位, click a value and read the formula behind it; on the indicator page,
expand the tree table row by row down to the villages. Stored values from
:mod:`tests.analytics.conftest`; Debian's Chromium through Playwright."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings

from tests.analytics.conftest import StoredValues, store_values
from tests.browser import RESULTS
from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from yigongti.analytics.models import Indicator

pytestmark = pytest.mark.browser


@pytest.fixture
def committed_values(transactional_db: None, settings: LazySettings, tmp_path: Any) -> StoredValues:
    """The stored values committed, for the live server's thread."""
    settings.YGT_ANALYTICS_DIR = tmp_path
    return store_values(MiniCounty())


def test_commission_drills_down_to_a_village_and_opens_a_formula(live_server: object, committed_values: StoredValues,
                                                                 page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    v = committed_values
    base = str(live_server.url)  # type: ignore[attr-defined]
    RESULTS.mkdir(exist_ok=True)

    page.goto(f"{base}/login/?next=/analytics/")
    page.fill("#id_username", "weijian")
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")

    # The county's board for the latest year.
    expect(page).to_have_url(f"{base}/analytics/522399/?period=2025")
    expect(page.locator("h1")).to_contain_text("云溪县")
    expect(page.locator("nav.nav a[aria-current=page]")).to_have_text("指标")
    expect(page.locator("#ind-record_rate .value-link")).to_have_text("82.1%")
    expect(page.locator("#ind-dm_mgmt_rate .value-link")).to_have_text("—")
    page.screenshot(path=str(RESULTS / "analytics-county.png"), full_page=True)

    # 下级单位: the township, then its village B.
    page.locator("#children a.unit-link", has_text=v.t1.name).click()
    expect(page).to_have_url(f"{base}/analytics/{v.t1.code}/?period=2025")
    expect(page.locator("#ind-record_rate .value-link")).to_have_text("86.7%")
    expect(page.locator(".crumbs")).to_contain_text("云溪县")
    page.locator("#children a.unit-link", has_text=v.b.name).click()
    expect(page).to_have_url(f"{base}/analytics/{v.b.code}/?period=2025")
    expect(page.locator("h1")).to_contain_text(v.b.name)
    expect(page.locator("#children")).to_contain_text("没有下级单位")

    # A click on the value opens the formula panel in place: formula, numerator and denominator.
    panel = page.locator("#formula-panel")
    expect(panel).to_be_hidden()
    page.locator("#ind-record_rate .value-link").click()
    expect(panel).to_be_visible()
    record = Indicator.objects.get(code="record_rate")
    expect(panel.locator(".formula-text").first).to_have_text(record.formula)
    expect(panel.locator("[data-role=numerator]")).to_have_text("40")
    expect(panel.locator("[data-role=denominator]")).to_have_text("50")
    expect(panel.locator(".formula-value")).to_have_text("80.0%")
    expect(page).to_have_url(f"{base}/analytics/{v.b.code}/?period=2025")  # no navigation
    panel.locator("details.sql summary").click()
    expect(panel.locator("details.sql pre").first).to_contain_text("GROUPING SETS")
    page.screenshot(path=str(RESULTS / "analytics-formula.png"), full_page=True)
    page.locator("#formula-close").click()
    expect(panel).to_be_hidden()

    # Another value: the panel opens again with that indicator's numbers (5 of 20 managed).
    page.locator("#ind-htn_mgmt_rate .value-link").click()
    expect(panel).to_be_visible()
    expect(panel.locator(".formula-value")).to_have_text("25.0%")
    expect(panel.locator("[data-role=numerator]")).to_have_text("5")
    expect(panel.locator("[data-role=denominator]")).to_have_text("20")
    page.locator("#formula-close").click()

    # The indicator page of the county: the tree table expands row by row down to the villages.
    page.goto(f"{base}/analytics/522399/record_rate/?period=2025")
    expect(page.locator("#tree tbody tr")).to_have_count(3)  # the county and its two townships
    page.locator(f"#tree-{v.t2.code} button.expander").click()
    expect(page.locator(f"#tree-{v.d.code}")).to_contain_text("50.0%")
    expect(page.locator("#tree tbody tr")).to_have_count(5)
    rows = page.locator("#tree tbody tr")
    assert [rows.nth(i).get_attribute("id") for i in range(5)] == [
        "tree-522399", f"tree-{v.t1.code}", f"tree-{v.t2.code}", f"tree-{v.c3.code}", f"tree-{v.d.code}"]
    expect(page.locator(f"#tree-{v.t2.code} button.expander")).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=str(RESULTS / "analytics-indicator.png"), full_page=True)
