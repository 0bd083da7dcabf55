"""The fast paths that write many enrolments, visits and visit plans at once (the demo, a
county-wide re-plan after a rule change, the benchmarks).

:func:`plans_rebuild` recomputes the stored plan (:class:`~.models.ScheduledVisit`) of many
enrolments a batch at a time: it reads the enrolments and ALL visits of each (resident, programme)
with two plain SQL queries per batch (tuples, no model instances), runs the pure plan engine —
the same inputs as :func:`yigongti.programmes.services_plan.replan_batch`, so the same plan —,
deletes the batch's old rows and writes the pending ones (``COPY … FROM STDIN`` on PostgreSQL,
``executemany`` of one INSERT on SQLite), and updates the enrolments' denormalised columns
(``next_due``, ``classification``, ``refer``, ``last_visit_on``, ``planned_at``) set-based.
On PostgreSQL, called outside a transaction, forked workers can read and plan while the main
process writes (1,000,000 residents: about 2 minutes on 2 cores, ``benchmarks/bench_plans.py``).

Writes run in one transaction (a savepoint of the caller's, if any); nothing commits half-way.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection, connections, models, transaction
from django.utils import timezone

from yigongti.residents.bulk import BulkTable

from .choices import EnrolmentStatus
from .engine import plan, still_to_do
from .engine.fields import stored_value
from .engine.types import Directive, PlanRow, ProgrammeSpec, Service, Value
from .models import CarePlan, Enrolment, Programme, ScheduledVisit, Visit
from .specs import ProgrammeNotLoaded, spec_for

BATCH = 5000
# Interval programmes store the pending rows of the next year only (age schedules: all of them).
HORIZON_DAYS = 365
_SCHEDULED_COLUMNS = ["enrolment_id", "resident_id", "programme_id", "path", "item", "due", "window_start",
                      "window_end", "catch_up", "refer"]


# ---------------------------------------------------------------- writing rows


class _Writer(BulkTable):
    """:class:`~yigongti.residents.bulk.BulkTable` with the values adapted for SQLite (dates, JSON,
    booleans) — the plan rows come straight from the engine."""

    def insert(self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]) -> None:
        if not self.postgres:
            records = [[_sqlite(v) for v in record] for record in records]
        super().insert(table, columns, records)


def _sqlite(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    if value is not None and not isinstance(value, (int, str, float)):
        return str(value)  # Decimal
    return value


def _json(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def rows_insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, ids: bool = False) -> list[int]:
    """Insert plain rows (dicts keyed by field attname) into ``model``'s table; missing fields
    take their default (``auto_now``/``auto_now_add`` stamps: now). Returns the new ids when
    ``ids`` (PostgreSQL: drawn from the sequence first; SQLite: ``bulk_create``'s)."""
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults: dict[str, Any] = {}
    for f in fields:
        stamped = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        defaults[f.attname] = now if stamped else f.get_default()
    table = model._meta.db_table
    with transaction.atomic():
        if connection.vendor != "postgresql" and ids:
            objects = [model(**{**defaults, **row}) for row in rows]
            model._default_manager.bulk_create(objects, batch_size=BATCH)
            return [int(o.pk) for o in objects]
        with connection.cursor() as wrapper:
            writer = _Writer(wrapper.cursor)
            columns = [str(f.column) for f in fields]
            attnames = [f.attname for f in fields]
            drawn = writer.draw_ids(table, len(rows)) if writer.postgres and ids else []
            records = ([_json(row.get(a, defaults[a])) for a in attnames] for row in rows)
            if drawn:
                writer.insert(table, ["id", *columns], ([pk, *rec] for pk, rec in zip(drawn, records, strict=True)))
            else:
                writer.insert(table, columns, records)
    return drawn


def enrolments_bulk_create(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert enrolments (dicts: ``resident_id``, ``programme_id``, ``path``, ``anchor_date``,
    ``enrolled_on``, ``how`` and optionally the other columns); returns their ids in order.
    Rows arrive checked (one active enrolment per resident and programme). No plan is made:
    call :func:`plans_rebuild` with the ids."""
    return rows_insert(Enrolment, rows, ids=True)


def visits_bulk_create(rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert visits (dicts: ``enrolment_id``, ``resident_id``, ``programme_id``, ``path``, ``item``,
    ``visit_date``, measurement columns, ``classification`` …); returns how many."""
    rows_insert(Visit, rows)
    return len(rows)


# ---------------------------------------------------------------- plans


Columns = Sequence[tuple[str, str | None, str]]


def value_columns(spec: ProgrammeSpec) -> list[tuple[str, str | None, str]]:
    """(field code, Visit column or None for ``Visit.data``, field type) of a programme's form."""
    return [(code, f.column, f.type) for code, f in spec.fields.items()]


class _Job:
    """One enrolment to plan: what the engine needs, without model instances."""

    __slots__ = ("anchor", "directives", "enrolment_id", "history", "programme_id", "variant")

    def __init__(self, enrolment_id: int, programme_id: int, anchor: dt.date, history: list[Service],
                 variant: Mapping[str, str], directives: list[Directive]) -> None:
        self.enrolment_id, self.programme_id, self.anchor = enrolment_id, programme_id, anchor
        self.history, self.variant, self.directives = history, variant, directives


# Specs of the current run, by programme id; set before a worker pool forks so workers inherit them.
_SPECS: dict[int, ProgrammeSpec] = {}
_COLUMNS: dict[int, Columns] = {}


def _plan_jobs(jobs: Sequence[_Job], as_of: dt.date) -> list[tuple[int, list[PlanRow]]]:
    """Run the engine for each job (in this process or a worker): (enrolment id, pending rows)."""
    out = []
    for job in jobs:
        spec = _SPECS[job.programme_id]
        rows = plan(spec, anchor=job.anchor, history=job.history, as_of=as_of, variant=job.variant or None,
                    horizon_days=HORIZON_DAYS, directives=job.directives)
        out.append((job.enrolment_id, still_to_do(spec, rows, as_of=as_of, horizon_days=HORIZON_DAYS)))
    return out


def plans_rebuild(enrolment_ids: Iterable[int] | None = None, *, as_of: dt.date, programme_code: str | None = None,
                  batch: int = BATCH, workers: int = 1) -> int:
    """Recompute and store the plans of many enrolments; returns the ScheduledVisit rows written.

    ``enrolment_ids`` None: every active enrolment (of ``programme_code`` if given). Closed
    enrolments among the ids lose their pending rows. The spec of each programme is the version
    in force on ``as_of``, parsed once. Enrolments are taken in order of resident, so that the
    visits of a batch are one range of residents.

    ``workers`` > 1 (PostgreSQL, called outside any transaction — so everything it reads is
    committed): that many forked processes read and plan the batches, each with its own
    connection, while this process writes them all in one transaction. Otherwise everything
    happens here, in the caller's transaction.
    """
    codes = dict(Programme.objects.values_list("id", "code"))
    _SPECS.clear()
    _COLUMNS.clear()
    for pid, code in codes.items():
        if programme_code is None or code == programme_code:
            try:
                _SPECS[pid] = spec_for(code, as_of)
            except ProgrammeNotLoaded:  # no version in force on as_of: nothing to plan
                continue
            _COLUMNS[pid] = value_columns(_SPECS[pid])
    if not _SPECS:
        return 0
    ids = _ordered(enrolment_ids)
    chunks = [ids[start:start + batch] for start in range(0, len(ids), batch)]
    parallel = (workers > 1 and len(chunks) > 1 and connection.vendor == "postgresql"
                and not connection.in_atomic_block)
    if not parallel:
        with transaction.atomic():
            return sum(_store(_compute(chunk, as_of), as_of) for chunk in chunks)
    written = 0
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start)
    try:
        with transaction.atomic():
            in_flight = [pool.apply_async(_worker_compute, (chunk, as_of)) for chunk in chunks[:2 * workers]]
            for following in [*chunks[2 * workers:], *[None] * len(in_flight)]:
                written += _store(in_flight.pop(0).get(), as_of)
                if following is not None:
                    in_flight.append(pool.apply_async(_worker_compute, (following, as_of)))
    finally:
        pool.terminate()
    return written


_DETACHED: list[Any] = []  # in a worker: the parent's database connections, never used nor closed


def _worker_start() -> None:
    """In a forked worker: forget the parent's connections (without closing them — that would end
    the parent's session); Django opens the worker's own on first use."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _DETACHED.append(conn.connection)
            conn.connection = None


def _worker_compute(chunk: Sequence[int], as_of: dt.date) -> _Batch:
    try:
        return _compute(chunk, as_of)
    finally:
        connection.close()


class _Batch:
    """A batch ready to store: its enrolment ids, the rows (COPY text on PostgreSQL, tuples on
    SQLite), how many, and the enrolments' new columns."""

    __slots__ = ("chunk", "count", "payload", "updates")

    def __init__(self, chunk: Sequence[int], payload: Any, count: int, updates: list[tuple[Any, ...]]) -> None:
        self.chunk, self.payload, self.count, self.updates = chunk, payload, count, updates


def _compute(chunk: Sequence[int], as_of: dt.date) -> _Batch:
    """Read a batch, plan it, and format what to store."""
    jobs, meta = _read_batch(chunk, _COLUMNS)
    planned = _plan_jobs(jobs, as_of)
    updates: list[tuple[Any, ...]] = []
    if connection.vendor == "postgresql":  # COPY text built here: much faster than adapting row by row
        lines = []
        for enrolment_id, rows in planned:
            m = meta[enrolment_id]
            head = f"{enrolment_id}\t{m.resident_id}\t{m.programme_id}\t{_copy_text(m.path)}\t"
            for r in rows:
                lines.append(f"{head}{_copy_text(r.item)}\t{r.due}\t{r.window_start}\t{r.window_end}\t"
                             f"{'t' if r.catch_up else 'f'}\t{'t' if r.refer else 'f'}\n")
            updates.append((enrolment_id, min((r.due for r in rows), default=None), m.classification, m.refer,
                            m.last_visit_on))
        return _Batch(chunk, "".join(lines), len(lines), updates)
    records: list[tuple[Any, ...]] = []
    for enrolment_id, rows in planned:
        m = meta[enrolment_id]
        records.extend((enrolment_id, m.resident_id, m.programme_id, m.path, r.item, r.due.isoformat(),
                        r.window_start.isoformat(), r.window_end.isoformat(), int(r.catch_up), int(r.refer))
                       for r in rows)
        updates.append((enrolment_id, min((r.due for r in rows), default=None), m.classification, m.refer,
                        m.last_visit_on))
    return _Batch(chunk, records, len(records), updates)


def _store(batch: _Batch, as_of: dt.date) -> int:
    """Replace the batch's ScheduledVisit rows and update its enrolments; returns rows written."""
    table = ScheduledVisit._meta.db_table
    names = ", ".join(_SCHEDULED_COLUMNS)
    with connection.cursor() as wrapper:
        in_ids, id_params = _in("enrolment_id", batch.chunk)
        wrapper.execute(f"DELETE FROM {table} WHERE {in_ids}", id_params)
        writer = _Writer(wrapper.cursor)
        if batch.count and writer.postgres:
            with writer.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                copy.write(batch.payload)
        elif batch.count:
            writer.cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * 10)})", batch.payload)
        _update_enrolments(writer, batch.updates, as_of)
    return batch.count


