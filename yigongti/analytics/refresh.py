"""``ygt analytics refresh``: export the changed months, compute the indicators, store the values.

1. **Which months changed** — per fact and month, the fingerprint of the source rows (count, sum
   of ids, latest ``updated_at``) against the one stored when the partition was written, plus the
   months the receivers marked (:mod:`.receivers`). ``--full`` takes every month.
2. **Export** those partitions (:mod:`.export`); months whose rows are gone lose their file.
3. **Compute** the periods those months can move (:func:`.periods.affected`), every period of an
   indicator whose definition changed since it was last computed, and the periods of months that
   came into range since the last run; each indicator's compiled SQL runs on the engine.
4. **Store** in one transaction: the values of the recomputed periods are replaced, the partitions'
   fingerprints recorded, the consumed marks deleted. A run that fails before this step leaves
   the stored values and fingerprints as they were, and the next run redoes its work.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yigongti.core.clock import today
from yigongti.core.errors import Conflict
from yigongti.registry.models import Division

from . import export
from .compiler import CompileError, compile_definition
from .definitions import Definition, DefinitionInvalid, parse
from .engines import Engine, open_engine
from .facts import FACTS
from .models import DirtyMonth, FactPartition, Indicator, IndicatorValue, RefreshRun
from .periods import Period, affected, from_yyyymm, index_of, periods_between

Progress = Callable[[str], None]


class RefreshRunning(Conflict):
    code = "refresh_running"
    message = gettext_lazy("另一个指标刷新正在进行，请稍后再试。")


@dataclass
class RefreshReport:
    run: int
    engine: str
    full: bool
    months: dict[str, list[int]] = field(default_factory=dict)
    periods: int = 0
    values: int = 0
    indicators: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@contextmanager
def _lock() -> Iterator[None]:
    path = export.root() / "refresh.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RefreshRunning() from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def month_range() -> tuple[int, int]:
    """The months whose periods are kept: the last ``YGT_ANALYTICS_MONTHS`` up to this month."""
    last = index_of(today())
    return last - int(getattr(settings, "YGT_ANALYTICS_MONTHS", 36)) + 1, last


def definition_of(indicator: Indicator) -> Definition:
    return parse(indicator.definition, sort_order=indicator.sort_order)


def refresh(*, full: bool = False, engine: str = "duckdb", progress: Progress | None = None) -> RefreshReport:
    """Bring the facts and the stored indicator values up to date (see the module docstring)."""
    say = progress or (lambda message: None)
    started = time.perf_counter()
    with _lock():
        run = RefreshRun.objects.create(started_at=timezone.now(), engine=engine, full=full)
        try:
            report = _refresh(run, full=full, engine_name=engine, say=say)
        except BaseException as exc:
            RefreshRun.objects.filter(pk=run.pk).update(status=RefreshRun.Status.FAILED, finished_at=timezone.now(),
                                                        error=str(exc)[:2000] or type(exc).__name__)
            raise
    report.seconds = time.perf_counter() - started
    return report


def _changed_months(full: bool, say: Progress) -> tuple[dict[str, list[int]], dict[str, list[int]],
                                                         dict[str, dict[int, str]], int | None]:
    """Per fact: the months to write, the months to drop, the new fingerprints; the last mark's id."""
    stored: dict[str, dict[int, str]] = {}
    for fact_name, month, fingerprint in FactPartition.objects.values_list("fact", "month", "fingerprint"):
        stored.setdefault(fact_name, {})[month] = fingerprint
    last_mark = DirtyMonth.objects.aggregate(last=Max("pk"))["last"]
    marks: dict[str, set[int]] = {}
    for fact_name, month in DirtyMonth.objects.filter(pk__lte=last_mark or 0).values_list("fact", "month"):
        marks.setdefault(fact_name, set()).add(month)
    write: dict[str, list[int]] = {}
    drop: dict[str, list[int]] = {}
    prints: dict[str, dict[int, str]] = {}
    for name, fact in FACTS.items():
        now = fact.default_fingerprints()
        prints[name] = now
        before = stored.get(name, {})
        on_disk = export.written_months(name)
        if full or 0 in marks.get(name, set()):
            months = set(now)
        else:
            months = {m for m, f in now.items() if before.get(m) != f or m not in on_disk}
            months |= marks.get(name, set()) & set(now)
        write[name] = sorted(months)
        drop[name] = sorted((set(before) | on_disk) - set(now))
        if write[name] or drop[name]:
            say(_("%(fact)s：重写 %(write)d 个月，删除 %(drop)d 个月")
                % {"fact": name, "write": len(write[name]), "drop": len(drop[name])})
    return write, drop, prints, last_mark


