"""Plain rows into any table, fast, for the demo modules that write many rows with their ids
(``care``, ``referrals`` and the benchmarks built on them).

:func:`ids_draw` gives the ids first (so child rows can name their parent before anything is
written); :func:`table_insert` writes dicts keyed by attname with
:class:`~yigongti.residents.bulk.BulkTable` — ``COPY … FROM STDIN`` on PostgreSQL,
``executemany`` on SQLite — converting values per column (decided once per column: value-by-value
``isinstance`` chains were the bulk of the write time). Always in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

from yigongti.residents.bulk import BulkTable


def _utc_text(value: dt.datetime) -> str:
    """An aware datetime as SQLite stores it with USE_TZ (naive UTC text, as Django writes it)."""
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _converters(fields: Sequence[models.Field[Any, Any]], postgres: bool) -> list[Callable[[Any], Any] | None]:
    """Per column, how a Python value goes to the driver (None: as it is). Decided once per column:
    converting value by value with isinstance chains was the bulk of the demo's write time."""
    found: list[Callable[[Any], Any] | None] = []
    for f in fields:
        kind = f.get_internal_type()
        convert: Callable[[Any], Any] | None = None
        if kind == "JSONField":
            convert = _json_text
        elif postgres:
            convert = None
        elif kind == "DateTimeField":
            convert = _utc_text
        elif kind in ("DateField", "TimeField"):
            convert = _iso
        elif kind == "BooleanField":
            convert = int
        elif kind == "DecimalField":
            convert = str
        found.append(convert)
    return found


def _json_text(value: Any) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}" if isinstance(value, dict) else json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def _iso(value: Any) -> Any:
    return value.isoformat()


def ids_draw(model: type[models.Model], n: int) -> list[int]:
    """``n`` new ids for ``model``: PostgreSQL from its sequence; SQLite after the current maximum
    (the demo writes in one transaction that holds SQLite's write lock, so nobody else takes them)."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return BulkTable(cursor.cursor).draw_ids(table, n)
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        last = int(cursor.fetchone()[0])
    return list(range(last + 1, last + 1 + n))


def table_insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert plain rows (dicts keyed by attname, ``id`` included when drawn) into ``model``'s
    table: COPY on PostgreSQL, ``executemany`` on SQLite. Missing fields take their default
    (``auto_now_add``: now). Returns how many."""
    if not rows:
        return 0
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or "id" in rows[0]]
    defaults: dict[str, Any] = {}
    for f in fields:
        stamped = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        defaults[f.attname] = now if stamped else (None if f.primary_key else f.get_default())
    names = [f.attname for f in fields]
    fallback = [defaults[name] for name in names]
    convert = [(i, c) for i, c in enumerate(_converters(fields, connection.vendor == "postgresql")) if c is not None]

    def records() -> Iterator[list[Any]]:
        for row in rows:
            get = row.get
            record = [get(name, default) for name, default in zip(names, fallback)]  # noqa: B905 (same length)
            for i, c in convert:
                value = record[i]
                if value is not None:
                    record[i] = c(value)
            yield record

    with connection.cursor() as cursor:
        BulkTable(cursor.cursor).insert(model._meta.db_table, [str(f.column) for f in fields], records())
    return len(rows)
