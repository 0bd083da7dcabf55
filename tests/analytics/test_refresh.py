"""The contracts of ``ygt analytics refresh`` (:mod:`yigongti.analytics.refresh`) and ``ygt indicators``.

A full refresh stores every org unit with its level and path; an incremental one rewrites only the
months whose rows changed (added, deleted, edited in place, moved by a transfer) and recomputes
only the periods those months touch; a crash half-way leaves the stored values and fingerprints as
they were and the next run completes; a zero denominator is stored as no value and shown "—"; a
bad definition or period is refused with a clear message.

The world (today 2026-06-30, the last 12 months kept: 2025-07 … 2026-06), written in :func:`world`:
  village A: R1 born 1960, hypertension enrolment 2025-10-01 with follow-ups 2025-11-10,
             2026-01-10, 2026-04-10 · R2 born 1970, encounters 2026-02-10 (county hospital) and
             2026-02-11 (clinic A) · population 2026: 4
  village B: R3 born 1980, an up-referral 2026-03-05 · population 2026: 2
  village D: R4 born 1990 · no population figure (record_rate: 1 ÷ 0 → "—")
Only a few indicators are loaded, to keep each refresh short.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.db import connections

from tests.analytics.builders import Builder
from tests.conftest import MiniCounty
from yigongti.analytics import export
from yigongti.analytics.engines import DuckDBEngine
from yigongti.analytics.models import DirtyMonth, FactPartition, Indicator, IndicatorValue, RefreshRun
from yigongti.analytics.periods import PeriodInvalid, month_index, parse
from yigongti.analytics.refresh import refresh
from yigongti.analytics.rules import KIND, indicators_load
from yigongti.cli import main
from yigongti.core.clock import frozen
from yigongti.core.rule_fixtures import RuleFixture, RuleFixtureInvalid, rule_fixtures
from yigongti.programmes.models import Enrolment
from yigongti.referrals.models import Referral
from yigongti.residents.services import resident_transfer

TODAY = dt.date(2026, 6, 30)
d = dt.date

COUNTY, T1, T2 = "522399", "522399101", "522399102"
A, B, C, D = "522399101201", "522399101202", "522399102201", "522399102202"
PATH = {COUNTY: COUNTY, T1: f"{COUNTY}/{T1}", T2: f"{COUNTY}/{T2}", A: f"{COUNTY}/{T1}/{A}",
        B: f"{COUNTY}/{T1}/{B}", C: f"{COUNTY}/{T2}/{C}", D: f"{COUNTY}/{T2}/{D}"}
ACTIVE = ["record_rate", "record_use_rate", "htn_mgmt_rate", "htn_standard_rate", "referrals_up", "primary_share"]


@dataclass
class World:
    b: Builder
    county: MiniCounty
    r1: Any
    r3: Any
    htn: Enrolment
    dir: Path


@pytest.fixture
def world(county: MiniCounty, settings: LazySettings, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    settings.YGT_ANALYTICS_DIR = tmp_path
    settings.YGT_ANALYTICS_MONTHS = 12
    # ``ygt`` closes every connection when a command ends; inside the test's transaction that would
    # drop it (see tests/interop/test_import_cli.py).
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with frozen(TODAY):
        load_indicators(ACTIVE)
        b = Builder(county)
        r1 = b.resident(b.a, born=d(1960, 1, 1))
        htn = b.enrol(r1, "hypertension", d(2025, 10, 1))
        b.followups(htn, [d(2025, 11, 10), d(2026, 1, 10), d(2026, 4, 10)], sbp=130, dbp=80)
        r2 = b.resident(b.a, born=d(1970, 1, 1))
        b.encounter(r2, d(2026, 2, 10), institution=b.hospital)
        b.encounter(r2, d(2026, 2, 11))
        r3 = b.resident(b.b, born=d(1980, 1, 1))
        b.referral(r3, d(2026, 3, 5))
        b.resident(b.d, born=d(1990, 1, 1))
        b.population(b.a, 2026, 4)
        b.population(b.b, 2026, 2)
        yield World(b=b, county=county, r1=r1, r3=r3, htn=htn, dir=tmp_path)


def load_indicators(codes: list[str]) -> None:
    """The catalogue's definitions of ``codes`` loaded as ``ygt rules load`` loads them (only these:
    each refresh then computes a handful of indicators)."""
    fixture = next(f for f in rule_fixtures() if f.kind == KIND)
    rows = [row for row in fixture.document["indicators"] if row.get("code") in codes]
    assert len(rows) == len(codes)
    indicators_load(RuleFixture(app_label=fixture.app_label, path=fixture.path, name=fixture.name, kind=KIND,
                                document={"kind": KIND, "indicators": rows}))


def stored(code: str | None = None, period: str | None = None) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """``(indicator, period, org) → (numerator, denominator, value, computed_at)`` of the stored values."""
    rows = IndicatorValue.objects.all()
    if code:
        rows = rows.filter(indicator__code=code)
    if period:
        rows = rows.filter(period=period)
    return {(v.indicator.code, v.period, v.org_code): (v.numerator, v.denominator, v.value, v.computed_at)
            for v in rows.select_related("indicator")}


def numbers(code: str, period: str) -> dict[str, tuple[Any, ...]]:
    """``org → (numerator, denominator, value)`` of one indicator and period, value rounded."""
    return {org: (n, den, None if v is None else round(v, 4))
            for (_c, _p, org), (n, den, v, _at) in stored(code, period).items()}


def fingerprints() -> dict[tuple[str, int], str]:
    return {(p.fact, p.month): p.fingerprint for p in FactPartition.objects.all()}


# ---------------------------------------------------------------- a full refresh


def test_full_refresh_stores_every_unit_with_its_level_and_path(world: World) -> None:
    """record_rate 202606 (records on file at the end of June ÷ population 2026):
    A 2/4 = 50% · B 1/2 = 50% · T1 3/6 = 50% · D 1/0 → None · T2 1/0 → None · county 4/6 = 66.67%.
    primary_share 2026Q1 (by institution): the hospital's visit counts at the county only (no township
    or village row for it): clinic A 1/1 · T1 1/1 · county 1/2 = 50%."""
    report = refresh(full=True)

    run = RefreshRun.objects.get(pk=report.run)
    assert (run.status, run.engine, run.full) == (RefreshRun.Status.DONE, "duckdb", True)
    assert (run.first_month, run.last_month) == (month_index(2025, 7), month_index(2026, 6))
    assert run.values == report.values == IndicatorValue.objects.count() > 0
    assert report.months["visits"] == [202511, 202601, 202604] and report.months["referrals"] == [202603]

    rows = {v.org_code: (v.org_level, v.org_path, v.period_type, v.numerator, v.denominator,
                         None if v.value is None else round(v.value, 2))
            for v in IndicatorValue.objects.filter(indicator__code="record_rate", period="202606")}
    assert rows == {
        COUNTY: ("county", PATH[COUNTY], "month", 4, 6, 66.67),
        T1: ("township", PATH[T1], "month", 3, 6, 50.0),
        A: ("village", PATH[A], "month", 2, 4, 50.0),
        B: ("village", PATH[B], "month", 1, 2, 50.0),
        T2: ("township", PATH[T2], "month", 1, 0, None),
        D: ("village", PATH[D], "month", 1, 0, None),
    }
    share = {v.org_code: (v.org_level, v.org_path, v.period_type, v.numerator, v.denominator, v.value)
             for v in IndicatorValue.objects.filter(indicator__code="primary_share", period="2026Q1")}
    assert share == {COUNTY: ("county", PATH[COUNTY], "quarter", 1, 2, 50.0),
                     T1: ("township", PATH[T1], "quarter", 1, 1, 100.0),
                     A: ("village", PATH[A], "quarter", 1, 1, 100.0)}

    # every partition written has its file and its fingerprint
    assert {m for (fact, m) in fingerprints() if fact == "visits"} == {202511, 202601, 202604}
    assert export.written_months("visits") == {202511, 202601, 202604}
    assert (world.dir / "facts" / "visits" / "m202604.parquet").exists()


def test_a_second_refresh_with_nothing_changed_rewrites_nothing(world: World) -> None:
    refresh(full=True)
    before, prints = stored(), fingerprints()

    report = refresh()

    assert report.months == {} and report.values == 0 and report.periods == 0
    assert stored() == before and fingerprints() == prints
    assert RefreshRun.objects.get(pk=report.run).status == RefreshRun.Status.DONE


# ---------------------------------------------------------------- incremental


AFFECTED_BY_MARCH_2026 = {"202603", "2026Q1", "2026", "202603R12", "202604R12", "202605R12", "202606R12"}


def test_a_new_visit_rewrites_its_month_and_recomputes_only_the_periods_it_touches(world: World) -> None:
    """A 4th follow-up for R1 on 2026-03-12: htn_standard_rate 202606R12 (Jul 2025 … Jun 2026) in A
    goes from 0/1 (Nov, Jan, Apr: 3) to 1/1 = 100%. Only the visits of March 2026 are rewritten and
    only the indicators that read visits recomputed, for the periods containing March 2026; every
    other value keeps its computed_at."""
    refresh(full=True)
    before, prints = stored(), fingerprints()
    assert numbers("htn_standard_rate", "202606R12")[A] == (0, 1, 0.0)

    world.b.visit(world.htn, "followup", d(2026, 3, 12), sbp=128, dbp=78)
    report = refresh()

    assert report.months == {"visits": [202603]}
    assert {k for k, f in fingerprints().items() if prints.get(k) != f} == {("visits", 202603)}
    assert (world.dir / "facts" / "visits" / "m202603.parquet").exists()
    assert numbers("htn_standard_rate", "202606R12")[A] == (1, 1, 100.0)
    assert numbers("htn_standard_rate", "2026")[A] == (0, 1, 0.0)  # Jan, Mar, Apr: 3 in 2026

    after = stored()
    # only the indicators that read visits are recomputed, and only for the periods containing March 2026
    reads_visits = {"record_use_rate", "htn_standard_rate"}
    recomputed = {key for key in after if key[1] in AFFECTED_BY_MARCH_2026 and key[0] in reads_visits}
    kept = {key for key in before if key[1] not in AFFECTED_BY_MARCH_2026 or key[0] not in reads_visits}
    assert recomputed and kept
    assert all(after[key][3] > before[key][3] for key in recomputed if key in before)
    assert all(after[key] == before[key] for key in kept)


def test_deleting_the_rows_of_a_month_drops_its_partition(world: World) -> None:
    """R3's referral (2026-03-05) is the only row of referrals/m202603: deleting it removes the file,
    the fingerprint and the referrals_up values (a count of 0 without denominator is not stored)."""
    refresh(full=True)
    assert numbers("referrals_up", "2026Q1") == {B: (1, None, 1.0), T1: (1, None, 1.0), COUNTY: (1, None, 1.0)}
    partition = world.dir / "facts" / "referrals" / "m202603.parquet"
    assert partition.exists()

    Referral.objects.filter(resident=world.r3).delete()
    report = refresh()

    assert not partition.exists()
    assert ("referrals", 202603) not in fingerprints()
    assert "referrals" not in report.months
    assert numbers("referrals_up", "2026Q1") == {} and numbers("referrals_up", "202603") == {}


def test_an_enrolment_closed_in_place_is_picked_up_through_its_dirty_month(world: World) -> None:
    """Closing R1's enrolment on 2026-05-10 changes no row count (the fingerprint of enrolments/m202510
    stays the same): the receiver's DirtyMonth mark makes the refresh rewrite that month.
    htn_mgmt_rate 202606R12 (stock at the end of June 2026) in A: 1 ÷ (2 residents ≥35 × 0.25) = 200%
    → 0 ÷ 0.5 = 0%."""
    refresh(full=True)
    prints = fingerprints()
    assert numbers("htn_mgmt_rate", "202606R12")[A] == (1, 0.5, 200.0)

    enrolment = world.htn
    enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", d(2026, 5, 10), "other"
    enrolment.save()
    assert DirtyMonth.objects.filter(fact="enrolments", month=202510).exists()
    report = refresh()

    assert report.months == {"enrolments": [202510]}
    assert fingerprints()[("enrolments", 202510)] == prints[("enrolments", 202510)]
    assert numbers("htn_mgmt_rate", "202606R12")[A] == (0, 0.5, 0.0)
    assert not DirtyMonth.objects.exists()


def test_stock_values_of_later_periods_follow_an_edit(world: World) -> None:
    """The same closing as above: the stock at the end of June 2026 must drop for the month 202606 and
    the quarter 2026Q2 too, not only for the rolling year that happens to contain October 2025."""
    refresh(full=True)
    enrolment = world.htn
    enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", d(2026, 5, 10), "other"
    enrolment.save()
    refresh()
    assert numbers("htn_mgmt_rate", "202606")[A] == (0, 0.5, 0.0)
    assert numbers("htn_mgmt_rate", "2026Q2")[A] == (0, 0.5, 0.0)


def test_a_transfer_moves_the_village_values(world: World) -> None:
    """R3 moves from village B (T1) to village C (T2): the up-referral of 2026-03 now counts for C."""
    refresh(full=True)
    assert numbers("referrals_up", "2026Q1") == {B: (1, None, 1.0), T1: (1, None, 1.0), COUNTY: (1, None, 1.0)}

    resident_transfer(user=world.county.clinician, resident=world.r3, to_village_code=C)
    report = refresh()

    assert 202603 in report.months["referrals"]
    assert numbers("referrals_up", "2026Q1") == {C: (1, None, 1.0), T2: (1, None, 1.0), COUNTY: (1, None, 1.0)}
    assert numbers("referrals_up", "202603") == {C: (1, None, 1.0), T2: (1, None, 1.0), COUNTY: (1, None, 1.0)}


def test_a_transfer_moves_the_stock_values(world: World) -> None:
    """R3 (created 2020) moves from B to C: record_rate 202606 B 1/2 → 0/2 and C gets 1/0 ("—")."""
    refresh(full=True)
    resident_transfer(user=world.county.clinician, resident=world.r3, to_village_code=C)
    refresh()
    got = numbers("record_rate", "202606")
    assert got[B] == (0, 2, 0.0)
    assert got[C] == (1, 0, None)


# ---------------------------------------------------------------- a crash half-way


def test_a_crash_half_way_keeps_the_stored_values_and_the_next_run_completes(world: World,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine fails on its 4th query, after the new visit's month was exported: the refresh raises,
    the stored values and fingerprints are those of the run before, the run is recorded as failed with
    its error, the mark stays; the next run redoes the month and stores the right value."""
    refresh(full=True)
    before, prints = stored(), fingerprints()
    world.b.visit(world.htn, "followup", d(2026, 3, 12), sbp=128, dbp=78)

    calls = {"n": 0}
    query = DuckDBEngine.query

    def failing(self: DuckDBEngine, sql: str) -> list[tuple[Any, ...]]:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("磁盘已满 (disk full)")
        return query(self, sql)

    monkeypatch.setattr(DuckDBEngine, "query", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        refresh()

    assert stored() == before
    assert fingerprints() == prints
    run = RefreshRun.objects.order_by("-started_at", "-pk").first()
    assert run is not None and run.status == RefreshRun.Status.FAILED
    assert "disk full" in run.error and run.finished_at is not None
    assert DirtyMonth.objects.filter(fact="visits", month=202603).exists()

    monkeypatch.setattr(DuckDBEngine, "query", query)
    report = refresh()

    assert report.months == {"visits": [202603]}
    assert numbers("htn_standard_rate", "202606R12")[A] == (1, 1, 100.0)
    assert RefreshRun.objects.get(pk=report.run).status == RefreshRun.Status.DONE
    assert not DirtyMonth.objects.exists()


# ---------------------------------------------------------------- a changed definition


def test_a_changed_definition_is_recomputed_for_every_period(world: World) -> None:
    """htn_mgmt_rate's prevalence 25% → 50% (a new digest): the next refresh recomputes it for every
    period although no row changed (A 202606: 1 ÷ (2 × 0.5) = 100%); the other indicators keep theirs."""
    refresh(full=True)
    before = stored()
    fixture = next(f for f in rule_fixtures() if f.kind == KIND)
    row = copy.deepcopy(next(r for r in fixture.document["indicators"] if r.get("code") == "htn_mgmt_rate"))
    row["denominator"]["scale"] = 0.5
    result = indicators_load(RuleFixture(app_label="analytics", path=fixture.path, name=fixture.name, kind=KIND,
                                         document={"kind": KIND, "indicators": [row]}))
    assert result.updated == 1
    indicator = Indicator.objects.get(code="htn_mgmt_rate")
    assert indicator.digest != indicator.computed_digest

    report = refresh()

    assert report.months == {}
    assert numbers("htn_mgmt_rate", "202606")[A] == (1, 1.0, 100.0)
    after = stored()
    mine = {k for k in after if k[0] == "htn_mgmt_rate"}
    assert mine == {k for k in before if k[0] == "htn_mgmt_rate"}
    assert all(after[k][3] > before[k][3] for k in mine)
    assert all(after[k] == v for k, v in before.items() if k[0] != "htn_mgmt_rate")
    indicator.refresh_from_db()
    assert indicator.computed_digest == indicator.digest


def _definition(**numerator: Any) -> dict[str, Any]:
    measure = {"label": {"zh-hans": "分子", "en": "Numerator"}, "fact": "visits", "mode": "events",
               "date": "visit_date", **numerator}
    return {"code": "bad_one", "name": {"zh-hans": "试验指标", "en": "Test"}, "group": "试验", "unit": "%",
            "factor": 100, "source": "测试", "formula": {"zh-hans": "分子", "en": "Numerator"},
            "periods": ["month"], "numerator": measure}


@pytest.mark.parametrize(("numerator", "named"), [
    ({"fact": "vists"}, "vists"),  # an unknown fact
    ({"where": "programme = 'hypertension' AND colour = 'red'"}, "colour"),  # an unknown field
    ({"where": "now() > visit_date"}, "now"),  # an unsupported function
    ({"date": "seen_on"}, "seen_on"),  # an unknown date column
    ({"count": "sum:fee"}, "fee"),  # an unknown column to sum
    ({"whre": "item = 'followup'"}, "whre"),  # an unknown key
])
def test_a_bad_definition_is_refused_naming_the_indicator_and_the_name(db: None, numerator: dict[str, Any],
                                                                       named: str) -> None:
    fixture = RuleFixture(app_label="analytics", path=Path("test.yaml"), name="analytics/fixtures/test.yaml",
                          kind=KIND, document={"kind": KIND, "indicators": [_definition(**numerator)]})
    with pytest.raises(RuleFixtureInvalid) as caught:
        indicators_load(fixture)
    message = str(caught.value)
    assert "bad_one" in message and named in message and "analytics/fixtures/test.yaml" in message
    assert not Indicator.objects.filter(code="bad_one").exists()


# ---------------------------------------------------------------- division by zero, bad periods, the commands


def test_a_zero_denominator_is_stored_as_no_value_and_shown_as_a_dash(world: World,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Village D has one record and no population figure: record_rate 202606 = 1 ÷ 0 → value None;
    JSON null, an empty CSV cell, "—" in the table (never 0, never an error)."""
    refresh(full=True)
    value = IndicatorValue.objects.get(indicator__code="record_rate", org_code=D, period="202606")
    assert (value.numerator, value.denominator, value.value) == (1, 0, None)

    assert main(["indicators", "--org", D, "--period", "202606", "--format", "json"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out)
    assert {"indicator": "record_rate", "org": D, "period": "202606", "numerator": 1.0, "denominator": 0.0,
            "value": None} in rows
    assert '"value": null' in out

    assert main(["indicators", "--org", D, "--period", "202606", "--format", "csv",
                 "--indicator", "record_rate"]) == 0
    assert capsys.readouterr().out.splitlines() == ["indicator,org,period,numerator,denominator,value",
                                                    f"record_rate,{D},202606,1.0,0.0,"]

    assert main(["indicators", "--org", D, "--period", "202606", "--indicator", "record_rate"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "record_rate" in x)
    assert line.split()[-1] == "—" and "电子健康档案建档率" in line


@pytest.mark.parametrize("key", ["2025Q5", "202513", "abc", "2025Q0", "202500R12", ""])
def test_a_period_that_does_not_exist_is_refused(key: str) -> None:
    with pytest.raises(PeriodInvalid):
        parse(key)


def test_ygt_indicators_with_a_period_that_does_not_exist_exits_2_with_one_line(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["indicators", "--period", "2025Q5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ygt indicators:") and "2025Q5" in err
    assert "Traceback" not in err


def test_the_commands(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """``ygt analytics refresh --full`` then ``ygt analytics refresh`` (nothing to do), and
    ``ygt indicators --org A --period 202606`` in JSON, CSV and the table.
    Village A, 202606: record_rate 2/4 = 50% · htn_mgmt_rate 1 ÷ (2 × 0.25) = 200% · referrals_up none."""
    assert main(["analytics", "refresh", "--full", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "指标刷新完成（duckdb，全量）" in out
    assert main(["analytics", "refresh"]) == 0
    out = capsys.readouterr().out
    assert "重写 0 个分区" in out and "写入 0 个指标值" in out

    assert main(["indicators", "--org", A, "--period", "202606", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"indicator": "record_rate", "org": A, "period": "202606", "numerator": 2.0, "denominator": 4.0,
         "value": 50.0},
        {"indicator": "htn_mgmt_rate", "org": A, "period": "202606", "numerator": 1.0, "denominator": 0.5,
         "value": 200.0},
    ]
    assert main(["indicators", "--org", A, "--period", "202606", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "indicator,org,period,numerator,denominator,value",
        f"record_rate,{A},202606,2.0,4.0,50.0",
        f"htn_mgmt_rate,{A},202606,1.0,0.5,200.0",
    ]
    assert main(["indicators", "--org", A, "--period", "202606"]) == 0
    table = capsys.readouterr().out
    assert "电子健康档案建档率" in table and "50.0%" in table and "200.0%" in table
    assert main(["indicators", "--org", "999999", "--period", "202606"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_whole_yuan_amounts_export(world: World) -> None:
    """An encounter costing exactly 100.00 yuan at clinic A in 2026-05 (the only one that month):
    the refresh exports it and income 202605 at A is 100.00."""
    load_indicators(["income"])
    world.b.encounter(world.r1, d(2026, 5, 6), cost="100.00")
    refresh(full=True)
    assert numbers("income", "202605")[A] == (100.0, None, 100.0)


def test_an_extract_that_yields_one_month_in_two_tables_keeps_both() -> None:
    """A Python extract (doses) yields its rows in batches; a month spread over two batches is one
    partition with the rows of both, not the last batch's only."""
    import dataclasses

    import pyarrow as pa

    from yigongti.analytics import export
    from yigongti.analytics.facts import FACTS

    fact = FACTS["coverage"]

    def table(ids: list[int], year: int) -> pa.Table:
        start = dt.date(year, 1, 1)
        n = len(ids)
        return pa.table({"id": ids, "resident_id": ids, "year": [year] * n, "enrolled": [True] * n,
                         "valid_from": [start] * n, "valid_to": [dt.date(year + 1, 1, 1)] * n,
                         "county": ["c"] * n, "township": ["t"] * n, "village": ["v"] * n, "_partition": [start] * n})

    def extract(_fact: Any, _ranges: Any) -> Any:
        yield table([1, 2], 2025)
        yield table([3], 2025)
        yield table([4], 2026)

    batched = dataclasses.replace(fact, extract=extract)
    months = {month: sorted(part["id"].to_pylist()) for month, part in export.month_tables(batched, None, {})}
    assert months == {202501: [1, 2, 3], 202601: [4]}
