"""Benchmark looking a resident up among the residents of the scratch database (issue: p95 < 20 ms).

    python benchmarks/bench_import_residents.py --n 1000000     # fills the database first
    python benchmarks/bench_lookup.py [--postgres URL] [--n 1000]

Through :func:`yigongti.residents.selectors.resident_search` as a county-level user (not a
superuser, so the scope filter on ``path`` is part of every query): ``--n`` random lookups by
resident ID (``q="5223991980…"``) and ``--n`` by name and birth date (``q="韦国华 1962-03-08"``),
each evaluated as the UI does (the first page of 20). Prints p50 / p95 / p99 in milliseconds and
how many lookups found their resident. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_import"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=DEFAULT_URL)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.postgres
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yigongti.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from yigongti.accounts.models import Role, User
    from yigongti.registry.choices import DivisionLevel
    from yigongti.registry.models import Division
    from yigongti.residents.models import Resident
    from yigongti.residents.selectors import resident_search

    total = Resident.objects.count()
    county = Division.objects.get(level=DivisionLevel.COUNTY)
    user, _created = User.objects.get_or_create(
        username="bench_lookup", defaults={"role": Role.HEALTH_COMMISSION, "entry_unit": county, "view_unit": county})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE residents_resident")
        cursor.execute("SELECT id_number, name, birth_date FROM residents_resident WHERE id_number <> '' "
                       "ORDER BY random() LIMIT %s", [args.n])
        by_id = cursor.fetchall()
        cursor.execute("SELECT id_number, name, birth_date FROM residents_resident ORDER BY random() LIMIT %s",
                       [args.n])
        by_name = cursor.fetchall()

    def run(queries: list[tuple[str, str]]) -> tuple[list[float], int]:
        times: list[float] = []
        found = 0
        for q, _name in queries[:50]:  # warm-up: connection, plan cache
            list(resident_search(user=user, q=q)[:20])
        for q, name in queries:
            started = time.perf_counter()
            page = list(resident_search(user=user, q=q)[:20])
            times.append((time.perf_counter() - started) * 1000)
            found += any(r.name == name for r in page)
        return times, found

    print(f"{total:,} residents; {args.n} lookups each, as a county-level user through resident_search")
    print(f"{'lookup':22}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean':>9}  found")
    for label, queries in (
        ("by resident ID", [(i, n) for i, n, _b in by_id]),
        ("by name + birth date", [(f"{n} {b.isoformat()}", n) for _i, n, b in by_name]),
    ):
        times, found = run(queries)
        print(f"{label:22}{percentile(times, 50):>9.2f}{percentile(times, 95):>9.2f}{percentile(times, 99):>9.2f}"
              f"{statistics.fmean(times):>9.2f}  {found}/{len(queries)}")
    print("aim: p95 < 20 ms")


if __name__ == "__main__":
    main()
