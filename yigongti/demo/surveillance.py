"""Demo module ``surveillance``: four years of notifiable-disease cards with seasonality, planted
outbreaks the early warning must find, and a year of signals answered by the county CDC.

**Baseline.** The cards of :mod:`.case_cards` (rates, seasons, ages, delays and reviews there) for
every township's residents, from :func:`history_start` — the year the alerts judge plus the three
years and three weeks the moving percentile's first judged day reads — to today.

**Planted outbreaks** (:func:`planted_outbreaks`, the ground truth): an HFMD cluster in a kindergarten
3–5 weeks ago, a measles case about 10 days ago, an influenza outbreak in a middle school last
winter, and a diarrhoea cluster after a village banquet 3–4 days ago — each in its own township.

**Signals.** ``alerts_run`` over the last year; then the CDC's answers: the planted outbreaks' signals
through the services (the clusters investigated with their cases linked — closed once over —, the
measles case verified), other signals older than two weeks mostly dismissed with a note, some
verified. This week's news waits in the queue: the banquet's cluster and the other signals of the
last :data:`RECENT_DAYS` days. Answer times follow CIDARS's median of 1.1 h.

Randomness: one stream per module from the seed (:func:`module_rng`), so the same seed gives the same
cards whatever the earlier modules drew, and the tests can rebuild the ground truth. Leaves in
``ctx.made["surveillance"]``: ``planted`` (list of :class:`Planted`), ``cards``, ``signals`` (count by
status). The generator (:class:`CaseMaker`, :func:`baseline_cases` …) is exported here for
``benchmarks/bench_alerts.py``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from yigongti.accounts.models import Role, User
from yigongti.core import clock
from yigongti.core.rule_fixtures import rules_load
from yigongti.core.scope import SYSTEM
from yigongti.surveillance.alerts import (
    HISTORY_DAYS,
    alerts_run,
    outbreak_close,
    signal_investigate,
    signal_verify,
)
from yigongti.surveillance.choices import CardAction, SignalStatus
from yigongti.surveillance.models import CardEvent, Disease, Outbreak, Signal
from yigongti.surveillance.services import diseases_in_force

from .case_cards import PROFILES, CaseMaker, County, Profile, ResidentPool, Row, baseline_cases
from .context import BuildContext, weighted_choice

__all__ = ["PROFILES", "CaseMaker", "County", "Planted", "Profile", "ResidentPool", "baseline_cases", "build",
           "demo_now", "history_start", "module_rng", "plant", "planted_outbreaks"]

ALERT_DAYS = 365  # alerts_run(day=today − 364, until=today)
MEDIAN_ANSWER_HOURS = 1.1  # CIDARS's first years (DOMAIN.md §4)
RECENT_DAYS = 3  # signals this recent are left waiting in the queue
OLD_DAYS = 14  # signals older than this have all been answered


DISMISS_NOTES = ["核实为散发病例，无流行病学关联，排除", "病例分布于不同村组，无聚集性，排除",
                 "重复统计（同一病例订正后重报），排除", "季节性升高，与往年同期水平相当，排除",
                 "电话核实报告单位，病例间无共同暴露史，排除"]
VERIFY_NOTES = ["已电话核实，病例信息属实，已指导乡镇卫生院加强监测", "已核实，属散发病例，继续关注后续报告",
                "已核实报告卡信息，督促报告单位开展个案调查"]


@dataclass(frozen=True)
class Planted:
    """One planted outbreak (the ground truth): ``cases`` cases of ``disease`` with onset from
    ``start`` over ``days`` days in ``township`` (a division code), patients aged ``ages`` years."""

    disease: str
    township: str
    start: dt.date
    days: int
    cases: int
    setting: str
    ages: tuple[int, int]

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    def explains(self, disease: str, township: str, day: dt.date, margin: int = 14) -> bool:
        """Whether a signal of ``disease`` in ``township`` on ``day`` is this outbreak's (its
        window, and ``margin`` days after while its cases still fill the baselines' windows)."""
        return (disease == self.disease and township == self.township
                and self.start <= day <= self.end + dt.timedelta(days=margin))


def module_rng(seed: int) -> random.Random:
    """The module's own stream: the same seed gives the same cards whatever earlier modules drew."""
    return random.Random(f"yigongti.demo.surveillance:{seed}")


def history_start(today: dt.date) -> dt.date:
    """The first onset day of the baseline: what the first judged day of the last year reads."""
    return today - dt.timedelta(days=ALERT_DAYS - 1 + HISTORY_DAYS["percentile"])


def demo_now(today: dt.date) -> dt.datetime:
    """The demo's "now": the real time when today is the real date, else noon of the pinned day."""
    real = dt.datetime.now(clock.LOCAL_TZ)
    return real if real.date() == today else dt.datetime.combine(today, dt.time(12, 0), tzinfo=clock.LOCAL_TZ)


