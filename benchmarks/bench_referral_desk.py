"""Benchmark the referral desk (``referrals.selectors.referral_desk``) of the county hospital.

    python benchmarks/bench_referral_desk.py                    # 100,000 referrals on record
    python benchmarks/bench_referral_desk.py --referrals 20000 --n 10
    python benchmarks/bench_referral_desk.py --reuse            # measure the database an earlier run built

Steps (not timed): (re)create the scratch PostgreSQL database ``ygt_bench_referrals``, migrate,
load the rules, build the county's registry (the demo's ``registry`` and ``accounts`` modules);
write ``--residents`` residents (COPY); then ``--referrals`` referrals with their events, made by
the demo's generator (:class:`yigongti.demo.referrals.Maker`: legal event paths, deadlines from
the rules): about 60 % to the county hospital, up from the township centres and village clinics
and down from the county level, requested over the last two years in every status (requested —
some overdue —, accepted, arrived, completed, rejected, cancelled), written with COPY;
``VACUUM ANALYZE``.

Timed: ``referral_desk`` for the county hospital as its clinician — each box (incoming, outgoing,
overdue, done), page 1 and a deep page, ``--n`` calls each (default 25: 200 loads). Prints p50 /
p95 / max per box and page, all together, the ratio of p95 to the 200 ms target, and peak memory
(RSS, ``resource``). Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bench_plans

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ygt_bench_referrals"
TARGET_MS = 200.0
TO_HOSPITAL = 0.6
STATUSES = [("completed", 0.62), ("requested", 0.06), ("accepted", 0.05), ("arrived", 0.04), ("rejected", 0.13),
            ("cancelled", 0.10)]
RECENT_DAYS = 10  # open referrals (requested / accepted / arrived) are recent
HISTORY_DAYS = 730
BOXES = ["incoming", "outgoing", "overdue", "done"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]



def load_referrals(n: int, rng: random.Random) -> tuple[int, int]:
    """``n`` referrals with their events, through the demo's generator; (referrals, events)."""
    from django.db import transaction

    from yigongti.accounts.models import User
    from yigongti.core.clock import today
    from yigongti.demo.context import weighted_choice
    from yigongti.demo.referrals import Maker, deadlines
    from yigongti.referrals.choices import Direction, ReferralKind
    from yigongti.registry.choices import InstitutionType
    from yigongti.registry.models import Institution
    from yigongti.residents.models import Resident

    day = today()
    places = {pk: (path, tier) for pk, path, tier in Institution.objects.values_list("id", "path", "tier")}
    hospital = Institution.objects.get(type=InstitutionType.COUNTY_HOSPITAL).pk
    county = list(Institution.objects.filter(type__in=[InstitutionType.TCM_HOSPITAL, InstitutionType.MCH])
                  .order_by("id").values_list("id", flat=True))
    users = dict(User.objects.filter(institution__isnull=False).order_by("-id").values_list("institution_id", "id"))
    residents = list(Resident.objects.filter(township_centre__isnull=False).order_by("id").values_list(
        "id", "path", "clinic_id", "township_centre_id"))
    codes = ["I63.9", "J18.9", "I25.1", "K80.1", "C34.9", "N18.9", "J44.1", "I10", "E11.9", "S72.0"]
    made_referrals = made_events = 0
    step = 50_000
    for start in range(0, n, step):
        maker = Maker(rng, day, places, users, deadlines(day))
        for _ in range(min(step, n - start)):
            resident = rng.choice(residents)
            status = weighted_choice(rng, STATUSES)
            days = rng.uniform(0, RECENT_DAYS) if status in ("requested", "accepted", "arrived") \
                else rng.uniform(RECENT_DAYS, HISTORY_DAYS)
            requested = maker.now - dt.timedelta(days=days)
            if rng.random() < TO_HOSPITAL:  # up to the county hospital
                maker.referral(resident=resident, to=hospital, direction=Direction.UP, kind=ReferralKind.OUTPATIENT,
                               requested_at=requested, status=status, dx=rng.choice(codes))
            elif rng.random() < 0.5:  # up to another county institution
                maker.referral(resident=resident, to=rng.choice(county), direction=Direction.UP,
                               kind=ReferralKind.OUTPATIENT, requested_at=requested, status=status,
                               dx=rng.choice(codes))
            else:  # down from the county hospital to the resident's centre or clinic
                target = resident[2] if resident[2] and rng.random() < 0.5 else resident[3]
                maker.referral(resident=resident, to=target, from_institution=hospital, direction=Direction.DOWN,
                               kind=ReferralKind.CHRONIC, requested_at=requested, status=status,
                               dx=rng.choice(codes))
        with transaction.atomic():
            referrals, events = maker.flush()
        made_referrals += referrals
        made_events += events
    return made_referrals, made_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=25, help="calls per box and page")
    parser.add_argument("--url", default=DEFAULT_URL, help="the scratch PostgreSQL database (dropped first)")
    parser.add_argument("--reuse", action="store_true", help="measure the database an earlier run built (no setup)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ygt_bench_referrals_"))
    if not args.reuse:
        bench_plans.recreate(args.url)
    bench_plans.django_setup(args.url, work)
    from django.db import connection, transaction

    from yigongti.accounts.models import Role, User
    from yigongti.core.clock import today
    from yigongti.referrals.models import Referral, ReferralEvent
    from yigongti.referrals.selectors import referral_desk
    from yigongti.registry.choices import InstitutionType
    from yigongti.registry.models import Institution

    rng = random.Random(bench_plans.SEED)
    if not args.reuse:
        started = time.perf_counter()
        ctx = bench_plans.build_registry()
        from yigongti.demo import accounts

        with transaction.atomic():
            accounts.build(ctx)
        bench_plans.residents_write(ctx.made["villages"], args.residents, rng, today())
        print(f"setup: registry + {args.residents:,} residents ({time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        referrals, events = load_referrals(args.referrals, rng)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"load: {referrals:,} referrals and {events:,} events ({time.perf_counter() - started:.1f} s)")

    hospital = Institution.objects.get(type=InstitutionType.COUNTY_HOSPITAL)
    user, _ = User.objects.get_or_create(username="bench_referral_clinician", defaults={
        "role": Role.COUNTY_CLINICIAN, "entry_unit": hospital.division, "view_unit": hospital.division,
        "institution": hospital})
    total = Referral.objects.count()
    print(f"{total:,} referrals ({Referral.objects.filter(to_institution=hospital).count():,} to the county hospital), "
          f"{ReferralEvent.objects.count():,} events")
    print(f"{args.n} calls each as the county hospital's clinician, 50 a page")
    print(f"{'box':10}{'page':>6}{'of':>6}{'rows':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    every: list[float] = []
    for box in BOXES:
        first = referral_desk(user=user, institution=hospital, box=box, page=1)
        pages = max(1, -(-first.total // first.per_page))
        for page in sorted({1, pages}):  # page 1 and the deepest
            times = []
            result = first
            for _ in range(args.n):
                t0 = time.perf_counter()
                with transaction.atomic():
                    result = referral_desk(user=user, institution=hospital, box=box, page=page)
                times.append((time.perf_counter() - t0) * 1000)
            every.extend(times)
            print(f"{box:10}{page:>6}{pages:>6}{len(result.items):>7}{statistics.median(times):>9.1f}"
                  f"{percentile(times, 95):>9.1f}{max(times):>9.1f}")
    p95 = percentile(every, 95)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"all {len(every)} loads: p50 {statistics.median(every):.1f} ms   p95 {p95:.1f} ms   "
          f"p95 / {TARGET_MS:.0f} ms = {p95 / TARGET_MS:.3f}   peak RSS {rss:,} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
