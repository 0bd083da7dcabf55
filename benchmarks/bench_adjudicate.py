"""Benchmark the pure adjudication: a county's year of encounters settled without a database.

    python benchmarks/bench_adjudicate.py                      # 100,000 encounters, 1 and 2 processes
    python benchmarks/bench_adjudicate.py --encounters 20000   # a quick run
    python benchmarks/bench_adjudicate.py --policy FILE        # another policy (default yunxi-county-2026)

Data (drawn from ``--seed``, not timed): ``--people`` insured people (特困 0.5 %, 低保 4 %, 脱贫人口 8 %),
each with a frailty drawn from a heavy-tailed (Pareto) distribution so that a few people have many
visits and stays — the ones whose annual caps, 大病保险 and medical-aid caps bite; ``--encounters``
encounters over the year spread over the people by frailty: about 85 % outpatient (village clinic
60 %, township centre 40 %: registration, drugs, sometimes lab, treatment, materials) and 15 %
inpatient (township 30 %, county 45 %, a level-3 hospital of the prefecture 12 %, outside the
county 13 %), costs lognormal around the level's usual amount (a township stay about 2,500 yuan, a
county stay 7,000, level 3 18,000, outside 25,000; the heaviest tail above 200,000) split over the
categories, part of the drugs and materials outside the catalogue.

Timed: every encounter turned into a :class:`~yigongti.insurance.adjudication.Case` with the
person's year-to-date accumulators and adjudicated by
:func:`~yigongti.insurance.adjudication.adjudicate`, each person's encounters in date order (the
accumulators carried from one to the next). Once in this process, then with 2 worker processes
(fork; the people partitioned by id, each worker carrying its own people's accumulators). Prints
wall time, settlements/s, peak RSS, the ratio to the issue's aim (100,000 in under 60 s on 2
cores), how often each cap bit, the totals per layer and the number of invariant violations
(layers not adding up to the total, a fund paying more than the cost, a cap crossed — expected 0).
Asserts nothing.
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
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yigongti.demo.context import weighted_choice  # noqa: E402 (after the path; imports no Django)

AIM_SECONDS = 60.0
AIM_ENCOUNTERS = 100_000
SEED = 20250101
YEAR = 2026
CATEGORIES = [("wubao", 0.005), ("dibao", 0.04), ("poverty", 0.08)]
OUTPATIENT = [("village", 0.6), ("township", 0.4)]
INPATIENT = [(("township", True), 0.30), (("county", True), 0.45), (("tertiary", True), 0.12),
             (("tertiary", False), 0.13)]
STAY_MEDIAN = {("township", True): 2500, ("county", True): 7000, ("tertiary", True): 18000,
               ("tertiary", False): 25000}
STAY_SPLIT = [("drugs_western", 0.36), ("lab", 0.12), ("examination", 0.12), ("treatment", 0.12),
              ("materials", 0.10), ("surgery", 0.06), ("bed", 0.06), ("nursing", 0.03), ("drugs_chinese", 0.03)]
VISIT = {"village": (30, 0.5), "township": (90, 0.6)}  # drugs median yuan, sigma
FRAILTY_ALPHA, FRAILTY_MAX = 2.2, 60.0  # Pareto: most people 1–2, a few up to 60 (visits ∝ frailty)
STAY_CHANCE = 0.085  # × √frailty: about 15 % of the encounters are stays

Raw = tuple[int, dt.date, str, str, bool, dict[str, Decimal], dict[str, Decimal], str | None]
_WORK: list[list[Raw]] = []  # the people's encounters, set before the workers fork


def django_setup() -> None:
    os.environ.setdefault("YGT_DATA_DIR", str(Path(tempfile.gettempdir()) / "ygt_bench_adjudicate"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{os.environ['YGT_DATA_DIR']}/unused.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yigongti.settings")
    import django

    django.setup()  # the explanation's labels are translations; nothing touches a database



def yuan(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.01):.2f}")


def generate(people: int, encounters: int, seed: int) -> list[list[Raw]]:
    """Each person's encounters of the year in date order (see the module docstring)."""
    rng = random.Random(seed)
    frailty = [min(FRAILTY_MAX, rng.paretovariate(FRAILTY_ALPHA)) for _ in range(people)]
    category = [next((c for c, share in CATEGORIES if rng.random() < share), None) for _ in range(people)]
    total = sum(frailty)
    cumulative, running = [], 0.0
    for f in frailty:
        running += f
        cumulative.append(running)
    import bisect

    by_person: list[list[Raw]] = [[] for _ in range(people)]
    first = dt.date(YEAR, 1, 1)
    for n in range(encounters):
        person = min(people - 1, bisect.bisect_right(cumulative, rng.random() * total))
        day = first + dt.timedelta(days=rng.randint(0, 364))
        stay_chance = min(0.5, STAY_CHANCE * frailty[person] ** 0.5)
        costs: dict[str, Decimal] = {}
        outside: dict[str, Decimal] = {}
        if rng.random() < stay_chance:
            level, in_county = weighted_choice(rng, INPATIENT)
            total_cost = rng.lognormvariate(0, 0.8) * STAY_MEDIAN[(level, in_county)] * frailty[person] ** 0.3
            for name, share in STAY_SPLIT:
                costs[name] = yuan(total_cost * share * rng.uniform(0.8, 1.2))
            costs["registration"] = Decimal("20.00")
            if rng.random() < 0.7:
                outside["drugs_western"] = (costs["drugs_western"] * Decimal(str(round(rng.uniform(0.03, 0.15), 3)))
                                            ).quantize(Decimal("0.01"))
                costs["drugs_western"] -= outside["drugs_western"]
            kind = "inpatient"
        else:
            level, in_county, kind = weighted_choice(rng, OUTPATIENT), True, "outpatient"
            median, sigma = VISIT[level]
            costs["registration"] = Decimal("5.00") if level == "village" else Decimal("10.00")
            costs["drugs_western"] = yuan(rng.lognormvariate(0, sigma) * median)
            if level == "township" and rng.random() < 0.35:
                costs["lab"] = yuan(rng.uniform(20, 120))
            if rng.random() < 0.25:
                costs["treatment"] = yuan(rng.uniform(5, 60))
            if rng.random() < 0.05:
                costs["materials"] = yuan(rng.uniform(5, 40))
        by_person[person].append((n, day, kind, level, in_county, costs, outside, category[person]))
    for mine in by_person:
        mine.sort(key=lambda raw: (raw[1], raw[0]))
    return by_person


