"""Benchmark :func:`yigongti.programmes.bulk.plans_rebuild`: the visit plans of a county.

    python benchmarks/bench_plans.py                                  # 1,000,000 residents, PostgreSQL
    python benchmarks/bench_plans.py --residents 50000                # a quick run
    python benchmarks/bench_plans.py --database sqlite --residents 20000
    python benchmarks/bench_plans.py --workers 1                      # the engine in this process only

Steps (not timed): (re)create the scratch database (PostgreSQL ``ygt_bench_plans``, or a
temporary SQLite file) and migrate it; load the rule fixtures; build the county's registry (300
villages: the demo's ``registry`` module); write N residents with a rural age pyramid (≥65 about
16 %, <15 about 22 %) straight into the table (COPY); enrol them and write their two-year history
with the demo's generator (:class:`yigongti.demo.programmes.Maker`: the same prevalences and
follow-up behaviour as ``ygt demo``). Then, timed in a fresh subprocess: ``plans_rebuild`` of
every active enrolment as of today, committed (with ``--workers 2`` on PostgreSQL two forked
processes read and plan while the main one writes). Prints wall time, rows written, peak RSS (the
subprocess and its workers) and the ratio to the 300 s aim. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_plans"
AIM_SECONDS = 300.0
SEED = 20250101
# Rural 黔西南 county with out-migration (see demo/population.py): share by 5-year band, 0–4 … 95–99.
AGE_BANDS = [5.0, 6.0, 6.5, 5.5, 4.0, 3.5, 4.0, 5.0, 7.0, 8.5, 8.0, 7.5, 7.0, 6.5, 5.5, 4.5, 3.0, 1.8, 0.8, 0.3]


def recreate(url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = str(info["dbname"])
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # a killed earlier run may hold it
        db.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["YGT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yigongti.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_url(args: argparse.Namespace, work: Path) -> str:
    if args.database == "sqlite":
        return f"sqlite:///{work / 'bench.sqlite3'}"
    recreate(args.url)
    return str(args.url)


def build_registry(scale: str = "county") -> Any:
    """Migrate, load the rules, build the registry of the demo county; the BuildContext."""
    import io

    from django.core.management import call_command
    from django.db import transaction

    from yigongti.demo import registry
    from yigongti.demo.context import BuildContext

    call_command("migrate", verbosity=0)
    call_command("rules", "load", stdout=io.StringIO())
    ctx = BuildContext.create(seed=SEED, scale=scale)
    with transaction.atomic():
        registry.build(ctx)
    return ctx


def residents_write(villages: list[Any], n: int, rng: random.Random, today: Any, start: int = 0) -> int:
    """N residents spread evenly over ``villages``, ages from :data:`AGE_BANDS` (COPY / bulk)."""
    import datetime as dt

    from django.db import transaction

    from yigongti.programmes.bulk import rows_insert
    from yigongti.residents.bulk import village_lookup
    from yigongti.residents.models import Resident

    info = village_lookup(v.code for v in villages)
    weights = [w / sum(AGE_BANDS) for w in AGE_BANDS]
    cumulative = [sum(weights[:i + 1]) for i in range(len(weights))]
    written = 0
    step = 100_000
    for offset in range(0, n, step):
        rows = []
        for i in range(offset, min(n, offset + step)):
            village = info[villages[i % len(villages)].code]
            draw = rng.random()
            band = next(b for b, c in enumerate(cumulative) if draw <= c or b == len(cumulative) - 1)
            born = today - dt.timedelta(days=int((band * 5 + rng.random() * 5) * 365.25))
            seq = start + i
            rows.append({"record_no": f"{village.code}{seq:07d}", "name": f"居民{seq}", "sex": "MF"[seq % 2],
                         "birth_date": born, "village_id": village.id, "clinic_id": village.clinic_id,
                         "township_centre_id": village.centre_id, "path": village.path})
        with transaction.atomic():
            rows_insert(Resident, rows)
        written += len(rows)
    return written


def enrol_all(rng: random.Random, today: Any, resident_filter: dict[str, Any] | None = None) -> tuple[int, int]:
    """Enrolments and histories of every (matching) resident with the demo's generator."""
    from django.db import transaction

    from yigongti.demo.programmes import MOTHER_AGES, Maker, _Person, age_on
    from yigongti.programmes.bulk import enrolments_bulk_create, visits_bulk_create
    from yigongti.programmes.models import Programme
    from yigongti.programmes.specs import spec_for
    from yigongti.residents.models import Resident

    programmes = dict(Programme.objects.values_list("code", "id"))
    specs = {code: spec_for(code, today) for code in programmes}
    people = Resident.objects.filter(**(resident_filter or {})).order_by("id")
    ids = list(people.values_list("id", flat=True))
    mothers = sum(1 for sex, born in people.values_list("sex", "birth_date")
                  if sex == "F" and MOTHER_AGES[0] <= age_on(born, today) <= MOTHER_AGES[1])
    enrolments = visits = 0
    fields = ("id", "sex", "birth_date", "path", "clinic_id", "township_centre_id")
    for start in range(0, len(ids), 50_000):
        maker = Maker(rng, today, programmes, specs, len(ids), mothers)
        for values in people.filter(id__in=ids[start:start + 50_000]).values_list(*fields):
            maker.person(_Person(values))
        with transaction.atomic():
            pks = enrolments_bulk_create(maker.enrolments)
            rows = []
            for pk, made in zip(pks, maker.visits, strict=True):
                for row in made:
                    row["enrolment_id"] = pk
                    rows.append(row)
            visits += visits_bulk_create(rows)
        enrolments += len(pks)
    return enrolments, visits