def _winter_start(today: dt.date) -> dt.date:
    """The school influenza outbreak's start: the latest of 8 January (this or last year) or
    10 December (last year) that lies 3 weeks to 51 weeks back — inside the year the alerts judge,
    with a week left to detect it."""
    candidates = [dt.date(today.year, 1, 8), dt.date(today.year - 1, 12, 10), dt.date(today.year - 1, 1, 8)]
    fits = [d for d in candidates if 21 <= (today - d).days <= 357]
    return max(fits)


def planted_outbreaks(seed: int, today: dt.date, townships: Sequence[str]) -> list[Planted]:
    """The planted outbreaks of the county built with ``seed`` on ``today`` (``townships`` the
    township codes): reproducible without the build, for the tests and the benchmark."""
    rng = random.Random(f"yigongti.demo.surveillance.planted:{seed}")
    hfmd, measles, flu, banquet = rng.sample(sorted(townships), 4)
    return [
        Planted("hfmd", hfmd, today - dt.timedelta(days=rng.randint(21, 35)), rng.randint(5, 7), rng.randint(10, 15),
                "某幼儿园", (3, 6)),
        Planted("measles", measles, today - dt.timedelta(days=rng.randint(9, 11)), 1, 1, "外出务工返乡人员", (20, 40)),
        Planted("influenza", flu, _winter_start(today), rng.randint(5, 6), rng.randint(18, 26), "某中学", (12, 15)),
        # Still waiting in the CDC's queue when the demo opens.
        Planted("diarrhoea", banquet, today - dt.timedelta(days=rng.randint(3, 4)), 2, rng.randint(8, 12),
                "某村聚餐", (15, 70)),
    ]


def plant(maker: CaseMaker, planted: Sequence[Planted]) -> list[list[Row]]:
    """The planted outbreaks' cards: onsets over the outbreak's days (the first on its first day,
    most in the middle), diagnosed the same or the next day (the kindergarten's morning check)."""
    rng = maker.rng
    where = {"hfmd": (0.0, 0.7, 0.3), "influenza": (0.0, 0.6, 0.4), "measles": (0.0, 0.2, 0.8),
             "diarrhoea": (0.1, 0.6, 0.3)}
    made = []
    for p in planted:
        weights = [(i, float(min(i + 1, p.days - i))) for i in range(p.days)]
        offsets = sorted([0] + [weighted_choice(rng, weights) for _i in range(p.cases - 1)])
        cards = [maker.case(p.township, p.disease, p.start + dt.timedelta(days=offset), ages=p.ages,
                            lag=weighted_choice(rng, [(0, 0.6), (1, 0.4)]), places=where.get(p.disease))
                 for offset in offsets]
        made.append([c for c in cards if c is not None])
    return made


def build(ctx: BuildContext) -> None:
    today = clock.today()
    if not Disease.objects.exists():
        rules_load(kinds=["surveillance.diseases"])
    diseases = {d.code: d for d in diseases_in_force(today)}
    county = County.load()
    if not county.townships or county.hospital is None or not diseases:
        ctx.step(_("没有乡镇、县医院或病种目录，跳过传染病报告"))
        return
    rng = module_rng(ctx.seed)
    now = demo_now(today)
    pool = ResidentPool(rng, county.villages)
    populations = {code: len(pool.ids.get(pk, [])) or ctx.scale.residents_per_village * len(county.villages.get(pk, []))
                   for code, (pk, _name) in county.townships.items()}
    ctx.step(_("传染病报告卡"))
    maker = CaseMaker(rng, county, diseases, now, pool if pool.ids else None)
    for township, disease, onset, n in baseline_cases(rng, populations, history_start(today), today):
        if disease in diseases:
            for _i in range(n):
                maker.case(township, disease, onset)
    planted = planted_outbreaks(ctx.seed, today, list(county.townships))
    planted_cards = plant(maker, planted)
    cards, events = maker.flush()
    ctx.counts["case_cards"] += cards
    ctx.counts["card_events"] += events

    ctx.step(_("预警（近一年每日）"))
    summary = alerts_run(day=today - dt.timedelta(days=ALERT_DAYS - 1), until=today)
    user = (User.objects.filter(username="jikong").first() or User.objects.filter(role=Role.CDC).order_by("id").first()
            or SYSTEM)
    counts = answer_signals(rng, planted, [[c["id"] for c in made] for made in planted_cards], today, now, user)
    ctx.counts["signals"] += len(summary.created)
    ctx.made["surveillance"] = {"planted": planted, "cards": cards, "signals": dict(counts)}
    ctx.step(_("预警信号 %(total)s 个：待核实 %(new)s，已核实 %(verified)s，已排除 %(dismissed)s，暴发调查中 "
               "%(investigating)s") % {"total": sum(counts.values()), **{str(s.value): counts.get(s.value, 0)
                                                                     for s in SignalStatus}})


