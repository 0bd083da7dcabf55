"""Benchmark the worklist (``selectors.worklist_for_org``) of a township of about 60,000 residents.

    python benchmarks/bench_worklist.py                     # township of 60,000 in a county of 300,000
    python benchmarks/bench_worklist.py --township 20000 --others 0 --n 10
    python benchmarks/bench_worklist.py --explain           # EXPLAIN ANALYZE the queries of one call

Steps (not timed): (re)create the scratch PostgreSQL database ``ygt_bench_worklist``, migrate,
load the rules, build the county's registry; write ``--township`` residents in the villages of
the first township and ``--others`` in the other townships (so the township is a realistic share
of the tables); enrol them with two years of history (the demo's generator) and make their plans
(``plans_rebuild``); ``VACUUM ANALYZE``. Then, timed: ``worklist_for_org`` as the township's
director for the township and for each of its villages, ``--n`` times each, as of today. Prints
p50 / p95 / max in ms and the ratio of p95 to the 200 ms aim; with ``--explain`` (or when the
township's p95 misses the aim) the plans of the queries of one township call. Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_plans

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_worklist"
AIM_MS = 200.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _setup(args: argparse.Namespace, day: dt.date) -> tuple[Any, list[Any]]:
    """Build the scratch county: registry, residents, enrolments with histories, plans."""
    from django.db import connection, transaction

    from yigongti.demo.codes import FIRST_TOWNSHIP_CODE
    from yigongti.programmes.bulk import plans_rebuild

    started = time.perf_counter()
    ctx = bench_plans.build_registry()
    rng = random.Random(bench_plans.SEED)
    township = next(t for t in ctx.made["townships"] if t.code == FIRST_TOWNSHIP_CODE)
    villages = [v for v in ctx.made["villages"] if v.parent_id == township.pk]
    others = [v for v in ctx.made["villages"] if v.parent_id != township.pk]
    n = bench_plans.residents_write(villages, args.township, rng, day)
    if args.others:
        n += bench_plans.residents_write(others, args.others, rng, day, start=args.township)
    enrolments, visits = bench_plans.enrol_all(rng, day)
    with transaction.atomic():
        rows = plans_rebuild(as_of=day, workers=2)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"setup: {n:,} residents, {enrolments:,} enrolments, {visits:,} visits, {rows:,} scheduled rows "
          f"({time.perf_counter() - started:.1f} s)")
    return township, villages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--township", type=int, default=60_000, help="residents of the measured township")
    parser.add_argument("--others", type=int, default=240_000, help="residents of the other townships")
    parser.add_argument("--n", type=int, default=30, help="calls per org unit")
    parser.add_argument("--url", default=DEFAULT_URL, help="the scratch PostgreSQL database (dropped first)")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure the database an earlier run built (no setup)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ygt_bench_worklist_"))
    if not args.reuse:
        bench_plans.recreate(args.url)
    bench_plans.django_setup(args.url, work)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yigongti.accounts.models import Role, User
    from yigongti.core.clock import today
    from yigongti.demo.codes import FIRST_TOWNSHIP_CODE
    from yigongti.programmes.models import Enrolment, ScheduledVisit
    from yigongti.programmes.selectors import worklist_for_org
    from yigongti.registry.models import Division

    day = today()
    if args.reuse:
        township = Division.objects.get(code=FIRST_TOWNSHIP_CODE)
        villages = list(Division.objects.filter(parent=township).order_by("code"))
    else:
        township, villages = _setup(args, day)
    in_township = ScheduledVisit.objects.filter(path__startswith=township.path).count()
    print(f"township {township.code} {township.name}: {len(villages)} villages, "
          f"{Enrolment.objects.filter(path__startswith=township.path).count():,} enrolments, "
          f"{in_township:,} scheduled rows")

    director, _ = User.objects.get_or_create(username="bench_director", defaults={
        "role": Role.TOWNSHIP_DIRECTOR, "entry_unit": township, "view_unit": township})
    units = [(f"township {township.code}", township.code), *((f"village {v.code}", v.code) for v in villages)]
    print(f"{args.n} calls each as of {day}, as the township director")
    print(f"{'org unit':28}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'due':>7}{'overdue':>9}{'unseen':>8}")
    township_p95 = 0.0
    all_times: list[float] = []
    for label, code in units:
        times = []
        result = None
        for _ in range(args.n):
            t0 = time.perf_counter()
            result = worklist_for_org(user=director, org_code=code, on=day)
            times.append((time.perf_counter() - t0) * 1000)
        assert result is not None
        all_times.extend(times)
        p95 = percentile(times, 95)
        if code == township.code:
            township_p95 = p95
        print(f"{label:28}{statistics.median(times):>9.1f}{p95:>9.1f}{max(times):>9.1f}"
              f"{len(result.due):>7}{len(result.overdue):>9}{len(result.unseen):>8}")
    print(f"township p95 {township_p95:.1f} ms   ratio to {AIM_MS:.0f} ms: {township_p95 / AIM_MS:.3f}")
    print(f"all calls p95 {percentile(all_times, 95):.1f} ms   ratio {percentile(all_times, 95) / AIM_MS:.3f}")
    if args.explain or township_p95 > AIM_MS:
        with CaptureQueriesContext(connection) as captured:
            worklist_for_org(user=director, org_code=township.code, on=day)
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print(f"\n-- {query['time']} s: {sql[:300]}")
                print("\n".join(line for (line,) in cursor.fetchall()))
    os.environ.pop("DATABASE_URL", None)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
