"""The two engines give the same numbers: DuckDB (default) and Spark (PySpark, ``local[2]``).

- One compiled measure over a tiny hand-made set of Parquet partitions: both engines return the
  counts worked out by hand (village → township → county roll-up, month and quarter periods).
- The small demo county, built once for this module: ``refresh(full=True)`` on DuckDB, every stored
  value snapshotted, then ``refresh(full=True)`` on Spark over the same export; the two snapshots
  must match row by row (floats after rounding to 6 places), the first differences named.

Spark needs a Java runtime and pyspark (``.[spark]``); without them these tests are skipped (the
``spark`` marker), like the MPI's Spark test. The session is shared by the module and stopped at
its end so that a later module (the MPI's, with its own jar) starts its own.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from yigongti.analytics import export
from yigongti.analytics.compiler import compile_measure
from yigongti.analytics.definitions import Measure
from yigongti.analytics.engines import DuckDBEngine, SparkEngine
from yigongti.analytics.facts import FACTS
from yigongti.analytics.models import Indicator, IndicatorValue, Population
from yigongti.analytics.periods import Period, make, month_index
from yigongti.analytics.refresh import refresh
from yigongti.core.clock import frozen

pytestmark = pytest.mark.spark

SEED = 12345
TODAY = dt.date(2026, 3, 15)  # the demo's history and the periods kept end here: the same numbers every run
SPARK_MASTER = "local[2]"
# Two cores, a small county: two shuffle partitions (the default 8 only adds task overhead here).
SPARK = {"YGT_SPARK_MASTER": SPARK_MASTER, "YGT_SPARK_PARTITIONS": 2}

Key = tuple[str, str, str]  # indicator, org, period
Row = tuple[str, str, float, float | None, float | None]  # org level, period type, numerator, denominator, value


def _spark_or_skip() -> None:
    if shutil.which("java") is None:
        pytest.skip("Spark engine: no Java runtime on this machine")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("Spark engine: pyspark is not installed")


@pytest.fixture(scope="module")
def spark_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One Spark session for the module (``local[2]``, 127.0.0.1, no UI), stopped at its end;
    the analytics directory of the module's runs."""
    _spark_or_skip()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:  # a session left by another module would be reused with its settings
        active.stop()
    base = tmp_path_factory.mktemp("analytics")
    with override_settings(YGT_ANALYTICS_DIR=base, **SPARK):
        export.ensure_schema_files()
        engine = SparkEngine([make("month", month_index(2026, 1))])  # starts the session once
        conf = engine.spark.sparkContext.getConf()
        assert conf.get("spark.master") == SPARK_MASTER
        assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
        assert conf.get("spark.ui.enabled") == "false"
        engine.close()
        try:
            yield base
        finally:
            engine.spark.stop()


# ------------------------------------------------------------------ one measure, hand-made Parquet

V1, V2, V3 = "522301101201", "522301101202", "522301102201"  # villages: V1, V2 in township T1, V3 in T2
T1, T2, COUNTY = "522301101", "522301102", "522301"


def _encounters(rows: list[tuple[int, str, str, bool, str]]) -> pa.Table:
    """Encounters ``(id, start_date, kind, in_county, village)`` with every other column filled."""
    fact = FACTS["encounters"]
    columns: dict[str, list[Any]] = {c.name: [] for c in fact.columns}
    for pk, start, kind, in_county, village in rows:
        township = village[:9]
        values = {"id": pk, "resident_id": 1000 + pk, "kind": kind, "start_date": dt.date.fromisoformat(start),
                  "end_date": None, "in_county": in_county, "tier": "village" if in_county else None,
                  "booked": False, "total_cost": None, "county": COUNTY, "township": township, "village": village,
                  "inst_county": COUNTY, "inst_township": township, "inst_village": village}
        for name in columns:
            columns[name].append(values[name])
    return pa.table(columns, schema=fact.schema)


def test_spark_runs_one_compiled_measure_over_hand_made_parquet(spark_dir: Path, tmp_path: Path) -> None:
    fact = FACTS["encounters"]
    export.ensure_schema_files(tmp_path)
    export.write_partition(fact, 202601, _encounters([
        (1, "2026-01-03", "outpatient", True, V1),
        (2, "2026-01-31", "outpatient", True, V1),
        (3, "2026-01-15", "inpatient", True, V2),   # not outpatient
        (4, "2026-01-20", "outpatient", False, V3),  # outside the county
        (5, "2026-01-21", "emergency", True, V3),
    ]), tmp_path)
    export.write_partition(fact, 202602, _encounters([
        (6, "2026-02-01", "outpatient", True, V2),
        (7, "2026-02-28", "emergency", True, V3),
    ]), tmp_path)
    export.write_partition(fact, 202604, _encounters([
        (8, "2026-04-01", "outpatient", True, V1),  # second quarter: in no period asked for
    ]), tmp_path)
    measure = Measure(fact="encounters", mode="events", date="start_date",
                      where="in_county AND kind <> 'inpatient'")
    sql = compile_measure("test", "numerator", measure, ("month", "quarter"))
    periods: list[Period] = [make("month", month_index(2026, 1)), make("month", month_index(2026, 2)),
                             make("quarter", month_index(2026, 3))]
    expected = {
        ("202601", V1, "village"): 2, ("202601", V3, "village"): 1,
        ("202601", T1, "township"): 2, ("202601", T2, "township"): 1, ("202601", COUNTY, "county"): 3,
        ("202602", V2, "village"): 1, ("202602", V3, "village"): 1,
        ("202602", T1, "township"): 1, ("202602", T2, "township"): 1, ("202602", COUNTY, "county"): 2,
        ("2026Q1", V1, "village"): 2, ("2026Q1", V2, "village"): 1, ("2026Q1", V3, "village"): 2,
        ("2026Q1", T1, "township"): 3, ("2026Q1", T2, "township"): 2, ("2026Q1", COUNTY, "county"): 5,
    }
    with override_settings(**SPARK):
        spark = SparkEngine(periods, base=tmp_path)
        try:
            spark_rows = spark.query(sql)
        finally:
            spark.close()
    duck = DuckDBEngine(periods, base=tmp_path)
    try:
        duck_rows = duck.query(sql)
    finally:
        duck.close()
    assert {(p, org, lvl): int(v) for p, org, lvl, v in spark_rows} == expected
    assert {(p, org, lvl): int(v) for p, org, lvl, v in duck_rows} == expected


