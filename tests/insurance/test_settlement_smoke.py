from __future__ import annotations

from decimal import Decimal

from yigongti.insurance import services
from yigongti.insurance.models import Settlement


def test_enrol_settle_reverse(ins) -> None:
    household, (person,) = ins.household()
    ins.enrol(household)
    stay = ins.stay(person)
    s, created = services.settle(ins.county.clinician, stay.pk, key="k1")
    assert created
    # yunxi-county-2026: county level deductible 400, 80 %: (10000-400)*0.8 = 7680
    assert s.basic == Decimal("7680.00")
    assert s.patient == Decimal("2320.00")
    again, created = services.settle(ins.county.clinician, stay.pk, key="k2")
    assert not created and again.pk == s.pk
    r = services.reverse(ins.county.clinician, s.pk, reason="费用录入错误")
    assert r.total == -s.total
    assert services.ledger_check().ok
    s2, created = services.settle(ins.county.clinician, stay.pk, key="k3")
    assert created and s2.basic == s.basic
    assert Settlement.objects.count() == 3
    check = services.ledger_check()
    assert check.ok, check
