"""The engines that run compiled indicator SQL over the Parquet facts: DuckDB in-process (default)
and Apache Spark (PySpark; ``local[*]`` unless ``settings.YGT_SPARK_MASTER`` names a cluster).

Both see the same relations: one view per fact (its partitions) and the two period tables of
:mod:`.compiler`. ``query`` returns plain tuples ``(period, org, lvl, v)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yigongti.core.errors import DomainError
from yigongti.core.spark import session as spark_session

from .export import fact_dir, fact_glob
from .export import root as export_root
from .facts import FACTS
from .periods import Period


class EngineUnavailable(DomainError):
    code = "engine_unavailable"
    status = 503
    message = gettext_lazy("计算引擎 %(engine)s 不可用：%(reason)s")


class Engine(Protocol):
    name: str

    def query(self, sql: str) -> list[tuple[Any, ...]]: ...

    def set_periods(self, periods: Iterable[Period]) -> None: ...

    def close(self) -> None: ...


def period_tables(periods: Iterable[Period]) -> tuple[pa.Table, pa.Table]:
    """``period_months`` and ``period_at`` (see :mod:`.compiler`) for ``periods``."""
    months: dict[str, list[Any]] = {"period": [], "ptype": [], "mi": []}
    at: dict[str, list[Any]] = {"period": [], "ptype": [], "at_mi": [], "mid_mi": []}
    for period in periods:
        for mi in period.months:
            months["period"].append(period.key)
            months["ptype"].append(period.type)
            months["mi"].append(mi)
        at["period"].append(period.key)
        at["ptype"].append(period.type)
        at["at_mi"].append(period.last)
        at["mid_mi"].append(period.mid)
    schema_m = pa.schema([("period", pa.string()), ("ptype", pa.string()), ("mi", pa.int32())])
    schema_a = pa.schema([("period", pa.string()), ("ptype", pa.string()), ("at_mi", pa.int32()),
                          ("mid_mi", pa.int32())])
    return pa.table(months, schema=schema_m), pa.table(at, schema=schema_a)


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, periods: Iterable[Period], base: Path | None = None, threads: int | None = None) -> None:
        import duckdb

        # Bounded memory: past the limit DuckDB spills to disk beside the facts instead of growing.
        spill = (base or export_root()) / "duckdb.tmp"
        self.connection = duckdb.connect(config={
            "threads": threads or os.cpu_count() or 2,
            "memory_limit": getattr(settings, "YGT_DUCKDB_MEMORY", "4GB"),
            "temp_directory": str(spill),
        })
        for fact in FACTS.values():
            glob = fact_glob(fact.name, base).replace("'", "''")
            self.connection.execute(f"CREATE VIEW {fact.name} AS SELECT * FROM read_parquet('{glob}')")
        self.set_periods(periods)

    def set_periods(self, periods: Iterable[Period]) -> None:
        self._months, self._at = period_tables(periods)
        self.connection.register("period_months", self._months)
        self.connection.register("period_at", self._at)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql).fetchall()

    def close(self) -> None:
        self.connection.close()


class SparkEngine:
    name = "spark"

    def __init__(self, periods: Iterable[Period], base: Path | None = None, master: str | None = None) -> None:
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:  # the optional extra .[spark]
            raise EngineUnavailable(engine="spark", reason=_("未安装 PySpark（pip install -e \".[spark]\"）")) from exc
        master = master or getattr(settings, "YGT_SPARK_MASTER", "") or "local[*]"
        try:
            self.spark = spark_session(master, "yigongti-analytics")
        except Exception as exc:  # no JVM, bad master URL
            raise EngineUnavailable(engine="spark", reason=str(exc).splitlines()[0][:200]) from exc
        self.spark.conf.set("spark.sql.shuffle.partitions", str(getattr(settings, "YGT_SPARK_PARTITIONS", 8)))
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        for fact in FACTS.values():
            frame = (self.spark.read.option("recursiveFileLookup", "true")
                     .parquet(str(fact_dir(fact.name, base))))
            frame.createOrReplaceTempView(fact.name)
        self.set_periods(periods)

    def set_periods(self, periods: Iterable[Period]) -> None:
        months, at = period_tables(periods)
        self.spark.createDataFrame(months.to_pylist(), "period string, ptype string, mi int") \
            .createOrReplaceTempView("period_months")
        self.spark.createDataFrame(at.to_pylist(), "period string, ptype string, at_mi int, mid_mi int") \
            .createOrReplaceTempView("period_at")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def close(self) -> None:
        for name in [*FACTS, "period_months", "period_at"]:
            self.spark.catalog.dropTempView(name)


ENGINES = {"duckdb": DuckDBEngine, "spark": SparkEngine}


def open_engine(name: str, periods: Iterable[Period], base: Path | None = None) -> Engine:
    if name not in ENGINES:
        raise EngineUnavailable(engine=name, reason=_("应为 duckdb 或 spark"))
    return ENGINES[name](list(periods), base)
