"""Benchmark the analytics refresh at county scale (PostgreSQL): full and incremental refresh, the
catalogue on DuckDB against a bare scan, the dashboard, the catalogue on Spark ``local[2]``.

    python benchmarks/bench_analytics.py                      # 1,000,000 residents, 2 × 6 M encounters
    python benchmarks/bench_analytics.py --regenerate         # rebuild the scratch database first
    python benchmarks/bench_analytics.py --residents 100000 --encounters 600000 --visits 80000   # quick
    python benchmarks/bench_analytics.py --skip spark         # skip a step (full, incremental, engine,
                                                              # dashboard, spark; repeatable)

Data (not timed as the benchmark; printed as the load time): the scratch database
``ygt_bench_analytics`` is created and migrated, the rules loaded, the demo's ``registry`` and
``accounts`` modules built (1 county, 17 townships, ~140 villages, their institutions, staff, beds
and logins); then, generated in DuckDB from a seed (``hash(key, salt, seed)`` — the same rows every
run, whatever the thread count) and loaded with ``COPY … FROM STDIN (FORMAT csv)`` with the
secondary indexes dropped and rebuilt after and the FK triggers off for the session:
``--residents`` residents (ages: ~8 % under 7, ~14 % 65 and over; created since 2010, a few moved
out or died during the history), their population per village and year (``analytics.Population``),
enrolments (hypertension ~12 % of ≥35, diabetes ~5 %, every ≥65 elderly, every child <7 in child
health and immunisation, pregnancies at ~10 births per 1,000 a year), ``--visits`` programme visits a
year (follow-ups with SBP/DBP/FPG, elderly checks, child checks, antenatal/delivery/postpartum) plus
the vaccine doses given, ``--encounters`` encounters a year over ``--years`` years (kind, tier, in
county, booked, cost, institution path), referrals (~1 % of encounters) and test orders (~3.5 %).
A database that already holds a run with the same parameters is reused (``--regenerate`` forces).
"Today" is pinned (``--today``, ``YGT_TODAY``): the history ends there.

Timed, each step in a fresh subprocess (peak RSS is its own and its children's — the JVM — sampled
from ``/proc`` every 0.2 s; ``ru_maxrss`` printed beside):

1. full refresh (``refresh(full=True)``, DuckDB): wall time, peak RSS, and the split fingerprints /
   export (read from PostgreSQL, write Parquet, per fact) / compute (per indicator) / combine / store;
2. incremental refresh after changing one month (a few thousand encounters and visits inserted,
   1,000 encounters edited in place and marked as the receivers would): wall time, partitions rewritten;
3. engine limit: the whole catalogue on DuckDB over the Parquet (compute only) ÷ one
   ``SELECT county, township, village, year(start_date)*12+month(start_date) AS mi, count(*) FROM
   encounters GROUP BY ALL``;
4. dashboard: ``--n`` requests of the county's and a township's board page through Django's test
   client as the health commission (``weijian``): p50 / p95 / p99 against 150 ms (without the board
   view, ``selectors.board`` + ``selectors.trend`` of every indicator instead — said so);
5. the catalogue on Spark ``local[2]`` (compute only, same Parquet): wall time, bounded by
   ``--spark-budget`` seconds (the indicators left are listed).

Exits non-zero only on a real error. The machine's load average is printed with each step: other
processes on the same two cores distort the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bench_plans
import psycopg

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_analytics"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "ygt_bench_analytics"
SEED = 20250101
AIMS = {"full": 300.0, "incremental": 30.0, "dashboard_p95_ms": 150.0}
MARK = "bench-analytics"  # source_no / idempotency prefix of the rows the incremental step adds

# Share of residents by 5-year age band 0–4 … 90–94 (rural county with out-migration: ~8 % under 7,
# ~14 % aged 65 and over).
AGE_BANDS = [5.2, 5.9, 6.5, 5.6, 4.2, 3.8, 4.3, 5.3, 7.3, 8.8, 8.3, 7.7, 7.0, 4.5, 3.6, 2.6, 1.5, 0.7, 0.2]
# Encounters per resident-year by age (relative; scaled so the total is --encounters a year).
ENCOUNTER_RATE = [(0, 5.0), (7, 2.5), (18, 4.0), (45, 7.0), (65, 12.0)]
# Hypertension / diabetes managed, by age band (lower bound, share): ~12 % / ~5 % of residents ≥35.
HTN_BY_AGE = [(35, 0.04), (45, 0.10), (55, 0.16), (65, 0.21)]
DM_BY_AGE = [(35, 0.02), (45, 0.04), (55, 0.065), (65, 0.075)]


# ---------------------------------------------------------------- small helpers


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} (1 / 5 min, {os.cpu_count()} cores)"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler:
    """Peak RSS of this process plus its descendants (the Spark JVM), sampled every 0.2 s."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            total = _rss_kib(me) + sum(_rss_kib(pid) for pid in _descendants(me))
            self.peak_kib = max(self.peak_kib, total)
            self._stop.wait(0.2)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, float]:
        return {"peak_rss_mib": self.peak_kib / 1024,
                "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# ---------------------------------------------------------------- generation (DuckDB → COPY)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def select_for(model: Any, given: dict[str, str], now: dt.datetime) -> tuple[list[str], str]:
    """The table's columns and a DuckDB select list: the ``given`` expressions, every other column
    its Django default (``''`` for text, NULL where allowed, ``now`` for stamps)."""
    columns, exprs = [], []
    for field in model._meta.concrete_fields:
        column = field.column
        if column in given:
            expr = given[column]
        elif field.primary_key:
            continue
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expr = _literal(now)
        elif field.has_default():
            default = field.get_default()
            expr = _literal(str(default) if hasattr(default, "value") else default)
        elif field.null:
            expr = "NULL"
        elif field.get_internal_type() in ("CharField", "TextField"):
            expr = "''"
        else:
            raise SystemExit(f"bench: no value for {model.__name__}.{column}")
        columns.append(column)
        exprs.append(f"{expr} AS {column}")
    unknown = set(given) - set(columns)
    if unknown:
        raise SystemExit(f"bench: {model.__name__} has no column {sorted(unknown)}")
    return columns, ", ".join(exprs)


class Loader:
    """Rows generated in DuckDB, written to CSV, copied into PostgreSQL with the table's secondary
    indexes dropped first and rebuilt after (the FK triggers are off for the session)."""

    def __init__(self, duck: Any, scratch: Path, now: dt.datetime) -> None:
        self.duck = duck
        self.scratch = scratch
        self.now = now
        self.counts: dict[str, int] = {}

    def copy(self, model: Any, source: str, given: dict[str, str]) -> int:
        from django.db import connection

        table = model._meta.db_table
        columns, select = select_for(model, given, self.now)
        path = self.scratch / f"{table}.csv"
        self.duck.execute(f"COPY (SELECT {select} FROM ({source})) TO '{path}' (FORMAT csv, HEADER false)")
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes i
                              WHERE i.tablename = %s AND i.indexname NOT IN (
                                  SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conindid
                                  WHERE k.conrelid = %s::regclass)""", [table, table])
            indexes = cursor.fetchall()
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy, \
                    open(path, "rb") as handle:
                while chunk := handle.read(1 << 22):
                    copy.write(chunk)
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _name, definition in indexes:
                cursor.execute(definition)
            if "id" in columns:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
            cursor.execute("SELECT count(*) FROM " + table)
            rows = cursor.fetchone()[0]
            cursor.execute("SET session_replication_role = DEFAULT")
        path.unlink()
        self.counts[table] = rows
        return int(rows)


def _bands_sql(bands: list[tuple[int, float]], age: str) -> str:
    cases = " ".join(f"WHEN {age} >= {low} THEN {share}" for low, share in sorted(bands, reverse=True))
    return f"CASE {cases} ELSE 0 END"


def generate(args: argparse.Namespace, today: dt.date) -> dict[str, Any]:
    """Everything after the registry: residents … referrals (see the module docstring)."""
    import duckdb
    from django.db import connection, transaction
    from django.utils import timezone

    from yigongti.analytics.models import Population
    from yigongti.care.models import Encounter, Order, ResultItem
    from yigongti.programmes.models import Enrolment, Programme, Visit
    from yigongti.programmes.specs import spec_for
    from yigongti.referrals.models import Referral
    from yigongti.registry.choices import DivisionLevel, InstitutionType
    from yigongti.registry.models import Division, Institution
    from yigongti.residents.bulk import village_lookup
    from yigongti.residents.models import Resident

    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="ygt_bench_gen_"))
    duck = duckdb.connect(config={"threads": os.cpu_count() or 2, "memory_limit": "6GB",
                                  "temp_directory": str(scratch / "spill"), "preserve_insertion_order": False})
    duck.execute(f"CREATE MACRO u(k, salt) AS (hash(k, salt, {int(args.seed)}) >> 11)::DOUBLE / 9007199254740992.0")
    loader = Loader(duck, scratch, timezone.now())
    years = args.years
    first_month = dt.date(today.year, today.month, 1)
    for _ in range(years * 12 - 1):
        first_month = (first_month - dt.timedelta(days=1)).replace(day=1)
    start = first_month  # the history: start … today
    span = (today - start).days + 1
    t0, today_sql = f"DATE '{start.isoformat()}'", f"DATE '{today.isoformat()}'"

    # ---- the registry as DuckDB tables
    villages = list(Division.objects.filter(level=DivisionLevel.VILLAGE).order_by("code"))
    info = village_lookup(v.code for v in villages)
    county_types = {InstitutionType.COUNTY_HOSPITAL: "hospital", InstitutionType.TCM_HOSPITAL: "tcm",
                    InstitutionType.MCH: "mch"}
    county = {county_types[t]: (pk, path) for t, pk, path in Institution.objects.filter(
        type__in=list(county_types)).values_list("type", "id", "path")}
    centre_paths = dict(Institution.objects.filter(type__in=[InstitutionType.TOWNSHIP_CENTRE,
                                                             InstitutionType.COMMUNITY_CENTRE])
                        .values_list("id", "path"))
    clinic_paths = dict(Institution.objects.filter(type=InstitutionType.VILLAGE_CLINIC).values_list("id", "path"))
    rows = []
    for n, village in enumerate(villages):
        v = info[village.code]
        centre = v.centre_id or county["hospital"][0]
        rows.append(f"({n}, {v.id}, '{v.code}', '{v.path}', {v.clinic_id or 'NULL'}, {centre}, "
                    f"'{clinic_paths.get(v.clinic_id, '')}', '{centre_paths.get(centre, county['hospital'][1])}')")
    duck.execute("CREATE TABLE village_raw (n INT, vid BIGINT, code VARCHAR, path VARCHAR, clinic_id BIGINT, "
                 f"centre_id BIGINT, clinic_path VARCHAR, centre_path VARCHAR); INSERT INTO village_raw VALUES "
                 f"{', '.join(rows)}")
    duck.execute("CREATE TABLE village AS SELECT *, coalesce(sum(w) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED "
                 "PRECEDING AND 1 PRECEDING), 0) / sum(w) OVER () AS lo FROM (SELECT *, 0.4 + u(n, 11) AS w "
                 "FROM village_raw)")
    total = sum(AGE_BANDS)
    cumulative, acc = [], 0.0
    for band, share in enumerate(AGE_BANDS):
        cumulative.append(f"({band * 5}, {acc / total})")
        acc += share
    duck.execute(f"CREATE TABLE bands AS SELECT * FROM (VALUES {', '.join(cumulative)}) t(age_lo, lo)")

    # ---- residents
    duck.execute(f"""
        CREATE TABLE r0 AS SELECT i AS id, u(i, 1) AS uv, u(i, 2) AS ua FROM range(1, {args.residents + 1}) t(i)""")
    duck.execute(f"""
        CREATE TABLE resident AS
        WITH placed AS (
            SELECT r0.id, v.vid, v.code, v.path, v.clinic_id, v.centre_id, v.clinic_path, v.centre_path, b.age_lo
            FROM r0 ASOF JOIN village v ON r0.uv >= v.lo ASOF JOIN bands b ON r0.ua >= b.lo),
        born AS (
            SELECT *, CAST({today_sql} - CAST((age_lo + u(id, 3) * 5) * 365.25 AS INTEGER) AS DATE) AS birth_date
            FROM placed),
        created AS (
            SELECT *, CASE WHEN birth_date >= DATE '2010-01-01' THEN birth_date + CAST(u(id, 4) * 60 AS INTEGER)
                           WHEN u(id, 5) < 0.04 THEN {t0} + CAST(u(id, 4) * {span} AS INTEGER)
                           ELSE DATE '2010-01-01' + CAST(u(id, 4) * ({t0} - DATE '2010-01-01') AS INTEGER)
                      END AS created_on
            FROM born)
        SELECT id, vid, code, path, clinic_id, centre_id, clinic_path, centre_path, birth_date,
               least(created_on, {today_sql}) AS created_on,
               CASE WHEN id % 2 = 0 THEN 'F' ELSE 'M' END AS sex,
               CASE WHEN u(id, 6) < 0.015 THEN 'moved_out' WHEN u(id, 6) < 0.015 + CASE WHEN birth_date <
                    {today_sql} - 65 * 365 THEN 0.05 ELSE 0.004 END THEN 'deceased' ELSE 'active' END AS status,
               CAST(floor(date_diff('day', birth_date, {today_sql}) / 365.25) AS INTEGER) AS age
        FROM created""")
    duck.execute(f"""
        CREATE OR REPLACE TABLE resident AS SELECT *, CASE WHEN status = 'active' THEN NULL ELSE
            greatest(created_on, {t0}) + CAST(u(id, 7) * date_diff('day', greatest(created_on, {t0}), {today_sql})
            AS INTEGER) END AS status_date FROM resident""")
    loader.copy(Resident, "SELECT * FROM resident", {
        "id": "id", "record_no": "code || lpad(CAST(id AS VARCHAR), 7, '0')", "name": "'居民' || id", "sex": "sex",
        "birth_date": "birth_date", "village_id": "vid", "clinic_id": "clinic_id", "township_centre_id": "centre_id",
        "path": "path", "status": "status", "status_date": "status_date",
        # office hours in Asia/Shanghai (UTC+8): the record's month is the local one
        "created_at": "CAST(created_on AS TIMESTAMP) + INTERVAL 1 HOUR + to_seconds(CAST(u(id, 8) * 28800 AS BIGINT))",
        "updated_at": "CAST(coalesce(status_date, created_on) AS TIMESTAMP) + INTERVAL 10 HOUR",
    })
    shares = duck.execute("SELECT avg(CASE WHEN age < 7 THEN 1 ELSE 0 END), avg(CASE WHEN age >= 65 THEN 1 ELSE 0 "
                          "END) FROM resident").fetchone()

    # ---- population per village and year (the statistics' figure: registered residents alive mid-year × 1.06)
    populations = duck.execute(f"""
        SELECT vid, y, CAST(round(count(*) * 1.06) AS INTEGER) FROM resident,
               range({today.year - 3}, {today.year + 1}) t(y)
        WHERE created_on <= make_date(CAST(y AS INT), 6, 30)
          AND (status_date IS NULL OR status_date > make_date(CAST(y AS INT), 6, 30))
        GROUP BY ALL""").fetchall()
    with transaction.atomic():
        Population.objects.bulk_create([Population(division_id=vid, year=y, population=n, source="bench")
                                        for vid, y, n in populations], batch_size=2000)

    # ---- enrolments
    programmes = dict(Programme.objects.values_list("code", "id"))
    htn_p, dm_p = _bands_sql(HTN_BY_AGE, "age"), _bands_sql(DM_BY_AGE, "age")
    alive_end = f"coalesce(status_date, {today_sql})"
    duck.execute(f"""
        CREATE TABLE enrol AS
        WITH chronic AS (
            SELECT r.*, p.code AS programme, p.salt FROM resident r,
                   (VALUES ('hypertension', 20), ('diabetes', 30)) p(code, salt)
            WHERE u(r.id, p.salt) < CASE p.code WHEN 'hypertension' THEN {htn_p} ELSE {dm_p} END),
        chronic_dates AS (
            SELECT *, CASE WHEN u(id, salt + 1) < 0.8
                           THEN {t0} - CAST(u(id, salt + 2) * 5 * 365 AS INTEGER)
                           ELSE {t0} + CAST(u(id, salt + 2) * {span} AS INTEGER) END AS on_date
            FROM chronic),
        chronic_rows AS (
            SELECT id AS resident_id, path, programme, greatest(on_date, created_on) AS enrolled_on,
                   CASE WHEN status <> 'active' THEN status_date
                        WHEN u(id, salt + 3) < 0.05 AND greatest(on_date, created_on, {t0})
                             + CAST(u(id, salt + 4) * 300 AS INTEGER) <= {today_sql}
                        THEN greatest(on_date, created_on, {t0}) + CAST(u(id, salt + 4) * 300 AS INTEGER)
                   END AS closed_on,
                   CASE WHEN status = 'deceased' THEN 'deceased' WHEN status = 'moved_out' THEN 'moved'
                        ELSE 'refused' END AS close_reason,
                   greatest(on_date, created_on) AS anchor_date
            FROM chronic_dates),
        elderly AS (
            SELECT id AS resident_id, path, 'elderly' AS programme,
                   greatest(CAST(birth_date + INTERVAL 65 YEAR AS DATE), created_on) AS enrolled_on,
                   status_date AS closed_on, CASE WHEN status = 'deceased' THEN 'deceased' ELSE 'moved' END
                   AS close_reason, birth_date AS anchor_date
            FROM resident WHERE CAST(birth_date + INTERVAL 65 YEAR AS DATE) <= {today_sql}),
        children AS (
            SELECT id AS resident_id, path, p.code AS programme, birth_date AS enrolled_on,
                   CASE WHEN status <> 'active' THEN status_date
                        WHEN CAST(birth_date + INTERVAL 7 YEAR AS DATE) <= {today_sql}
                        THEN CAST(birth_date + INTERVAL 7 YEAR AS DATE) END AS closed_on,
                   CASE WHEN status = 'deceased' THEN 'deceased' WHEN status = 'moved_out' THEN 'moved'
                        ELSE 'completed' END AS close_reason, birth_date AS anchor_date
            FROM resident, (VALUES ('child'), ('immunisation')) p(code)
            WHERE CAST(birth_date + INTERVAL 7 YEAR AS DATE) > {t0}),
        mothers AS (
            SELECT id AS resident_id, path, 'maternal' AS programme,
                   {t0} - 280 + CAST(u(id, 41) * ({span} + 238) AS INTEGER) AS lmp, status_date
            FROM resident
            WHERE sex = 'F' AND age BETWEEN 20 AND 40 AND u(id, 40) < {0.010 * (years + 0.8) / 0.09:.5f}),
        maternal AS (
            SELECT resident_id, path, programme, lmp + 42 + CAST(u(resident_id, 42) * 42 AS INTEGER) AS enrolled_on,
                   CASE WHEN status_date IS NOT NULL THEN status_date
                        WHEN lmp + 280 + 42 <= {today_sql} THEN lmp + 280 + 42 END AS closed_on,
                   'completed' AS close_reason, lmp AS anchor_date
            FROM mothers WHERE lmp + 42 + 42 <= {today_sql})
        SELECT row_number() OVER (ORDER BY enrolled_on, resident_id, programme) AS id, * FROM (
            SELECT * FROM chronic_rows UNION ALL SELECT * FROM elderly UNION ALL SELECT * FROM children
            UNION ALL SELECT resident_id, path, programme, enrolled_on, closed_on, close_reason, anchor_date
            FROM maternal)
        WHERE enrolled_on <= {today_sql} AND (closed_on IS NULL OR closed_on >= enrolled_on)""")
    pid = {code: programmes.get(code) for code in ("hypertension", "diabetes", "elderly", "child", "immunisation",
                                                     "maternal")}
    chronic = duck.execute("SELECT programme, count(*) / (SELECT count(*) FROM resident WHERE age >= 35) FROM enrol "
                           "WHERE programme IN ('hypertension', 'diabetes') GROUP BY ALL").fetchall()
    missing = [code for code, value in pid.items() if value is None]
    if missing:
        raise SystemExit(f"bench: programmes not loaded: {missing}")
    programme_case = "CASE programme " + " ".join(f"WHEN '{c}' THEN {i}" for c, i in pid.items()) + " END"
    loader.copy(Enrolment, "SELECT * FROM enrol", {
        "id": "id", "resident_id": "resident_id", "programme_id": programme_case, "path": "path",
        "anchor_date": "anchor_date", "enrolled_on": "enrolled_on", "how": "'auto'",
        "status": "CASE WHEN closed_on IS NULL THEN 'active' ELSE 'closed' END", "closed_on": "closed_on",
        "close_reason": "CASE WHEN closed_on IS NULL THEN '' ELSE close_reason END",
        "created_at": "CAST(enrolled_on AS TIMESTAMP) + INTERVAL 10 HOUR",
    })

    # ---- programme visits: follow-ups, checks, child checks, maternal care; then vaccine doses
    per_year = args.visits
    quarters = years * 4 + 1
    duck.execute(f"""
        CREATE TABLE visit_raw AS
        WITH e AS (SELECT e.*, r.clinic_id, r.centre_id, r.birth_date, {alive_end} AS alive_to
                   FROM enrol e JOIN resident r ON r.id = e.resident_id),
        followups AS (
            SELECT e.id AS enrolment_id, e.resident_id, e.programme, e.path, 'followup' AS item,
                   CAST(CAST(date_trunc('quarter', {t0}) AS DATE) + to_months(CAST(q * 3 AS INTEGER)) AS DATE)
                       + CAST(u(e.id * 64 + q * 2 + k, 50) * 90 AS INTEGER) AS visit_date,
                   CASE WHEN u(e.id * 64 + q * 2 + k, 51) < 0.7 THEN e.clinic_id ELSE e.centre_id END AS institution_id,
                   u(e.id * 64 + q * 2 + k, 52) AS control, u(e.id * 64 + q * 2 + k, 53) AS draw
            FROM e, range({quarters}) t1(q), range(2) t2(k)
            WHERE e.programme IN ('hypertension', 'diabetes')
              AND u(e.id * 64 + q * 2 + k, 54) < CASE WHEN k = 0 THEN {args.followup_share} ELSE 0.15 END),
        checks AS (
            SELECT e.id, e.resident_id, e.programme, e.path, 'check',
                   CAST(make_date(CAST(y AS INT), 3, 1) AS DATE) + CAST(u(e.id * 8 + y, 60) * 270 AS INTEGER),
                   e.centre_id, u(e.id * 8 + y, 63), u(e.id * 8 + y, 61)
            FROM e, range({start.year}, {today.year + 1}) t(y)
            WHERE e.programme = 'elderly' AND u(e.id * 8 + y, 62) < 0.67),
        child_items AS (SELECT * FROM (VALUES ('newborn', 3), ('child-1m', 29), ('child-3m', 91), ('child-6m', 183),
            ('child-8m', 244), ('child-12m', 365), ('child-18m', 548), ('child-24m', 730), ('child-30m', 913),
            ('child-36m', 1096), ('child-4y', 1461), ('child-5y', 1826), ('child-6y', 2191)) t(item, at_days)),
        child AS (
            SELECT e.id, e.resident_id, e.programme, e.path, c.item,
                   e.birth_date + c.at_days + CAST(u(e.id * 16 + c.at_days, 70) * CASE WHEN c.item = 'newborn'
                       THEN 20 ELSE 40 END AS INTEGER), CASE WHEN c.item = 'newborn' THEN e.clinic_id
                   ELSE e.centre_id END, u(e.id * 16 + c.at_days, 73), u(e.id * 16 + c.at_days, 71)
            FROM e, child_items c WHERE e.programme = 'child' AND u(e.id * 16 + c.at_days, 72) < 0.85),
        maternal_items AS (SELECT * FROM (VALUES ('antenatal-1', 56, 60), ('antenatal-2', 115, 30),
            ('antenatal-3', 150, 25), ('antenatal-4', 200, 50), ('antenatal-5', 262, 20), ('delivery', 266, 28),
            ('postpartum', 269, 30), ('postpartum-42', 308, 14)) t(item, at_days, spread)),
        maternal AS (
            SELECT e.id, e.resident_id, e.programme, e.path, m.item,
                   e.anchor_date + m.at_days + CAST(u(e.id * 16 + m.at_days, 80) * m.spread AS INTEGER),
                   CASE WHEN m.item = 'delivery' THEN {county['mch'][0]} ELSE e.centre_id END,
                   u(e.id * 16 + m.at_days, 83),
                   u(e.id * 16 + m.at_days, 81)
            FROM e, maternal_items m
            WHERE e.programme = 'maternal' AND (m.item = 'delivery' OR u(e.id * 16 + m.at_days, 82) < 0.88))
        SELECT v.*, e.alive_to, e.enrolled_on, e.closed_on FROM (
            SELECT * FROM followups UNION ALL SELECT * FROM checks UNION ALL SELECT * FROM child
            UNION ALL SELECT * FROM maternal) v JOIN e ON e.id = v.enrolment_id""")
    duck.execute(f"""
        CREATE TABLE visit_prog AS SELECT DISTINCT ON (enrolment_id, item, visit_date) * FROM visit_raw
        WHERE visit_date BETWEEN greatest({t0}, enrolled_on) AND least({today_sql}, alive_to,
                                                                        coalesce(closed_on, {today_sql}))""")
    produced = duck.execute("SELECT count(*) FROM visit_prog").fetchone()[0]
    wanted = per_year * span / 365.25
    if produced > wanted:  # trim to the asked-for volume, deterministically
        keep = wanted / produced
        duck.execute(f"DELETE FROM visit_prog WHERE programme IN ('hypertension', 'diabetes', 'elderly') AND "
                     f"u(enrolment_id * 64 + hash(item, visit_date) % 1000, 90) > {keep:.6f}")
    # vaccine doses: the schedule's recommended age, given mostly inside the on-time window
    spec = spec_for("immunisation", today)
    doses = []
    reference = dt.date(2020, 1, 1)
    for dose in (spec.schedule.doses if spec.schedule else ()):
        if dose.option and dose.option.endswith("-I"):
            continue
        due = dose.at.after(reference)
        _low, high = dose.window.around(due)
        doses.append(f"('{dose.item}', {(due - reference).days}, {(high - due).days})")
    duck.execute(f"CREATE TABLE dose_items AS SELECT * FROM (VALUES {', '.join(doses)}) t(item, at_days, late)")
    duck.execute("""
        CREATE TABLE visit_dose AS
        SELECT e.id AS enrolment_id, e.resident_id, e.programme, e.path, d.item,
               e.anchor_date + d.at_days + CASE WHEN u(e.id * 64 + d.at_days, 91) < 0.85
                   THEN CAST(u(e.id * 64 + d.at_days, 92) * (d.late + 1) AS INTEGER)
                   ELSE d.late + 1 + CAST(u(e.id * 64 + d.at_days, 92) * 90 AS INTEGER) END AS visit_date,
               r.centre_id AS institution_id, NULL::DOUBLE AS control, 0.5 AS draw
        FROM enrol e JOIN resident r ON r.id = e.resident_id, dose_items d
        WHERE e.programme = 'immunisation' AND u(e.id * 64 + d.at_days, 93) < 0.96""")
    duck.execute(f"""
        DELETE FROM visit_dose WHERE visit_date < {t0} OR visit_date > {today_sql}""")
    duck.execute("""
        CREATE TABLE visit AS
        SELECT row_number() OVER (ORDER BY visit_date, enrolment_id, item) AS id, *,
               CASE WHEN programme IN ('hypertension', 'diabetes') OR item LIKE 'antenatal-%' OR item = 'check' THEN
                    CASE WHEN control < 0.6 THEN 108 + CAST(draw * 31 AS INTEGER)
                         ELSE 140 + CAST(draw * 45 AS INTEGER) END END AS sbp,
               CASE WHEN programme IN ('hypertension', 'diabetes') OR item LIKE 'antenatal-%' OR item = 'check' THEN
                    CASE WHEN control < 0.6 THEN 62 + CAST(draw * 27 AS INTEGER)
                         ELSE 88 + CAST(draw * 22 AS INTEGER) END END AS dbp,
               CASE WHEN programme = 'diabetes' OR item = 'check' THEN
                    round(CASE WHEN control < 0.55 THEN 4.8 + draw * 2.1 ELSE 7.1 + draw * 5.5 END, 1) END AS fpg
        FROM (SELECT enrolment_id, resident_id, programme, path, item, visit_date, institution_id, control, draw
              FROM visit_prog UNION ALL SELECT * FROM visit_dose)""")
    loader.copy(Visit, "SELECT * FROM visit", {
        "id": "id", "enrolment_id": "enrolment_id", "resident_id": "resident_id", "programme_id": programme_case,
        "path": "path", "item": "item", "visit_date": "visit_date", "institution_id": "institution_id",
        "sbp": "sbp", "dbp": "dbp", "fpg": "fpg", "source": "'demo'",
        "classification": "CASE WHEN sbp IS NULL THEN '' WHEN sbp < 140 THEN 'controlled' ELSE 'uncontrolled' END",
        "created_at": "CAST(visit_date AS TIMESTAMP) + INTERVAL 10 HOUR",
    })
    visit_counts = dict(duck.execute("SELECT CASE WHEN programme = 'immunisation' THEN 'doses' ELSE 'programme' END, "
                                     "count(*) FROM visit GROUP BY ALL").fetchall())

    # ---- encounters
    rate = _bands_sql(ENCOUNTER_RATE, "age")
    weight = duck.execute(f"""
        SELECT sum(({rate}) * date_diff('day', greatest(created_on, {t0}), {alive_end}) / 365.25)
        FROM resident WHERE {alive_end} >= greatest(created_on, {t0})""").fetchone()[0]
    scale = args.encounters * years / weight
    duck.execute(f"""
        CREATE TABLE enc0 AS
        WITH r AS (
            SELECT *, greatest(created_on, {t0}) AS s0, {alive_end} AS s1,
                   ({rate}) * {scale:.8f} * date_diff('day', greatest(created_on, {t0}), {alive_end}) / 365.25 AS mean
            FROM resident WHERE {alive_end} >= greatest(created_on, {t0})),
        n AS (SELECT *, CAST(floor(mean + u(id, 100)) AS INTEGER) AS n FROM r),
        k AS (SELECT *, unnest(range(n)) AS k FROM n WHERE n > 0)
        SELECT id AS resident_id, path, clinic_id, centre_id, clinic_path, centre_path, k,
               least(s1, s0 + CAST(floor(u(id * 256 + k, 101) * (date_diff('day', s0, s1) + 1)) AS INTEGER))
                   AS start_date,
               u(id * 256 + k, 102) AS t, u(id * 256 + k, 103) AS kd, u(id * 256 + k, 104) AS c
        FROM k""")
    hospital, tcm, mch = county["hospital"], county["tcm"], county["mch"]
    duck.execute(f"""
        CREATE TABLE enc1 AS
        SELECT *, CASE WHEN tier = 'village' THEN clinic_path WHEN tier = 'township' THEN centre_path
                       WHEN tier = 'county' THEN CASE WHEN t < 0.235 THEN '{tcm[1]}' WHEN t < 0.25 THEN '{mch[1]}'
                                                      ELSE '{hospital[1]}' END ELSE '' END AS institution_path,
               CASE WHEN tier = 'village' THEN clinic_id WHEN tier = 'township' THEN centre_id
                    WHEN tier = 'county' THEN CASE WHEN t < 0.235 THEN {tcm[0]} WHEN t < 0.25 THEN {mch[0]}
                                                   ELSE {hospital[0]} END END AS institution_id,
               CASE WHEN kd < CASE tier WHEN 'county' THEN 0.10 WHEN 'township' THEN 0.035 WHEN 'outside' THEN 0.3
                                        ELSE 0 END THEN 'inpatient'
                    WHEN kd > 0.965 THEN 'emergency' ELSE 'outpatient' END AS kind
        FROM (SELECT *, CASE WHEN t < 0.42 AND clinic_id IS NOT NULL THEN 'village' WHEN t < 0.74 THEN 'township'
                             WHEN t < 0.955 THEN 'county' ELSE 'outside' END AS tier FROM enc0)""")
    duck.execute("""
        CREATE TABLE encounter AS
        SELECT row_number() OVER (ORDER BY start_date, resident_id, k) AS id, resident_id, path, kind, tier,
               institution_id, institution_path, tier <> 'outside' AS in_county, start_date,
               CASE WHEN kind = 'inpatient' THEN start_date + 2 + CAST(c * 12 AS INTEGER) ELSE start_date END
                   AS end_date,
               CAST(CASE WHEN kind = 'inpatient' THEN 1500 + c * CASE tier WHEN 'county' THEN 14000 ELSE 5000 END
                         ELSE CASE tier WHEN 'village' THEN 12 + c * 45 WHEN 'township' THEN 40 + c * 160
                                        WHEN 'county' THEN 90 + c * 420 ELSE 300 + c * 900 END END
                    AS DECIMAL(12, 2)) AS total_cost,
               kind = 'outpatient' AND ((tier = 'county' AND kd > 0.5 AND kd < 0.58)
                                        OR (tier = 'township' AND kd > 0.5 AND kd < 0.52)) AS booked
        FROM enc1""")
    loader.copy(Encounter, "SELECT * FROM encounter", {
        "id": "id", "resident_id": "resident_id", "path": "path", "kind": "kind", "institution_id": "institution_id",
        "outside_institution": "CASE WHEN tier = 'outside' THEN '贵州省人民医院' ELSE '' END",
        "in_county": "in_county", "institution_path": "institution_path",
        "tier": "CASE WHEN tier = 'outside' THEN '' ELSE tier END", "start_date": "start_date",
        "end_date": "end_date", "total_cost": "total_cost", "booked": "booked", "source": "'demo'",
        "discharge_status": "CASE WHEN kind = 'inpatient' THEN 'improved' ELSE '' END",
        "created_at": "CAST(start_date AS TIMESTAMP) + INTERVAL 11 HOUR",
    })

    # ---- test orders (~3.5 % of in-county encounters) and referrals (~1 % of encounters)
    items = list(ResultItem.objects.order_by("id").values_list("id", flat=True))
    if not items:
        raise SystemExit("bench: the result item catalogue is not loaded")
    duck.execute(f"CREATE TABLE item AS SELECT row_number() OVER () - 1 AS n, * FROM (VALUES "
                 f"{', '.join(f'({i})' for i in items)}) t(item_id)")
    loader.copy(Order, f"""
        SELECT e.*, i.item_id, CASE WHEN u(e.id, 111) < 0.15 THEN 'recognised' WHEN u(e.id, 111) < 0.85 THEN 'done'
                    WHEN u(e.id, 111) < 0.95 THEN 'ordered' ELSE 'cancelled' END AS status
        FROM encounter e JOIN item i ON i.n = CAST(u(e.id, 112) * {len(items)} AS INTEGER) % {len(items)}
        WHERE e.in_county AND u(e.id, 110) < 0.035""", {
        "encounter_id": "id", "path": "path", "resident_id": "resident_id", "institution_id": "institution_id",
        "item_id": "item_id", "status": "status",
        "saved": "CASE WHEN status = 'recognised' THEN CAST(20 + u(id, 113) * 180 AS DECIMAL(10, 2)) ELSE 0 END",
        "ordered_on": "start_date", "created_at": "CAST(start_date AS TIMESTAMP) + INTERVAL 11 HOUR",
    })
    loader.copy(Referral, f"""
        SELECT e.id AS encounter_id, e.resident_id, e.path, e.start_date,
               CASE WHEN e.tier = 'county' THEN 'down' ELSE 'up' END AS direction,
               CASE WHEN e.tier = 'county' THEN e.institution_id ELSE {hospital[0]} END AS to_id,
               CASE WHEN e.tier = 'county' THEN e.institution_path ELSE '{hospital[1]}' END AS to_p,
               CASE WHEN e.tier = 'county' THEN r.centre_id ELSE e.institution_id END AS from_id,
               CASE WHEN e.tier = 'county' THEN r.centre_path ELSE e.institution_path END AS from_p,
               u(e.id, 121) AS s
        FROM encounter e JOIN resident r ON r.id = e.resident_id
        WHERE e.in_county AND u(e.id, 120) < CASE WHEN e.tier = 'county' THEN 0.01 ELSE 0.012 END""", {
        "resident_id": "resident_id", "path": "path", "direction": "direction",
        "kind": "CASE WHEN s < 0.6 THEN 'outpatient' WHEN s < 0.85 THEN 'inpatient' ELSE 'chronic' END",
        "from_institution_id": "CASE WHEN direction = 'down' THEN to_id ELSE from_id END",
        "to_institution_id": "CASE WHEN direction = 'down' THEN from_id ELSE to_id END",
        "from_path": "CASE WHEN direction = 'down' THEN to_p ELSE from_p END",
        "to_path": "CASE WHEN direction = 'down' THEN from_p ELSE to_p END",
        "encounter_id": "encounter_id",
        "status": "CASE WHEN s < 0.55 THEN 'completed' WHEN s < 0.70 THEN 'arrived' WHEN s < 0.80 THEN 'accepted' "
                  "WHEN s < 0.85 THEN 'requested' WHEN s < 0.93 THEN 'rejected' ELSE 'cancelled' END",
        "requested_at": "CAST(start_date AS TIMESTAMP) + INTERVAL 11 HOUR",
        "respond_by": "CAST(start_date AS TIMESTAMP) + INTERVAL 35 HOUR",
        "escalate_at": "CAST(start_date AS TIMESTAMP) + INTERVAL 23 HOUR",
        "responded_at": "CASE WHEN s < 0.93 THEN CAST(start_date AS TIMESTAMP) + INTERVAL 15 HOUR END",
    })
    duck.close()
    shutil.rmtree(scratch, ignore_errors=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"seconds": time.perf_counter() - started, "rows": loader.counts, "under7": shares[0], "over65": shares[1],
            "visits": visit_counts, "history": [start.isoformat(), today.isoformat()],
            "chronic": {code: round(share, 4) for code, share in chronic}}


# ---------------------------------------------------------------- setup


def params_key(args: argparse.Namespace) -> str:
    return json.dumps({"residents": args.residents, "encounters": args.encounters, "visits": args.visits,
                       "years": args.years, "seed": args.seed, "today": args.today, "version": 1}, sort_keys=True)


def stored_key(url: str) -> str | None:
    """The parameters of the data in the scratch database, or None (no database / no finished load)."""
    try:
        with psycopg.connect(url, connect_timeout=5) as db:
            row = db.execute("SELECT value FROM bench_analytics_meta WHERE key = 'params'").fetchone()
            return None if row is None else str(row[0])
    except psycopg.Error:
        return None


def prepare(args: argparse.Namespace) -> dict[str, Any] | None:
    """Generate the data unless the database already holds it; the load figures, or None if reused."""
    if not args.regenerate and stored_key(args.url) == params_key(args):
        return None
    bench_plans.recreate(args.url)
    env = dict(os.environ)
    started = time.perf_counter()
    result = _child(args, "generate", env)
    result["total_seconds"] = time.perf_counter() - started
    return result


def step_generate(args: argparse.Namespace) -> dict[str, Any]:
    import io

    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from yigongti.core.clock import today
    from yigongti.demo.builder import county_build

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("rules", "load", stdout=io.StringIO())
    with override_settings(YGT_DEMO_MODULES=["registry", "accounts"]):
        county_build(seed=args.seed, scale="small")
    registry_seconds = time.perf_counter() - started
    result = generate(args, today())
    result["registry_seconds"] = registry_seconds
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_analytics_meta (key text PRIMARY KEY, value text)")
        cursor.execute("INSERT INTO bench_analytics_meta VALUES ('params', %s), ('load', %s)",
                       [params_key(args), json.dumps(result)])
    return result


# ---------------------------------------------------------------- timing the refresh


class Phases:
    """Wraps the refresh's steps to time them: fingerprints, export (read / write per fact),
    compute (per indicator), combine; the store is what follows the engine's close."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.indicators: dict[str, float] = {}
        self.current = ""
        self.closed_at: float | None = None

    def add(self, key: str, seconds: float) -> None:
        self.totals[key] = self.totals.get(key, 0.0) + seconds

    def progress(self, message: str) -> None:
        if message.startswith("计算 "):
            self.current = message.split(" ", 1)[1].split("（", 1)[0]

    def install(self) -> None:
        from yigongti.analytics import export
        from yigongti.analytics import refresh as refresh_module

        phases = self

        def timed(module: Any, name: str, key: Callable[..., str]) -> None:
            original = getattr(module, name)

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    phases.add(key(*args, **kwargs), time.perf_counter() - started)
            setattr(module, name, wrapper)

        original_tables = export.month_tables

        def month_tables(fact: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            iterator = original_tables(fact, *args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    phases.add(f"export.read.{fact.name}", time.perf_counter() - started)
                    return
                phases.add(f"export.read.{fact.name}", time.perf_counter() - started)
                yield item

        export.month_tables = month_tables
        timed(export, "write_partition", lambda fact, *a, **k: f"export.write.{fact.name}")
        timed(refresh_module, "_changed_months", lambda *a, **k: "fingerprints")
        timed(refresh_module, "combine", lambda *a, **k: "combine")
        original_open = refresh_module.open_engine

        def open_engine(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            engine = original_open(*args, **kwargs)
            phases.add("compute.open", time.perf_counter() - started)
            query, close = engine.query, engine.close

            def timed_query(sql: str) -> Any:
                started = time.perf_counter()
                try:
                    return query(sql)
                finally:
                    elapsed = time.perf_counter() - started
                    phases.add("compute", elapsed)
                    phases.indicators[phases.current] = phases.indicators.get(phases.current, 0.0) + elapsed

            def timed_close() -> None:
                close()
                phases.closed_at = time.perf_counter()

            engine.query, engine.close = timed_query, timed_close
            return engine

        refresh_module.open_engine = open_engine


def step_refresh(args: argparse.Namespace, full: bool) -> dict[str, Any]:
    from yigongti.analytics.refresh import refresh

    phases = Phases()
    phases.install()
    load = load_average()
    with MemorySampler() as memory:
        started = time.perf_counter()
        report = refresh(full=full, engine="duckdb", progress=phases.progress)
        ended = time.perf_counter()
    store = ended - phases.closed_at if phases.closed_at else 0.0
    return {"seconds": ended - started, "report": {"months": report.months, "periods": report.periods,
                                                   "values": report.values, "indicators": report.indicators,
                                                   "skipped": report.skipped},
            "phases": {**phases.totals, "store": store}, "indicators": phases.indicators, "load": load,
            **memory.figures()}


def change_one_month(args: argparse.Namespace) -> dict[str, Any]:
    """Insert a few thousand encounters and visits in one month and edit 1,000 encounters in place
    (with the mark the receivers would leave); the month changed."""
    from django.db import connection, transaction

    from yigongti.analytics.receivers import mark
    from yigongti.care.models import Encounter
    from yigongti.core.clock import today
    from yigongti.programmes.models import Visit

    now = today()
    month = dt.date(now.year, now.month, 1) - dt.timedelta(days=1)
    month = month.replace(day=1) - dt.timedelta(days=1)
    month = month.replace(day=1)  # two months back: every period type ending since is recomputed
    stop = (month + dt.timedelta(days=32)).replace(day=1)
    yyyymm = month.year * 100 + month.month
    enc_table, visit_table = Encounter._meta.db_table, Visit._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {enc_table} (resident_id, path, kind, institution_id, outside_institution, in_county,
                institution_path, tier, department_id, clinician_id, clinician_name, start_date, end_date,
                discharge_status, chief_complaint, procedures, total_cost, booked, source_no, source, created_at)
            SELECT resident_id, path, kind, institution_id, outside_institution, in_county, institution_path, tier,
                   NULL, NULL, '', start_date, end_date, '', '', '[]', total_cost + 1, booked,
                   %s || id, 'api', now()
            FROM {enc_table} WHERE start_date >= %s AND start_date < %s AND id %% 100 = 7 LIMIT %s""",
                       [f"{MARK}-", month, stop, args.change_encounters])
        encounters = cursor.rowcount
        cursor.execute(f"""
            INSERT INTO {visit_table} (enrolment_id, resident_id, programme_id, path, item, visit_date, institution_id,
                sbp, dbp, fpg, adherence, symptoms, danger_signs, lot_no, data, classification, refer, flags, note,
                source, idempotency_key, created_at)
            SELECT enrolment_id, resident_id, programme_id, path, 'followup', visit_date + 1, institution_id,
                   sbp - 3, dbp - 2, fpg, '', '[]', '[]', '', '{{}}', classification, false, '[]', '', 'api',
                   %s || id, now()
            FROM {visit_table} v WHERE visit_date >= %s AND visit_date < %s - 1 AND item = 'followup'
              AND NOT EXISTS (SELECT 1 FROM {visit_table} w WHERE w.enrolment_id = v.enrolment_id
                              AND w.item = 'followup' AND w.visit_date = v.visit_date + 1)
            LIMIT %s""", [f"{MARK}-", month, stop, args.change_visits])
        visits = cursor.rowcount
        cursor.execute(f"""
            UPDATE {enc_table} SET booked = NOT booked WHERE id IN (
                SELECT id FROM {enc_table} WHERE start_date >= %s AND start_date < %s AND kind = 'outpatient'
                AND source_no = '' ORDER BY id LIMIT 1000)""", [month, stop])
        edited = cursor.rowcount
        mark("encounters", {yyyymm})
    return {"month": yyyymm, "encounters_added": encounters, "visits_added": visits, "encounters_edited": edited}


def remove_changes() -> dict[str, int]:
    """Rows a previous incremental step added (the full refresh then exports the generated data)."""
    from django.db import connection

    from yigongti.care.models import Encounter
    from yigongti.programmes.models import Visit

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Encounter._meta.db_table} WHERE source_no LIKE %s", [f"{MARK}-%"])
        encounters = cursor.rowcount
        cursor.execute(f"DELETE FROM {Visit._meta.db_table} WHERE idempotency_key LIKE %s", [f"{MARK}-%"])
        visits = cursor.rowcount
    return {"encounters": encounters, "visits": visits}


def step_full(args: argparse.Namespace) -> dict[str, Any]:
    import io

    from django.conf import settings
    from django.core.management import call_command

    call_command("rules", "load", stdout=io.StringIO())  # the catalogue as it is now (not timed)
    removed = remove_changes()
    shutil.rmtree(Path(settings.YGT_ANALYTICS_DIR) / "facts", ignore_errors=True)  # a cold start: no Parquet
    result = step_refresh(args, full=True)
    result["removed_earlier_changes"] = removed
    return result


def step_incremental(args: argparse.Namespace) -> dict[str, Any]:
    change = change_one_month(args)
    result = step_refresh(args, full=False)
    result["change"] = change
    return result


# ---------------------------------------------------------------- the catalogue on an engine


def catalogue(engine_name: str, budget: float) -> dict[str, Any]:
    """Every active indicator over every period kept (as a full refresh computes them), compute only."""
    from django.test import override_settings

    from yigongti.analytics.compiler import compile_definition
    from yigongti.analytics.engines import open_engine
    from yigongti.analytics.models import Indicator
    from yigongti.analytics.periods import periods_between
    from yigongti.analytics.refresh import definition_of, month_range

    first, last = month_range()
    everything = periods_between(first, last)
    indicators = list(Indicator.objects.filter(active=True))
    times: dict[str, float] = {}
    digests: dict[str, str] = {}
    rows = 0
    load = load_average()
    with MemorySampler() as memory, override_settings(YGT_SPARK_MASTER="local[2]"):
        started = time.perf_counter()
        engine = open_engine(engine_name, everything)
        opened = time.perf_counter() - started
        began = time.perf_counter()
        left: list[str] = []
        try:
            for indicator in indicators:
                if time.perf_counter() - began > budget:
                    left.append(indicator.code)
                    continue
                definition = definition_of(indicator)
                compiled = compile_definition(definition)
                periods = {p for p in everything if p.type in definition.periods}
                needed = periods | ({p.shifted(-12) for p in periods} if definition.compare else set())
                t = time.perf_counter()
                engine.set_periods(sorted(needed))
                found = [("n", *row) for row in engine.query(compiled.numerator)]
                if compiled.denominator:
                    found += [("d", *row) for row in engine.query(compiled.denominator)]
                times[indicator.code] = time.perf_counter() - t
                rows += len(found)
                digests[indicator.code] = _digest(found)
            compute = time.perf_counter() - began
            baseline: list[float] = []
            for _ in range(3):
                t = time.perf_counter()
                engine.query("SELECT county, township, village, year(start_date)*12+month(start_date) AS mi, count(*) "
                             "FROM encounters GROUP BY ALL" if engine_name == "duckdb" else
                             "SELECT county, township, village, year(start_date)*12+month(start_date) AS mi, "
                             "count(*) FROM encounters GROUP BY county, township, village, "
                             "year(start_date)*12+month(start_date)")
                baseline.append(time.perf_counter() - t)
        finally:
            engine.close()
            if engine_name == "spark":
                engine.spark.stop()  # type: ignore[attr-defined]
    (Path(os.environ["YGT_DATA_DIR"]) / f"digests_{engine_name}.json").write_text(json.dumps(digests, indent=0))
    return {"open": opened, "compute": compute, "indicators": times, "left": left, "rows": rows,
            "baseline": baseline, "load": load, "digests": digests, **memory.figures()}


def _digest(rows: list[tuple[Any, ...]]) -> str:
    """The engine's answer to one indicator, order and type free (numbers rounded to 6 places)."""
    import hashlib

    normal = sorted((kind, str(period), str(org), str(lvl), None if v is None else round(float(v), 6))
                    for kind, period, org, lvl, v in rows if org is not None)
    return hashlib.sha256(repr(normal).encode()).hexdigest()


def compare_digests(work: Path) -> list[str]:
    """Indicators whose DuckDB and Spark answers differ (both steps' digests in ``work``)."""
    try:
        duck = json.loads((work / "digests_duckdb.json").read_text())
        spark = json.loads((work / "digests_spark.json").read_text())
    except OSError:
        return []
    return sorted(code for code in set(duck) & set(spark) if duck[code] != spark[code])


def step_engine(args: argparse.Namespace) -> dict[str, Any]:
    return catalogue("duckdb", float("inf"))


def step_spark(args: argparse.Namespace) -> dict[str, Any]:
    result = catalogue("spark", args.spark_budget)
    differ = compare_digests(args.work)
    result["differ"] = differ
    print(f"Spark = DuckDB on {len(result['digests']) - len(differ)} indicators"
          + (f"; DIFFERENT: {', '.join(differ)}" if differ else ""))
    return result


# ---------------------------------------------------------------- the dashboard


def step_dashboard(args: argparse.Namespace) -> dict[str, Any]:
    import importlib.util

    from django.test import Client
    from django.test.utils import setup_test_environment

    from yigongti.accounts.models import User
    from yigongti.analytics import selectors
    from yigongti.analytics.periods import index_of, make
    from yigongti.core.clock import today
    from yigongti.demo.codes import COUNTY_CODE, FIRST_TOWNSHIP_CODE

    setup_test_environment()
    user = User.objects.get(username="weijian")
    year = make("year", index_of(today()) - 12).key  # the last whole year
    pages = [f"/analytics/{COUNTY_CODE}/?period={year}", f"/analytics/{FIRST_TOWNSHIP_CODE}/?period={year}"]
    load = load_average()
    has_view = importlib.util.find_spec("yigongti.analytics.views") is not None
    client = Client()
    client.force_login(user)
    mode = "selectors"
    if has_view:
        status = [client.get(page).status_code for page in pages]
        if all(s == 200 for s in status):
            mode = "pages"
        else:
            mode = f"selectors (the board page answered {status})"
    times: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    for page, org in zip(pages, (COUNTY_CODE, FIRST_TOWNSHIP_CODE), strict=True):
        times[page] = []
        for n in range(args.n + 5):
            started = time.perf_counter()
            if mode == "pages":
                response = client.get(page)
                assert response.status_code == 200, response.status_code
                sizes[page] = len(response.content)
            else:
                board = selectors.board(user=user, org=org, period=year)
                for indicator, _cell in board.rows:
                    selectors.trend(user=user, org=org, code=indicator.code)
            if n >= 5:  # the first requests warm the caches
                times[page].append((time.perf_counter() - started) * 1000)
    return {"mode": mode, "times": times, "sizes": sizes, "load": load}


# ---------------------------------------------------------------- orchestration

STEPS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "generate": step_generate, "full": step_full, "incremental": step_incremental, "engine": step_engine,
    "dashboard": step_dashboard, "spark": step_spark,
}


def _child(args: argparse.Namespace, step: str, env: dict[str, str]) -> dict[str, Any]:
    """Run one step in a fresh interpreter; its JSON result (last line of its stdout)."""
    command = [sys.executable, __file__, "--step", step, *args.forward]
    process = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    lines = process.stdout.strip().splitlines()
    if process.returncode != 0 or not lines or not lines[-1].startswith("{"):
        print("\n".join(lines[-20:]))
        raise SystemExit(f"bench: step {step} failed (exit {process.returncode})")
    for line in lines[:-1]:
        print(f"  [{step}] {line}")
    return dict(json.loads(lines[-1]))


def _mib(value: float) -> str:
    return f"{value:,.0f} MiB"


def _earlier(result: dict[str, Any]) -> str:
    return f"   (earlier run, {result.get('at', '?')})" if result.get("earlier") else ""


def report(results: dict[str, Any], load: dict[str, Any] | None, args: argparse.Namespace) -> None:
    out = print
    out("\n" + "=" * 100)
    out(f"analytics benchmark — {args.residents:,} residents, {args.encounters:,} encounters and ~{args.visits:,} "
        f"programme visits a year × {args.years} years; today pinned at {args.today}; PostgreSQL {args.url}")
    if load is not None:
        rows = load["rows"]
        reused = " — reused from an earlier run" if load.get("reused") else ""
        out(f"load (generate + COPY + indexes){reused}: {load['registry_seconds'] + load['seconds']:.0f} s "
            f"(registry {load['registry_seconds']:.0f} s, data {load['seconds']:.0f} s); rows: "
            + ", ".join(f"{t.split('_', 1)[1]} {n:,}" for t, n in rows.items()))
        out(f"  ages: {load['under7']:.1%} under 7, {load['over65']:.1%} 65 and over; visits: "
            + ", ".join(f"{k} {v:,}" for k, v in load["visits"].items()) + f"; history {load['history']}")
        out("  managed, share of residents ≥35: "
            + ", ".join(f"{k} {v:.1%}" for k, v in load.get("chronic", {}).items()))
    else:
        out("load: reused the database of an earlier run (--regenerate to rebuild)")

    full = results.get("full")
    if full:
        ph = full["phases"]
        export_read = sum(v for k, v in ph.items() if k.startswith("export.read."))
        export_write = sum(v for k, v in ph.items() if k.startswith("export.write."))
        out(f"\n1. full refresh (DuckDB): {full['seconds']:.1f} s  (aim {AIMS['full']:.0f} s: "
            f"{full['seconds'] / AIMS['full']:.2f}×)   peak RSS {_mib(full['peak_rss_mib'])} "
            f"(ru_maxrss {_mib(full['ru_maxrss_mib'])})   [{full['load']}]{_earlier(full)}")
        out(f"   fingerprints {ph.get('fingerprints', 0):.1f} s | export {export_read + export_write:.1f} s "
            f"(read PostgreSQL → Arrow {export_read:.1f} s, write Parquet {export_write:.1f} s) | "
            f"compute {ph.get('compute', 0) + ph.get('compute.open', 0):.1f} s | combine {ph.get('combine', 0):.1f} s"
            f" | store {ph.get('store', 0):.1f} s")
        per_fact = {}
        for key, value in ph.items():
            if key.startswith("export."):
                fact = key.split(".", 2)[2]
                per_fact[fact] = per_fact.get(fact, 0.0) + value
        out("   export by fact: " + ", ".join(f"{f} {s:.1f} s" for f, s in
                                              sorted(per_fact.items(), key=lambda x: -x[1]) if s >= 0.05))
        top = sorted(full["indicators"].items(), key=lambda x: -x[1])[:8]
        out("   slowest indicators: " + ", ".join(f"{c} {s:.1f} s" for c, s in top))
        out(f"   {full['report']['values']:,} values stored, {full['report']['indicators']} indicators, "
            f"{full['report']['periods']} periods, skipped {len(full['report']['skipped'])}")
    inc = results.get("incremental")
    if inc:
        ph = inc["phases"]
        change = inc["change"]
        export = sum(v for k, v in ph.items() if k.startswith("export."))
        out(f"\n2. incremental refresh after changing {change['month']}: {inc['seconds']:.1f} s  (aim "
            f"{AIMS['incremental']:.0f} s: {inc['seconds'] / AIMS['incremental']:.2f}×)   peak RSS "
            f"{_mib(inc['peak_rss_mib'])}   [{inc['load']}]{_earlier(inc)}")
        out(f"   changed: {change['encounters_added']:,} encounters and {change['visits_added']:,} visits added, "
            f"{change['encounters_edited']:,} encounters edited (marked)")
        out("   partitions rewritten: " + (", ".join(f"{f} {m}" for f, m in inc["report"]["months"].items())
                                           or "none"))
        out(f"   fingerprints {ph.get('fingerprints', 0):.1f} s | export {export:.1f} s | compute "
            f"{ph.get('compute', 0) + ph.get('compute.open', 0):.1f} s | combine {ph.get('combine', 0):.1f} s | "
            f"store {ph.get('store', 0):.1f} s; {inc['report']['periods']} periods, {inc['report']['values']:,} values")
    eng = results.get("engine")
    if eng:
        base = statistics.median(eng["baseline"])
        out(f"\n3. engine limit (DuckDB, Parquet): whole catalogue {eng['compute']:.1f} s "
            f"({len(eng['indicators'])} indicators, {eng['rows']:,} rows) ÷ count(*) GROUP BY scan of encounters "
            f"{base:.3f} s (median of {', '.join(f'{b:.3f}' for b in eng['baseline'])}) = ratio "
            f"{eng['compute'] / base:.0f}   peak RSS {_mib(eng['peak_rss_mib'])}   [{eng['load']}]{_earlier(eng)}")
        top = sorted(eng["indicators"].items(), key=lambda x: -x[1])[:10]
        out("   slowest: " + ", ".join(f"{c} {s:.1f} s" for c, s in top))
    dash = results.get("dashboard")
    if dash:
        out(f"\n4. dashboard ({dash['mode']}), {args.n} requests each as weijian   [{dash['load']}]{_earlier(dash)}")
        for page, times in dash["times"].items():
            p95 = percentile(times, 95)
            size = dash["sizes"].get(page)
            out(f"   {page:42} p50 {percentile(times, 50):7.1f} ms   p95 {p95:7.1f} ms   p99 "
                f"{percentile(times, 99):7.1f} ms   p95 / {AIMS['dashboard_p95_ms']:.0f} ms = "
                f"{p95 / AIMS['dashboard_p95_ms']:.2f}" + (f"   ({size:,} bytes)" if size else ""))
    spark = results.get("spark")
    if spark:
        done = len(spark["indicators"])
        base = statistics.median(spark["baseline"]) if spark["baseline"] else float("nan")
        out(f"\n5. Spark local[2]: whole catalogue {spark['compute']:.1f} s ({done} indicators"
            + (f"; {len(spark['left'])} left after the {args.spark_budget:.0f} s budget: {', '.join(spark['left'])}"
               if spark["left"] else "")
            + f"), session start {spark['open']:.1f} s, count(*) scan {base:.2f} s   peak RSS incl. JVM "
              f"{_mib(spark['peak_rss_mib'])}   [{spark['load']}]{_earlier(spark)}")
        differ = spark.get("differ", [])
        out(f"   same answers as DuckDB: {len(spark['indicators']) - len(differ)} indicators"
            + (f"; DIFFERENT: {', '.join(differ)}" if differ else " (all compared)"))
        if eng:
            common = [c for c in spark["indicators"] if c in eng["indicators"]]
            ratio = sum(spark["indicators"][c] for c in common) / max(1e-9, sum(eng["indicators"][c] for c in common))
            out(f"   Spark ÷ DuckDB on the same {len(common)} indicators: {ratio:.1f}×")
        top = sorted(spark["indicators"].items(), key=lambda x: -x[1])[:8]
        out("   slowest: " + ", ".join(f"{c} {s:.1f} s" for c, s in top))
    out("=" * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="the scratch PostgreSQL database (created / dropped)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="YGT_DATA_DIR of the runs (the Parquet)")
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--encounters", type=int, default=6_000_000, help="encounters a year")
    parser.add_argument("--visits", type=int, default=800_000, help="programme visits a year (besides doses)")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--followup-share", type=float, default=0.95, help="quarters with a chronic follow-up")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--today", default="2026-10-31")
    parser.add_argument("--n", type=int, default=200, help="dashboard requests per page")
    parser.add_argument("--change-encounters", type=int, default=3000)
    parser.add_argument("--change-visits", type=int, default=2000)
    parser.add_argument("--spark-budget", type=float, default=2400.0, help="seconds of Spark compute at most")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip", action="append", default=[], choices=[s for s in STEPS if s != "generate"])
    parser.add_argument("--earlier", action="store_true",
                        help="report a skipped step with its figures from an earlier run (marked as such)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.forward = [a for a in sys.argv[1:] if a != "--regenerate"]
    if "--step" in args.forward:
        index = args.forward.index("--step")
        del args.forward[index:index + 2]

    os.environ["YGT_TODAY"] = args.today
    if args.step:  # a child: one step, its JSON result on the last line
        args.work.mkdir(parents=True, exist_ok=True)
        bench_plans.django_setup(args.url, args.work)
        if args.step != "generate":  # the code may have moved on since the data was generated
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        result = STEPS[args.step](args)
        result["at"] = dt.datetime.now().isoformat(timespec="seconds")
        (args.work / f"result_{args.step}.json").write_text(json.dumps(result, default=str))
        print(json.dumps(result, default=str))
        sys.stdout.flush()
        return

    print(f"analytics benchmark: {load_average()}")
    env = dict(os.environ)
    load = prepare(args)
    if load is not None:
        print(f"generated in {load['total_seconds']:.0f} s")
    results: dict[str, Any] = {}
    failed: list[str] = []
    for step in ("full", "incremental", "engine", "dashboard", "spark"):
        saved = args.work / f"result_{step}.json"
        if step in args.skip:
            if args.earlier and saved.exists():
                results[step] = {**json.loads(saved.read_text()), "earlier": True}
            continue
        started = time.perf_counter()
        print(f"step {step} … ({load_average()})", flush=True)
        try:
            results[step] = _child(args, step, env)
        except SystemExit as exc:
            print(exc, flush=True)
            failed.append(step)
            continue
        print(f"step {step} done in {time.perf_counter() - started:.0f} s", flush=True)
    if load is None:
        try:
            with psycopg.connect(args.url) as db:
                row = db.execute("SELECT value FROM bench_analytics_meta WHERE key = 'load'").fetchone()
            load = {**json.loads(row[0]), "reused": True} if row else None
        except psycopg.Error:
            load = None
    report(results, load, args)
    if failed:
        raise SystemExit(f"bench: failed steps: {', '.join(failed)}")


if __name__ == "__main__":
    main()
