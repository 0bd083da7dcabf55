"""``ygt rules load`` for the medicines catalogue: stored by natural key, a second load changes nothing,
prices are effective-dated, and a bad entry names its key and stores nothing (not even the suppliers
read before it)."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from yigongti.core import rule_fixtures
from yigongti.core.rule_fixtures import RuleFixture, RuleFixtureInvalid, rules_load
from yigongti.medicines import rules
from yigongti.medicines.models import ContractPrice, FormularyEntry, Medicine, Supplier
from yigongti.medicines.selectors import formulary, price_on

pytestmark = pytest.mark.django_db
KIND = "medicines.catalogue"


def _shipped() -> dict[str, Any]:
    fixture = next(f for f in rule_fixtures.rule_fixtures() if f.kind == KIND)
    return copy.deepcopy(fixture.document)


def _fixture(document: dict[str, Any]) -> RuleFixture:
    name = "medicines/fixtures/catalogue-bad.yaml"
    return RuleFixture(app_label="medicines", path=Path(name), name=name, kind=KIND, document=document)


def _counts() -> tuple[int, int, int, int]:
    return (Supplier.objects.count(), Medicine.objects.count(), FormularyEntry.objects.count(),
            ContractPrice.objects.count())


def test_a_second_load_changes_nothing() -> None:
    ((_f1, first),) = rules_load(kinds=[KIND])
    document = _shipped()
    tier_rows = sum(len(m.get("tiers") or {}) for m in document["medicines"])
    price_rows = sum(len(m.get("prices") or []) for m in document["medicines"])
    assert _counts() == (len(document["suppliers"]), len(document["medicines"]), tier_rows, price_rows)
    assert first.created == sum(_counts()) and first.updated == first.unchanged == 0
    ((_f2, again),) = rules_load(kinds=[KIND])
    assert again.created == again.updated == 0 and again.unchanged == sum(_counts())


def test_levels_tiers_and_effective_dated_prices() -> None:
    rules_load(kinds=[KIND])
    day = dt.date(2026, 3, 2)
    village, county = formulary("village", day), formulary("county", day)
    amox = Medicine.objects.get(code="XY0001")
    assert (village[amox.pk].reorder_level, village[amox.pk].target_level) == (10, 40)
    only_county = Medicine.objects.get(code="XY0013")  # 呋喃妥因: the county hospital's list only
    assert only_county.pk in county and only_county.pk not in village
    assert not Medicine.objects.get(code="XY0071").essential  # 奥美沙坦酯: not on the national list
    amlodipine = Medicine.objects.get(code="XY0014")  # re-tendered on 2026-01-01
    old, new = price_on(amlodipine, dt.date(2025, 12, 31)), price_on(amlodipine, dt.date(2026, 1, 1))
    assert old is not None and new is not None
    assert (old.supplier.code, str(old.unit_price)) == ("S01", "2.3000")
    assert (new.supplier.code, str(new.unit_price)) == ("S02", "1.9500")


@pytest.mark.parametrize(("edit", "key"), [
    (lambda d: d["medicines"][3].update(strength=""), "medicines[3].strength"),
    (lambda d: d["medicines"][2]["tiers"].update(village=[10, 5]), "medicines[2].tiers.village"),
    (lambda d: d["medicines"][5]["prices"][0].update(unit_price=-1), "medicines[5].prices[0].unit_price"),
    (lambda d: d["medicines"][1].update(code="XY0001"), "medicines[1].code"),
    (lambda d: d["medicines"][4]["prices"][0].update(supplier="S99"), "medicines[4].prices[0].supplier"),
    (lambda d: d["medicines"][0].update(drug_class="herbs"), "medicines[0].drug_class"),
])
def test_a_bad_entry_names_its_key_and_stores_nothing(edit: Any, key: str) -> None:
    document = _shipped()
    edit(document)
    with pytest.raises(RuleFixtureInvalid) as caught, transaction.atomic():
        rules.catalogue_load(_fixture(document))
    assert key in str(caught.value) and "catalogue-bad.yaml" in str(caught.value)
    assert _counts() == (0, 0, 0, 0)


def test_a_bad_file_in_rules_load_rolls_back_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    document = _shipped()
    document["medicines"][7]["tiers"] = {"hospital": [1, 2]}
    found = [*rule_fixtures.rule_fixtures(), _fixture(document)]
    monkeypatch.setattr(rule_fixtures, "rule_fixtures", lambda: found)
    with pytest.raises(RuleFixtureInvalid) as caught:
        rules_load(kinds=[KIND])
    assert "medicines[7].tiers.hospital" in str(caught.value)
    assert _counts() == (0, 0, 0, 0)
