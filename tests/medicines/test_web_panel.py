"""The encounter page's 处方与发药 panel and the prescription page: 开处方 through the panel's form (bad
input back on the form, nothing written), 发药 first-expiry-first-out with the batches shown, 退药 and
作废, the 处方笺 audited; no panel for a user outside the medicines roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.factories.accounts import UserFactory
from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from tests.medicines.test_web import login, text
from yigongti.accounts.models import Role
from yigongti.core.clock import frozen
from yigongti.core.models import AuditEntry
from yigongti.medicines.choices import PrescriptionStatus
from yigongti.medicines.models import Movement, Prescription


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with frozen(DAY):
        yield


def test_prescribe_and_dispense_through_the_panel(med: Med) -> None:
    early = med.stock(med.village_clinic, AMOX, 3, expiry=DAY + dt.timedelta(days=60))
    late = med.stock(med.village_clinic, AMOX, 10, expiry=DAY + dt.timedelta(days=300))
    visit = med.visit()
    client = login("cunyi")
    url = f"/care/encounters/{visit.pk}/"
    page = text(client.get(url))
    assert 'id="prescription-panel"' in page and 'id="no-prescriptions"' in page and 'id="prescribe-form"' in page
    done = client.post(f"/medicines/encounters/{visit.pk}/prescribe/", {
        "medicine_0": AMOX, "quantity_0": "5", "usage_0": "一次2粒，一日3次", "days_0": "3"})
    assert done.status_code == 302 and done["Location"] == url
    prescription = Prescription.objects.get()
    page = text(client.get(url))
    assert prescription.number in page and f'id="dispense-{prescription.pk}"' in page
    dispensed = client.post(f"/medicines/prescriptions/{prescription.pk}/dispense/", {"back": "encounter"},
                            follow=True)
    assert dispensed.redirect_chain[-1][0] == url
    body = text(dispensed)
    # FEFO: the 3 of the early lot, then 2 of the late one.
    assert f"{early.lot} × 3" in body and f"{late.lot} × 2" in body
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.DISPENSED
    assert (med.balance(med.village_clinic, early), med.balance(med.village_clinic, late)) == (0, 8)
    assert f'id="rx-amount-{prescription.pk}">{prescription.amount:.2f}<' in body
    assert AuditEntry.objects.filter(object_type="medicines.prescription", object_id=str(prescription.pk),
                                     action="read").exists()
    # 退药 of 2 units of the line: back into the late lot first.
    line = prescription.lines.get()
    bad = client.post(f"/medicines/prescription-lines/{line.pk}/return/", {f"return-{line.pk}-quantity": "9"})
    assert bad.status_code == 422 and "退药数量超过实发数量" in text(bad)
    assert client.post(f"/medicines/prescription-lines/{line.pk}/return/",
                       {f"return-{line.pk}-quantity": "2"}).status_code == 302
    assert med.balance(med.village_clinic, late) == 10


def test_prescription_errors_are_shown_on_the_form(med: Med) -> None:
    visit = med.visit()
    client = login("cunyi")
    url = f"/medicines/encounters/{visit.pk}/prescribe/"
    negative = client.post(url, {"medicine_0": AMOX, "quantity_0": "-1"})
    assert negative.status_code == 422 and negative.context["form"].errors["quantity_0"]
    empty = client.post(url, {"medicine_0": AMOX})
    assert empty.status_code == 422 and empty.context["form"].errors["quantity_0"]
    none = client.post(url, {})
    assert none.status_code == 422 and "至少一种药品" in text(none)
    assert not Prescription.objects.exists()
    # Nothing in stock: 发药 is refused on the prescription page, nothing moves.
    prescription = med.prescription({NIFE: 2}, encounter=visit)
    refused = client.post(f"/medicines/prescriptions/{prescription.pk}/dispense/")
    assert refused.status_code == 409 and "库存不足" in text(refused) and "Traceback" not in text(refused)
    assert not Movement.objects.exists()
    assert client.post(f"/medicines/prescriptions/{prescription.pk}/cancel/").status_code == 302
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.CANCELLED


def test_the_prescription_page_and_its_print(med: Med) -> None:
    med.stock(med.village_clinic, AMOX, 10)
    prescription = med.prescription({AMOX: 2})
    client = login("cunyi")
    page = text(client.get(f"/medicines/prescriptions/{prescription.pk}/"))
    assert "处方笺" in page and prescription.number in page and "一次1粒，一日3次" in page
    printed = text(client.get(f"/medicines/prescriptions/{prescription.pk}/print/"))
    assert 'id="print-rx"' in printed and med.village_clinic.name in printed
    # The township director sees it (his township's resident) and may dispense at the village clinic;
    # township 2's director does not see it.
    assert f'id="dispense-{prescription.pk}"' in text(login("yuanzhang").get(
        f"/medicines/prescriptions/{prescription.pk}/"))
    assert login("yuanzhang2").get(f"/medicines/prescriptions/{prescription.pk}/").status_code == 404
    assert AuditEntry.objects.filter(object_type="medicines.prescription", outcome="not_found").exists()


def test_no_panel_for_other_roles_and_no_actions_for_readers(med: Med) -> None:
    c = med.county
    prescription = med.prescription({AMOX: 1})
    UserFactory(username="jikong", role=Role.CDC, entry_unit=c.county, view_unit=c.county)
    page = text(login("jikong").get(f"/care/encounters/{prescription.encounter_id}/"))
    assert 'id="prescription-panel"' not in page
    commission = text(login("weijian").get(f"/care/encounters/{prescription.encounter_id}/"))
    assert 'id="prescription-panel"' in commission and prescription.number in commission
    assert f'id="dispense-{prescription.pk}"' not in commission and 'id="prescribe-form"' not in commission
    assert login("weijian").post(f"/medicines/prescriptions/{prescription.pk}/dispense/").status_code == 403
