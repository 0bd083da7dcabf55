"""Benchmark direct settlement under concurrency: 8 clients settling at once on PostgreSQL, no cap crossed.

    python benchmarks/bench_settle.py                                  # PostgreSQL ygt_bench_settle
    python benchmarks/bench_settle.py --people 1000 --seconds 20       # a quick run
    python benchmarks/bench_settle.py --sqlite                         # the same on a SQLite file
    python benchmarks/bench_settle.py --keep                           # keep the database afterwards

Data (not timed): the scratch database ``ygt_bench_settle`` (dropped and created again, dropped at
the end unless ``--keep``) migrated, the rules loaded (the insurance policies among them), the demo's
registry built; ``--people`` residents in households of 1–4, every household enrolled for 2026
(特困 / 低保 / 脱贫人口 at their demo shares: the rows :func:`yigongti.demo.insurance.enrolment_rows`
writes, the same as the service's); for each person ``--stays`` discharged stays at the county hospital
and as many at their township centre, spread over 2026. One person in ten is a heavy case whose stays
cost 60,000–200,000 yuan each, so the inpatient annual cap (300,000), 大病保险's cap and the aid caps
are reached — the caps concurrency must not let anyone cross.

Timed: 8 clients (``--clients``; processes, or threads with ``--threads``), each with its own
database connection, call :func:`yigongti.insurance.services.settle` (the insurance office, one
idempotency key per encounter) for their share of the encounters: clients 0–3 settle the county
hospital's stays and clients 4–7 the township centres', person by person in the same order, so two
clients settle the same person at the same moment at two institutions. They stop when everything
is settled or after ``--seconds``. Prints settlements/s, p50 / p95 / max latency, the calls
refused as busy, and the violations — an accumulator over an annual cap, an accumulator different
from the sum of the person's settlements, an encounter settled twice, a ledger that does not
balance — which must all be 0. Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import bench_plans
import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_settle"
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "ygt_bench_settle" / "bench.sqlite3"
SEED = 20250101
YEAR = 2026
HEAVY_SHARE = 0.1
HEAVY_STAY = (60_000, 200_000)
ORDINARY_STAY = {"county": (3_000, 15_000), "township": (1_500, 5_000)}
SPLIT = [("drugs_western", 0.40), ("lab", 0.12), ("examination", 0.12), ("treatment", 0.12), ("materials", 0.10),
         ("surgery", 0.06), ("bed", 0.05), ("nursing", 0.03)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def drop(url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(url)
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{info["dbname"]}" WITH (FORCE)')


# ---------------------------------------------------------------- the county (not timed)


def people_write(rng: random.Random, villages: list[Any], n: int) -> list[tuple[int, str, int | None]]:
    """``n`` residents in households of 1–4 over the villages; (id, path, township centre id) each."""
    from yigongti.demo.bulk_rows import ids_draw, table_insert
    from yigongti.residents.bulk import village_lookup
    from yigongti.residents.models import Household, Resident

    info = village_lookup(v.code for v in villages)
    households: list[dict[str, Any]] = []
    residents: list[dict[str, Any]] = []
    for pk in ids_draw(Household, n):  # at most one household per person
        if len(residents) >= n:
            break
        village = info[villages[len(households) % len(villages)].code]
        households.append({"id": pk, "code": f"B{pk:08d}", "village_id": village.id, "path": village.path})
        for _i in range(min(n - len(residents), rng.randint(1, 4))):
            seq = len(residents)
            residents.append({"record_no": f"B{seq:09d}", "name": f"居民{seq}", "sex": "MF"[seq % 2],
                              "birth_date": dt.date(1940 + seq % 70, 1 + seq % 12, 1 + seq % 28),
                              "village_id": village.id, "clinic_id": village.clinic_id,
                              "township_centre_id": village.centre_id, "path": village.path, "household_id": pk})
    table_insert(Household, households)
    for pk, row in zip(ids_draw(Resident, len(residents)), residents, strict=True):
        row["id"] = pk
    table_insert(Resident, residents)
    return [(r["id"], r["path"], r["township_centre_id"]) for r in residents]


def enrol(rng: random.Random) -> int:
    """Every household enrolled for the year (with the demo's bulk rows: the service's own)."""
    from yigongti.demo import insurance as demo
    from yigongti.demo.bulk_rows import ids_draw, table_insert
    from yigongti.insurance.models import Accumulator, Coverage, HouseholdEnrolment, LedgerEntry
    from yigongti.residents.models import Household, Resident

    policies = demo.Policies()
    members: dict[int, list[tuple[int, str]]] = {}
    for pk, household_id, path in Resident.objects.order_by("id").values_list("id", "household_id", "path"):
        members.setdefault(household_id, []).append((pk, path))
    plans = []
    for pk, path in Household.objects.order_by("id").values_list("id", "path"):
        draw = rng.random()
        category = "dibao" if draw < demo.DIBAO_SHARE else "poverty" if draw < demo.DIBAO_SHARE + demo.POVERTY_SHARE \
            else ""
        plans.append(demo.EnrolmentPlan(household_id=pk, path=path, year=YEAR, paid_on=dt.date(YEAR - 1, 11, 1),
                                   receipt_no=f"B{pk}", paths=dict(members[pk]),
                                   members={m: "wubao" if rng.random() < demo.WUBAO_SHARE else category
                                            for m, _p in members[pk]}))
    enrolments, coverages, entries = [], [], []
    for pk, plan in zip(ids_draw(HouseholdEnrolment, len(plans)), plans, strict=True):
        enrolment, covered, posting = demo.enrolment_rows(plan, policies.on(plan.path, dt.date(YEAR, 1, 1)), pk)
        enrolments.append(enrolment)
        coverages.extend(covered)
        entries.extend(posting)
    table_insert(HouseholdEnrolment, enrolments)
    table_insert(Coverage, coverages)
    table_insert(LedgerEntry, entries)
    table_insert(Accumulator, [{"resident_id": c["resident_id"], "year": YEAR, "path": c["path"]} for c in coverages])
    return len(coverages)


def encounters_write(rng: random.Random, people: list[tuple[int, str, int | None]], stays: int) -> list[list[int]]:
    """``stays`` discharged stays per person at the county hospital and as many at their township
    centre; the encounter ids per person and institution: ``[hospital ids, centre ids]`` by person."""
    from yigongti.care.models import Encounter, EncounterCost
    from yigongti.demo.bulk_rows import ids_draw, table_insert
    from yigongti.registry.choices import InstitutionType
    from yigongti.registry.models import Institution

    hospital = Institution.objects.get(type=InstitutionType.COUNTY_HOSPITAL)
    places = {pk: (path, tier) for pk, path, tier in Institution.objects.values_list("id", "path", "tier")}
    rows: list[dict[str, Any]] = []
    for resident_id, path, centre in people:
        heavy = rng.random() < HEAVY_SHARE
        for where in (hospital.pk, centre or hospital.pk):
            inst_path, tier = places[where]
            for _n in range(stays):
                start = dt.date(YEAR, 1, 1) + dt.timedelta(days=rng.randint(0, 290))
                total = rng.uniform(*(HEAVY_STAY if heavy else ORDINARY_STAY["township" if tier == "township"
                                                                             else "county"]))
                costs = [(name, Decimal(f"{total * share * rng.uniform(0.8, 1.2):.2f}")) for name, share in SPLIT]
                rows.append({"resident_id": resident_id, "path": path, "kind": "inpatient", "institution_id": where,
                             "in_county": True, "tier": tier, "institution_path": inst_path, "start_date": start,
                             "end_date": start + dt.timedelta(days=rng.randint(3, 20)), "discharge_status": "cured",
                             "total_cost": sum((a for _c, a in costs), Decimal("0.00")), "procedures": [],
                             "_costs": costs, "_person": resident_id, "_place": 0 if where == hospital.pk else 1})
    cost_rows = []
    for pk, row in zip(ids_draw(Encounter, len(rows)), rows, strict=True):
        row["id"] = pk
        cost_rows.extend({"encounter_id": pk, "category": c, "amount": a} for c, a in row.pop("_costs"))
    by_person: dict[int, list[list[int]]] = {}
    for row in rows:
        by_person.setdefault(row.pop("_person"), [[], []])[row.pop("_place")].append(row["id"])
    table_insert(Encounter, rows)
    table_insert(EncounterCost, cost_rows)
    return [by_person[p] for p, _path, _centre in people]


def setup(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, transaction

    started = time.perf_counter()
    ctx = bench_plans.build_registry("small")  # migrate, rules load, registry
    rng = random.Random(args.seed)
    with transaction.atomic():
        people = people_write(rng, ctx.made["villages"], args.people)
        covered = enrol(rng)
        work = encounters_write(rng, people, args.stays)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return {"seconds": time.perf_counter() - started, "people": len(people), "covered": covered, "work": work}


# ---------------------------------------------------------------- the timed run


Found = tuple[list[float], Counter[str], float, float]  # latencies, outcome, first and last moment


def _client(queue: list[int], deadline: float, start: Any) -> Found:
    """One client: settle the queue's encounters one by one until the deadline (wall clock)."""
    from django.db import connection

    from yigongti.core.errors import DomainError
    from yigongti.core.scope import SYSTEM
    from yigongti.insurance import services

    latencies: list[float] = []
    counts: Counter[str] = Counter()
    first = last = 0.0
    try:
        start.wait()
        first = time.time()
        for encounter_id in queue:
            if time.time() > deadline:
                counts["stopped by the bound"] += 1
                break
            began = time.perf_counter()
            try:
                _settlement, created = services.settle(SYSTEM, encounter_id, key=f"bench-{encounter_id}")
                counts["created" if created else "returned"] += 1
            except DomainError as exc:
                counts[getattr(exc, "code", type(exc).__name__)] += 1
            latencies.append(time.perf_counter() - began)
        last = time.time()
    finally:
        connection.close()
    return latencies, counts, first, last


