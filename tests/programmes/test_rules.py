"""``ygt rules load`` for the programmes, and the fixtures against the numbers of DOMAIN.md §2."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from yigongti.core.rule_fixtures import RuleFixture, rules_load
from yigongti.programmes import rules as programme_rules
from yigongti.programmes.engine import document_digest, fixture_specs
from yigongti.programmes.engine.compiled import ClassRule, Offset
from yigongti.programmes.engine.spec import FIXTURES_DIR
from yigongti.programmes.engine.types import ProgrammeSpec
from yigongti.programmes.models import Programme, ProgrammeVersion
from yigongti.programmes.specs import spec_for

CODES = {"hypertension", "diabetes", "elderly", "child", "maternal", "mental", "tb", "tcm", "immunisation"}
SPECS = fixture_specs()


def rule(spec: ProgrammeSpec, code: str) -> ClassRule:
    assert spec.classifier is not None
    found = spec.classifier.rule(code)
    assert found is not None
    return found


def thresholds(r: ClassRule) -> set[tuple[str, str, Any]]:
    return {(c.field, c.op, c.value) for c in (*r.any, *r.all)}


# ---------------------------------------------------------------- the fixtures say what DOMAIN.md says


def test_every_programme_has_a_fixture_citing_its_norm() -> None:
    assert set(SPECS) == CODES
    for spec in SPECS.values():
        assert "国家基本公共卫生服务规范（第三版）" in spec.source or spec.code == "immunisation"
    assert "2021年版" in SPECS["immunisation"].source
    assert len(list(FIXTURES_DIR.glob("*.yaml"))) >= len(CODES)


def test_hypertension_numbers() -> None:
    spec = SPECS["hypertension"]
    assert spec.eligibility.min_age_years == 35
    assert thresholds(rule(spec, "satisfactory")) >= {("sbp", "lt", Decimal(140)), ("dbp", "lt", Decimal(90))}
    assert thresholds(rule(spec, "refer")) >= {("sbp", "ge", Decimal(180)), ("dbp", "ge", Decimal(110))}
    assert rule(spec, "satisfactory").next == Offset(months=3)
    assert rule(spec, "unsatisfactory").next == Offset(days=14) == rule(spec, "refer").next
    assert spec.classifier and spec.classifier.escalations[0].to == "refer"
    assert [a.item for a in spec.schedule.annual] == ["check"]  # type: ignore[union-attr]


def test_diabetes_numbers() -> None:
    spec = SPECS["diabetes"]
    assert spec.eligibility.min_age_years == 35
    assert ("fpg", "lt", Decimal("7.0")) in thresholds(rule(spec, "satisfactory"))
    assert thresholds(rule(spec, "refer")) >= {("fpg", "ge", Decimal("16.7")), ("fpg", "le", Decimal("3.9")),
                                               ("sbp", "ge", Decimal(180))}


def test_mental_numbers() -> None:
    spec = SPECS["mental"]
    assert ("risk_grade", "ge", Decimal(3)) in thresholds(rule(spec, "unstable"))
    assert rule(spec, "unstable").refer and rule(spec, "unstable").next == Offset(days=14)
    assert rule(spec, "basically_stable").next == Offset(months=1)
    assert rule(spec, "stable").next == Offset(months=3)
    assert (spec.fields["risk_grade"].min, spec.fields["risk_grade"].max) == (0, 5)


def test_tb_child_maternal_elderly_tcm_numbers() -> None:
    tb = SPECS["tb"].schedule.interval  # type: ignore[union-attr]
    assert tb is not None and tb.first.after == 3 and tb.end == Offset(months=6)
    assert tb.phases[0].until == Offset(months=2) and tb.phases[0].every == Offset(days=10)
    assert tb.phases[1].every == Offset(months=1)
    child = {a.item: a for a in SPECS["child"].schedule.ages}  # type: ignore[union-attr]
    assert child["child-1m"].window_from == Offset(days=28) and child["child-1m"].window_to == Offset(days=30)
    assert [child[f"child-{m}m"].at.months for m in (3, 6, 8, 12, 18, 24, 30, 36)] == [3, 6, 8, 12, 18, 24, 30, 36]
    assert [child[f"child-{y}y"].at.months for y in (4, 5, 6)] == [48, 60, 72]
    assert all("hb" in SPECS["child"].items[i].form for i in ("child-6m", "child-18m", "child-30m"))
    maternal = {a.item: a for a in SPECS["maternal"].schedule.ages}  # type: ignore[union-attr]
    assert maternal["antenatal-1"].window_to == Offset(days=12 * 7 + 6)
    assert [maternal[f"antenatal-{n}"].window_from for n in (2, 3, 4, 5)] == [
        Offset(days=16 * 7), Offset(days=21 * 7), Offset(days=28 * 7), Offset(days=37 * 7)]
    assert maternal["postpartum-42"].at == Offset(days=42)
    assert SPECS["elderly"].eligibility.min_age_years == 65
    tcm = SPECS["tcm"].schedule
    assert tcm is not None and tcm.annual[0].start == Offset(months=65 * 12)
    assert [a.at.months for a in tcm.ages] == [6, 12, 18, 24, 30, 36]


# ---------------------------------------------------------------- loading


@pytest.mark.django_db
def test_load_creates_then_is_idempotent() -> None:
    first = rules_load(kinds=["programmes.programme"])
    assert Programme.objects.count() == len(CODES)
    assert ProgrammeVersion.objects.count() == len(CODES)
    assert len(first) == len(CODES) and all(result.created == 2 for _f, result in first)
    again = rules_load(kinds=["programmes.programme"])
    assert all(result.created == result.updated == 0 and result.unchanged == 2 for _f, result in again)
    version = ProgrammeVersion.objects.get(programme__code="hypertension")
    assert version.definition["effective_from"] == "2017-02-28"
    assert version.digest == document_digest(version.definition)
    assert Programme.objects.get(code="immunisation").name == "预防接种"


@pytest.mark.django_db
def test_changed_rules_replan_the_programme(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(programme_rules.services, "programme_replan_all",
                        lambda *, programme_code: calls.append(programme_code) or 0)
    fixtures = {f.name: f for f in _fixtures()}
    fixture = fixtures["programmes/fixtures/hypertension.yaml"]
    programme_rules.programme_rules_load(fixture)
    assert calls == []  # first load: nothing to re-plan
    changed = dict(fixture.document, name={"zh-hans": "高血压患者健康管理", "en": "Hypertension care"})
    result = programme_rules.programme_rules_load(RuleFixture(
        app_label=fixture.app_label, path=fixture.path, name=fixture.name, kind=fixture.kind, document=changed))
    assert result.updated == 2 and calls == ["hypertension"]
    assert Programme.objects.get(code="hypertension").name_en == "Hypertension care"


@pytest.mark.django_db
def test_invalid_fixture_names_file_and_key() -> None:
    fixture = {f.name: f for f in _fixtures()}["programmes/fixtures/tb.yaml"]
    bad = dict(fixture.document, anchor="moon")
    with pytest.raises(Exception) as error:
        programme_rules.programme_rules_load(RuleFixture(
            app_label=fixture.app_label, path=fixture.path, name=fixture.name, kind=fixture.kind, document=bad))
    assert "tb.yaml" in str(error.value) and "anchor" in str(error.value)
    assert not Programme.objects.filter(code="tb").exists()


@pytest.mark.django_db
def test_spec_for_reads_the_version_in_force() -> None:
    rules_load(kinds=["programmes.programme"])
    spec = spec_for("immunisation", dt.date(2025, 1, 1))
    assert spec.code == "immunisation" and spec.schedule == SPECS["immunisation"].schedule
    assert spec_for("immunisation", dt.date(2025, 6, 1)) is spec  # parsed once per digest
    with pytest.raises(Exception, match="immunisation"):
        spec_for("immunisation", dt.date(2020, 1, 1))  # before the 2021 schedule


def _fixtures() -> list[RuleFixture]:
    from yigongti.core.rule_fixtures import rule_fixtures

    return [f for f in rule_fixtures() if f.kind == "programmes.programme"]


@pytest.mark.django_db
def test_two_versions_load_idempotently(monkeypatch: pytest.MonkeyPatch) -> None:
    """An older and a newer version of one programme: the newer names it, a second load changes nothing."""
    monkeypatch.setattr(programme_rules.services, "programme_replan_all", lambda *, programme_code: 0)
    fixture = {f.name: f for f in _fixtures()}["programmes/fixtures/elderly.yaml"]
    old = dict(fixture.document, effective_to=dt.date(2026, 12, 31))
    new = dict(fixture.document, effective_from=dt.date(2027, 1, 1),
               name={"zh-hans": "老年人健康管理（新）", "en": "Older people (new)"})

    def load(document: dict[str, Any], name: str) -> Any:
        return programme_rules.programme_rules_load(RuleFixture(
            app_label=fixture.app_label, path=fixture.path, name=name, kind=fixture.kind, document=document))

    load(old, "old.yaml")
    load(new, "new.yaml")
    assert load(old, "old.yaml").unchanged == 2 and load(new, "new.yaml").unchanged == 2
    assert Programme.objects.get(code="elderly").name == "老年人健康管理（新）"
    assert spec_for("elderly", dt.date(2026, 6, 1)).name.zh == "老年人健康管理"
    assert spec_for("elderly", dt.date(2027, 6, 1)).name.zh == "老年人健康管理（新）"
