"""Benchmark the recognition check (``care.selectors.recognition_check``) among 10 million results.

    python benchmarks/bench_results_check.py                      # 200,000 residents, 10,000,000 results
    python benchmarks/bench_results_check.py --results 1000000    # a quicker run (residents scale with it)
    python benchmarks/bench_results_check.py --reuse              # measure the database an earlier run built

Steps (not timed as the check): (re)create the scratch PostgreSQL database ``ygt_bench_results``,
migrate, load the rules (the result catalogue and the recognition rules), build the county's
registry (the demo's ``registry`` module); write ``--results / 50`` residents (COPY); then load the
results with ``COPY … FROM STDIN`` — about 50 per resident over the catalogue's items, reported
over the last two years, performed at the county hospital / TCM / MCH hospitals (county tier), the
resident's township centre or village clinic — with the table's secondary indexes dropped and
rebuilt after, and the session's triggers off (``session_replication_role = replica``: a scratch
database of generated rows whose keys are valid by construction; the foreign-key checks per row
would double the load); ``VACUUM ANALYZE``. Prints the load time.

Timed: ``--n`` checks (default 1,000) of a random resident and item, ordered at the county hospital
or a township centre, as a county clinician — through the selector (rule lookup, the one indexed
query, the read audit) and through the raw SQL of its query alone. Prints p50 / p95 / p99 in ms,
the ratio of p95 to the 20 ms target, the share of checks that found a recognisable result, and
peak memory (RSS of this process, ``resource``). Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_plans

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_results"
TARGET_MS = 20.0
RESULTS_PER_RESIDENT = 50
HISTORY_DAYS = 730
# Where a result was performed: (share, which): county hospitals by share, the resident's centre or clinic.
PERFORMERS = [(0.40, "hospital"), (0.08, "tcm"), (0.04, "mch"), (0.40, "centre"), (0.08, "clinic")]
COPY_BATCH = 200_000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _copy_text(value: Any) -> str:
    return "\\N" if value is None else str(value)


def load_results(n_results: int, rng: random.Random, now: dt.datetime) -> tuple[int, float, float]:
    """COPY ``n_results`` results of the residents in the database; (rows, copy s, index s)."""
    from django.db import connection

    from yigongti.care.models import Result, ResultItem
    from yigongti.registry.choices import InstitutionType
    from yigongti.registry.models import Institution
    from yigongti.residents.models import Resident

    items = list(ResultItem.objects.order_by("id").values_list("id", "unit", "ref_low", "ref_high"))
    county = {kind: (pk, tier) for kind, pk, tier in Institution.objects.filter(
        type__in=[InstitutionType.COUNTY_HOSPITAL, InstitutionType.TCM_HOSPITAL, InstitutionType.MCH]).values_list(
        "type", "id", "tier")}
    performer_of = {"hospital": county[InstitutionType.COUNTY_HOSPITAL], "tcm": county[InstitutionType.TCM_HOSPITAL],
                    "mch": county[InstitutionType.MCH]}
    people = list(Resident.objects.order_by("id").values_list("id", "path", "township_centre_id", "clinic_id"))
    cumulative, total = [], 0.0
    for share, which in PERFORMERS:
        total += share
        cumulative.append((total, which))
    table = Result._meta.db_table
    columns = ["resident_id", "path", "item_id", "encounter_id", "value", "value_text", "unit", "ref_range", "flag",
               "report", "performed_by_id", "performer_tier", "reported_at", "source_no", "created_at"]
    stamp = now.isoformat()
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE %s",
                       [table, "%_pkey"])
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
        started = time.perf_counter()
        written = 0
        per_resident = max(1, round(n_results / max(1, len(people))))
        while written < n_results:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                lines: list[str] = []
                for resident_id, path, centre_id, clinic_id in people:
                    for _ in range(per_resident):
                        if written >= n_results:
                            break
                        item_id, unit, low, high = items[int(rng.random() * len(items))]
                        draw = rng.random()
                        which = next(w for c, w in cumulative if draw <= c) if draw <= total else "hospital"
                        if which == "centre" and centre_id:
                            performer, tier = centre_id, "township"
                        elif which == "clinic" and clinic_id:
                            performer, tier = clinic_id, "village"
                        else:
                            performer, tier = performer_of.get(which, performer_of["hospital"])
                        reported = now - dt.timedelta(seconds=int(rng.random() * HISTORY_DAYS * 86400))
                        value = f"{float(low or 1) * (0.8 + rng.random() * 0.6):.2f}" if high is not None else None
                        lines.append(f"{resident_id}\t{path}\t{item_id}\t\\N\t{_copy_text(value)}\t\t{unit}\t\tN\t\t"
                                     f"{performer}\t{tier}\t{reported.isoformat()}\t\t{stamp}\n")
                        written += 1
                        if len(lines) >= COPY_BATCH:
                            copy.write("".join(lines))
                            lines.clear()
                    if written >= n_results:
                        break
                if lines:
                    copy.write("".join(lines))
        copy_seconds = time.perf_counter() - started
        cursor.execute("SET session_replication_role = DEFAULT")
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        index_seconds = time.perf_counter() - started
    return written, copy_seconds, index_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=10_000_000)
    parser.add_argument("--n", type=int, default=1000, help="checks to time")
    parser.add_argument("--url", default=DEFAULT_URL, help="the scratch PostgreSQL database (dropped first)")
    parser.add_argument("--reuse", action="store_true", help="measure the database an earlier run built (no setup)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ygt_bench_results_"))
    if not args.reuse:
        bench_plans.recreate(args.url)
    bench_plans.django_setup(args.url, work)
    from django.db import connection, transaction
    from django.utils import timezone

    from yigongti.accounts.models import Role, User
    from yigongti.care.models import Result, ResultItem
    from yigongti.care.selectors import _window_start, recognition_check, rule_for
    from yigongti.core.clock import today
    from yigongti.demo.codes import COUNTY_CODE
    from yigongti.registry.choices import InstitutionType
    from yigongti.registry.models import Division, Institution
    from yigongti.residents.models import Resident

    rng = random.Random(bench_plans.SEED)
    now = timezone.now()
    if not args.reuse:
        started = time.perf_counter()
        ctx = bench_plans.build_registry()
        residents = max(1, args.results // RESULTS_PER_RESIDENT)
        bench_plans.residents_write(ctx.made["villages"], residents, rng, today())
        print(f"setup: registry + {residents:,} residents ({time.perf_counter() - started:.1f} s)")
        with transaction.atomic():
            rows, copy_s, index_s = load_results(args.results, rng, now)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"load: {rows:,} results by COPY in {copy_s:.1f} s ({rows / copy_s:,.0f} rows/s), indexes rebuilt in "
              f"{index_s:.1f} s, VACUUM ANALYZE {time.perf_counter() - started:.1f} s; "
              f"total {copy_s + index_s + time.perf_counter() - started:.1f} s")
    total = Result.objects.count()
    print(f"{total:,} results, {Resident.objects.count():,} residents, {ResultItem.objects.count()} items, "
          f"{ResultItem.objects.filter(recognition_rules__isnull=False).distinct().count()} with recognition rules")

    county = Division.objects.get(code=COUNTY_CODE)
    hospital = Institution.objects.get(type=InstitutionType.COUNTY_HOSPITAL)
    centres = list(Institution.objects.filter(type=InstitutionType.TOWNSHIP_CENTRE).order_by("code"))
    user, _ = User.objects.get_or_create(username="bench_clinician", defaults={
        "role": Role.COUNTY_CLINICIAN, "entry_unit": county, "view_unit": county, "institution": hospital})
    low, high = Resident.objects.order_by("id").values_list("id", flat=True)[:1][0], \
        Resident.objects.order_by("-id").values_list("id", flat=True)[:1][0]
    items = list(ResultItem.objects.prefetch_related("recognition_rules").order_by("id"))
    cases = []
    for _ in range(args.n):
        resident = Resident.objects.get(pk=rng.randint(low, high))
        cases.append((resident, rng.choice(items), hospital if rng.random() < 0.6 else rng.choice(centres)))

    selector_ms: list[float] = []
    found = 0
    for resident, item, institution in cases:
        t0 = time.perf_counter()
        with transaction.atomic():
            answer = recognition_check(user=user, resident=resident, item_code=item.code,
                                       ordering_institution=institution, at=now)
        selector_ms.append((time.perf_counter() - t0) * 1000)
        found += answer.recognisable
    raw_ms: list[float] = []
    table = Result._meta.db_table
    sql = (f"SELECT id, reported_at FROM {table} WHERE resident_id = %s AND item_id = %s AND reported_at <= %s "
           "AND reported_at >= %s AND performer_tier = ANY(%s) ORDER BY reported_at DESC LIMIT 1")
    with connection.cursor() as cursor:
        for resident, item, institution in cases:
            rule, _reason = rule_for(item, institution.tier, now.date())
            if rule is None:
                continue
            t0 = time.perf_counter()
            cursor.execute(sql, [resident.pk, item.pk, now, _window_start(rule, now), list(rule.performed_tiers)])
            cursor.fetchall()
            raw_ms.append((time.perf_counter() - t0) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"\nrecognition_check, {len(cases):,} random (resident, item, ordering institution) among {total:,} results")
    for label, times in (("selector (rule, query, audit)", selector_ms), ("raw query only", raw_ms)):
        if times:
            p95 = percentile(times, 95)
            print(f"  {label:32} p50 {percentile(times, 50):6.2f} ms   p95 {p95:6.2f} ms   "
                  f"p99 {percentile(times, 99):6.2f} ms   max {max(times):7.2f} ms   "
                  f"p95 / {TARGET_MS:.0f} ms = {p95 / TARGET_MS:.3f}")
    print(f"  recognisable: {found:,} of {len(cases):,} ({found / len(cases):.1%})")
    print(f"  peak RSS {rss:,} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