def settle(people: list[list[Raw]], policy: Any) -> dict[str, Any]:
    """Adjudicate each person's encounters in date order; the figures (no settlement is kept)."""
    from yigongti.insurance.adjudication import Case, Ytd, adjudicate

    found: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    violations = 0
    inpatient_cap = policy.inpatient_annual_cap
    catastrophic_cap = policy.catastrophic.annual_cap if policy.catastrophic else None
    for encounters in people:
        ytd = Ytd()
        for n, day, kind, level, in_county, costs, outside, category in encounters:
            case = Case(id=str(n), date=day, kind=kind, level=level, costs=costs, in_county=in_county,
                        outside_catalogue=outside, aid_category=category, ytd=ytd)
            s = adjudicate(case, policy)
            ytd = s.ytd
            found["settlements"] += 1
            for line in s.lines:
                if line.rule.endswith("annual_cap") or line.rule.endswith("year_cap"):
                    found[line.rule] += 1
            found["catastrophic_paid"] += s.catastrophic > 0
            found["aid_paid"] += s.aid > 0
            for name in ("total", "basic", "catastrophic", "aid", "patient"):
                totals[name] += getattr(s, name)
            if (s.basic + s.catastrophic + s.aid + s.patient != s.total or s.fund > s.total or s.patient < 0
                    or ytd.basic_paid > inpatient_cap
                    or (catastrophic_cap is not None and ytd.catastrophic_paid > catastrophic_cap)):
                violations += 1
    return {"counts": dict(found), "totals": {k: str(v) for k, v in totals.items()}, "violations": violations}