def _refresh(run: RefreshRun, *, full: bool, engine_name: str, say: Progress) -> RefreshReport:
    report = RefreshReport(run=run.pk, engine=engine_name, full=full)
    export.ensure_schema_files()
    write, drop, prints, last_mark = _changed_months(full, say)
    levels = export.org_levels()
    for name, months in write.items():
        if not months:
            continue
        fact = FACTS[name]
        counts = {m: int(f.split(":")[0]) for m, f in prints[name].items() if f.split(":")[0].isdigit()}
        for month, table in export.month_tables(fact, months, levels, counts):
            export.write_partition(fact, month, table)
        for month in months:  # a month listed but now empty (all its rows were removed)
            if month not in prints[name]:
                export.drop_partition(fact, month)
    for name, months in drop.items():
        for month in months:
            export.drop_partition(FACTS[name], month)
    report.months = {name: months for name, months in write.items() if months}

    first, last = month_range()
    previous = RefreshRun.objects.filter(status=RefreshRun.Status.DONE).order_by("-started_at").first()
    changed: dict[str, set[int]] = {}
    for name, months in [*write.items(), *drop.items()]:
        changed.setdefault(name, set()).update(from_yyyymm(m) for m in months if m)
    everything = set(periods_between(first, last))
    rebuild = full or previous is None or previous.last_month is None
    # On an incremental run every indicator also recomputes the periods of months that came into
    # range since the last run (their stocks are new); one that reads :today, those containing this
    # month (today moves on without a row changing).
    new_months: set[Period] = set()
    this_month = set(periods_between(last, last))
    if not rebuild:
        assert previous is not None and previous.last_month is not None
        if previous.last_month < last:
            new_months = set(periods_between(max(previous.last_month + 1, first), last))

    computed: list[tuple[Indicator, list[IndicatorValue], set[Period]]] = []
    paths = dict(Division.objects.values_list("code", "path"))
    union: set[Period] = set()
    engine: Engine | None = None
    try:
        for indicator in Indicator.objects.filter(active=True):
            try:
                definition = definition_of(indicator)
                compiled = compile_definition(definition)
            except (DefinitionInvalid, CompileError) as exc:
                report.skipped[indicator.code] = str(exc)
                continue
            pending = [str(FACTS[f].pending) for f in facts_read(definition) if f in FACTS and FACTS[f].pending]
            if pending:
                report.skipped[indicator.code] = pending[0]
                continue
            if rebuild or indicator.digest != indicator.computed_digest:
                wanted = everything
            else:
                wanted = new_months | periods_touched(definition, changed, first=first, last=last)
                if ":today" in json.dumps(indicator.definition, ensure_ascii=False):
                    wanted |= this_month
            periods = {p for p in wanted if p.type in definition.periods}
            union |= periods
            if not periods:
                computed.append((indicator, [], periods))
                continue
            needed = periods | ({p.shifted(-12) for p in periods} if definition.compare else set())
            if engine is None:
                engine = open_engine(engine_name, sorted(needed))
            else:
                engine.set_periods(sorted(needed))
            say(_("计算 %(code)s（%(n)d 个周期）") % {"code": indicator.code, "n": len(periods)})
            numerator = engine.query(compiled.numerator)
            denominator = engine.query(compiled.denominator) if compiled.denominator else None
            values = combine(indicator, definition, periods, numerator, denominator, paths)
            computed.append((indicator, values, periods))
    finally:
        if engine is not None:
            engine.close()

    now = timezone.now()
    with transaction.atomic():
        written = 0
        for indicator, values, periods in computed:
            stale = IndicatorValue.objects.filter(indicator=indicator)
            if not rebuild and indicator.digest == indicator.computed_digest:
                stale = stale.filter(period__in=[p.key for p in periods])
            stale.delete()
            insert_values(values, now)
            written += len(values)
            if indicator.computed_digest != indicator.digest:
                Indicator.objects.filter(pk=indicator.pk).update(computed_digest=indicator.digest)
        for name, months in write.items():
            if not months:
                continue
            FactPartition.objects.filter(fact=name, month__in=months).delete()
            FactPartition.objects.bulk_create([FactPartition(fact=name, month=m, fingerprint=prints[name][m],
                                                             written_at=now) for m in months if m in prints[name]],
                                              batch_size=5000)
        for name, months in drop.items():
            FactPartition.objects.filter(fact=name, month__in=months).delete()
        if last_mark is not None:
            DirtyMonth.objects.filter(pk__lte=last_mark).delete()
        report.periods = len(union)
        report.values = written
        report.indicators = len(computed)
        RefreshRun.objects.filter(pk=run.pk).update(
            status=RefreshRun.Status.DONE, finished_at=timezone.now(), months=report.months, periods=report.periods,
            values=written, skipped=report.skipped, first_month=first, last_month=last)
    return report


