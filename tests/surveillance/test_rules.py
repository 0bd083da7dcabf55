"""``ygt rules load`` for the notifiable diseases (``surveillance/fixtures/diseases.yaml``), checked
against DOMAIN.md §4: the classes (甲 2: 鼠疫, 霍乱; 丙 11), the deadlines (2 h for 甲类 and 乙类
managed as 甲类, 24 h for the other 丙类), the percentile P per disease (HFMD P75; influenza, mumps,
rubella P80); loading twice changes nothing; a bad fixture names its problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.db import connections

from yigongti.cli import main
from yigongti.core.rule_fixtures import RuleFixture, RuleFixtureInvalid, rules_load
from yigongti.surveillance.models import Disease
from yigongti.surveillance.rules import DISEASES, diseases_load
from yigongti.surveillance.services import disease_for_code

FIXTURE = Path(__file__).resolve().parents[2] / "yigongti" / "surveillance" / "fixtures" / "diseases.yaml"


def _document() -> dict[str, Any]:
    return yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))


def _fixture(document: dict[str, Any]) -> RuleFixture:
    return RuleFixture(app_label="surveillance", path=FIXTURE, name="surveillance/fixtures/diseases.yaml",
                       kind=DISEASES, document=document)


@pytest.fixture
def loaded(db: None) -> None:
    rules_load(kinds=[DISEASES])


def test_ygt_rules_load_loads_the_42_diseases(db: None, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(connections, "close_all", lambda: None)  # inside the test's transaction
    assert main(["rules", "load", "--kind", DISEASES]) == 0
    out = capsys.readouterr().out
    assert "surveillance/fixtures/diseases.yaml（surveillance.diseases）：新增 42，更新 0，未变 0" in out
    assert Disease.objects.count() == 42
    assert main(["rules", "load", "--kind", DISEASES]) == 0
    assert "新增 0，更新 0，未变 42" in capsys.readouterr().out


def test_class_a_is_plague_and_cholera(loaded: None) -> None:
    assert set(Disease.objects.filter(disease_class="A").values_list("name", flat=True)) == {"鼠疫", "霍乱"}


def test_class_c_has_eleven_diseases(loaded: None) -> None:
    names = set(Disease.objects.filter(disease_class="C").values_list("name", flat=True))
    assert len(names) == 11
    assert {"手足口病", "流行性感冒", "流行性腮腺炎", "其它感染性腹泻病"} <= names


def test_class_a_and_those_managed_as_class_a_have_a_two_hour_deadline(loaded: None) -> None:
    urgent = Disease.objects.filter(disease_class="A") | Disease.objects.filter(managed_as_a=True)
    assert {d.code for d in urgent} == {"plague", "cholera", "sars", "anthrax_pulmonary"}
    assert {d.deadline_hours for d in urgent} == {2}


def test_class_c_diseases_have_a_24_hour_deadline(loaded: None) -> None:
    assert set(Disease.objects.filter(disease_class="C").values_list("deadline_hours", flat=True)) == {24}


def test_every_deadline_is_2_or_24_hours(loaded: None) -> None:
    assert set(Disease.objects.values_list("deadline_hours", flat=True)) == {2, 24}


@pytest.mark.parametrize(("code", "percentile"), [("hfmd", 75), ("influenza", 80), ("mumps", 80), ("rubella", 80)])
def test_the_percentile_of_each_disease_is_as_domain_says(loaded: None, code: str, percentile: int) -> None:
    disease = Disease.objects.get(code=code)
    assert "percentile" in disease.methods and disease.params["percentile"] == percentile


def test_every_percentile_lies_between_p50_and_p90(loaded: None) -> None:
    """DOMAIN.md §4: P per disease from P50 to P90."""
    values = [d.params["percentile"] for d in Disease.objects.all() if "percentile" in d.methods]
    assert values and all(50 <= p <= 90 for p in values)


def test_single_case_diseases_run_no_other_method(loaded: None) -> None:
    single = Disease.objects.filter(single_case=True)
    assert {"plague", "cholera", "measles", "polio"} <= {d.code for d in single}
    assert all(d.methods == [] for d in single)


def test_ears_defaults_follow_the_cdc(loaded: None) -> None:
    """alpha 0.001 for C1/C2 (z ≈ 3.09, the CDC's "3") and 0.025 for C3 (z ≈ 1.96, its "2")."""
    for disease in Disease.objects.exclude(methods=[]):
        assert disease.params["alpha"] == 0.001 and disease.params["alpha_c3"] == 0.025


def test_every_disease_cites_its_source_and_date(loaded: None) -> None:
    for disease in Disease.objects.all():
        assert "传染病防治法" in disease.source and disease.effective_from is not None


@pytest.mark.parametrize(("code", "disease"), [
    ("A00.1", "cholera"), ("A22.1", "anthrax_pulmonary"), ("A22.0", "anthrax"), ("B08.4", "hfmd"),
    ("b05.9", "measles"), ("J10.1", "influenza"), ("A09", "diarrhoea"), ("U07.1", "covid19"),
])
def test_an_icd10_code_finds_its_disease_by_the_longest_prefix(loaded: None, code: str, disease: str) -> None:
    found = disease_for_code(code)
    assert found is not None and found.code == disease


@pytest.mark.parametrize("code", ["I10", "E11.9", "B08.3", "J18"])
def test_a_code_that_is_not_notifiable_finds_no_disease(loaded: None, code: str) -> None:
    assert disease_for_code(code) is None


def test_loading_twice_changes_nothing(loaded: None) -> None:
    [(_fixture_file, second)] = rules_load(kinds=[DISEASES])
    assert (second.created, second.updated, second.unchanged) == (0, 0, 42)


def test_a_changed_fixture_updates_the_row(loaded: None) -> None:
    document = _document()
    next(row for row in document["diseases"] if row["code"] == "mumps")["params"]["percentile"] = 70
    result = diseases_load(_fixture(document))
    assert result.updated == 1 and result.codes["updated"] == ["mumps"]
    assert Disease.objects.get(code="mumps").params["percentile"] == 70


def _row(document: dict[str, Any], code: str) -> dict[str, Any]:
    return next(row for row in document["diseases"] if row["code"] == code)


BAD: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "bad class": (lambda d: _row(d, "hfmd").update({"class": "D"}), "class"),
    "deadline 12": (lambda d: _row(d, "hfmd").update(deadline_hours=12), "deadline_hours"),
    "unknown method": (lambda d: _row(d, "hfmd").update(methods=["percentile", "farrington"]), "methods"),
    "unknown param": (lambda d: _row(d, "hfmd")["params"].update(threshold=3), "threshold"),
    "param out of range": (lambda d: _row(d, "hfmd")["params"].update(percentile=150), "percentile"),
    "single_case with methods": (lambda d: _row(d, "measles").update(methods=["c1"]), "单病例"),
    "duplicate code": (lambda d: d["diseases"].append(copy.deepcopy(_row(d, "hfmd"))), "hfmd"),
    "no source": (lambda d: d.pop("source"), "source"),
    "codes not a list": (lambda d: _row(d, "hfmd").update(icd10="B08.4"), "icd10"),
    "no English name": (lambda d: _row(d, "hfmd").update(name_en=""), "name_en"),
    "bad episode": (lambda d: _row(d, "hfmd").update(episode_days=0), "episode_days"),
}


@pytest.mark.parametrize("problem", list(BAD))
def test_a_bad_fixture_names_its_problem(db: None, problem: str) -> None:
    change, word = BAD[problem]
    document = _document()
    change(document)
    with pytest.raises(RuleFixtureInvalid) as caught:
        diseases_load(_fixture(document))
    message = str(caught.value)
    assert "surveillance/fixtures/diseases.yaml" in message and word in message, message
    if problem not in {"no source", "duplicate code"}:
        assert "hfmd" in message or "measles" in message