def _process_client(args: tuple[list[int], float]) -> Found:
    return _client(args[0], args[1], _BARRIER[0])


_BARRIER: list[Any] = []  # the processes' start line, set before they fork


def run(args: argparse.Namespace, work: list[list[int]]) -> dict[str, Any]:
    """The clients (see the module docstring): processes (each its own interpreter and connection,
    like the application's workers) or, with ``--threads``, threads of this process."""
    half = args.clients // 2
    queues: list[list[int]] = [[] for _ in range(args.clients)]
    for n, (at_hospital, at_centre) in enumerate(work):
        queues[n % half].extend(at_hospital)
        queues[half + n % (args.clients - half)].extend(at_centre)
    deadline = time.time() + args.seconds + 1.0  # the clients start about a second from now
    results: list[Found] = []
    if args.threads:
        barrier = threading.Barrier(args.clients)
        lock = threading.Lock()

        def thread_client(queue: list[int]) -> None:
            found = _client(queue, deadline, barrier)
            with lock:
                results.append(found)

        threads = [threading.Thread(target=thread_client, args=(queue,)) for queue in queues]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        context = multiprocessing.get_context("fork")  # the parent holds no connection (closed before)
        _BARRIER[:] = [context.Barrier(args.clients)]
        with context.Pool(args.clients) as pool:
            results = pool.map(_process_client, [(queue, deadline) for queue in queues])
    latencies = [seconds for mine, *_rest in results for seconds in mine]
    outcome: Counter[str] = Counter()
    for _mine, counts, *_times in results:
        outcome.update(counts)
    seconds = max(r[3] for r in results) - min(r[2] for r in results)  # first start to last finish
    return {"seconds": seconds, "latencies": latencies, "outcome": dict(outcome),
            "queued": sum(len(q) for q in queues)}