def _in(column: str, values: Sequence[int]) -> tuple[str, list[Any]]:
    """``column`` among ``values``: one array parameter on PostgreSQL (no 5,000-parameter query
    to build and parse), an IN list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _ordered(enrolment_ids: Iterable[int] | None) -> list[int]:
    """The enrolments to plan (all active ones of the loaded programmes, or the given ones — of any
    status, so closed ones lose their rows), sorted by resident."""
    table = Enrolment._meta.db_table
    programmes = sorted(_SPECS)
    with connection.cursor() as cursor:
        in_programmes, programme_params = _in("programme_id", programmes)
        if enrolment_ids is None:
            cursor.execute(f"SELECT id FROM {table} WHERE status = %s AND {in_programmes} ORDER BY resident_id, id",
                           [EnrolmentStatus.ACTIVE.value, *programme_params])
            return [pk for (pk,) in cursor.fetchall()]
        given = sorted(set(enrolment_ids))
        pairs: list[tuple[int, int]] = []
        for start in range(0, len(given), BATCH):
            in_ids, id_params = _in("id", given[start:start + BATCH])
            cursor.execute(f"SELECT resident_id, id FROM {table} WHERE {in_ids} AND {in_programmes}",
                           [*id_params, *programme_params])
            pairs.extend(cursor.fetchall())
    return [pk for _resident, pk in sorted(pairs)]


class _Meta:
    """What the enrolment's denormalised columns need besides the plan."""

    __slots__ = ("classification", "last_visit_on", "path", "programme_id", "refer", "resident_id")

    def __init__(self, resident_id: int, programme_id: int, path: str) -> None:
        self.resident_id, self.programme_id, self.path = resident_id, programme_id, path
        self.classification, self.refer = "", False
        self.last_visit_on: dt.date | None = None


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _loads(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return {} if value == "{}" else [] if value == "[]" else json.loads(value)


_JSON_COLUMNS = {f.column for f in Visit._meta.concrete_fields if f.get_internal_type() == "JSONField"}
_BASE = 6  # resident_id, programme_id, item, visit_date, classification, refer


def _read_batch(chunk: Sequence[int], columns: Mapping[int, Columns]) -> tuple[list[_Job], dict[int, _Meta]]:
    """The batch's active enrolments and every visit of their (resident, programme), in two queries.

    A visit's measurements are decoded only where the engine reads them: when it has no stored
    classification and its programme classifies visits (the engine recomputes it then).
    """
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        in_ids, id_params = _in("id", chunk)
        cursor.execute(f"SELECT id, resident_id, programme_id, path, anchor_date, variant FROM "
                       f"{Enrolment._meta.db_table} WHERE {in_ids} AND status = %s",
                       [*id_params, EnrolmentStatus.ACTIVE.value])
        enrolments = cursor.fetchall()
        wanted = {(e[1], e[2]) for e in enrolments}
        value_cols = sorted({c for cols in columns.values() for _code, c, _kind in cols if c})
        position = {c: _BASE + i for i, c in enumerate(value_cols)}
        data_at = _BASE + len(value_cols)
        selected = [*(f"{c}::text" if postgres and c in _JSON_COLUMNS else c for c in value_cols),
                    "data::text" if postgres else "data"]
        visits: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
        directives: dict[int, list[Directive]] = defaultdict(list)
        if enrolments:
            residents = sorted({e[1] for e in enrolments})
            programmes = sorted({e[2] for e in enrolments})
            low, high = residents[0], residents[-1]
            if high - low < 4 * len(residents):  # dense: a range of residents (an index range scan)
                where, params = "resident_id BETWEEN %s AND %s", [low, high]
            else:
                where, params = _in("resident_id", residents)
            in_programmes, programme_params = _in("programme_id", programmes)
            cursor.execute(f"SELECT resident_id, programme_id, item, visit_date, classification, refer, "
                           f"{', '.join(selected)} FROM {Visit._meta.db_table} WHERE {where} AND {in_programmes} "
                           "ORDER BY resident_id, programme_id, visit_date, id", [*params, *programme_params])
            for row in cursor.fetchall():
                key = (row[0], row[1])
                if key in wanted:
                    visits[key].append(row)
            in_enrolments, enrolment_params = _in("enrolment_id", [e[0] for e in enrolments])
            cursor.execute(f"SELECT enrolment_id, issued_on, follow_up_days FROM {CarePlan._meta.db_table} "
                           f"WHERE {in_enrolments} ORDER BY enrolment_id, issued_on, id", enrolment_params)
            for enrolment_id, issued_on, days in cursor.fetchall():
                directives[enrolment_id].append(Directive(_date(issued_on), days))
    jobs, meta = [], {}
    for pk, resident_id, programme_id, path, anchor, variant in enrolments:
        spec = _SPECS[programme_id]
        mine = visits.get((resident_id, programme_id), [])
        history = []
        for v in mine:
            values: dict[str, Value] = {}
            if not v[4] and spec.classifier is not None:
                data = _loads(v[data_at]) or {}
                for code, column, kind in columns[programme_id]:
                    if column is None:
                        raw = data.get(code)
                    else:
                        raw = v[position[column]]
                        raw = _loads(raw) if column in _JSON_COLUMNS else raw
                    if raw is not None and raw != "" and raw != []:
                        values[code] = stored_value(raw, kind)
            history.append(Service(item=v[2], date=_date(v[3]), values=values, classification=v[4] or ""))
        jobs.append(_Job(pk, programme_id, _date(anchor), history, _loads(variant) or {}, directives.get(pk, [])))
        m = meta[pk] = _Meta(resident_id, programme_id, path)
        if history:
            m.last_visit_on = max(s.date for s in history)
            classified = [v for v in mine if v[4]]
            if classified:
                m.classification, m.refer = classified[-1][4], bool(classified[-1][5])
    return jobs, meta


def _copy_text(value: Any) -> str:
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


_UPDATE_COLUMNS = ["id", "next_due", "classification", "refer", "last_visit_on"]


def _update_enrolments(writer: _Writer, updates: Sequence[tuple[Any, ...]], as_of: dt.date) -> None:
    """Set next_due, classification, refer, last_visit_on and planned_at of many enrolments:
    PostgreSQL — COPY into a temporary table and one UPDATE … FROM; SQLite — executemany."""
    if not updates:
        return
    table = Enrolment._meta.db_table
    cursor = writer.cursor
    if writer.postgres:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS ygt_enrolment_plan (id bigint, next_due date, "
                       "classification varchar(32), refer boolean, last_visit_on date) ON COMMIT DROP")
        cursor.execute("TRUNCATE ygt_enrolment_plan")
        writer.insert("ygt_enrolment_plan", _UPDATE_COLUMNS, updates)
        cursor.execute(f"UPDATE {table} AS e SET next_due = u.next_due, classification = u.classification, "
                       "refer = u.refer, last_visit_on = u.last_visit_on, planned_at = %s "
                       "FROM ygt_enrolment_plan AS u WHERE e.id = u.id", [as_of])
    else:
        cursor.executemany(f"UPDATE {table} SET next_due = ?, classification = ?, refer = ?, last_visit_on = ?, "
                           "planned_at = ? WHERE id = ?",
                           [(_sqlite(d), c, int(r), _sqlite(last), as_of.isoformat(), pk)
                            for pk, d, c, r, last in updates])
