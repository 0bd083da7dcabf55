"""Benchmark the stock ledger of a county: balances of one institution, and the monthly consumption report.

    python benchmarks/bench_stock.py                                   # 5,000,000 movements, PostgreSQL
    python benchmarks/bench_stock.py --movements 500000                # a quick run
    python benchmarks/bench_stock.py --keep                            # leave the scratch database behind

Data (not timed; printed as the load time): the scratch PostgreSQL database ``ygt_bench_stock`` is
(re)created and migrated, the rules loaded (the medicines catalogue among them) and the demo county's
registry built (the small county: ~160 institutions that keep stock). Then ``--movements`` movements
of one year are written with COPY straight into the ledger: every institution holds every item of its
tier's list in a few lots, each lot received once and then dispensed (and, at the hospital and the
township centres, transferred down) in small quantities over the year — the county hospital moves
about 40 times what a village clinic does, a township centre 6 times. Holdings too; then the kept sums
(each holding's balance, each month's use) are computed from the movements by ``services.rebuild_sums``
as after any bulk load (timed and printed), and ``VACUUM ANALYZE``.

Timed: (a) the stock of every item at one institution — ``selectors.stock(institution, day)`` and the raw
``selectors.batch_balances`` (the kept balances) — over ``--institutions`` institutions (the county
hospital, every township centre, village clinics), p50 / p95 / max against the 200 ms aim, and as the
baseline the same balances added up from the movements (``batch_balances(until=…)``, what every read
did before the balances were kept); (b) ``selectors.consumption`` for the whole county over the last 12
whole months (read from the kept monthly use) and over the 365 days to today (two cut months added up
from the movements), against the 5 s aim, with the whole-ledger aggregation as the baseline; (c) the
ledger check of all movements. Peak Python memory (tracemalloc) of each, the process's peak RSS, and
``EXPLAIN ANALYZE`` of the balance query on the largest institution. The scratch database is dropped at
the end unless ``--keep``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import bench_plans
import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_stock"
AIM_BALANCE_MS = 200.0
AIM_CONSUMPTION_S = 5.0
WEIGHT = {"county": 40.0, "township": 6.0, "village": 1.0}
LOTS = 3  # lots of an item an institution holds over the year


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} (1 / 5 min, {os.cpu_count()} cores)"


def generate(n: int, today: dt.date, seed: int) -> dict[str, Any]:
    """The ledger of ``n`` movements (see the module docstring), written with COPY."""
    from django.db import connection

    from yigongti.medicines.models import Batch, ContractPrice, Holding, Movement
    from yigongti.medicines.selectors import formulary
    from yigongti.registry.choices import InstitutionType
    from yigongti.registry.models import Institution

    rng = random.Random(seed)
    start = today - dt.timedelta(days=364)
    places = list(Institution.objects.exclude(type=InstitutionType.CDC).order_by("code")
                  .values_list("id", "path", "tier"))
    listed = {tier: sorted(formulary(tier, today)) for tier in WEIGHT}
    prices = {m: p for m, p in ContractPrice.objects.order_by("valid_from").values_list("medicine_id", "unit_price")}
    # Lots: LOTS per item and institution, drawn from a shared pool of batches per item.
    pool = {m: [] for m in prices}
    batches: list[tuple[Any, ...]] = []
    next_batch = 1
    for medicine_id in sorted(prices):
        for i in range(60):
            expiry = today + dt.timedelta(days=rng.randint(-30, 900))
            batches.append((next_batch, medicine_id, f"B{medicine_id:03d}{i:04d}", expiry, prices[medicine_id], ""))
            pool[medicine_id].append(next_batch)
            next_batch += 1
    total_weight = sum(WEIGHT[tier] * len(listed[tier]) * LOTS for _pk, _path, tier in places)
    per_unit = n / total_weight
    holdings: list[tuple[Any, ...]] = []
    started = time.perf_counter()
    written = 0
    price_of = {pk: price for pk, _m, _l, _e, price, _s in batches}
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy("COPY medicines_batch (id, medicine_id, lot, expiry, unit_price, manufacturer) FROM STDIN") as c:
            for row in batches:
                c.write_row(row)
        columns = ("institution_id, path, batch_id, medicine_id, kind, quantity, unit_price, amount, moved_on, "
                   "document, reason, note, created_at")
        with raw.copy(f"COPY medicines_movement ({columns}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for pk, path, tier in places:
                per_lot = max(2, round(WEIGHT[tier] * per_unit))
                for medicine_id in listed[tier]:
                    for batch_id in rng.sample(pool[medicine_id], LOTS):
                        holdings.append((pk, batch_id, medicine_id, path))
                        price = price_of[batch_id]
                        dispensed = [rng.randint(1, 3) for _ in range(per_lot - 1)]
                        received = sum(dispensed) + rng.randint(0, 20)
                        days = sorted(rng.randint(0, 364) for _ in range(per_lot))
                        rows = [(received, "receipt", days[0])] + [
                            (-q, "transfer_out" if tier != "village" and rng.random() < 0.3 else "dispense", d)
                            for q, d in zip(dispensed, days[1:], strict=True)]
                        for quantity, kind, offset in rows:
                            day = start + dt.timedelta(days=offset)
                            amount = (price * quantity).quantize(Decimal("0.01"))
                            buffer.write(f"{pk}\t{path}\t{batch_id}\t{medicine_id}\t{kind}\t{quantity}\t{price}\t"
                                         f"{amount}\t{day}\t\t\t\t{day} 10:00:00+08\n")
                        written += len(rows)
                        if buffer.tell() > 8_000_000:
                            copy.write(buffer.getvalue())
                            buffer = io.StringIO()
            copy.write(buffer.getvalue())
        with raw.copy("COPY medicines_holding (institution_id, batch_id, medicine_id, path, quantity) FROM STDIN"
                      ) as copy:
            for row in holdings:
                copy.write_row((*row, 0))  # the kept balances are computed by services.rebuild_sums()
        for model in (Batch, Movement, Holding):
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    return {"movements": written, "institutions": len(places), "batches": len(batches), "holdings": len(holdings),
            "write_seconds": time.perf_counter() - started}


def timed(call: Any) -> tuple[float, float, Any]:
    """(wall seconds, peak Python MiB, result) of a call: timed plainly, then run again under tracemalloc
    for its memory (tracing slows every allocation, so it is not timed)."""
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def explain(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(f"      {line}" for (line,) in cursor.fetchall())


def measure(args: argparse.Namespace, today: dt.date) -> None:
    from yigongti.medicines import selectors, services
    from yigongti.registry.choices import InstitutionType, Tier
    from yigongti.registry.models import Institution

    county = list(Institution.objects.filter(tier=Tier.COUNTY).exclude(type=InstitutionType.CDC).order_by("code"))
    centres = list(Institution.objects.filter(tier=Tier.TOWNSHIP).order_by("code"))
    villages = list(Institution.objects.filter(tier=Tier.VILLAGE).order_by("code"))
    sample = (county + centres + random.Random(args.seed).sample(villages, len(villages)))[:args.institutions]
    stock_ms: list[float] = []
    raw_ms: list[float] = []
    summed_ms: list[float] = []
    peaks: list[float] = []
    for institution in sample:
        selectors.batch_balances(institution.pk)  # warm the cache as a busy server would be
        seconds, peak, _lines = timed(lambda i=institution: selectors.stock(i, today))
        stock_ms.append(seconds * 1000)
        peaks.append(peak)
        seconds, _peak, balances = timed(lambda i=institution: selectors.batch_balances(i.pk))
        raw_ms.append(seconds * 1000)
        seconds, _peak, summed = timed(lambda i=institution: selectors.batch_balances(i.pk, until=today))
        summed_ms.append(seconds * 1000)
        assert summed == balances, institution.code  # the kept balances are the movements' sums
    by_tier = {tier: [ms for inst, ms in zip(sample, stock_ms, strict=True) if inst.tier == tier] for tier in WEIGHT}
    print(f"(a) stock of every item at one institution, {len(sample)} institutions "
          f"({', '.join(f'{t} {len(v)}' for t, v in by_tier.items())}):")
    for name, values in (("selectors.stock", stock_ms), ("batch_balances", raw_ms),
                         ("summed (baseline)", summed_ms)):
        p95 = percentile(values, 0.95)
        print(f"   {name:17} p50 {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   max {max(values):7.1f} ms"
              f"   aim p95 < {AIM_BALANCE_MS:.0f} ms: ratio {p95 / AIM_BALANCE_MS:.3f}")
    print(f"   kept vs summed balances: p95 {percentile(raw_ms, 0.95):.1f} / {percentile(summed_ms, 0.95):.1f} ms "
          f"= {percentile(raw_ms, 0.95) / percentile(summed_ms, 0.95):.3f} of the baseline")
    for tier, values in by_tier.items():
        if values:
            print(f"   stock at {tier:8} p50 {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms")
    print(f"   peak Python memory of one stock() {max(peaks):.1f} MiB")
    everywhere = Institution.objects.all()
    last = today.replace(day=1) - dt.timedelta(days=1)  # the 12 whole months before today's
    first = dt.date(last.year - (last.month < 12), last.month % 12 + 1, 1)
    start = today - dt.timedelta(days=364)
    print(f"(b) consumption of the whole county (month × institution × item), aim {AIM_CONSUMPTION_S:.0f} s:")
    for label, low, high in (("12 whole months", first, last), ("365 days to today", start, today)):
        seconds, peak, rows = timed(lambda lo=low, hi=high: selectors.consumption(everywhere, lo, hi))
        print(f"   {label:18} {low} – {high}: {len(rows):,} rows   wall {seconds:6.2f} s   "
              f"ratio {seconds / AIM_CONSUMPTION_S:.3f}   peak Python memory {peak:.1f} MiB")
    seconds, _peak, rows = timed(lambda: _summed_consumption(first, last))
    print(f"   baseline: the same 12 months added up from the movements: {len(rows):,} rows   wall {seconds:6.2f} s")
    started = time.perf_counter()
    check = services.ledger_check()
    print(f"(c) ledger check of every movement: {'ok' if check.ok else 'NOT OK'}   wall "
          f"{time.perf_counter() - started:.1f} s")
    print(f"peak RSS of the process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.explain:
        from yigongti.medicines.models import Holding

        hospital = county[0]
        query = Holding.objects.filter(institution_id=hospital.pk).exclude(quantity=0).values_list("batch_id",
                                                                                                   "quantity")
        sql, params = query.query.sql_with_params()
        print(f"EXPLAIN ANALYZE batch_balances({hospital.code}):\n{explain(sql, params)}")


def _summed_consumption(start: dt.date, end: dt.date) -> list[Any]:
    """The consumption query as it was before the monthly use was kept: every movement of the range."""
    from yigongti.medicines.models import Movement
    from yigongti.medicines.sums import monthly_use

    return list(monthly_use(Movement.objects.filter(moved_on__gte=start, moved_on__lte=end)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="the scratch PostgreSQL database (recreated)")
    parser.add_argument("--movements", type=int, default=5_000_000)
    parser.add_argument("--institutions", type=int, default=50)
    parser.add_argument("--seed", type=int, default=bench_plans.SEED)
    parser.add_argument("--today", default="2026-06-15")
    parser.add_argument("--no-explain", dest="explain", action="store_false")
    parser.add_argument("--keep", action="store_true", help="do not drop the scratch database at the end")
    args = parser.parse_args()
    os.environ["YGT_TODAY"] = args.today
    today = dt.date.fromisoformat(args.today)
    print(f"stock benchmark: python {sys.version.split()[0]}, {load_average()}", flush=True)
    bench_plans.recreate(args.database_url)
    try:
        bench_plans.django_setup(args.database_url, Path(tempfile.gettempdir()) / "ygt_bench_stock")
        started = time.perf_counter()
        bench_plans.build_registry("small")
        registry_seconds = time.perf_counter() - started
        from django.db import connections, transaction

        with transaction.atomic():
            load = generate(args.movements, today, args.seed)
        from yigongti.medicines import services

        started = time.perf_counter()
        with transaction.atomic():
            services.rebuild_sums()
        load["sums_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        with connections["default"].cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        load["analyze_seconds"] = time.perf_counter() - started
        print("=" * 100)
        print(f"data (PostgreSQL {args.database_url}): {load['movements']:,} movements, {load['batches']:,} batches, "
              f"{load['holdings']:,} holdings at {load['institutions']} institutions   generated: registry "
              f"{registry_seconds:.1f} s, COPY {load['write_seconds']:.1f} s, kept sums {load['sums_seconds']:.1f} s, "
              f"VACUUM ANALYZE "
              f"{load['analyze_seconds']:.1f} s")
        measure(args, today)
        print("=" * 100)
        connections.close_all()
    finally:
        if not args.keep:
            info = psycopg.conninfo.conninfo_to_dict(args.database_url)
            admin = psycopg.conninfo.make_conninfo(args.database_url, dbname="postgres")
            with psycopg.connect(admin, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{info["dbname"]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