def rebuild_child(url: str, work: Path, workers: int, batch: int) -> dict[str, Any]:
    """Run the timed step in a fresh interpreter: its own wall time, rows, peak RSS."""
    command = [sys.executable, __file__, "--rebuild-only", "--url", url, "--workers", str(workers),
               "--batch", str(batch), "--work", str(work)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def rebuild_only(args: argparse.Namespace) -> None:
    django_setup(args.url, Path(args.work))
    from yigongti.core.clock import today
    from yigongti.programmes.bulk import plans_rebuild

    started = time.perf_counter()
    rows = plans_rebuild(as_of=today(), batch=args.batch, workers=args.workers)  # commits
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "rss_mib": own, "worker_rss_mib": workers}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--url", default=DEFAULT_URL, help="the scratch PostgreSQL database (dropped first)")
    parser.add_argument("--workers", type=int, default=2, help="engine processes (1: none)")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--rebuild-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild_only:
        rebuild_only(args)
        return

    work = Path(tempfile.mkdtemp(prefix="ygt_bench_plans_"))
    url = database_url(args, work)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; database {url}")
    django_setup(url, work)
    from django.db import connection

    from yigongti.core.clock import today

    started = time.perf_counter()
    ctx = build_registry()
    rng = random.Random(SEED)
    n = residents_write(ctx.made["villages"], args.residents, rng, today())
    print(f"setup: registry + {n:,} residents ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    enrolments, visits = enrol_all(rng, today())
    print(f"setup: {enrolments:,} enrolments, {visits:,} history visits ({time.perf_counter() - started:.1f} s)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    connection.close()

    result = rebuild_child(url, work, args.workers, args.batch)
    ratio = result["seconds"] / AIM_SECONDS
    print()
    print(f"plans_rebuild ({args.database}, {args.workers} worker(s), batch {args.batch}): "
          f"{enrolments:,} enrolments of {n:,} residents")
    print(f"  wall {result['seconds']:.1f} s   rows written {result['rows']:,}   "
          f"{result['rows'] / result['seconds']:,.0f} rows/s   {enrolments / result['seconds']:,.0f} enrolments/s")
    print(f"  peak RSS {result['rss_mib']:,} MiB (workers {result['worker_rss_mib']:,} MiB each at most)")
    print(f"  aim {AIM_SECONDS:.0f} s for 1,000,000 residents   ratio {ratio:.3f}"
          + ("" if n == 1_000_000 else f"   (scaled to 1,000,000: {ratio * 1_000_000 / n:.3f})"))


if __name__ == "__main__":
    main()
