"""Export the OLTP tables to Parquet fact partitions (one file per fact and month).

Layout under ``settings.YGT_ANALYTICS_DIR``: ``facts/<fact>/m<YYYYMM>.parquet``, plus
``facts/<fact>/m000000.parquet``, an empty file that carries the schema so that an engine can read
a fact without rows. A partition is written to a temporary name and moved into place; a month
whose source rows are gone loses its file.

On PostgreSQL the rows leave the database through ``COPY (SELECT …) TO STDOUT`` as CSV and are
parsed by pyarrow (no Python object per value); on SQLite through the cursor. Either way one
month is in memory at a time.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.db.models.functions import TruncMonth

from yigongti.registry.models import Division

from .facts import FACTS, ORG_LEVELS, Fact
from .periods import from_yyyymm, month_start

EMPTY = 0


def root() -> Path:
    return Path(settings.YGT_ANALYTICS_DIR)


def fact_dir(name: str, base: Path | None = None) -> Path:
    return (base or root()) / "facts" / name


def partition_path(name: str, month: int, base: Path | None = None) -> Path:
    return fact_dir(name, base) / f"m{month:06d}.parquet"


def fact_glob(name: str, base: Path | None = None) -> str:
    return str(fact_dir(name, base) / "*.parquet")


# ---------------------------------------------------------------- the org tree

def org_levels() -> dict[str, tuple[str | None, str | None, str | None]]:
    """Division path → (county, township, village) codes, for every division of the tree."""
    level_of = dict(Division.objects.values_list("code", "level"))
    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    for path in Division.objects.values_list("path", flat=True):
        codes = dict.fromkeys(ORG_LEVELS)
        for code in path.split("/"):
            if level_of.get(code) in codes:
                codes[level_of[code]] = code
        found[path] = (codes["county"], codes["township"], codes["village"])
    return found


def _with_orgs(fact: Fact, table: pa.Table, levels: dict[str, tuple[str | None, str | None, str | None]]) -> pa.Table:
    for prefix, raw in fact.orgs.items():
        paths = table[raw].combine_chunks()
        encoded = paths.dictionary_encode()
        dictionary = encoded.dictionary.to_pylist()
        for position, level in enumerate(ORG_LEVELS):
            mapped = pa.array([(levels.get(p) or (None, None, None))[position] if p else None for p in dictionary],
                              pa.string())
            column = pc.take(mapped, encoded.indices)
            table = table.append_column(f"{prefix}{level}", column)
    return table


# ---------------------------------------------------------------- reading the source rows

def _cast(array: pa.Array, target: pa.DataType) -> pa.Array:
    if array.type == target:
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target)
    if pa.types.is_date32(target) and pa.types.is_string(array.type):
        return pc.cast(pc.utf8_slice_codeunits(array, 0, 10), target)
    if pa.types.is_decimal(target) and (pa.types.is_floating(array.type) or pa.types.is_string(array.type)
                                        or pa.types.is_integer(array.type)):
        return pc.cast(pc.round(pc.cast(array, pa.float64()), 2), target, safe=False)
    return pc.cast(array, target, safe=False)


def _raw_types(fact: Fact, names: list[str]) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for name in names:
        column = fact.column(name)
        types[name] = column.type if column is not None else (pa.date32() if name.endswith("_date") else pa.string())
    return types


def _read_sqlite(sql: str, params: Any, names: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for name, values in zip(names, columns, strict=True):
        raw = pa.array(list(values), from_pandas=False) if values else pa.nulls(0)
        arrays.append(_cast(raw, types[name]))
    return pa.table(dict(zip(names, arrays, strict=True)))


def _read_postgres(sql: str, params: Any, names: list[str], types: dict[str, pa.DataType]) -> pa.Table:
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    literal = psycopg.ClientCursor(raw).mogrify(sql, params)
    buffer = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({literal}) TO STDOUT (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return pa.table({name: pa.array([], types[name]) for name in names})
    buffer.seek(0)
    parse_types = {name: (pa.string() if pa.types.is_decimal(t) else t) for name, t in types.items()}
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(column_types=parse_types, true_values=["t"], false_values=["f"],
                                              strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    return pa.table({name: _cast(table[name].combine_chunks(), types[name]) for name in names})


def read_rows(fact: Fact, ranges: list[tuple[dt.date, dt.date]] | None, *, with_month: bool = False) -> pa.Table:
    """The raw selected columns of the fact's source rows in ``ranges`` (all rows for ``None``);
    ``with_month`` adds ``_month``, the partition month as text (``2026-03…``, or the year)."""
    queryset = fact.queryset().order_by()
    if ranges is not None:
        queryset = queryset.filter(fact.month_filter(ranges))
    select = dict(fact.select)
    if with_month:
        select["_month"] = F(fact.partition) if fact.yearly else TruncMonth(fact.partition)
    expressions = {name: value for name, value in select.items() if not isinstance(value, str)}
    aliases = {f"_x_{name}": value for name, value in expressions.items()}
    if aliases:
        queryset = queryset.annotate(**aliases)
    fields = [f"_x_{name}" if name in expressions else value for name, value in select.items()]
    names = list(select)
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    reader = _read_postgres if connection.vendor == "postgresql" else _read_sqlite
    return reader(sql, params, names, _raw_types(fact, names))


def finish(fact: Fact, table: pa.Table, levels: dict[str, tuple[str | None, str | None, str | None]]) -> pa.Table:
    """Raw columns → the fact's declared columns: org levels, derived columns, schema order."""
    table = _with_orgs(fact, table, levels)
    if fact.derive is not None:
        table = fact.derive(table)
    return pa.table({c.name: _cast(table[c.name].combine_chunks(), c.type) for c in fact.columns})


