"""Benchmark ``ygt import residents`` against a plain PostgreSQL ``COPY`` of the same rows.

    python benchmarks/bench_import_residents.py                 # 1,000,000 rows
    python benchmarks/bench_import_residents.py --n 200000
    python benchmarks/bench_import_residents.py --postgres postgres://postgres@127.0.0.1:5432/ygt_bench_import

Steps: (re)create the scratch database and migrate it; build the county's registry (300 villages,
their clinics and centres — the demo's ``registry`` module, no residents); generate N residents
with :mod:`yigongti.demo.population` into a CSV (not timed); time ``ygt import residents FILE``
in a subprocess (wall time and its peak RSS); export the resident rows it wrote (``COPY TO``),
empty the table and time a plain ``COPY … FROM STDIN`` of exactly those rows into the same table,
with the same indexes. Prints rows/s of each and the ratio (aim ≤ 3×). Asserts nothing. The
database is left holding the N residents for ``bench_lookup.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_import"
COLUMNS = ["id_number", "name", "sex", "birth_date", "village_code", "phone", "address", "ethnicity",
           "household_code", "relation_to_head"]


def recreate(url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = str(info["dbname"])
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["YGT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yigongti.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build_registry() -> list[tuple[str, str, str]]:
    """Migrate, build the county's divisions and institutions; (code, name, township) per village."""
    from django.core.management import call_command
    from django.db import transaction

    from yigongti.demo import registry
    from yigongti.demo.context import BuildContext

    call_command("migrate", verbosity=0)
    ctx = BuildContext.create(seed=1, scale="county")
    with transaction.atomic():
        registry.build(ctx)
    townships = {t.pk: t.name for t in ctx.made["townships"]}
    return [(v.code, v.name, townships[v.parent_id]) for v in ctx.made["villages"]]


def write_rows(path: Path, villages: list[tuple[str, str, str]], n: int) -> int:
    from yigongti.demo.population import VillageMaker, VillageSpec

    specs = [VillageSpec(*v) for v in villages]
    maker = VillageMaker(random.Random(20250101), specs)
    per_village = max(1, n // len(specs) + 1)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for spec in specs:
            for p in maker.village(spec, per_village):
                if written == n:
                    return written
                writer.writerow([p.id_number, p.name, p.sex, p.birth_date.isoformat(), p.village_code, p.phone,
                                 p.address, p.ethnicity, p.household_code, p.relation_to_head])
                written += 1
    return written


def timed_import(path: Path, env: dict[str, str]) -> tuple[float, int, str]:
    command = [sys.executable, "-m", "yigongti.cli", "import", "residents", str(path)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    assert child.stdout is not None and child.stderr is not None
    output = child.stdout.read().decode() + child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed:\n{output}")
    return wall, usage.ru_maxrss // 1024, output


def _export(db: psycopg.Connection, table: str) -> bytes:
    buffer = io.BytesIO()
    with db.cursor().copy(f"COPY {table} TO STDOUT") as copy:
        for data in copy:
            buffer.write(data)
    return buffer.getvalue()


def _load(db: psycopg.Connection, table: str, payload: bytes) -> None:
    with db.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        step = 1 << 20
        for start in range(0, len(payload), step):
            copy.write(payload[start:start + step])


def timed_copy(url: str) -> tuple[float, int]:
    """Export the resident rows, empty the table, COPY them back: (seconds of the COPY and its
    commit — the deferred foreign-key checks run there —, rows). The households go back first in
    the same transaction, untimed (their head points at a resident: both must commit together)."""
    with psycopg.connect(url) as db:
        households = _export(db, "residents_household")
        residents = _export(db, "residents_resident")
        rows = db.execute("SELECT count(*) FROM residents_resident").fetchone()[0]  # type: ignore[index]
        db.execute("TRUNCATE residents_resident, residents_household CASCADE")
        db.commit()
        _load(db, "residents_household", households)
        started = time.perf_counter()
        _load(db, "residents_resident", residents)
        db.commit()
        return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=DEFAULT_URL)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ygt_bench_import_"))
    print(f"scratch database {args.postgres}; files in {work}")
    recreate(args.postgres)
    django_setup(args.postgres, work)
    started = time.perf_counter()
    villages = build_registry()
    print(f"registry: {len(villages)} villages ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    path = work / "residents.csv"
    n = write_rows(path, villages, args.n)
    print(f"generated {n:,} rows, {path.stat().st_size / 2**20:.0f} MiB ({time.perf_counter() - started:.1f} s)")

    env = {**os.environ, "DATABASE_URL": args.postgres, "YGT_DATA_DIR": str(work)}
    wall, rss, output = timed_import(path, env)
    print(output.strip())
    copy_seconds, rows = timed_copy(args.postgres)
    import_rate, copy_rate = n / wall, rows / copy_seconds
    print()
    print(f"{'':24}{'seconds':>10}{'rows/s':>12}")
    print(f"{'ygt import residents':24}{wall:>10.1f}{import_rate:>12,.0f}   peak RSS {rss:,} MiB")
    print(f"{'plain COPY':24}{copy_seconds:>10.1f}{copy_rate:>12,.0f}")
    print(f"ratio import/COPY: {wall / copy_seconds:.2f}× (aim ≤ 3×)")
    print("note: the import includes interpreter start-up, reading and validating the CSV, lookups, households "
          "and one audit entry per resident; the COPY only the resident rows.")


if __name__ == "__main__":
    main()
