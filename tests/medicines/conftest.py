"""Fixtures of the medicines tests: the MiniCounty with the catalogue stored, and helpers to put stock
at an institution, record a visit with a prescription, and read balances.

The catalogue is ``medicines/fixtures/catalogue.yaml``; the tests use amoxicillin (``XY0001``: on
every tier's list) and nifedipine (``XY0002``), and add what else they need with :meth:`Med.item`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import MiniCounty
from tests.factories.care import encounter as record_encounter
from tests.factories.residents import ResidentFactory
from yigongti.core import scope
from yigongti.core.rule_fixtures import rules_load
from yigongti.medicines import services, services_dispensing
from yigongti.medicines.models import ContractPrice, FormularyEntry, Medicine, Prescription, Supplier
from yigongti.medicines.selectors import batch_balances

DAY = dt.date(2026, 3, 2)
AMOX, NIFE = "XY0001", "XY0002"


class Med:
    """The MiniCounty plus what stock needs: ``village_clinic`` (cunyi's), ``centre`` (yuanzhang's), ``hospital``."""

    def __init__(self, county: MiniCounty) -> None:
        self.county = county
        if not Medicine.objects.exists():
            rules_load(kinds=["medicines.catalogue"])
        self.hospital = county.hospital
        self.centre = county.centres[0]
        self.village_clinic = county.clinics[county.village_a.code]
        self.lots = 0

    def item(self, code: str, *, essential: bool = True, tiers: dict[str, tuple[int, int]] | None = None,
             price: str | None = "5.00", name: str = "测试药片") -> Medicine:
        """An extra catalogue item (default: on every tier's list with levels 5 / 20, 5.00 a unit)."""
        medicine = Medicine.objects.create(
            code=code, generic_name=name, dosage_form="片剂", strength="10mg", pack="10mg×10片/盒", unit="盒",
            drug_class="drugs_western", essential=essential, valid_from=dt.date(2020, 1, 1))
        for tier, (reorder, target) in (tiers if tiers is not None else
                                        {"village": (5, 20), "township": (5, 20), "county": (5, 20)}).items():
            FormularyEntry.objects.create(medicine=medicine, tier=tier, reorder_level=reorder, target_level=target,
                                          valid_from=dt.date(2020, 1, 1))
        if price is not None:
            ContractPrice.objects.create(medicine=medicine, supplier=Supplier.objects.get(code="S01"),
                                         unit_price=Decimal(price), valid_from=dt.date(2020, 1, 1))
        return medicine

    def stock(self, institution: Any, code: str = AMOX, quantity: int = 10, *, expiry: dt.date | None = None,
              lot: str | None = None, day: dt.date = DAY) -> Any:
        """Receive ``quantity`` of a new lot at ``institution`` (as the system); returns the batch."""
        self.lots += 1
        item = services.ReceiptItem(medicine=code, lot=lot or f"L{self.lots:04d}", quantity=quantity,
                                    expiry=expiry or day + dt.timedelta(days=365))
        (movement,) = services.receive(scope.SYSTEM, institution, [item], day=day)
        return movement.batch

    def balance(self, institution: Any, batch: Any = None, code: str | None = None) -> int:
        balances = batch_balances(institution.pk)
        if batch is not None:
            return balances.get(batch.pk, 0)
        medicine = Medicine.objects.get(code=code or AMOX)
        return sum(q for pk, q in balances.items() if medicine.batches.filter(pk=pk).exists())

    def visit(self, resident: Any = None, *, user: Any = None, day: dt.date = DAY) -> Any:
        """An outpatient visit at cunyi's village clinic (default) of a resident of village A."""
        user = user or self.county.village_doctor
        resident = resident or ResidentFactory(village=self.county.village_a)
        return record_encounter(user, resident, kind="outpatient", start_date=day,
                                costs={"registration": Decimal("1")})

    def prescription(self, items: dict[str, int], *, user: Any = None, day: dt.date = DAY,
                     encounter: Any = None) -> Prescription:
        user = user or self.county.village_doctor
        encounter = encounter or self.visit(user=user, day=day)
        items_in = [services_dispensing.PrescribedItem(medicine=code, quantity=quantity, usage="一次1粒，一日3次")
                    for code, quantity in items.items()]
        return services_dispensing.prescribe(user, encounter.pk, items_in)


@pytest.fixture
def med(county: MiniCounty) -> Med:
    return Med(county)