# ------------------------------------------------------------------ the demo county on both engines


@pytest.fixture(scope="module")
def demo_county(spark_dir: Path, django_db_setup: Any, django_db_blocker: Any) -> Iterator[Path]:
    """The small demo county (every module whose rows a fact reads: all but the medicines) with the rules
    loaded and a population figure per village and year, built once inside a transaction that is rolled
    back at the module's end."""
    from yigongti.demo.builder import MODULES

    modules = [name for name, _build in MODULES if name != "medicines"]
    with django_db_blocker.unblock(), frozen(TODAY), override_settings(YGT_DEMO_MODULES=modules):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            from yigongti.demo.builder import county_build
            from yigongti.registry.choices import DivisionLevel
            from yigongti.registry.models import Division
            from yigongti.residents.models import Resident

            call_command("rules", "load", stdout=io.StringIO())
            county_build(seed=SEED, scale="small")
            if not Population.objects.exists():  # a demo without its analytics module: figures of our own
                villages = list(Division.objects.filter(level=DivisionLevel.VILLAGE).order_by("code"))
                counts = {path: 0 for path in (v.path for v in villages)}
                for path in Resident.objects.values_list("path", flat=True):
                    if path in counts:
                        counts[path] += 1
                Population.objects.bulk_create([
                    Population(division=v, year=year, population=round(counts[v.path] * 1.08) + 7 * n + year % 5,
                               source="test")
                    for n, v in enumerate(villages) for year in range(TODAY.year - 3, TODAY.year + 1)])
            yield spark_dir
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _snapshot() -> dict[Key, Row]:
    return {(code, org, period): (level, ptype, round(n, 6), None if d is None else round(d, 6),
                                  None if v is None else round(v, 6))
            for code, org, period, level, ptype, n, d, v in IndicatorValue.objects.values_list(
                "indicator__code", "org_code", "period", "org_level", "period_type", "numerator", "denominator",
                "value")}


def _differences(duck: dict[Key, Row], spark: dict[Key, Row], limit: int = 15) -> list[str]:
    lines = []
    for key in sorted(set(duck) | set(spark)):
        if duck.get(key) != spark.get(key):
            lines.append(f"{'/'.join(key)}: duckdb {duck.get(key)} ≠ spark {spark.get(key)}")
    by_indicator: dict[str, int] = {}
    for line in lines:
        code = line.split("/", 1)[0]
        by_indicator[code] = by_indicator.get(code, 0) + 1
    summary = ", ".join(f"{code} ×{n}" for code, n in sorted(by_indicator.items()))
    return [f"{len(lines)} differences ({summary})", *lines[:limit]]


@pytest.mark.django_db
def test_duckdb_and_spark_store_the_same_values_for_the_demo_county(demo_county: Path) -> None:
    with frozen(TODAY), override_settings(YGT_ANALYTICS_DIR=demo_county, **SPARK):
        first = refresh(full=True, engine="duckdb")
        duck = _snapshot()
        second = refresh(full=True, engine="spark")
        spark = _snapshot()

    # Every fact has its source app (cases: surveillance, coverage: insurance): no fact is pending,
    # and neither engine skips an indicator.
    assert not [name for name, fact in FACTS.items() if fact.pending]
    assert not first.skipped and not second.skipped
    # Not vacuous: the demo gives values for the indicators of every source it has.
    assert len(duck) > 5000
    with_values = {code for code, _org, _period in duck}
    for code in ("record_rate", "record_use_rate", "htn_mgmt_rate", "htn_standard_rate", "htn_control_rate",
                 "dm_control_rate", "elderly_mgmt_rate", "in_county_rate", "primary_share", "income",
                 "income_growth", "referrals_up", "beds_per_1000", "doctors_per_1000", "recognition_rate",
                 "recognition_saved", "imm_rate", "notifiable_timeliness", "notifiable_incidence",
                 "insurance_coverage"):
        assert code in with_values, code
    assert {level for level, *_rest in duck.values()} == {"county", "township", "village"}
    assert Indicator.objects.filter(active=True).count() == first.indicators == second.indicators

    assert duck == spark, "\n".join(_differences(duck, spark))
