"""``ygt rules load`` for insurance policies: stored by code, a second load changes nothing, and a
policy whose effective dates overlap another of the same county fails the load with nothing stored."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from yigongti.core import rule_fixtures
from yigongti.core.rule_fixtures import RuleFixture, RuleFixtureInvalid, rules_load
from yigongti.insurance import rules
from yigongti.insurance.models import PolicyVersion
from yigongti.insurance.selectors import policy_on, stored_policies

SHIPPED = {"example-city", "yunxi-county-2025", "yunxi-county-2026"}


def _shipped_document(code: str) -> dict[str, Any]:
    fixture = next(f for f in rule_fixtures.rule_fixtures() if f.document.get("code") == code)
    return copy.deepcopy(fixture.document)


def _fixture(document: dict[str, Any], name: str = "insurance/fixtures/policy-extra.yaml") -> RuleFixture:
    return RuleFixture(app_label="insurance", path=Path(name), name=name, kind="insurance.policy",
                       document=document)


def _overlapping() -> RuleFixture:
    """A mid-2026 revision of the county policy that forgot to close the 2026 one (open-ended)."""
    document = _shipped_document("yunxi-county-2026")
    document.update(code="yunxi-county-2026b", name="云溪县 2026 年下半年待遇调整", effective_from=dt.date(2026, 7, 1))
    return _fixture(document)


@pytest.mark.django_db
def test_the_shipped_policies_are_stored_and_a_second_load_changes_nothing() -> None:
    first = rules_load(kinds=["insurance.policy"])
    assert {code for _f, result in first for code in result.codes.get("created", [])} == SHIPPED
    stamps = dict(PolicyVersion.objects.values_list("code", "loaded_at"))
    again = rules_load(kinds=["insurance.policy"])
    assert all(result.unchanged == 1 and result.created == result.updated == 0 for _f, result in again)
    assert dict(PolicyVersion.objects.values_list("code", "loaded_at")) == stamps
    row = PolicyVersion.objects.get(code="yunxi-county-2026")
    assert (row.county, row.effective_from, row.effective_to) == ("522399", dt.date(2026, 1, 1), None)
    assert row.document["effective_from"] == "2026-01-01"  # dates stored as ISO text
    assert {p.code for p in stored_policies(fresh=True)} == SHIPPED


@pytest.mark.django_db
def test_an_overlapping_policy_is_refused_and_nothing_is_stored() -> None:
    rules_load(kinds=["insurance.policy"])
    before = list(PolicyVersion.objects.order_by("code").values_list("code", "loaded_at"))
    with pytest.raises(RuleFixtureInvalid) as caught, transaction.atomic():
        rules.policy_load(_overlapping())
    message = str(caught.value)
    assert "policy-extra.yaml" in message
    assert "yunxi-county-2026" in message and "yunxi-county-2026b" in message and "522399" in message
    assert list(PolicyVersion.objects.order_by("code").values_list("code", "loaded_at")) == before
    assert policy_on("522399", dt.date(2026, 8, 1)).code == "yunxi-county-2026"


@pytest.mark.django_db
def test_a_whole_load_with_an_overlapping_file_stores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """All or nothing: the overlap found after the shipped files were upserted rolls them back too."""
    found = [*rule_fixtures.rule_fixtures(), _overlapping()]
    monkeypatch.setattr(rule_fixtures, "rule_fixtures", lambda: found)
    with pytest.raises(RuleFixtureInvalid):
        rules_load(kinds=["insurance.policy"])
    assert not PolicyVersion.objects.exists()


@pytest.mark.django_db
def test_a_closed_revision_loads_after_the_policy_it_follows() -> None:
    """Closing the 2026 policy on 2026-07-01 and starting the revision that day is no overlap."""
    rules_load(kinds=["insurance.policy"])
    closed = _shipped_document("yunxi-county-2026")
    closed["effective_to"] = dt.date(2026, 7, 1)
    with transaction.atomic():
        result = rules.policy_load(_fixture(closed, "insurance/fixtures/policy-yunxi-county-2026.yaml"))
        assert result.updated == 1
        assert rules.policy_load(_overlapping()).created == 1
    assert policy_on("522399", dt.date(2026, 6, 30)).code == "yunxi-county-2026"
    assert policy_on("522399", dt.date(2026, 7, 1)).code == "yunxi-county-2026b"


@pytest.mark.django_db
def test_an_invalid_document_names_the_file_and_key() -> None:
    document = _shipped_document("yunxi-county-2026")
    document["inpatient"]["levels"]["county"]["rate"] = 1.8
    with pytest.raises(RuleFixtureInvalid) as caught, transaction.atomic():
        rules.policy_load(_fixture(document, "insurance/fixtures/policy-bad.yaml"))
    assert "policy-bad.yaml" in str(caught.value) and "inpatient.levels.county.rate" in str(caught.value)
    assert not PolicyVersion.objects.exists()