BATCH_ROWS = 2_000_000  # source rows read by one query at most (memory), months grouped up to it


def month_tables(fact: Fact, months: list[int] | None, levels: dict[str, tuple[str | None, str | None, str | None]],
                 counts: dict[int, int] | None = None) -> Iterator[tuple[int, pa.Table]]:
    """(YYYYMM, rows of that partition) for each of ``months`` (every month with rows for ``None``).

    Months are read in groups of up to :data:`BATCH_ROWS` rows (by ``counts``, the rows per month
    the fingerprints counted) — one query per group, not per month: a table whose partition date is
    not indexed is scanned once per group.
    """
    if fact.extract is not None:
        # An extract may yield a month's rows in several tables (doses come in batches of
        # enrolments): gather them, or the month's partition would hold only the last batch.
        ranges = None if months is None else [_range(m, fact) for m in months]
        parts: dict[int, list[pa.Table]] = {}
        for table in fact.extract(fact, ranges):
            for key, part in _split(fact, table):
                parts.setdefault(key, []).append(part)
        for key in sorted(parts):
            yield key, pa.concat_tables(parts[key])
        return
    if counts is None:
        counts = {m: int(f.split(":")[0]) for m, f in fact.default_fingerprints().items()}
    wanted = sorted(months if months is not None else counts)
    group: list[int] = []
    size = 0
    for month in [*wanted, None]:
        if month is not None and (not group or size + counts.get(month, 0) <= BATCH_ROWS):
            group.append(month)
            size += counts.get(month, 0)
            continue
        if group:
            rows = read_rows(fact, [_range(m, fact) for m in group], with_month=True)
            keys = _month_keys(rows["_month"].combine_chunks(), fact.yearly)
            for key in sorted(set(keys.to_pylist()) & set(group)):
                part = rows.filter(pc.equal(keys, key))
                yield key, finish(fact, part, levels)
        if month is None:
            break
        group, size = [month], counts.get(month, 0)


def _month_keys(values: pa.Array, yearly: bool) -> pa.Array:
    """``_month`` (``2026-03-01…`` text, or a year) → YYYYMM integers."""
    text = pc.cast(values, pa.string())
    year = pc.cast(pc.utf8_slice_codeunits(text, 0, 4), pa.int32())
    if yearly:
        return pc.add(pc.multiply(year, 100), 1)
    return pc.add(pc.multiply(year, 100), pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int32()))


def _range(month: int, fact: Fact) -> tuple[dt.date, dt.date]:
    """The first day of partition ``month`` and of the month after (a yearly fact's month is YYYY01)."""
    mi = from_yyyymm(month)
    return month_start(mi), month_start(mi + 1)


def _split(fact: Fact, table: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """Split a table computed in Python (``fact.extract``) by the month of ``_partition``."""
    months = pc.add(pc.multiply(pc.year(table["_partition"]), 100), pc.month(table["_partition"]))
    for month in sorted(set(months.to_pylist())):
        mask = pc.equal(months, month)
        part = table.filter(mask).drop_columns(["_partition"])
        yield int(month), pa.table({c.name: _cast(part[c.name].combine_chunks(), c.type) for c in fact.columns})


# ---------------------------------------------------------------- writing partitions

def write_partition(fact: Fact, month: int, table: pa.Table, base: Path | None = None) -> None:
    target = partition_path(fact.name, month, base)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".parquet.tmp")
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, target)


def drop_partition(fact: Fact, month: int, base: Path | None = None) -> None:
    target = partition_path(fact.name, month, base)
    if target.exists():
        target.unlink()


def ensure_schema_files(base: Path | None = None) -> None:
    """The empty schema partition of every fact (rewritten when the schema changed)."""
    for fact in FACTS.values():
        target = partition_path(fact.name, EMPTY, base)
        if target.exists() and pq.read_schema(target).equals(fact.schema, check_metadata=False):
            continue
        write_partition(fact, EMPTY, fact.schema.empty_table(), base)


def written_months(name: str, base: Path | None = None) -> set[int]:
    directory = fact_dir(name, base)
    if not directory.exists():
        return set()
    return {int(p.stem[1:]) for p in directory.glob("m*.parquet")} - {EMPTY}
