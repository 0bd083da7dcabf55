"""The reads, by hand: alert kinds, stock-out days, consumption per month and the essential shares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.medicines import services_dispensing
from yigongti.medicines.models import Medicine
from yigongti.medicines.selectors import alerts, consumption, essential_shares, stockout_days, stockout_since
from yigongti.registry.models import Institution


def test_alert_kinds(med: Med) -> None:
    """Amoxicillin: 4 usable expiring in 30 days (low: reorder 10) and 6 expired; nifedipine: none (out)."""
    expired = med.stock(med.village_clinic, AMOX, 6, expiry=DAY - dt.timedelta(days=1),
                        day=DAY - dt.timedelta(days=40))
    med.stock(med.village_clinic, AMOX, 4, expiry=DAY + dt.timedelta(days=30))
    found = alerts([med.village_clinic], DAY, expiring_days=60)
    by_item = {(a.kind, a.medicine.code): a for a in found}
    assert by_item[("expired", AMOX)].quantity == 6 and by_item[("expired", AMOX)].lot == expired.lot
    assert (by_item[("low", AMOX)].quantity, by_item[("low", AMOX)].level) == (4, 10)
    assert by_item[("expiring", AMOX)].quantity == 4
    assert by_item[("out", NIFE)].since is None  # never held: not "out since"
    assert found[0].kind == "expired" and [a.kind for a in found][-1] == "expiring"  # most urgent first
    assert ("expiring", AMOX) not in {(a.kind, a.medicine.code) for a in alerts([med.village_clinic], DAY,
                                                                                 expiring_days=10)}


def test_stockout_days_by_hand(med: Med) -> None:
    """Received 2 on 03-02; dispensed 2 on 03-05 (out from that day); 5 received 03-12; dispensed 5 on
    03-20. In March (1–31): out on 03-05 … 03-11 (7 days) and 03-20 … 03-31 (12 days) = 19."""
    c = med.county
    med.stock(med.village_clinic, AMOX, 2)
    services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 2}, day=dt.date(2026, 3, 5)).pk,
                                 day=dt.date(2026, 3, 5))
    med.stock(med.village_clinic, AMOX, 5, day=dt.date(2026, 3, 12))
    services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 5}, day=dt.date(2026, 3, 20)).pk,
                                 day=dt.date(2026, 3, 20))
    amox = Medicine.objects.get(code=AMOX)
    assert stockout_days(med.village_clinic.pk, amox.pk, dt.date(2026, 3, 1), dt.date(2026, 3, 31)) == 19
    assert stockout_days(med.village_clinic.pk, amox.pk, dt.date(2026, 3, 6), dt.date(2026, 3, 15)) == 6
    assert stockout_since(med.village_clinic.pk, amox.pk, dt.date(2026, 3, 31)) == dt.date(2026, 3, 20)
    assert stockout_since(med.village_clinic.pk, amox.pk, dt.date(2026, 3, 15)) is None


def test_consumption_per_month_and_essential_shares(med: Med) -> None:
    """March: 3 amoxicillin (4.20) and 1 non-essential (5.00); April: 2 nifedipine (8.60), 1 returned.
    Consumption: 03 AMOX 3 / 12.60, 03 NE01 1 / 5.00, 04 NIFE 1 / 8.60. Shares for the year: 2
    prescriptions, 3 lines of which 2 essential; amount 12.60 + 5.00 + 8.60 = 26.20, essential 21.20."""
    c = med.county
    med.item("NE01", essential=False)
    for code in (AMOX, NIFE, "NE01"):
        med.stock(med.village_clinic, code, 10)
    services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: 3, "NE01": 1}).pk, day=DAY)
    april = dt.date(2026, 4, 8)
    rx = services_dispensing.dispense(c.village_doctor, med.prescription({NIFE: 2}, day=april).pk, day=april)
    services_dispensing.return_dispensed(c.village_doctor, rx.lines.get().pk, 1, day=april)
    institutions = Institution.objects.filter(pk=med.village_clinic.pk)
    rows = consumption(institutions, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    codes = dict(Medicine.objects.values_list("pk", "code"))
    assert [(r.month, codes[r.medicine_id], r.quantity, r.amount) for r in rows] == [
        (dt.date(2026, 3, 1), AMOX, 3, Decimal("12.60")), (dt.date(2026, 3, 1), "NE01", 1, Decimal("5.00")),
        (dt.date(2026, 4, 1), NIFE, 1, Decimal("8.60"))]
    (share,) = essential_shares(institutions, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert (share.prescriptions, share.lines, share.essential_lines) == (2, 3, 2)
    assert (share.amount, share.essential_amount) == (Decimal("26.20"), Decimal("21.20"))
    assert share.line_share == 2 / 3 and round(share.amount_share or 0, 4) == 0.8092
    assert essential_shares(institutions, dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == []


def test_consumption_cut_months_come_from_the_movements(med: Med) -> None:
    """Dispensed on 2 and 20 March and 3 April: whole months are read from the kept monthly use, the days
    a range cuts out of a month from the movements — the same figures as adding up the movements."""
    c = med.county
    med.stock(med.village_clinic, AMOX, 20)
    for day, boxes in ((DAY, 1), (dt.date(2026, 3, 20), 2), (dt.date(2026, 4, 3), 4)):
        services_dispensing.dispense(c.village_doctor, med.prescription({AMOX: boxes}, day=day).pk, day=day)
    institutions = Institution.objects.filter(pk=med.village_clinic.pk)

    def quantities(start: dt.date, end: dt.date) -> list[tuple[dt.date, int]]:
        return [(r.month, r.quantity) for r in consumption(institutions, start, end)]

    march, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    assert quantities(march, dt.date(2026, 4, 30)) == [(march, 3), (april, 4)]  # whole months
    assert quantities(dt.date(2026, 3, 10), dt.date(2026, 4, 30)) == [(march, 2), (april, 4)]  # March cut
    assert quantities(march, dt.date(2026, 4, 2)) == [(march, 3)]  # April cut before its one dispensing
    assert quantities(dt.date(2026, 3, 3), dt.date(2026, 3, 19)) == []  # inside one month
    assert quantities(dt.date(2026, 2, 15), dt.date(2026, 3, 2)) == [(march, 1)]