COLUMNS = ("indicator_id", "org_code", "org_level", "org_path", "period", "period_type", "numerator", "denominator",
           "value", "computed_at")


def insert_values(values: list[IndicatorValue], now: Any) -> None:
    """Insert stored values fast: COPY on PostgreSQL, ``executemany`` on SQLite (no model round trip)."""
    if not values:
        return
    table = IndicatorValue._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [(v.indicator_id, v.org_code, v.org_level, v.org_path, v.period, v.period_type, v.numerator,
             v.denominator, v.value, stamp) for v in values]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})", rows)


def facts_read(definition: Definition) -> set[str]:
    """Every fact a definition reads (its measures and their related conditions)."""
    measures = [m for m in (definition.numerator, definition.denominator) if m is not None]
    return {m.fact for m in measures} | {r.fact for m in measures for r in m.related}


def periods_touched(definition: Definition, changed: dict[str, set[int]], *, first: int, last: int) -> set[Period]:
    """The periods of ``first..last`` whose numbers the changed months (month indexes per fact) can move.

    Per measure, part by part: nothing for a fact that did not change; for rows counted by their
    fact's partition date — events, and related rows in the same period — the periods containing a
    changed month (and a year later, for growth); for a stock that starts at the partition date,
    every period ending on or after the earliest changed month (a row alive from then on counts in
    each of them); for anything else (a date other than the partition date, related rows outside
    the period) every period.
    """
    everything = set(periods_between(first, last))
    found: set[Period] = set()

    def aligned(fact: str, date: str) -> bool:
        return fact in FACTS and bool(date) and FACTS[fact].partition_column == date

    for measure in (m for m in (definition.numerator, definition.denominator) if m is not None):
        months = changed.get(measure.fact, set())
        if months:
            if not aligned(measure.fact, measure.date if measure.mode == "events" else measure.start):
                return everything
            if measure.mode == "stock":
                found |= {p for p in everything if p.last >= min(months)}
            else:
                found |= set(affected(months, first=first, last=last))
        for related in measure.related:
            months = changed.get(related.fact, set())
            if not months:
                continue
            if not related.in_period or not aligned(related.fact, FACTS[related.fact].event_date):
                return everything
            found |= set(affected(months, first=first, last=last))
    return found


def combine(indicator: Indicator, definition: Definition, periods: set[Period],
            numerator: list[tuple[Any, ...]], denominator: list[tuple[Any, ...]] | None,
            paths: dict[str, str] | None = None) -> list[IndicatorValue]:
    """The engine's rows → one :class:`IndicatorValue` per org unit and wanted period.

    ``value`` = numerator ÷ denominator × factor, ``None`` when the denominator is 0 (shown "—");
    without a denominator ``numerator × factor``; with ``compare: previous_year`` the denominator
    is the numerator of the same period a year earlier and the value (num − den) ÷ den × factor.
    """
    if paths is None:  # division code → path; a refresh reads it once for every indicator
        paths = dict(Division.objects.values_list("code", "path"))
    num: dict[tuple[str, str], float] = {}
    den: dict[tuple[str, str], float] = {}
    level: dict[str, str] = {}
    for period, org, lvl, v in numerator:
        if org is None:
            continue
        num[(period, org)] = float(v or 0) * definition.numerator.scale
        level[org] = lvl
    if denominator is not None and definition.denominator is not None:
        for period, org, lvl, v in denominator:
            if org is None:
                continue
            den[(period, org)] = float(v or 0) * definition.denominator.scale
            level.setdefault(org, lvl)
    wanted = {p.key: p for p in periods}
    keys = {k for k in [*num, *den] if k[0] in wanted}
    if definition.compare:
        later = {p.shifted(-12).key: p.key for p in periods}
        keys |= {(later[prior], org) for (prior, org) in num if prior in later}
    values: list[IndicatorValue] = []
    for period_key, org in sorted(keys):
        period = wanted[period_key]
        n = num.get((period_key, org), 0.0)
        d: float | None
        if definition.compare:
            d = num.get((period.shifted(-12).key, org), 0.0)
            value = None if not d else (n - d) / d * definition.factor
        elif definition.denominator is not None:
            d = den.get((period_key, org), 0.0)
            value = None if not d else n / d * definition.factor
        else:
            d, value = None, n * definition.factor
        if not n and not d:
            continue
        values.append(IndicatorValue(
            indicator=indicator, org_code=org, org_level=level.get(org, ""), org_path=paths.get(org, org),
            period=period_key, period_type=period.type, numerator=round(n, 6),
            denominator=None if d is None else round(d, 6), value=None if value is None else round(value, 6),
            computed_at=timezone.now()))
    return values
