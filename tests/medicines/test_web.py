"""The medicines pages: each opens for the roles that use them (403 for the others, 404 outside the
scope); the requisition flow, consolidation and the order receipt through the forms; bad input back
on the form with nothing written; the Excel downloads; English."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.factories.accounts import PASSWORD, UserFactory
from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.accounts.models import Role
from yigongti.core.clock import frozen
from yigongti.medicines.choices import OrderStatus, RequisitionStatus
from yigongti.medicines.models import Movement, PurchaseOrder, Requisition, StockTake

PAGES = ("/medicines/", "/medicines/alerts/", "/medicines/requisitions/", "/medicines/orders/",
         "/medicines/reports/consumption/", "/medicines/reports/essential/", "/medicines/reports/stockouts/")


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with frozen(DAY):
        yield


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def sheet_rows(response: object) -> list[tuple[object, ...]]:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")  # type: ignore[index]
    book = load_workbook(io.BytesIO(response.content))  # type: ignore[attr-defined]
    return list(book.worksheets[0].iter_rows(values_only=True))


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("username", ["cunyi", "yuanzhang", "yuanzhang2", "xianyi", "weijian"])
def test_every_page_opens_for_each_reader(med: Med, username: str) -> None:
    client = login(username)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    home = text(client.get("/medicines/"))
    assert 'aria-current="page">药品</a>' in home


def test_the_cdc_and_the_insurance_office_do_not_use_the_pages(med: Med) -> None:
    c = med.county
    UserFactory(username="jikong", role=Role.CDC, entry_unit=c.county, view_unit=c.county)
    UserFactory(username="yibao", role=Role.INSURANCE, entry_unit=c.county, view_unit=c.county)
    for username in ("jikong", "yibao"):
        client = login(username)
        assert ">药品</a>" not in text(client.get("/"))
        for url in PAGES:
            assert client.get(url).status_code == 403, (username, url)


def test_the_stock_page_shows_batches_badges_and_scope(med: Med) -> None:
    clinic = med.village_clinic
    near = med.stock(clinic, AMOX, 3, expiry=DAY + dt.timedelta(days=30))
    client = login("cunyi")
    page = text(client.get("/medicines/"))
    assert 'id="stock-institution">' + clinic.name in page
    assert 'id="on-hand-XY0001">3 盒<' in page and f'id="batch-{near.pk}"' in page
    assert "低于补货线" in page and "近效期" in page and "缺货" in page  # nifedipine: none held
    assert 'id="requisition-button"' in page and 'id="receive-button"' not in page  # a village clinic requisitions
    other = med.county.clinics[med.county.village_b.code]
    assert client.get(f"/medicines/?org={other.pk}").status_code == 404
    assert client.get(f"/medicines/?org={med.centre.pk}").status_code == 404
    director = text(login("yuanzhang").get(f"/medicines/?org={clinic.pk}"))
    assert 'id="on-hand-XY0001">3 盒<' in director
    assert login("yuanzhang2").get(f"/medicines/?org={clinic.pk}").status_code == 404
    # The health commission reads every institution but acts at none.
    commission = text(login("weijian").get(f"/medicines/?org={clinic.pk}"))
    assert 'id="on-hand-XY0001"' in commission and 'id="requisition-button"' not in commission


def test_the_stock_card_keeps_the_running_balance(med: Med) -> None:
    batch = med.stock(med.centre, AMOX, 30)
    rx_visit = med.visit(user=med.county.director, day=DAY)
    from yigongti.medicines import services_dispensing
    prescription = services_dispensing.prescribe(med.county.director, rx_visit.pk,
                                                 [services_dispensing.PrescribedItem(medicine=AMOX, quantity=4)])
    services_dispensing.dispense(med.county.director, prescription.pk, day=DAY)
    client = login("yuanzhang")
    url = f"/medicines/card/?org={med.centre.pk}&item={batch.medicine_id}"
    page = text(client.get(url))
    assert 'id="card-balance">26<' in page and "处方发药" in page and prescription.number in page
    rows = sheet_rows(client.get(url + "&format=xlsx"))
    assert [r[5] for r in rows[1:]] == [30, 26] and rows[2][6] == prescription.number


# ---------------------------------------------------------------- the requisition flow


def test_the_requisition_flow_through_the_forms(med: Med) -> None:
    c = med.county
    early = med.stock(med.centre, AMOX, 30, expiry=DAY + dt.timedelta(days=100))
    med.stock(med.centre, AMOX, 30, expiry=DAY + dt.timedelta(days=400))
    cunyi = login("cunyi")
    form = cunyi.get("/medicines/requisitions/new/")
    assert form.status_code == 200
    assert form.context["form"]["qty_XY0001"].value() == 40  # nothing held: up to the target level
    response = cunyi.post("/medicines/requisitions/new/", {"qty_XY0001": "35", "qty_XY0002": "0", "note": "月度请领"})
    requisition = Requisition.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/medicines/requisitions/{requisition.pk}/"
    assert [(line.medicine.code, line.quantity) for line in requisition.lines.all()] == [(AMOX, 35)]
    page = text(cunyi.get(response["Location"]))
    assert 'id="cancel-button"' in page and 'id="approve-button"' not in page
    # The township director approves 30 of the 35 and ships first-expiry-first-out.
    director = login("yuanzhang")
    page = text(director.get(f"/medicines/requisitions/{requisition.pk}/"))
    assert 'id="approve-button"' in page and 'id="receive-button"' not in page
    line = requisition.lines.get()
    assert director.post(f"/medicines/requisitions/{requisition.pk}/decide/",
                         {f"approved_{line.pk}": "30", "approve": ""}).status_code == 302
    shipped = director.post(f"/medicines/requisitions/{requisition.pk}/ship/", follow=True)
    assert "已配送" in text(shipped) and f"{early.lot}</span>（" in text(shipped)
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.SHIPPED and med.balance(med.centre, early) == 0
    # cunyi receives; the stock page shows it.
    assert cunyi.post(f"/medicines/requisitions/{requisition.pk}/receive/").status_code == 302
    page = text(cunyi.get("/medicines/"))
    assert 'id="on-hand-XY0001">30 盒<' in page and early.lot in page
    history = text(cunyi.get(f"/medicines/requisitions/{requisition.pk}/"))
    assert all(step in history for step in ("提交请领", "审批通过", "配送", "收货"))
    assert c.village_doctor.username in history and c.director.username in history
    listed = text(director.get("/medicines/requisitions/?side=supplier&status=received"))
    assert requisition.number in listed
    assert requisition.number not in text(director.get("/medicines/requisitions/?side=requester"))


def test_requisition_errors_are_shown_on_the_form(med: Med) -> None:
    cunyi = login("cunyi")
    nothing = cunyi.post("/medicines/requisitions/new/", {"qty_XY0001": "0"})
    assert nothing.status_code == 422 and "至少请领一种药品" in text(nothing)
    negative = cunyi.post("/medicines/requisitions/new/", {"qty_XY0001": "-3"})
    assert negative.status_code == 422 and negative.context["form"].errors["qty_XY0001"]
    assert not Requisition.objects.exists()
    # A requisition the supplier cannot fill: the shipment is refused on the page, nothing moves.
    requisition = Requisition.objects.get(pk=_submit(cunyi))
    director = login("yuanzhang")
    refused = director.post(f"/medicines/requisitions/{requisition.pk}/decide/", {"reject": "1", "note": ""})
    assert refused.status_code == 422 and "驳回须说明理由" in text(refused)
    director.post(f"/medicines/requisitions/{requisition.pk}/decide/", {"approve": ""})
    empty = director.post(f"/medicines/requisitions/{requisition.pk}/ship/")
    assert empty.status_code == 409 and "库存不足" in text(empty) and "Traceback" not in text(empty)
    assert not Movement.objects.filter(requisition_line__requisition=requisition).exists()
    # Another township's director does not see it; cunyi cannot approve it.
    assert login("yuanzhang2").get(f"/medicines/requisitions/{requisition.pk}/").status_code == 404
    assert cunyi.post(f"/medicines/requisitions/{requisition.pk}/ship/").status_code == 403


def _submit(client: Client, quantity: str = "10") -> int:
    response = client.post("/medicines/requisitions/new/", {"qty_XY0001": quantity})
    assert response.status_code == 302, text(response)
    return int(response["Location"].rstrip("/").rsplit("/", 1)[1])


def test_a_rejected_and_a_cancelled_requisition(med: Med) -> None:
    cunyi = login("cunyi")
    first, second = _submit(cunyi), _submit(cunyi, "5")
    director = login("yuanzhang")
    director.post(f"/medicines/requisitions/{first}/decide/", {"reject": "1", "note": "库存够用"})
    assert cunyi.post(f"/medicines/requisitions/{second}/cancel/").status_code == 302
    statuses = dict(Requisition.objects.values_list("pk", "status"))
    assert statuses == {first: RequisitionStatus.REJECTED, second: RequisitionStatus.CANCELLED}
    assert "库存够用" in text(cunyi.get(f"/medicines/requisitions/{first}/"))


# ---------------------------------------------------------------- procurement


def test_consolidation_and_the_order_receipt_through_the_forms(med: Med) -> None:
    director = login("yuanzhang")
    response = director.post("/medicines/requisitions/new/", {"org": med.centre.pk, "qty_XY0001": "50"})
    requisition = Requisition.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert requisition.supplier == med.hospital
    xianyi = login("xianyi")
    xianyi.post(f"/medicines/requisitions/{requisition.pk}/decide/", {"approve": ""})
    assert "直送乡镇卫生院" in text(xianyi.get("/medicines/orders/"))
    assert director.post("/medicines/orders/consolidate/").status_code == 403  # the county buys
    done = xianyi.post("/medicines/orders/consolidate/", {"direct": "on"}, follow=True)
    assert "已生成" in text(done)
    order = PurchaseOrder.objects.get(lines__deliver_to=med.centre)  # one order per contracted supplier
    codes = {line.medicine.code for line in order.lines.select_related("medicine")}
    direct = order.lines.get(deliver_to=med.centre)
    assert direct.quantity == 50 and direct.medicine.code == AMOX and NIFE in codes  # + the county's own
    page = text(xianyi.get(f"/medicines/orders/{order.pk}/"))
    assert 'id="order-approve"' in page and "直送" in page
    assert "采购订单" in text(xianyi.get(f"/medicines/orders/{order.pk}/print/"))
    assert xianyi.post(f"/medicines/orders/{order.pk}/approve/").status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    # The direct line arrives at the centre in two lots; a lot already expired is refused on the form.
    form = {"line_0": str(direct.pk), "lot_0": "D1", "expiry_0": "2027-06-30", "quantity_0": "20",
            "line_1": str(direct.pk), "lot_1": "D2", "expiry_1": "2026-01-01", "quantity_1": "30"}
    bad = xianyi.post(f"/medicines/orders/{order.pk}/receive/", form)
    assert bad.status_code == 422 and bad.context["form"].errors["expiry_1"]
    assert not Movement.objects.filter(order_line__order=order).exists()
    form["expiry_1"] = "2027-12-31"
    assert xianyi.post(f"/medicines/orders/{order.pk}/receive/", form).status_code == 302
    assert med.balance(med.centre) == 50
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.RECEIVED
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTLY_RECEIVED  # the county's own lines are still to come
    assert login("yuanzhang2").get(f"/medicines/orders/{order.pk}/").status_code == 404


# ---------------------------------------------------------------- receipts, write-offs, stock takes


def test_receipt_write_off_and_stock_take_through_the_forms(med: Med) -> None:
    director = login("yuanzhang")
    url = f"/medicines/receive/?org={med.centre.pk}"
    bad = director.post(url, {"medicine_0": AMOX, "lot_0": "R1", "expiry_0": "2026-01-01", "quantity_0": "10",
                              "medicine_1": NIFE, "lot_1": "R2", "expiry_1": "2027-01-01", "quantity_1": "5"})
    assert bad.status_code == 422 and "已过或当日到期" in str(bad.context["form"].errors["expiry_0"])
    assert not Movement.objects.exists()
    assert director.post(url, {"medicine_0": AMOX, "lot_0": "R1", "expiry_0": "2027-01-01", "quantity_0": "10",
                               "medicine_1": NIFE, "lot_1": "R2", "expiry_1": "2027-01-01",
                               "quantity_1": "5"}).status_code == 302
    assert (med.balance(med.centre), med.balance(med.centre, code=NIFE)) == (10, 5)
    assert login("cunyi").get(f"/medicines/receive/?org={med.village_clinic.pk}").status_code == 403
    batch = Movement.objects.get(batch__lot="R1").batch
    off = f"/medicines/write-off/?org={med.centre.pk}&batch={batch.pk}"
    too_many = director.post(off, {"quantity": "11", "reason": "damaged"})
    assert too_many.status_code == 409 and too_many.context["form"].errors["quantity"]
    assert director.post(off, {"quantity": "2", "reason": "damaged"}).status_code == 302
    assert med.balance(med.centre) == 8
    started = director.post("/medicines/stocktakes/start/", {"org": med.centre.pk})
    take = StockTake.objects.get()
    assert started["Location"] == f"/medicines/stocktakes/{take.pk}/"
    lines = {line.batch.lot: line for line in take.lines.select_related("batch")}
    uncounted = director.post(started["Location"], {f"counted_{lines['R1'].pk}": "7", "post": "1"})
    assert uncounted.status_code == 422 and "尚未录入实盘数量" in text(uncounted)
    posted = director.post(started["Location"], {f"counted_{lines['R1'].pk}": "7",
                                                 f"counted_{lines['R2'].pk}": "5", "post": "1"}, follow=True)
    assert "已过账" in text(posted) and 'id="adjustments"' in text(posted)
    assert (med.balance(med.centre), med.balance(med.centre, code=NIFE)) == (7, 5)
    assert login("yuanzhang2").get(started["Location"]).status_code == 404


# ---------------------------------------------------------------- alerts and reports


def test_alerts_and_their_download(med: Med) -> None:
    med.stock(med.village_clinic, AMOX, 3, expiry=DAY + dt.timedelta(days=20))
    client = login("yuanzhang")
    page = text(client.get("/medicines/alerts/?kind=expiring&days=30"))
    assert "近效期" in page and med.village_clinic.name in page and "alert-low" not in page
    rows = sheet_rows(client.get("/medicines/alerts/?kind=expiring&days=30&format=xlsx"))
    assert rows[0][0] == "预警类型" and [r[1] for r in rows[1:]] == [med.village_clinic.name]
    assert len(sheet_rows(client.get("/medicines/alerts/?kind=expiring&days=10&format=xlsx"))) == 1
    assert med.village_clinic.name not in text(login("yuanzhang2").get("/medicines/alerts/"))


def test_reports_and_their_downloads(med: Med) -> None:
    from yigongti.medicines import services_dispensing
    med.stock(med.village_clinic, AMOX, 20)
    prescription = med.prescription({AMOX: 3})
    services_dispensing.dispense(med.county.village_doctor, prescription.pk, day=DAY)
    client = login("yuanzhang")
    page = text(client.get("/medicines/reports/consumption/?year=2026"))
    assert 'id="consumption-XY0001"' in page
    rows = sheet_rows(client.get("/medicines/reports/consumption/?year=2026&format=xlsx"))
    assert rows[1][0] == AMOX and rows[1][3 + 2] == 3 and rows[1][15] == 3  # March
    essential = sheet_rows(client.get("/medicines/reports/essential/?year=2026&format=xlsx"))
    assert essential[1][1] == med.village_clinic.name and essential[1][5] == 100.0
    outs = sheet_rows(client.get(f"/medicines/reports/stockouts/?year=2026&org={med.village_clinic.pk}&format=xlsx"))
    assert outs[1][:3] == (AMOX, outs[1][1], 0)
    assert login("yuanzhang2").get(f"/medicines/reports/stockouts/?org={med.village_clinic.pk}").status_code == 404
    assert login("yuanzhang2").get(f"/medicines/reports/consumption/?org={med.village_clinic.pk}").status_code == 404


def test_stock_download(med: Med) -> None:
    med.stock(med.village_clinic, AMOX, 12)
    rows = sheet_rows(login("cunyi").get("/medicines/?format=xlsx"))
    amox = next(r for r in rows if r[0] == AMOX)
    assert amox[3] == 12 and amox[4] == 12


# ---------------------------------------------------------------- English


def test_the_pages_in_english(med: Med) -> None:
    """The words that have an English translation show in English (the new ones follow in the translation
    pass); the page, its table headers and the downloads work the same."""
    med.stock(med.village_clinic, AMOX, 3)
    client = login("cunyi")
    client.cookies["django_language"] = "en"
    page = text(client.get("/medicines/"))
    assert '<html lang="en">' in page and 'id="on-hand-XY0001">3 盒<' in page
    for english, chinese in (("Home", "首页"), ("Sign out", "退出"), ("Status", "状态"), ("Amount", "金额"),
                             ("Lot", "批号"), ("Total", "合计")):
        assert english in page and f">{chinese}<" not in page, chinese
    rows = sheet_rows(client.get("/medicines/?format=xlsx"))
    assert "Amount" in rows[0]


def test_the_admin_lists_medicines_read_only(med: Med) -> None:
    med.stock(med.centre, AMOX, 5)
    UserFactory(username="root", is_superuser=True, is_staff=True, role=Role.ADMIN, entry_unit=med.county.county,
                view_unit=med.county.county)
    client = login("root")
    for model in ("medicine", "formularyentry", "supplier", "contractprice", "batch", "holding", "movement",
                  "requisition", "purchaseorder", "stocktake", "prescription"):
        assert client.get(f"/admin/medicines/{model}/").status_code == 200, model
        assert client.get(f"/admin/medicines/{model}/add/").status_code == 403, model