def violations() -> dict[str, int]:
    """What must never happen, counted over the whole database."""
    from django.db.models import Count, Sum

    from yigongti.demo.codes import COUNTY_CODE
    from yigongti.insurance.models import Accumulator, Coverage, Settlement, SettlementStatus
    from yigongti.insurance.selectors import fen, policy_on
    from yigongti.insurance.services import ledger_check

    policy = policy_on(COUNTY_CODE, dt.date(YEAR, 6, 1))
    outpatient_cap = max((level.year_cap for level in policy.outpatient.values()), default=Decimal(0))
    aid_caps = {name: rule.annual_cap for name, rule in (policy.medical_aid.categories.items()
                                                         if policy.medical_aid else [])}
    categories = dict(Coverage.objects.filter(year=YEAR).values_list("resident_id", "category"))
    sums = {r: (fen(b), fen(c), fen(a)) for r, b, c, a in Settlement.objects.filter(year=YEAR, covered=True).values(
        "resident_id").annotate(b=Sum("basic"), c=Sum("catastrophic"), a=Sum("aid")).values_list(
        "resident_id", "b", "c", "a")}
    found: Counter[str] = Counter()
    for acc in Accumulator.objects.filter(year=YEAR).iterator(chunk_size=5000):
        found["over the inpatient annual cap"] += acc.basic_paid > policy.inpatient_annual_cap
        found["over the outpatient year cap"] += acc.outpatient_paid > outpatient_cap
        if policy.catastrophic is not None:
            found["over the 大病 annual cap"] += acc.catastrophic_paid > policy.catastrophic.annual_cap
        cap = aid_caps.get(categories.get(acc.resident_id, ""))
        found["over the aid annual cap"] += cap is not None and acc.aid_paid > cap
        have = (acc.basic_paid + acc.outpatient_paid, acc.catastrophic_paid, acc.aid_paid)
        found["accumulator ≠ sum of settlements"] += have != sums.get(acc.resident_id, (0, 0, 0))
    found["encounters settled twice"] = (Settlement.objects.filter(status=SettlementStatus.SETTLED)
                                         .values("encounter_id").annotate(n=Count("id")).filter(n__gt=1).count())
    check = ledger_check(accumulators=False)
    found["ledger not balanced (accounts ≠ 0, unbalanced postings)"] = int(check.total != 0) + len(check.unbalanced)
    return dict(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="the scratch PostgreSQL database (recreated)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead (under the temp directory)")
    parser.add_argument("--people", type=int, default=2_500)
    parser.add_argument("--stays", type=int, default=4, help="stays per person at each of the two institutions")
    parser.add_argument("--clients", type=int, default=8, help="at least 2: half at each institution")
    parser.add_argument("--threads", action="store_true", help="clients as threads of one process")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop the clients after this long")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    args.clients = max(2, args.clients)
    work_dir = Path(tempfile.gettempdir()) / "ygt_bench_settle"
    work_dir.mkdir(parents=True, exist_ok=True)
    if args.sqlite:
        for suffix in ("", "-wal", "-shm"):
            Path(str(DEFAULT_SQLITE) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{DEFAULT_SQLITE}"
    else:
        url = args.database_url
        bench_plans.recreate(url)
    bench_plans.django_setup(url, work_dir)
    vendor = "SQLite" if args.sqlite else "PostgreSQL"
    one, five, _fifteen = os.getloadavg()
    print(f"settlement benchmark ({vendor}: {url}): python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load {one:.2f} / {five:.2f}")
    try:
        data = setup(args)
        print(f"data: {data['people']:,} people ({data['covered']:,} insured for {YEAR}), "
              f"{sum(len(a) + len(b) for a, b in data['work']):,} discharged stays "
              f"({args.stays} per person at the county hospital and {args.stays} at the township centre); "
              f"set up in {data['seconds']:.1f} s (not timed)")
        from django.db import connections

        connections.close_all()
        result = run(args, data["work"])
        latencies = result["latencies"]
        done = result["outcome"].get("created", 0)
        kind = "threads" if args.threads else "processes"
        print(f"{args.clients} clients ({kind}): {done:,} settlements in {result['seconds']:.2f} s = "
              f"{done / result['seconds']:,.0f} settlements/s   (queued {result['queued']:,}, bound "
              f"{args.seconds:.0f} s)   outcome {result['outcome']}")
        p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
        print(f"   latency p50 {p50:.1f} ms   p95 {p95:.1f} ms"
              f"   max {max(latencies, default=0) * 1000:.1f} ms   peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
              + ("" if args.threads else
                 f" (a client process {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB)"))
        found = violations()
        print(f"violations (all must be 0): total {sum(found.values())}   {found}")
        from yigongti.demo.codes import COUNTY_CODE
        from yigongti.insurance.models import Accumulator, Settlement
        from yigongti.insurance.selectors import policy_on

        cap = policy_on(COUNTY_CODE, dt.date(YEAR, 6, 1)).inpatient_annual_cap
        print(f"   people who reached the inpatient annual cap ({cap:,.0f}): "
              f"{Accumulator.objects.filter(year=YEAR, basic_paid__gte=cap).count():,}; "
              f"settlements that paid 大病保险 {Settlement.objects.filter(catastrophic__gt=0).count():,}, "
              f"医疗救助 {Settlement.objects.filter(aid__gt=0).count():,}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.sqlite and not args.keep:
            drop(url)


if __name__ == "__main__":
    main()