def _worker(args: tuple[int, int, str]) -> dict[str, Any]:
    part, parts, policy_file = args
    from yigongti.insurance.policy import policy_from_file

    policy = policy_from_file(policy_file)
    started = time.perf_counter()
    result = settle([p for i, p in enumerate(_WORK) if i % parts == part], policy)
    result["seconds"] = time.perf_counter() - started
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for r in results:
        counts.update(r["counts"])
        totals.update({k: Decimal(v) for k, v in r["totals"].items()})
    return {"counts": dict(counts), "totals": dict(totals), "violations": sum(r["violations"] for r in results)}


def report(label: str, seconds: float, result: dict[str, Any], rss: float, cores: int) -> None:
    n = result["counts"].get("settlements", 0)
    scaled = seconds * AIM_ENCOUNTERS / n if n else 0.0
    print(f"{label}: wall {seconds:.2f} s   {n / seconds:,.0f} settlements/s   peak RSS {rss:.0f} MiB   "
          f"aim {AIM_SECONDS:.0f} s for {AIM_ENCOUNTERS:,} on {cores} cores: ratio {scaled / AIM_SECONDS:.3f}"
          f"   invariant violations {result['violations']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, default=AIM_ENCOUNTERS)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--policy", default=str(ROOT / "yigongti/insurance/fixtures/policy-yunxi-county-2026.yaml"))
    parser.add_argument("--processes", type=int, default=2, help="worker processes of the parallel run")
    args = parser.parse_args()
    django_setup()
    from yigongti.insurance.policy import policy_from_file

    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"adjudication benchmark: python {sys.version.split()[0]}, {cores} cores, load {load:.2f}")
    policy = policy_from_file(args.policy)
    started = time.perf_counter()
    people = generate(args.people, args.encounters, args.seed)
    kinds = Counter(raw[2] for mine in people for raw in mine)
    levels = Counter(raw[3] if raw[4] else "out_of_county" for mine in people for raw in mine
                     if raw[2] == "inpatient")
    print(f"data: {args.encounters:,} encounters of {args.people:,} people in {YEAR} under {policy.code} "
          f"(drawn in {time.perf_counter() - started:.1f} s, not timed): {dict(kinds)}; stays by level "
          f"{dict(sorted(levels.items()))}")
    print(f"   most encounters of one person: {max(len(m) for m in people)}")

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    single = settle(people, policy)
    seconds = time.perf_counter() - started
    report("1 process ", seconds, single, max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
           cores)

    _WORK[:] = people
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(args.processes) as pool:
        parts = pool.map(_worker, [(i, args.processes, args.policy) for i in range(args.processes)])
    seconds = time.perf_counter() - started
    merged = merge(parts)
    rss = max(p["rss_mib"] for p in parts)
    report(f"{args.processes} processes", seconds, merged, rss, cores)
    workers = ", ".join(f"{p['seconds']:.2f} s" for p in parts)
    print(f"   per worker: {workers} (the wall time includes forking and the pool)")
    same = merged["totals"] == {k: Decimal(v) for k, v in single["totals"].items()}
    print(f"   the same totals as the single process: {same}")
    counts, totals = single["counts"], single["totals"]
    print(f"caps that bit: { {k: v for k, v in sorted(counts.items()) if k.endswith('cap')} }; "
          f"大病保险 paid {counts.get('catastrophic_paid', 0):,} times, 医疗救助 {counts.get('aid_paid', 0):,} times")
    print("totals (yuan): " + ", ".join(f"{name} {Decimal(totals.get(name, 0)):,.2f}"
                                       for name in ("total", "basic", "catastrophic", "aid", "patient")))


if __name__ == "__main__":
    main()
