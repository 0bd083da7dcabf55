"""A village clinic requisitions, the township approves and ships, the stock arrives — in a real
browser (Debian's Chromium through Playwright).

The township 1 centre holds 60 boxes of amoxicillin in two lots (expiring in 100 and 400 days). cunyi
(village doctor of village A) opens 药品库存, clicks 请领, asks for 30 boxes of amoxicillin (the
suggestion of 40 replaced; the other items' suggestions stay) and submits; yuanzhang (director of
the centre) approves and ships what the centre holds (允许部分配送) first-expiry-first-out; cunyi
receives, and 药品库存 shows 30 boxes with the early lot.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser import RESULTS, login
from tests.medicines.conftest import AMOX, DAY, Med
from yigongti.core.clock import frozen
from yigongti.medicines.choices import RequisitionStatus
from yigongti.medicines.models import Requisition

pytestmark = pytest.mark.browser


def test_a_village_requisition_is_approved_shipped_and_arrives(live_server: object, med: Med,
                                                               page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    base = str(live_server.url)  # type: ignore[attr-defined]
    RESULTS.mkdir(exist_ok=True)
    with frozen(DAY):
        early = med.stock(med.centre, AMOX, 30, expiry=DAY + dt.timedelta(days=100))
        med.stock(med.centre, AMOX, 30, expiry=DAY + dt.timedelta(days=400))

        login(page, base, "cunyi")
        page.click("header.top nav.nav >> text=药品")
        expect(page.locator("#stock-institution")).to_have_text(med.village_clinic.name)
        expect(page.locator("#item-XY0001")).to_contain_text("缺货")
        page.click("#requisition-button")
        expect(page.locator("#supplier-name")).to_have_text(med.centre.name)
        expect(page.locator("#id_qty_XY0001")).to_have_value("40")
        page.fill("#id_qty_XY0001", "30")
        page.click("#requisition-submit")
        expect(page.locator(".messages")).to_contain_text("已提交")
        requisition = Requisition.objects.get()
        expect(page.locator("#requisition-status")).to_have_text("待审批")
        page.click("form.logout button")

        login(page, base, "yuanzhang")
        page.goto(f"{base}/medicines/requisitions/{requisition.pk}/")
        page.click("#approve-button")
        expect(page.locator("#requisition-status")).to_have_text("已批准")
        # The centre holds only amoxicillin of what the clinic asked for: ship what is in stock.
        page.check("#id_partial")
        page.click("#ship-button")
        expect(page.locator("#requisition-status")).to_have_text("已配送")
        expect(page.locator("#requisition-lines")).to_contain_text(f"{early.lot}")
        page.click("form.logout button")

        login(page, base, "cunyi")
        page.goto(f"{base}/medicines/requisitions/{requisition.pk}/")
        page.click("#receive-button")
        expect(page.locator("#requisition-status")).to_have_text("已收货")
        page.goto(f"{base}/medicines/")
        expect(page.locator("#on-hand-XY0001")).to_have_text("30 盒")
        page.click("#item-XY0001 summary")
        expect(page.locator("#batches-XY0001")).to_contain_text(early.lot)
        page.screenshot(path=str(RESULTS / "medicines-stock-arrived.png"), full_page=True)
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.RECEIVED
    assert med.balance(med.village_clinic, early) == 30
