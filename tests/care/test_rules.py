"""``ygt rules load`` for care: the catalogue (≥ 50 lab + 9 imaging items) and recognition rules,
idempotent, and a changed file updates rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from yigongti.care.models import RecognitionRule, ResultItem
from yigongti.care.rules import recognition_load, result_items_load
from yigongti.core.rule_fixtures import RuleFixture, RuleFixtureInvalid, rules_load

FIXTURES = Path(__file__).resolve().parents[2] / "yigongti" / "care" / "fixtures"
KINDS = ["care.result_items", "care.recognition"]


def _fixture(name: str, document: dict) -> RuleFixture:
    return RuleFixture(app_label="care", path=FIXTURES / name, name=f"care/fixtures/{name}",
                       kind=document["kind"], document=document)


def _counts(results) -> dict[str, int]:
    total = {"created": 0, "updated": 0, "unchanged": 0}
    for _, result in results:
        for key in total:
            total[key] += getattr(result, key)
    return total


@pytest.mark.django_db
def test_catalogue_has_50_lab_and_9_imaging_items_with_sources() -> None:
    rules_load(kinds=KINDS)
    assert ResultItem.objects.filter(kind="lab").count() >= 50
    imaging = set(ResultItem.objects.filter(kind="imaging").values_list("name", flat=True))
    assert len(imaging) == 9
    for word in ("胸部X线", "腹部B超", "心电图", "头颅CT", "胸部CT", "腹部CT", "头颅MRI", "心脏彩", "甲状腺B超"):
        assert any(word in name for name in imaging), word
    for code in ("WBC", "RBC", "HGB", "PLT", "ALT", "AST", "TBIL", "CREA", "UREA", "UA", "TC", "TG", "LDL-C",
                 "HDL-C", "FPG", "HBA1C", "K", "NA", "CL", "PT", "APTT", "INR", "CK-MB", "CTNI", "HBSAG", "CRP"):
        assert ResultItem.objects.filter(code=code).exists(), code
    assert all("国卫医发〔2022〕6号" in source for source in ResultItem.objects.values_list("source", flat=True))
    hgb = ResultItem.objects.get(code="HGB")
    assert hgb.unit == "g/L" and hgb.ref_low == Decimal("115") and hgb.price > 0
    # Every item has a rule; rule numbers: blood routine 7 days, HbA1c 90 days, X-ray 30 days.
    assert not ResultItem.objects.filter(recognition_rules__isnull=True).exists()
    assert RecognitionRule.objects.get(item__code="WBC").valid_days == 7
    assert RecognitionRule.objects.get(item__code="HBA1C").valid_days == 90
    assert RecognitionRule.objects.get(item__code="XR-CHEST").valid_days == 30
    assert "village" not in RecognitionRule.objects.get(item__code="WBC").performed_tiers


@pytest.mark.django_db
def test_loading_twice_changes_nothing() -> None:
    first = _counts(rules_load(kinds=KINDS))
    assert first["created"] > 0
    second = _counts(rules_load(kinds=KINDS))
    assert second["created"] == 0 and second["updated"] == 0 and second["unchanged"] == sum(first.values())


@pytest.mark.django_db
def test_recognition_alone_loads_the_catalogue_first() -> None:
    rules_load(kinds=["care.recognition"])
    assert ResultItem.objects.count() >= 59 and RecognitionRule.objects.count() == ResultItem.objects.count()


@pytest.mark.django_db
def test_a_changed_file_updates_rows() -> None:
    rules_load(kinds=KINDS)
    items = yaml.safe_load((FIXTURES / "result_items.yaml").read_text(encoding="utf-8"))
    for row in items["items"]:
        if row["code"] == "HBA1C":
            row["price"] = 55
    result = result_items_load(_fixture("result_items.yaml", items))
    assert result.updated == 1 and result.codes["updated"] == ["HBA1C"]
    assert ResultItem.objects.get(code="HBA1C").price == Decimal("55.00")

    rules = yaml.safe_load((FIXTURES / "recognition.yaml").read_text(encoding="utf-8"))
    for rule in rules["rules"]:
        if "HBA1C" in rule["items"]:
            rule["valid_days"] = 60
    result = recognition_load(_fixture("recognition.yaml", rules))
    assert result.updated == 1
    assert RecognitionRule.objects.get(item__code="HBA1C").valid_days == 60


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["rules"][0].update(valid_days=0), "valid_days"),
    (lambda d: d["rules"][0].update(performed_tiers=["province"]), "performed_tiers"),
    (lambda d: d["rules"][0]["items"].append("NOPE"), "NOPE"),
    (lambda d: d.pop("source"), "source"),
])
def test_a_bad_rule_is_refused(change, message) -> None:
    rules_load(kinds=["care.result_items"])
    document = yaml.safe_load((FIXTURES / "recognition.yaml").read_text(encoding="utf-8"))
    change(document)
    with pytest.raises(RuleFixtureInvalid) as caught:
        recognition_load(_fixture("recognition.yaml", document))
    assert message in str(caught.value)
