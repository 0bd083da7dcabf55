"""Benchmark the early warning of a county: ``alerts_run`` for every township × disease × day of a year.

    python benchmarks/bench_alerts.py                                   # SQLite file under /tmp
    python benchmarks/bench_alerts.py --database-url postgres://postgres@127.0.0.1:5432/ygt_bench_alerts
    python benchmarks/bench_alerts.py --regenerate                      # rebuild the scratch data first
    python benchmarks/bench_alerts.py --population 200000               # a smaller county, quicker

Data (not timed; printed as the load time): the scratch database (a SQLite file, or the PostgreSQL
database of ``--database-url``, created if missing) is migrated, the rules loaded (the disease
catalogue among them), the demo's ``registry`` and ``accounts`` modules built at county scale (25
townships, ~300 villages, their institutions, staff and logins); then four years and three weeks of
case cards made by the demo's generator (:mod:`yigongti.demo.surveillance`: the same rates, seasons,
ages, report delays and reviews as ``ygt demo``) for ``--population`` people spread over the villages
— every patient a non-resident with an address in a village (no Resident rows needed) — plus the
demo's planted outbreaks (an HFMD cluster, a measles case, a school influenza outbreak, a banquet's
diarrhoea). A database that already holds a run with the same parameters is reused.

Timed, in a fresh subprocess (its own peak RSS, ``resource``): the signals cleared, then
``alerts_run(day=D − 364, until=D)`` — every township × disease × day of the year, committed; then one
daily run ``alerts_run(day=D)`` (that day's signals cleared first, the week before kept, as on any
morning). Prints the cards, townships × diseases × days evaluated, wall seconds and the ratio to the
10 s aim, peak RSS, the signals, the false signals (not explained by a planted outbreak within its
days + 14) per township per week and per county per week (CIDARS: 1.65 per county per week), and
whether each planted outbreak raised a signal within its first week. Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_plans
import psycopg

AIM_SECONDS = 10.0
SEED = 20250101
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "ygt_bench_alerts" / "bench.sqlite3"
CIDARS_PER_COUNTY_WEEK = 1.65


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} (1 / 5 min, {os.cpu_count()} cores)"


def database(args: argparse.Namespace) -> str:
    """The scratch database's URL, the PostgreSQL database created if missing."""
    if not args.database_url:
        return f"sqlite:///{args.sqlite}"
    info = psycopg.conninfo.conninfo_to_dict(args.database_url)
    name = str(info["dbname"])
    admin = psycopg.conninfo.make_conninfo(args.database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            db.execute(f'CREATE DATABASE "{name}"')
    return str(args.database_url)


def wipe(url: str, args: argparse.Namespace) -> None:
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(str(args.sqlite) + suffix).unlink(missing_ok=True)
        return
    bench_plans.recreate(url)


def meta_path(args: argparse.Namespace, url: str) -> Path:
    return args.work / f"meta-{hashlib.sha1(url.encode()).hexdigest()[:10]}.json"


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {"population": args.population, "seed": args.seed, "today": args.today}


# ---------------------------------------------------------------- generation (not timed)


def generate(args: argparse.Namespace) -> dict[str, Any]:
    """Registry, users and the cards (see the module docstring); the load figures."""
    from django.db import connection, transaction

    from yigongti.core import clock
    from yigongti.demo import accounts
    from yigongti.demo.surveillance import (
        CaseMaker,
        County,
        baseline_cases,
        demo_now,
        history_start,
        module_rng,
        plant,
        planted_outbreaks,
    )
    from yigongti.surveillance.services import diseases_in_force

    started = time.perf_counter()
    ctx = bench_plans.build_registry("county")  # migrate, rules load, registry
    with transaction.atomic():
        accounts.build(ctx)
    registry_seconds = time.perf_counter() - started
    today = clock.today()
    county = County.load()
    villages = sum(len(v) for v in county.villages.values())
    populations = {code: round(args.population * len(county.villages.get(pk, [])) / villages)
                   for code, (pk, _name) in county.townships.items()}
    diseases = {d.code: d for d in diseases_in_force(today)}
    rng = module_rng(args.seed)
    started = time.perf_counter()
    maker = CaseMaker(rng, county, diseases, demo_now(today))
    for township, disease, onset, n in baseline_cases(rng, populations, history_start(today), today):
        if disease in diseases:
            for _i in range(n):
                maker.case(township, disease, onset)
    planted = planted_outbreaks(args.seed, today, list(county.townships))
    plant(maker, planted)
    drawn = time.perf_counter() - started
    with transaction.atomic():
        cards, events = maker.flush()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return {"registry_seconds": registry_seconds, "draw_seconds": drawn,
            "write_seconds": time.perf_counter() - started - drawn, "cards": cards, "events": events,
            "townships": len(county.townships), "villages": villages, "parameters": parameters(args)}


# ---------------------------------------------------------------- the timed child


def run_child(args: argparse.Namespace) -> dict[str, Any]:
    """The timed runs; the figures as one JSON line."""
    from django.db import transaction

    from yigongti.core import clock
    from yigongti.demo.surveillance import planted_outbreaks
    from yigongti.registry.choices import DivisionLevel
    from yigongti.registry.models import Division
    from yigongti.surveillance.alerts import alerts_run
    from yigongti.surveillance.models import CaseCard, Signal

    today = clock.today()
    first = today - dt.timedelta(days=364)
    with transaction.atomic():
        Signal.cases.through.objects.all().delete()
        Signal.objects.all().delete()
    started = time.perf_counter()
    year = alerts_run(day=first, until=today)
    year_seconds = time.perf_counter() - started
    year_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    signals = list(Signal.objects.values_list("disease__code", "township__code", "date", "method"))
    with transaction.atomic():
        Signal.cases.through.objects.filter(signal__date=today).delete()
        Signal.objects.filter(date=today).delete()
    started = time.perf_counter()
    daily = alerts_run(day=today)
    daily_seconds = time.perf_counter() - started
    codes = list(Division.objects.filter(level=DivisionLevel.TOWNSHIP).order_by("code").values_list("code", flat=True))
    planted = planted_outbreaks(args.seed, today, codes)
    found = []
    for p in planted:
        days = sorted((day - p.start).days for disease, township, day, _m in signals
                      if disease == p.disease and township == p.township and day >= p.start)
        methods = sorted({m for disease, township, day, m in signals if disease == p.disease
                          and township == p.township and 0 <= (day - p.start).days < 7})
        found.append({"disease": p.disease, "township": p.township, "start": p.start.isoformat(), "cases": p.cases,
                      "days": p.days, "first_signal_after": days[0] if days else None, "methods": methods})
    false = [s for s in signals if not any(p.explains(s[0], s[1], s[2]) for p in planted)]
    by_method: dict[str, int] = {}
    by_disease: dict[str, int] = {}
    for disease, _t, _day, method in false:
        by_method[method] = by_method.get(method, 0) + 1
        by_disease[disease] = by_disease.get(disease, 0) + 1
    return {"year_seconds": year_seconds, "daily_seconds": daily_seconds, "year_rss_mib": year_rss,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "townships": year.townships, "diseases": year.diseases, "series": year.series,
            "days": (year.end - year.start).days + 1, "signals": len(year.created),
            "daily_signals": len(daily.created), "daily_series": daily.series, "too_short": year.too_short,
            "false": len(false), "false_by_method": by_method,
            "false_by_disease": dict(sorted(by_disease.items(), key=lambda kv: -kv[1])),
            "planted": found, "cards": CaseCard.objects.count(),
            "live_cards": CaseCard.objects.exclude(status="deleted").count()}


def child(args: argparse.Namespace, url: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--step", "run", "--seed", str(args.seed), "--today", args.today,
               "--work", str(args.work), "--sqlite", str(args.sqlite)]
    if args.database_url:
        command += ["--database-url", url]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: the timed run failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(url: str, load: dict[str, Any], result: dict[str, Any]) -> None:
    townships, diseases, days = result["townships"], result["diseases"], result["days"]
    weeks = days / 7
    vendor = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print("=" * 100)
    print(f"alerts benchmark ({vendor}: {url})   [{load_average()}]")
    print(f"data: {load['parameters']['population']:,} people in {load['townships']} townships / {load['villages']} "
          f"villages; {result['cards']:,} cards ({result['live_cards']:,} live), today {load['parameters']['today']}"
          + ("   (reused)" if load.get("reused") else
             f"   generated: registry {load['registry_seconds']:.1f} s, cards drawn {load['draw_seconds']:.1f} s, "
             f"written {load['write_seconds']:.1f} s"))
    print(f"year run: {townships} townships × {diseases} diseases × {days} days = {townships * diseases * days:,} "
          f"township-disease-days ({result['series']:,} series evaluated)")
    ratio = result["year_seconds"] / AIM_SECONDS
    print(f"   wall {result['year_seconds']:.2f} s   aim {AIM_SECONDS:.0f} s: ratio {ratio:.3f}"
          f"   peak RSS {result['year_rss_mib']:.0f} MiB   signals {result['signals']:,}")
    if result["too_short"]:
        print(f"   series too short to judge: {result['too_short']}")
    print(f"daily run (one day): wall {result['daily_seconds']:.2f} s   {result['daily_series']:,} series   signals "
          f"{result['daily_signals']}   peak RSS (whole child) {result['peak_rss_mib']:.0f} MiB")
    print(f"false signals (not a planted outbreak's, its days + 14): {result['false']:,} = "
          f"{result['false'] / (townships * weeks):.3f} per township per week, "
          f"{result['false'] / weeks:.2f} per county per week "
          f"(CIDARS {CIDARS_PER_COUNTY_WEEK}, judged per county, not per township)")
    print(f"   by method {result['false_by_method']}; by disease {result['false_by_disease']}")
    for p in result["planted"]:
        after = p["first_signal_after"]
        verdict = "FOUND" if after is not None and after < 7 else "MISSED"
        print(f"   planted {p['disease']:10} {p['township']} from {p['start']} "
              f"({p['cases']} cases / {p['days']} days): {verdict} within its first week — first signal after "
              f"{after if after is not None else '—'} days, by {', '.join(p['methods']) or '—'}")
    print("=" * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (created if missing); default SQLite")
    parser.add_argument("--sqlite", type=Path, default=DEFAULT_SQLITE, help="the SQLite file (default under /tmp)")
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--today", default="2026-06-15", help="D: the last day judged (the history ends there)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ygt_bench_alerts")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the scratch data even if it is there")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["YGT_TODAY"] = args.today
    args.work.mkdir(parents=True, exist_ok=True)
    args.sqlite.parent.mkdir(parents=True, exist_ok=True)

    if args.step == "run":  # the child: the database is there
        url = args.database_url or f"sqlite:///{args.sqlite}"
        bench_plans.django_setup(url, args.work)
        print(json.dumps(run_child(args), default=str))
        return

    print(f"alerts benchmark: python {sys.version.split()[0]}, {load_average()}")
    url = database(args)
    meta = meta_path(args, url)
    saved = json.loads(meta.read_text()) if meta.exists() else None
    if args.regenerate or saved is None or saved.get("parameters") != parameters(args):
        meta.unlink(missing_ok=True)
        wipe(url, args)
        url = database(args)
        bench_plans.django_setup(url, args.work)
        print("generating the county's cards …", flush=True)
        load = generate(args)
        meta.write_text(json.dumps(load))
        from django.db import connections

        connections.close_all()
    else:
        load = {**saved, "reused": True}
        bench_plans.django_setup(url, args.work)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the code may have moved on since the data was generated
        call_command("rules", "load", stdout=io.StringIO())
    report(url, load, child(args, url))


if __name__ == "__main__":
    main()
