"""Benchmark ``ygt demo --scale X --no-serve`` into a fresh database: wall time, peak RSS, rows.

    python benchmarks/bench_demo.py                       # small and county on fresh SQLite files
    python benchmarks/bench_demo.py --postgres URL        # …and again into that PostgreSQL database
    python benchmarks/bench_demo.py --scale small         # one scale only

Each run is a subprocess (``python -m yigongti.cli demo``), timed from start to exit, including
interpreter start-up, ``migrate`` and ``rules load``. The budget is the issue's: small 60 s,
county 120 s. The PostgreSQL database is wiped first (``--rebuild``): give it a scratch database.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

BUDGET = {"small": 60.0, "county": 120.0}
TABLES = [
    ("行政区划", "registry_division"),
    ("机构", "registry_institution"),
    ("科室", "registry_department"),
    ("人员", "registry_staffmember"),
    ("执业资格", "registry_qualification"),
    ("服务能力", "registry_capacity"),
    ("医共体成员", "registry_alliancemembership"),
    ("用户", "accounts_user"),
]


def run_demo(scale: str, env: dict[str, str], log: Path, *extra: str) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one ``ygt demo`` subprocess."""
    command = [sys.executable, "-m", "yigongti.cli", "demo", "--scale", scale, "--no-serve", *extra]
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss // 1024, child.returncode  # ru_maxrss is KiB on Linux


def counts_sqlite(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {label: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for label, table in TABLES}


def counts_postgres(url: str) -> dict[str, int]:
    with psycopg.connect(url) as db:
        return {label: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for label, table in TABLES}


def report(database: str, scale: str, wall: float, rss: int, code: int, counts: dict[str, int]) -> None:
    ratio = wall / BUDGET[scale]
    status = "ok" if code == 0 else f"FAILED (exit {code})"
    print(f"{database:<10} {scale:<7} wall {wall:6.1f} s   peak RSS {rss:4d} MiB   "
          f"budget {BUDGET[scale]:.0f} s   ratio {ratio:.3f}   {status}")
    print("           " + "  ".join(f"{label} {n:,}" for label, n in counts.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="append", choices=sorted(BUDGET), help="default: small and county")
    parser.add_argument("--postgres", metavar="URL", help="also run into this (scratch) PostgreSQL database")
    args = parser.parse_args()
    scales = args.scale or ["small", "county"]
    base_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "YGT_DB_PASS"}}
    failed = False
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for scale in scales:
        with tempfile.TemporaryDirectory(prefix=f"ygt-bench-{scale}-") as tmp:
            env = {**base_env, "YGT_DATA_DIR": tmp}
            wall, rss, code = run_demo(scale, env, Path(tmp) / "demo.log")
            counts = counts_sqlite(Path(tmp) / "yigongti.sqlite3") if code == 0 else {}
            if code:
                print((Path(tmp) / "demo.log").read_text()[-2000:])
            report("sqlite", scale, wall, rss, code, counts)
            failed |= code != 0
        if args.postgres:
            with tempfile.TemporaryDirectory(prefix="ygt-bench-pg-") as tmp:
                env = {**base_env, "YGT_DATA_DIR": tmp, "DATABASE_URL": args.postgres}
                wall, rss, code = run_demo(scale, env, Path(tmp) / "demo.log", "--rebuild")
                counts = counts_postgres(args.postgres) if code == 0 else {}
                if code:
                    print((Path(tmp) / "demo.log").read_text()[-2000:])
                report("postgresql", scale, wall, rss, code, counts)
                failed |= code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