# ---------------------------------------------------------------- the CDC's answers


def answer_time(rng: random.Random, day: dt.date) -> dt.datetime:
    """When the CDC answered a signal of ``day``: the morning run at 08:30, then an exponential
    wait with CIDARS's median of 1.1 h."""
    hours = rng.expovariate(math.log(2) / MEDIAN_ANSWER_HOURS)
    return dt.datetime.combine(day, dt.time(8, 30), tzinfo=clock.LOCAL_TZ) + dt.timedelta(hours=hours)


def answer_signals(rng: random.Random, planted: Sequence[Planted], planted_ids: Sequence[Sequence[int]],
                   today: dt.date, now: dt.datetime, user: Any) -> Counter[str]:
    """The CDC's answers to the last year's signals (see the module docstring); their count by status."""
    signals = list(Signal.objects.filter(date__gte=today - dt.timedelta(days=ALERT_DAYS - 1))
                   .select_related("township", "disease").order_by("date", "township__code", "disease__code", "method"))
    handled_by = user if isinstance(user, User) else None
    done: dict[int, Signal] = {}
    waiting: set[int] = set()
    for p, ids in zip(planted, planted_ids, strict=True):
        mine = [s for s in signals if p.explains(s.disease.code, s.township.code, s.date)]
        if not mine:
            continue
        if (today - p.start).days < 7:
            waiting.update(s.pk for s in mine)  # this week's news: waiting in the queue
            continue
        first, at = mine[0], answer_time(rng, mine[0].date)
        place = f"{first.township.name}{p.setting}"
        if p.cases == 1:
            signal_verify(user=user, signal=first, note=f"{first.disease.name}病例（{place}）已采样送检确诊，已完成个案"
                                                       "流行病学调查，对密切接触者开展应急接种与医学观察")
            status, outbreak_id, note = SignalStatus.VERIFIED, None, "同一病例，已核实"
        else:
            outbreak = signal_investigate(user=user, signal=first, title=f"{place}{first.disease.name}聚集性疫情",
                                          note=f"{place}短期内出现多例{first.disease.name}病例，已派员现场调查，"
                                               "指导晨午检、消毒与隔离", card_ids=list(ids))
            closed = at + dt.timedelta(days=rng.randint(14, 21))
            if closed < now:
                outbreak_close(user=user, outbreak=outbreak, summary=f"末例病例发病后两个最长潜伏期内无新发病例，"
                                                                     f"累计报告 {len(ids)} 例，无重症，结案")
            code = f"OB{at.astimezone(clock.LOCAL_TZ):%Y%m%d}{outbreak.pk:05d}"
            # A case reported after the investigation opened is linked when it is reported.
            links = list(CardEvent.objects.filter(action=CardAction.LINK, note=outbreak.code).select_related("card"))
            for event in links:
                later = event.card.reported_at + dt.timedelta(hours=rng.uniform(0.5, 6))
                event.at, event.note = min(now, max(at, later)), code
            CardEvent.objects.bulk_update(links, ["at", "note"])
            Outbreak.objects.filter(pk=outbreak.pk).update(code=code, opened_at=at,
                                                           closed_at=closed if closed < now else None)
            status, outbreak_id, note = SignalStatus.INVESTIGATING, outbreak.pk, f"同一起疫情，已并入暴发调查 {code}"
        first.refresh_from_db()  # the service's answer, its note included
        first.handled_at = at
        for s in mine[1:]:
            s.status, s.outbreak_id, s.note = status, outbreak_id, note
            s.handled_at, s.handled_by = answer_time(rng, s.date), handled_by
        done.update((s.pk, s) for s in mine)
    for s in signals:
        if s.pk in done or s.pk in waiting:
            continue
        age, at = (today - s.date).days, answer_time(rng, s.date)
        if age > OLD_DAYS:
            status = SignalStatus.DISMISSED if rng.random() < 0.85 else SignalStatus.VERIFIED
        elif age > RECENT_DAYS and rng.random() < 0.25 and at <= now:
            status = SignalStatus.VERIFIED
        else:
            continue
        s.status, s.handled_at, s.handled_by = status, at, handled_by
        s.note = rng.choice(DISMISS_NOTES if status == SignalStatus.DISMISSED else VERIFY_NOTES)
        done[s.pk] = s
    Signal.objects.bulk_update(list(done.values()), ["status", "note", "handled_at", "handled_by", "outbreak"],
                               batch_size=500)
    return Counter(str(s.status) for s in signals)
