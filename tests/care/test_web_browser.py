"""Mutual recognition in a real browser: a township centre's doctor orders fasting glucose for a
patient whose glucose was done at the county hospital five days ago; the page offers that result
("已有可互认结果") and using it records the order as 互认免检 with the fee saved. Drives Debian's
Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.browser import RESULTS
from tests.care.web_support import CareScene
from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from yigongti.care.choices import OrderStatus
from yigongti.care.models import Order

pytestmark = pytest.mark.browser





@pytest.fixture
def committed_scene(transactional_db: None) -> CareScene:
    """The scene committed, for the live server's thread."""
    return CareScene(MiniCounty())


def test_order_offers_the_county_result_and_using_it_avoids_the_test(live_server: object,
                                                                     committed_scene: CareScene,
                                                                     page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = str(live_server.url)  # type: ignore[attr-defined]
    scene = committed_scene
    RESULTS.mkdir(exist_ok=True)

    page.goto(f"{base}/login/")
    page.fill("#id_username", "yuanzhang")
    page.fill("#id_password", PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    expect(page).to_have_url(f"{base}/")

    # The resident's care page: today's visit at the centre and the county hospital's glucose (high).
    page.goto(f"{base}/care/residents/{scene.patient.record_no}/")
    expect(page.locator("#results")).to_contain_text("空腹血糖")
    expect(page.locator("#results .flag")).to_have_text("偏高")
    page.screenshot(path=str(RESULTS / "care-resident.png"), full_page=True)
    page.locator(f"#encounter-{scene.visit.pk} a:has-text('开检查检验')").click()
    expect(page).to_have_url(f"{base}/care/encounters/{scene.visit.pk}/#order")

    # Order fasting glucose: the recognisable result is offered instead of a new test.
    page.select_option("#id_item", "GLU")
    page.click("#order-submit")
    offer = page.locator("#offer")
    expect(offer).to_contain_text("已有可互认结果")
    expect(offer.locator("#offer-value")).to_have_text("7.2")
    expect(offer.locator("#offer-institution")).to_contain_text(scene.c.hospital.name)
    expect(offer.locator("#offer-saved")).to_have_text("¥8")
    expect(page.locator("#order-anyway")).to_be_visible()
    page.screenshot(path=str(RESULTS / "care-order-offer.png"), full_page=True)
    assert not Order.objects.exists()

    # Use it: the order is recorded as avoided, with the fee saved.
    page.click("#use-result")
    expect(page).to_have_url(f"{base}/care/encounters/{scene.visit.pk}/")
    orders = page.locator("table.orders")
    expect(orders.locator(".order-status")).to_have_text("互认免检")
    expect(orders).to_contain_text("8.00")
    expect(page.locator(".messages")).to_contain_text("已采用互认结果")
    page.screenshot(path=str(RESULTS / "care-order-recognised.png"), full_page=True)
    order = Order.objects.get()
    assert (order.status, order.saved, order.recognised_result_id) == (
        OrderStatus.RECOGNISED, Decimal("8.00"), scene.result.pk)

    # Recording a result: choosing the item fills in its unit and reference range (htmx).
    page.goto(f"{base}/care/residents/{scene.patient.record_no}/results/new/")
    page.select_option("#id_item", "GLU")
    expect(page.locator("#id_unit")).to_have_value("mmol/L")
    expect(page.locator("#id_ref_range")).to_have_value("3.9-6.1")
    page.fill("#id_value", "5.4")
    page.click("#result-form button[type=submit]")
    expect(page).to_have_url(f"{base}/care/residents/{scene.patient.record_no}/")
    expect(page.locator("#results")).to_contain_text("5.4")
